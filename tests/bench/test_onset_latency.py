"""How ``bench realtime`` and ``bench soak`` measure gate latency: on the server's cycle timeline."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from neurorack.audio.engine import GateEdge, Onset
from neurorack.audio.timeline import CallbackTimeline
from neurorack.bench.realtime import onset_latencies_ms

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
