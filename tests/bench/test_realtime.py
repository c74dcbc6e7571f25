"""The engine on a real real-time server (JACK's dummy driver), via ``neurorack bench realtime``."""

from __future__ import annotations

import pytest

from tests.jack_fixtures import jack_server, run_json  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def ten_seconds(jack_server):  # noqa: F811
    return run_json("bench", "realtime", "--seconds", "10", "--json")


def test_callbacks_arrive_at_the_servers_pace(ten_seconds):
    expected = ten_seconds["expected_callbacks"]
    assert expected == pytest.approx(10 * 48000 / 128, rel=0.02)
    assert abs(ten_seconds["callbacks"] - expected) <= 0.02 * expected


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


ONSET_FIGURES = ("gates", "late_onsets", "gate_latency_ms", "configured_gate_latency_ms", "gates_within_half_ms")


def _onsets_on_time(result: dict) -> bool:
    return (result["gates"] >= 35 and result["late_onsets"] == 0
            and abs(result["gate_latency_ms"]["p50"] - result["configured_gate_latency_ms"]) <= 0.5
            and result["gates_within_half_ms"] >= 0.8)


def test_gate_onsets_land_at_the_configured_constant_latency(ten_seconds):
    # Measured on the server's cycle timeline, not by the engine's own estimate. Onsets
    # snapped to block boundaries would put about a third of the gates within 0.5 ms of the
    # configured latency and move the median by up to a block; sample-exact placement puts
    # nearly all of them there. A host stall near an edge can move that one onset by a block
    # (the jitter target, p99 - p1 <= 1 ms, is a benchmark figure), so a miss is measured once
    # more. The sample-exact placement itself is tested offline in test_engine.py.
    if not _onsets_on_time(ten_seconds):
        again = run_json("bench", "realtime", "--seconds", "10", "--no-baseline", "--json")
        assert _onsets_on_time(again), [{k: run[k] for k in ONSET_FIGURES} for run in (ten_seconds, again)]


def test_overloaded_voice_produces_dropouts_that_are_counted(jack_server):  # noqa: F811
    result = run_json("bench", "realtime", "--seconds", "3", "--voice", "busy", "--no-baseline", "--json")
    assert result["voice"] == "overloaded test voice"
    assert result["late_renders"] >= 0.25 * result["callbacks"]
    assert result["render_ms"]["p50"] > 128 / 48000 * 1000  # slower than real time, as intended
