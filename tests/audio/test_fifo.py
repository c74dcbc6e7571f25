"""neurorack.audio.fifo: the single-producer, single-consumer sample ring."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

from neurorack.audio.fifo import SampleFifo


def ramp(start: int, count: int) -> np.ndarray:
    return np.arange(start, start + count, dtype=np.float32)


@pytest.mark.parametrize("asked, size", [(1, 1), (5, 8), (8, 8), (9, 16), (640, 1024)])
def test_capacity_is_rounded_up_to_a_power_of_two(asked, size):
    fifo = SampleFifo(asked)
    assert fifo.capacity == size
    assert fifo.free == size
    assert fifo.available == 0


@pytest.mark.parametrize("capacity", [0, -4])
def test_non_positive_capacity_is_refused(capacity):
    with pytest.raises(ValueError):
        SampleFifo(capacity)


def test_fifo_wraps_around_without_losing_samples():
    fifo = SampleFifo(16)
    rng = np.random.default_rng(1)
    written = read = 0
    seen = []
    for _ in range(500):  # thousands of frames through a 16-frame ring
        n = int(rng.integers(1, 12))
        written += fifo.write(ramp(written, min(n, fifo.free)))
        out = np.full(int(rng.integers(1, 12)), -1.0, dtype=np.float32)
        got = fifo.read_into(out)
        seen.append(out[:got].copy())
        read += got
        assert fifo.available == written - read
    seen.append(np.zeros(fifo.available, dtype=np.float32))
    fifo.read_into(seen[-1])
    everything = np.concatenate(seen)
    assert written > 10 * fifo.capacity
    np.testing.assert_array_equal(everything, np.arange(written, dtype=np.float32))


def test_write_and_read_split_exactly_at_the_end_of_the_buffer():
    fifo = SampleFifo(8)
    fifo.write(ramp(0, 6))
    fifo.read_into(np.zeros(6, dtype=np.float32))
    assert fifo.write(ramp(6, 8)) == 8  # starts at slot 6: 2 frames at the end, 6 at the front
    out = np.zeros(8, dtype=np.float32)
    assert fifo.read_into(out) == 8
    np.testing.assert_array_equal(out, ramp(6, 8))


def test_underflow_copies_only_what_is_available_and_leaves_the_rest_untouched():
    fifo = SampleFifo(32)
    fifo.write(ramp(1, 5))
    out = np.full(12, 99.0, dtype=np.float32)
    assert fifo.read_into(out) == 5
    np.testing.assert_array_equal(out[:5], ramp(1, 5))
    np.testing.assert_array_equal(out[5:], np.full(7, 99.0))
    assert fifo.available == 0
    assert fifo.read_into(out) == 0
    np.testing.assert_array_equal(out[:5], ramp(1, 5))


def test_write_beyond_capacity_returns_only_what_fits_and_keeps_the_unread_frames():
    fifo = SampleFifo(8)
    assert fifo.write(ramp(0, 5)) == 5
    assert fifo.write(ramp(5, 10)) == 3
    assert fifo.free == 0
    assert fifo.write(ramp(100, 4)) == 0
    out = np.zeros(8, dtype=np.float32)
    assert fifo.read_into(out) == 8
    np.testing.assert_array_equal(out, ramp(0, 8))


def test_multi_channel_out_gets_the_mono_samples_on_every_channel():
    fifo = SampleFifo(8)
    fifo.write(ramp(0, 6))
    fifo.read_into(np.zeros(4, dtype=np.float32))
    fifo.write(ramp(6, 6))  # the unread frames 4..11 now wrap around the end
    out = np.full((10, 3), -7.0, dtype=np.float32)
    assert fifo.read_into(out) == 8
    for channel in range(3):
        np.testing.assert_array_equal(out[:8, channel], ramp(4, 8))
    np.testing.assert_array_equal(out[8:], np.full((2, 3), -7.0))


def test_float64_input_is_stored_as_float32():
    fifo = SampleFifo(4)
    fifo.write(np.array([0.1, -0.5], dtype=np.float64))
    out = np.zeros(2, dtype=np.float32)
    fifo.read_into(out)
    np.testing.assert_array_equal(out, np.array([0.1, -0.5], dtype=np.float32))


def test_concurrent_producer_and_consumer_see_the_exact_ramp_with_no_loss_or_duplication():
    total = 60_000  # exact in float32
    fifo = SampleFifo(64)
    received = np.full(total, -1.0, dtype=np.float32)
    errors = []

    def produce():
        rng = np.random.default_rng(2)
        source = np.arange(total, dtype=np.float32)
        sent = 0
        while sent < total:
            n = int(rng.integers(1, 50))
            got = fifo.write(source[sent:sent + n])
            sent += got
            if got == 0:
                threading.Event().wait(0)  # yield

    def consume():
        try:
            rng = np.random.default_rng(3)
            count = 0
            buffer = np.zeros((64, 2), dtype=np.float32)
            while count < total:
                n = int(rng.integers(1, 64))
                got = fifo.read_into(buffer[:n])
                if got:
                    # both channels carry the same mono stream
                    assert np.array_equal(buffer[:got, 0], buffer[:got, 1])
                    received[count:count + got] = buffer[:got, 0]
                    count += got
                else:
                    threading.Event().wait(0)
        except AssertionError as exc:  # pragma: no cover - reported below
            errors.append(exc)

    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often, to interleave the two sides
    try:
        threads = [threading.Thread(target=produce), threading.Thread(target=consume)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=20)
        assert not any(thread.is_alive() for thread in threads), "producer/consumer stuck"
    finally:
        sys.setswitchinterval(old_interval)
    assert not errors
    np.testing.assert_array_equal(received, np.arange(total, dtype=np.float32))
    assert fifo.write_index == fifo.read_index == total
