"""neurorack.audio.timeline: the callback record and the fetch-time estimate."""

from __future__ import annotations

import numpy as np
import pytest

from neurorack.audio.timeline import RECENT, CallbackTimeline

SR = 48000
BLOCK = 128


def play(timeline: CallbackTimeline, first_block: int, count: int, origin: float, late: dict | None = None) -> None:
    """Record ``count`` callbacks of a stream whose sample 0 was fetched at ``origin``."""
    late = late or {}
    for k in range(first_block, first_block + count):
        index = k * BLOCK
        now = origin + index / SR + late.get(k, 0.0)
        timeline.record(index, now, index / SR)


def test_origin_is_none_before_the_first_callback():
    timeline = CallbackTimeline(SR)
    assert timeline.origin() is None
    assert timeline.fetch_time(1000) is None
    assert timeline.sample_at(1.0) is None


def test_origin_is_now_minus_read_index_over_the_rate():
    timeline = CallbackTimeline(SR, window=8)
    timeline.record(4800, 10.5, 0.0)
    assert timeline.origin() == pytest.approx(10.4)
    assert timeline.count == 1


def test_origin_is_the_minimum_over_the_window():
    timeline = CallbackTimeline(SR, window=8)
    for index, now in [(0, 2.0), (128, 1.9 + 128 / SR), (256, 2.1 + 256 / SR)]:
        timeline.record(index, now, 0.0)
    assert timeline.origin() == pytest.approx(1.9)


def test_a_late_callback_does_not_move_the_origin():
    timeline = CallbackTimeline(SR, window=8)
    play(timeline, 0, 20, origin=3.0, late={15: 0.004, 18: 0.0007})
    assert timeline.origin() == pytest.approx(3.0, abs=1e-12)


def test_origin_follows_a_small_later_step_after_window_callbacks():
    window = 8
    timeline = CallbackTimeline(SR, window=window)
    play(timeline, 0, 20, origin=1.0)
    play(timeline, 20, window - 1, origin=1.001)  # drift: 1 ms, less than half a block
    assert timeline.origin() == pytest.approx(1.0, abs=1e-12)
    play(timeline, 20 + window - 1, 1, origin=1.001)
    assert timeline.origin() == pytest.approx(1.001, abs=1e-12)


def test_origin_follows_a_skipped_cycle_after_the_recent_callbacks_agree():
    timeline = CallbackTimeline(SR, window=128)
    play(timeline, 0, 200, origin=1.0)
    skipped = 1.0 + BLOCK / SR  # the server skipped one cycle: every later sample plays a block later
    play(timeline, 200, RECENT - 1, origin=skipped)
    assert timeline.origin() == pytest.approx(1.0, abs=1e-12)
    play(timeline, 200 + RECENT - 1, 1, origin=skipped)
    assert timeline.origin() == pytest.approx(skipped, abs=1e-12)


def test_a_burst_of_late_callbacks_is_not_taken_for_a_skip():
    timeline = CallbackTimeline(SR, window=128)
    burst = {k: 0.002 for k in range(200 - RECENT + 1, 200)}  # all but the newest of the recent ones late
    play(timeline, 0, 200, origin=1.0, late=burst)
    assert timeline.origin() == pytest.approx(1.0, abs=1e-12)


def test_origin_follows_an_earlier_step_at_once():
    timeline = CallbackTimeline(SR, window=8)
    play(timeline, 0, 20, origin=1.0)
    play(timeline, 20, 1, origin=0.999)
    assert timeline.origin() == pytest.approx(0.999, abs=1e-12)


def test_default_window_is_128_callbacks():
    timeline = CallbackTimeline(SR)
    play(timeline, 0, 10, origin=5.0)
    play(timeline, 10, 127, origin=5.001)
    assert timeline.origin() == pytest.approx(5.0, abs=1e-12)
    play(timeline, 137, 1, origin=5.001)
    assert timeline.origin() == pytest.approx(5.001, abs=1e-12)


def test_fetch_time_and_sample_at_are_inverse_maps_from_the_origin():
    timeline = CallbackTimeline(SR, window=8)
    play(timeline, 0, 4, origin=7.0)
    assert timeline.fetch_time(0) == pytest.approx(7.0)
    assert timeline.fetch_time(48000) == pytest.approx(8.0)
    assert timeline.sample_at(7.5) == pytest.approx(24000.0)
    assert timeline.sample_at(timeline.fetch_time(12345)) == pytest.approx(12345.0)


def test_recent_returns_the_kept_records_oldest_first():
    timeline = CallbackTimeline(SR, size=4, window=4)
    for k in range(6):
        timeline.record(k * BLOCK, 10.0 + k, 20.0 + k)
    read_index, called_at, stream_time = timeline.recent()
    np.testing.assert_array_equal(read_index, [2 * BLOCK, 3 * BLOCK, 4 * BLOCK, 5 * BLOCK])
    np.testing.assert_array_equal(called_at, [12.0, 13.0, 14.0, 15.0])
    np.testing.assert_array_equal(stream_time, [22.0, 23.0, 24.0, 25.0])
    read_index[0] = -1  # a copy, not a view
    assert timeline.read_index.min() >= 0


def test_recent_before_the_ring_fills_has_only_what_was_recorded():
    timeline = CallbackTimeline(SR, size=16, window=4)
    timeline.record(0, 1.0, 0.0)
    timeline.record(BLOCK, 1.1, 0.1)
    read_index, called_at, _ = timeline.recent()
    np.testing.assert_array_equal(read_index, [0, BLOCK])
    np.testing.assert_array_equal(called_at, [1.0, 1.1])
