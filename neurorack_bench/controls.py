"""``neurorack bench controls``: the ADC poller on the simulated board: reads per second, the
poller thread's CPU, and gate detection latency."""

from __future__ import annotations

import argparse
import json
import time

from neurorack.config.module import ModuleConfig


def run_controls_bench(seconds: float, progress=None) -> dict:
    """Poll the mock board for ``seconds`` with known gate patterns; figures as a dict."""
    import numpy as np

    from neurorack.audio.backends.native_callback import installed_callback
    from neurorack.config.board import load_board
    from neurorack.controls.poller import ControlPoller
    from neurorack.hardware.adc import open_simulated_adc
    from neurorack.hardware.scenario import DEMO_PATTERN, GatePattern, Lfo, Scenario, ScriptedHit

    board = load_board("mock")
    patterns = [GatePattern(gate_s=0.03), GatePattern(tuple(ScriptedHit(h.time_s + 0.125, 1, h.velocity)
                                                            for h in DEMO_PATTERN), gate_s=0.03, gate=1)]
    scenario = Scenario({"gate1": patterns[0], "gate2": patterns[1], "cv1": Lfo("sine", 0.5, -5, 5)},
                        noise_volts=0.05, seed=1)
    delivered: list[tuple[object, float]] = []
    adc = open_simulated_adc(board, scenario)
    start = adc.scenario_start
    poller = ControlPoller(adc.driver, board, lambda edge: delivered.append((edge, time.monotonic())))
    with poller:
        while time.monotonic() - start < seconds:
            time.sleep(0.1)
            if progress is not None:
                progress((time.monotonic() - start) / seconds)
    stats = poller.stats()
    until = poller.last_poll_s - start - 0.002  # edges after the last poll could not be seen
    latencies, stamp_errors, missed, doubled = [], [], 0, 0
    for gate, pattern in enumerate(patterns):
        truth = [(start + t, rising) for t, rising, _ in pattern.edges(until)]
        seen = [(edge, at) for edge, at in delivered if edge.gate == gate]
        used = set()
        for true_s, rising in truth:
            match = next((i for i, (edge, _) in enumerate(seen) if i not in used and edge.rising == rising
                          and -0.001 <= edge.time_s - true_s < pattern.gate_s), None)
            if match is None:
                missed += 1
                continue
            used.add(match)
            edge, at = seen[match]
            latencies.append((at - true_s) * 1e3)
            stamp_errors.append((edge.time_s - true_s) * 1e3)
        doubled += len([i for i in range(len(seen)) if i not in used and seen[i][0].time_s - start < until])

    def percentiles(values):
        if not values:
            return {"p50": None, "p99": None, "max": None}
        array = np.asarray(values)
        return {"p50": float(np.percentile(array, 50)), "p99": float(np.percentile(array, 99)),
                "max": float(array.max())}

    elapsed = stats["elapsed_s"]
    return {
        "board": board.name,
        "seconds": elapsed,
        "poll_hz_target": board.adc.poll_hz,
        "polls_per_s": stats["polls"] / elapsed,
        "reads_per_s": stats["reads"] / elapsed,
        "overruns": stats["overruns"],
        "poller_sched_fifo": stats["realtime"],
        "poller_cpu_percent": 100.0 * stats["thread_cpu_s"] / elapsed,
        "gate_edges": len(latencies),
        "missed_edges": missed,
        "extra_edges": doubled,
        "gate_detection_latency_ms": percentiles(latencies),
        "edge_timestamp_error_ms": percentiles(stamp_errors),
        "adc_errors": stats["errors"],
        "bad_clock_conversions": adc.chip.bad_clock_conversions,
        "audio_callback": installed_callback(),
    }


def bench_controls_command(args: argparse.Namespace, config: ModuleConfig) -> int:
    from neurorack.progress import progress_bar

    progress = None if args.json else progress_bar("polling")
    result = run_controls_bench(args.seconds, progress)
    if progress is not None:
        progress.close()
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    latency = result["gate_detection_latency_ms"]
    print(f"{result['seconds']:.1f} s on the {result['board']} board: {result['polls_per_s']:.0f} polls/s "
          f"(target {result['poll_hz_target']:.0f}), {result['reads_per_s']:.0f} reads/s, "
          f"poller CPU {result['poller_cpu_percent']:.1f} %, overruns {result['overruns']}")
    print(f"gate edges {result['gate_edges']}, missed {result['missed_edges']}, extra {result['extra_edges']}; "
          f"detection latency p50 {latency['p50']:.3f} / p99 {latency['p99']:.3f} / max {latency['max']:.3f} ms")
    return 0

