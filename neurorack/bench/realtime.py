"""``neurorack bench realtime``: the engine on a real real-time server (JACK's dummy driver).

One run does two things in turn on the same server:

1. the baseline: a trivial sine client in its own process, for ``seconds``;
2. the engine with the configured voice, a gate every ``gate_period_s``, for ``seconds``.

Gate latency is measured on JACK's own timeline: from JACK's frame time when the gate
edge happened (read by a passive client, ``JackTimeline``) to the frame time of the cycle
that outputs the onset's first sample, plus its offset in that cycle. The server's reported playback latency (the DAC side)
is constant and reported separately as ``output_latency_ms``.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import math
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np

from neurorack.audio.backends.sound_device import SoundDeviceBackend, import_sounddevice
from neurorack.audio.engine import Engine, GateEdge, Onset
from neurorack.audio.jack_server import JackClock, JackDummyServer, stop_on_termination
from neurorack.audio.voices import BusyVoice, TestVoice
from neurorack.bench.sine_client import SETTLE_S
from neurorack.config.module import ModuleConfig
from neurorack.errors import NeurorackError
from neurorack.realtime import BACKGROUND_PRIORITY, request_realtime

WRAP = 1 << 32


def _signed(frames: int) -> int:
    """A 32-bit frame difference as a signed integer."""
    return ((frames + (WRAP >> 1)) % WRAP) - (WRAP >> 1)


class JackTimeline:
    """Maps monotonic times and PortAudio stream times onto JACK frame time.

    All frame values are relative to ``reference`` (a frame time read at calibration),
    so 32-bit wrap-around never matters.

    Gate edges are mapped through marks: pairs of a monotonic time and JACK's frame time
    read together, taken by the caller at each edge it posts (or, for edges it does not
    post, as often as it can). An edge is placed from the last mark before it, so a server
    xrun after the edge (which moves JACK's clock) never moves the edge. No thread of its
    own: the measurement adds nothing that competes with the audio for the interpreter.
    """

    def __init__(self, clock: JackClock, stream, sample_rate: int, block_size: int):
        self.clock = clock
        self.sample_rate = sample_rate
        self.block_size = block_size
        self.reference = clock.frame_time()
        self._mark_times: list[float] = []
        self._mark_frames: list[float] = []
        best = None
        for _ in range(50):  # bracket PortAudio's stream time between two JACK readings
            before = clock.frame_time()
            stream_time = stream.time
            after = clock.frame_time()
            spread = _signed(after - before)
            if best is None or spread < best[0]:
                best = (spread, self._relative(before) + spread / 2.0 - stream_time * sample_rate)
        self.stream_origin_frames = best[1]
        self.refresh_cycle_phase()
        self.mark()

    def mark(self) -> float:
        """Record JACK's frame time now; return the monotonic time it belongs to."""
        before = self.clock.frame_time()
        now = time.monotonic()
        after = self.clock.frame_time()
        self._mark_frames.append(self._relative(before) + _signed(after - before) / 2.0)
        self._mark_times.append(now)
        return now

    def refresh_cycle_phase(self) -> None:
        """Read where JACK's cycles start on the frame counter (it can move after an xrun)."""
        self.cycle_phase = self._relative(self.clock.last_frame_time()) % self.block_size

    def _relative(self, frames: int) -> int:
        return _signed(frames - self.reference)

    def edge_frames(self, monotonic_s: float) -> float:
        """JACK frame time of a monotonic timestamp, from the last mark at or before it."""
        k = max(0, bisect.bisect_right(self._mark_times, monotonic_s) - 1)
        return self._mark_frames[k] + (monotonic_s - self._mark_times[k]) * self.sample_rate

    def cycle_frames(self, stream_time: float) -> float:
        """JACK frame time of the cycle whose callback saw ``stream_time``.

        PortAudio's stream time is JACK's interpolated "now", a little after the cycle
        began; snapping to the cycle grid gives the cycle's own frame time.
        """
        now = stream_time * self.sample_rate + self.stream_origin_frames
        grid = self.block_size
        return self.cycle_phase + grid * math.floor((now - self.cycle_phase + grid / 4) / grid)


NEIGHBOURS = 4  # callbacks each side that vote on where a callback's samples went


def onset_latencies_ms(onsets: list[Onset], engine: Engine, timeline: JackTimeline) -> list[float]:
    """Gate-to-output latency of each played onset, in ms on JACK's timeline.

    Between xruns every callback plays the next block of the FIFO in the next JACK cycle,
    so (cycle frame - FIFO index) is the same for neighbouring callbacks; the value most of
    them agree on is used, so one callback that ran late in its cycle is not mistaken for
    the next cycle's.
    """
    read_index, _, stream_time = engine.timeline.recent()
    latencies = []
    for onset in onsets:
        k = int(np.searchsorted(read_index, onset.sample, side="right")) - 1
        if k < 0 or k + 1 >= len(read_index):
            continue  # not played yet, or older than the kept records
        near = slice(max(0, k - NEIGHBOURS), k + NEIGHBOURS + 1)
        offsets = [timeline.cycle_frames(t) - i for t, i in zip(stream_time[near], read_index[near], strict=True)]
        values, counts = np.unique(offsets, return_counts=True)
        output_frames = onset.sample + float(values[np.argmax(counts)])
        latencies.append((output_frames - timeline.edge_frames(onset.edge.time_s)) * 1000.0 / engine.sample_rate)
    return latencies


def dropout_counts(engine: Engine) -> tuple[int, int, int]:
    """(callbacks, underflows, late renders) so far: take two and subtract."""
    return engine.timeline.count, engine.underflows, engine.late_renders


def take_played(onsets, older_than_s: float) -> list[Onset]:
    """Remove and return the recorded onsets whose edges are older than ``older_than_s``."""
    played = []
    while onsets and onsets[0].edge.time_s < time.monotonic() - older_than_s:
        played.append(onsets.popleft())
    return played


def run_baseline(seconds: float, sample_rate: int, block_size: int) -> dict:
    """Run the sine client in a separate process and return its counts."""
    command = [sys.executable, "-m", "neurorack.bench.sine_client", "--seconds", str(seconds),
               "--sample-rate", str(sample_rate), "--block-size", str(block_size)]
    result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=seconds + 60)
    if result.returncode != 0:
        raise NeurorackError(f"the baseline sine client failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def make_voice(name: str, sample_rate: int):
    """The voices the bench can play: ``test`` or the deliberately overloaded ``busy``."""
    if name == "test":
        return TestVoice(sample_rate)
    if name == "busy":
        return BusyVoice(sample_rate)
    raise NeurorackError(f"unknown bench voice '{name}'; expected test or busy")


@contextlib.contextmanager
def jack_session(audio):
    """JACK's dummy driver at the config's rate and block size (started unless one runs, and
    then stopped, also on SIGTERM), and a clock on it: yields ``(server, clock)``. On the way
    out PortAudio lets go of JACK before the server stops.

    Raises:
        NeurorackError: a running server with another rate or block size, or no JACK.
    """
    with (stop_on_termination(), JackDummyServer(audio.sample_rate, audio.block_size) as server,
          JackClock() as clock):
        if clock.sample_rate != audio.sample_rate or clock.block_size != audio.block_size:
            raise NeurorackError(
                f"the running JACK server uses {clock.sample_rate} Hz / {clock.block_size} frames, "
                f"the config asks for {audio.sample_rate} Hz / {audio.block_size}; stop it or match the config"
            )
        try:
            yield server, clock
        finally:
            if "sounddevice" in sys.modules:
                import_sounddevice()._terminate()  # PortAudio must let go of JACK before the server stops


def latency_figures(latencies: list[float]) -> dict:
    """``gate_latency_ms`` (p1, p50, p99, max) and ``jitter_ms`` (p99 - p1) of onset latencies."""
    values = np.asarray(latencies) if latencies else np.zeros(1)
    p1, p50, p99 = np.percentile(values, [1, 50, 99])
    return {"gate_latency_ms": {"p1": float(p1), "p50": float(p50), "p99": float(p99), "max": float(values.max())},
            "jitter_ms": float(p99 - p1)}


def run_realtime_bench(config: ModuleConfig, seconds: float = 10.0, voice: str = "test",
                       gate_period_s: float = 0.25, baseline: bool = True) -> dict:
    """Run the baseline and the engine on JACK's dummy driver; return the figures."""
    audio = config.audio
    with jack_session(audio) as (server, clock):
        base = run_baseline(seconds, audio.sample_rate, audio.block_size) if baseline else None
        result = _run_engine(config, clock, seconds, voice, gate_period_s)
        result["jack_realtime"] = server.realtime if server.started_here else None
    if base is not None:
        result["baseline_underflows"] = base["underflows"]
        result["baseline_callbacks"] = base["callbacks"]
    return result


def _run_engine(config: ModuleConfig, clock: JackClock, seconds: float, voice_name: str,
                gate_period_s: float) -> dict:
    audio = replace(config.audio, device=None)  # JACK is the default device while it runs
    request_realtime(BACKGROUND_PRIORITY, "the benchmark's gate thread")  # as the daemon does
    engine = Engine(make_voice(voice_name, audio.sample_rate), audio, config.output)
    backend = SoundDeviceBackend(engine, device=None)
    backend.start()
    latencies: list[float] = []
    try:
        timeline = JackTimeline(clock, backend.stream, audio.sample_rate, audio.block_size)
        time.sleep(SETTLE_S)  # both runs leave out the stream's start, where JACK reorders its graph
        started, before = time.monotonic(), dropout_counts(engine)
        next_gate = started + 0.05
        end = started + seconds
        while True:
            now = time.monotonic()
            if now >= end:
                break
            time.sleep(max(0.0, min(next_gate, end) - now))
            if time.monotonic() >= end:
                break
            engine.post_gate(GateEdge(timeline.mark()))
            next_gate += gate_period_s
            timeline.refresh_cycle_phase()
            latencies += onset_latencies_ms(take_played(engine.onsets, 0.1), engine, timeline)
        elapsed, after = time.monotonic() - started, dropout_counts(engine)
        time.sleep(0.1)
        latencies += onset_latencies_ms(take_played(engine.onsets, 0.0), engine, timeline)
        output_latency_ms = backend.stream.latency * 1000.0
    finally:
        backend.stop()
    stats = engine.stats()
    values = np.asarray(latencies) if latencies else np.zeros(1)
    return {
        "sample_rate": audio.sample_rate,
        "block_size": audio.block_size,
        "seconds": round(elapsed, 3),
        "voice": engine.voice.name,
        "callbacks": after[0] - before[0],
        "expected_callbacks": round(elapsed * audio.sample_rate / audio.block_size),
        "underflows": after[1] - before[1],
        "late_renders": after[2] - before[2],
        "late_onsets": stats["late_onsets"],
        "gates": len(latencies),
        **latency_figures(latencies),
        "configured_gate_latency_ms": engine.gate_latency_s * 1000.0,
        "gates_within_half_ms": float(np.mean(np.abs(values - engine.gate_latency_s * 1000.0) <= 0.5)),
        "output_latency_ms": output_latency_ms,
        "render_ms": stats["render_ms"],
    }
