"""The baseline: a trivial sine JACK client, run in its own process.

``python -m neurorack_bench.sine_client --seconds 10`` prints JSON with its callback and
underflow counts, so the engine's dropouts can be compared with what the machine does
to the simplest possible client.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

SETTLE_S = 0.5  # seconds left out at the start of a stream, where JACK reorders its graph


def run_sine_client(seconds: float, sample_rate: int, block_size: int) -> dict:
    import sounddevice as sd  # after JACK is up: PortAudio finds JACK only at initialisation

    jack = [api for api in sd.query_hostapis() if "JACK" in api["name"] and api["default_output_device"] >= 0]
    device = jack[0]["default_output_device"] if jack else None
    step = 2.0 * np.pi * 440.0 / sample_rate
    ramp = step * np.arange(block_size)
    phases = np.empty(block_size)  # the callback writes into this: it allocates no arrays
    counts = {"callbacks": 0, "underflows": 0}
    state = {"phase": 0.0}

    def callback(outdata, frames, time_info, status):
        if status.output_underflow:
            counts["underflows"] += 1
        counts["callbacks"] += 1
        np.add(ramp[:frames], state["phase"], out=phases[:frames])
        np.sin(phases[:frames], out=outdata[:, 0])
        outdata[:, 0] *= 0.1
        state["phase"] = (state["phase"] + frames * step) % (2.0 * np.pi)

    with sd.OutputStream(device=device, samplerate=sample_rate, blocksize=block_size, channels=1,
                         dtype="float32", latency="low", callback=callback):
        time.sleep(SETTLE_S)  # leave out the stream's start, as the engine run does
        started, before = time.monotonic(), dict(counts)
        time.sleep(seconds)
        elapsed, after = time.monotonic() - started, dict(counts)
    sd._terminate()  # before JACK goes away, or Python aborts at exit
    return {
        "callbacks": after["callbacks"] - before["callbacks"],
        "underflows": after["underflows"] - before["underflows"],
        "expected_callbacks": round(elapsed * sample_rate / block_size),
        "window": [started, started + elapsed],  # time.monotonic(), the same clock in every process
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--sample-rate", type=int, default=48000)
    parser.add_argument("--block-size", type=int, default=128)
    args = parser.parse_args()
    print(json.dumps(run_sine_client(args.seconds, args.sample_rate, args.block_size)))


if __name__ == "__main__":
    main()
