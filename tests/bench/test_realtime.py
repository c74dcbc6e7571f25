"""The engine on a real real-time server (JACK's dummy driver), via ``neurorack bench realtime``, and how it measures gate latency."""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np
import pytest

from neurorack.audio.schedule import Onset
from neurorack.audio.timeline import CallbackTimeline
from neurorack.core.events import GateEdge
from neurorack_bench.realtime import onset_latencies_ms
from tests.jack_fixtures import jack_server, run_json  # noqa: F401  (fixture)


def timed_run(*args: str) -> tuple[dict, tuple[float, float]]:
    """The JSON of ``neurorack bench realtime ARGS``, and the monotonic window it ran in."""
    since = time.monotonic()
    result = run_json("bench", "realtime", *args, "--json")
    return result, (since, time.monotonic())


@pytest.fixture(scope="module")
def ten_seconds_run(jack_server):  # noqa: F811
    return timed_run("--seconds", "10")


@pytest.fixture(scope="module")
def ten_seconds(ten_seconds_run):
    return ten_seconds_run[0]


def _at_the_servers_pace(result: dict) -> bool:
    return abs(result["callbacks"] - result["expected_callbacks"]) <= 0.02 * result["expected_callbacks"]


def test_callbacks_arrive_at_the_servers_pace(ten_seconds_run, jack_server):  # noqa: F811
    result, window = ten_seconds_run
    assert result["expected_callbacks"] == pytest.approx(10 * 48000 / 128, rel=0.02)
    assert result["audio_callback"] == {"runs": "native", "why": None}
    if not _at_the_servers_pace(result):
        # The dummy driver runs no cycles while the host holds its timer thread, and then
        # starts its clock again (it logs a late cycle of its own): those cycles are lost for
        # every client. A client the host holds up misses cycles too (the server logs it late).
        # A run with either is measured once more: a module that misses cycles by itself does
        # so again. One that lost cycles with no xrun logged fails at once.
        stalls = jack_server.xruns(*window)
        assert stalls is not None and stalls.server_late + stalls.client_late > 0, (
            result["callbacks"], result["expected_callbacks"], stalls)
        again, _ = timed_run("--seconds", "10", "--no-baseline")
        assert _at_the_servers_pace(again), [(run["callbacks"], run["expected_callbacks"]) for run in (result, again)]


def _dropouts_within_baseline(result: dict) -> bool:
    # A small slack: 2, or half a per cent of the callbacks when the host is noisy (a VM whose
    # host stalls it for milliseconds gives the sine client itself a handful per 10 s). An
    # engine that cannot keep up misses a quarter or more (see the overloaded voice below).
    slack = max(2, 0.005 * result["callbacks"])
    return (result["underflows"] <= result["baseline_underflows"] + slack
            and result["late_renders"] <= result["baseline_underflows"] + slack)


def test_engine_has_no_more_dropouts_than_a_sine_client(ten_seconds):
    # The host's own hiccups come in bursts that may hit one run and not the other, so a
    # miss is measured once more; an engine that really drops out more fails both times.
    if not _dropouts_within_baseline(ten_seconds):
        again = run_json("bench", "realtime", "--seconds", "10", "--json")
        figures = ("callbacks", "underflows", "baseline_underflows", "late_renders")
        assert _dropouts_within_baseline(again), [{k: run[k] for k in figures} for run in (ten_seconds, again)]


ONSET_FIGURES = ("gates", "late_onsets", "gate_latency_ms", "configured_gate_latency_ms", "held_gate_latencies_ms",
                 "gates_within_half_ms")


def _onsets_on_time(result: dict) -> bool:
    # A host stall that holds the gate thread past its onset's render makes that onset late
    # (the engine counts it); a noisy CI host gives one or two per 10 s. An engine that
    # cannot place onsets ahead of the render is late on most of them.
    # A lookahead raised by such a stall moves the onsets after it a block later: each onset is
    # judged against the latencies the schedule held (the configured one, then one per raise).
    gates = result["gates"]
    held = result["held_gate_latencies_ms"]
    return (gates >= 35 and result["late_onsets"] <= 0.1 * gates
            and min(abs(result["gate_latency_ms"]["p50"] - latency) for latency in held) <= 0.5
            and result["gates_within_half_ms"] >= 0.8)


def test_onsets_are_judged_against_every_latency_the_schedule_held():
    from types import SimpleNamespace

    from neurorack_bench.realtime import held_gate_latencies_ms, within_half_ms

    schedule = SimpleNamespace(block_size=128, sample_rate=48000, base_gate_latency_s=0.005833)
    held = held_gate_latencies_ms(schedule, raises=1)  # the configured latency, then a block later
    assert held == pytest.approx([5.833, 8.5], abs=1e-3)
    onsets = np.array([5.84, 5.85, 8.49, 7.2])  # two before the raise, one after, one a block off from both
    assert within_half_ms(onsets, held) == 0.75
    assert within_half_ms(onsets, held[:1]) == 0.5


def test_gate_onsets_land_at_the_configured_constant_latency(ten_seconds):
    # Measured on the server's cycle timeline, not by the engine's own estimate. Onsets
    # snapped to block boundaries would put about a third of the gates within 0.5 ms of the
    # configured latency and move the median by up to a block; sample-exact placement puts
    # nearly all of them there. A host stall near an edge can move that one onset by a block
    # or more (the jitter target, p99 - p1 <= 1 ms, is a benchmark figure), so a few such
    # onsets are allowed and a miss is measured once more. The sample-exact placement itself
    # is tested offline in test_engine.py.
    if not _onsets_on_time(ten_seconds):
        again = run_json("bench", "realtime", "--seconds", "10", "--no-baseline", "--json")
        assert _onsets_on_time(again), [{k: run[k] for k in ONSET_FIGURES} for run in (ten_seconds, again)]


def test_overloaded_voice_produces_dropouts_that_are_counted(jack_server):  # noqa: F811
    result = run_json("bench", "realtime", "--seconds", "3", "--voice", "busy", "--no-baseline", "--json")
    assert result["voice"] == "overloaded test voice"
    assert result["late_renders"] >= 0.25 * result["callbacks"]
    assert result["render_ms"]["p50"] > 128 / 48000 * 1000  # slower than real time, as intended


def test_the_default_model_at_64_frames_reports_gate_to_sound_latency_and_render_parts():
    # A server of its own at 64 frames (the module fixture's runs at 128), the baseline at the same size.
    result = run_json("bench", "realtime", "--seconds", "2", "--voice", "model", "--block-size", "64", "--json",
                      env={"JACK_DEFAULT_SERVER": "neurorack-test-realtime-64"})
    assert result["block_size"] == 64 and result["model"] == "drums-v2" and result["sound"] == "Kick"
    # the baseline ran at 64 frames too (at 128 it would see half as many cycles); a host stall
    # of a tenth of a second costs a 2-second run 5 % of its cycles, so the bound is wider than that
    assert result["baseline_callbacks"] == pytest.approx(2 * 48000 / 64, rel=0.25)
    assert result["gates"] >= 6 and result["sounds_found"] + result["sounds_missed"] == result["gates"]
    assert result["sounds_found"] >= 0.8 * result["gates"]
    gate, sound = result["gate_latency_ms"]["p50"], result["sound_latency_ms"]["p50"]
    assert gate <= sound < gate + 5.0  # the kick's attack after the onset the engine placed
    assert result["lookahead_raises"] >= 0 and result["lookahead_drops"] >= 0
    parts = result["render_us"]
    assert list(parts) == ["model", "synthesis", "voices", "output", "engine", "block"]
    assert parts["model"]["max"] > 0 and parts["synthesis"]["max"] > 0 and parts["output"]["max"] > 0
    assert sum(parts[part]["mean"] for part in list(parts)[:-1]) == pytest.approx(parts["block"]["mean"])


# How gate latency is measured: on the server's cycle timeline (no JACK server needed).

RATE, BLOCK = 48000, 128
BLOCK_S = BLOCK / RATE


def _engine(starts: list[float], prefill: int = 2):
    """An engine stand-in whose callback ran at ``starts`` (monotonic s), one block each."""
    timeline = CallbackTimeline(RATE, BLOCK)
    for cycle, start in enumerate(starts):
        timeline.record(max(0, cycle - prefill) * BLOCK, start, 0.0)
    return SimpleNamespace(timeline=timeline, sample_rate=RATE, block_size=BLOCK)


def _onset(edge_s: float, sample: int) -> Onset:
    return Onset(GateEdge(edge_s), sample, late=False)


def test_an_onset_in_a_later_block_measures_its_whole_distance_in_frames():
    starts = [10.0 + c * BLOCK_S for c in range(40)]
    engine = _engine(starts)
    edge = starts[10] + 50 / RATE  # 50 frames into cycle 10
    sample = 20 * BLOCK + 30  # cycle c reads from sample (c - 2) * 128: played by cycle 22, 30 frames in
    expected_frames = 22 * BLOCK + 30 - (10 * BLOCK + 50)
    assert onset_latencies_ms([_onset(edge, sample)], engine) == [pytest.approx(expected_frames / 48)]


def test_callbacks_that_start_late_in_their_cycles_do_not_move_the_edge():
    on_time = [10.0 + c * BLOCK_S for c in range(40)]
    late = [t + (0.0015 if c % 3 else 0.0) for c, t in enumerate(on_time)]  # two in three run 1.5 ms late
    edge, sample = on_time[15] + 10 / RATE, 25 * BLOCK
    assert (onset_latencies_ms([_onset(edge, sample)], _engine(late))
            == pytest.approx(onset_latencies_ms([_onset(edge, sample)], _engine(on_time))))


def test_a_host_stall_after_the_edge_adds_no_frames_but_an_onset_a_block_late_measures_a_block():
    starts = [10.0 + c * BLOCK_S + (0.02 if c >= 13 else 0.0) for c in range(60)]  # 20 ms stall before cycle 13
    engine = _engine(starts)
    edge = starts[10] + 64 / RATE
    on_time, one_block_late = 14 * BLOCK + 64, 15 * BLOCK + 64
    latencies = onset_latencies_ms([_onset(edge, on_time), _onset(edge, one_block_late)], engine)
    assert latencies == pytest.approx([6 * BLOCK / 48, 7 * BLOCK / 48])


def test_onsets_not_yet_played_are_left_for_later():
    engine = _engine([10.0 + c * BLOCK_S for c in range(10)])
    assert onset_latencies_ms([_onset(10.001, 50 * BLOCK)], engine) == []
