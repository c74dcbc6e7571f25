"""Arenas: the same arrays in the same order give the same bytes, in this process and another."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from neurorack.audio.callback_side import CallbackSide
from neurorack.audio.shared_arrays import ALIGN, Arena


def test_two_views_of_one_block_share_their_arrays(tmp_path):
    size = CallbackSide.bytes_needed(48000, 128, 1024)
    writer = Arena.create(size)
    reader = Arena.open(writer.path)
    a, b = CallbackSide(48000, 128, 1024, writer), CallbackSide(48000, 128, 1024, reader)
    a.fifo.write(np.arange(300, dtype=np.float32))
    out = np.zeros(256, np.float32)
    assert b.fifo.read_into(out) == 256 and np.array_equal(out, np.arange(256))
    assert a.fifo.read_index == 256  # the reader's counter moved for the writer too
    writer.remove_file()
    writer.remove_file()  # twice is fine


def test_arrays_are_aligned_and_a_block_too_small_is_refused():
    counter = Arena()
    counter.zeros(3, np.int8)
    counter.zeros(5, np.float64)
    assert counter.used == ALIGN + 5 * 8
    small = Arena.create(16)
    try:
        with pytest.raises(ValueError, match="holds 16 bytes"):
            small.zeros(3, np.float64)
    finally:
        small.remove_file()


READER = """
import sys, time
import numpy as np
from neurorack.audio.callback_side import CallbackSide
from neurorack.audio.shared_arrays import Arena
side = CallbackSide(48000, 128, 1024, Arena.open(sys.argv[1]))
out, got = np.zeros((128, 2), np.float32), []
deadline = time.monotonic() + 20
while len(got) < 200 * 128 and time.monotonic() < deadline:
    if side.fifo.available >= 128:
        side.pull(out, time.monotonic(), 0.0)
        got.extend(out[:, 1])
print(len(got), int(np.array_equal(np.array(got), np.arange(len(got)) % 4096)))
"""


def test_a_fifo_in_shared_memory_carries_every_sample_to_another_process_in_order():
    """The render thread's side writes 200 blocks while the other process's callback side reads
    them as they come (the FIFO holds only 8): every sample arrives once, in order."""
    size = CallbackSide.bytes_needed(48000, 128, 1024)
    arena = Arena.create(size)
    side = CallbackSide(48000, 128, 1024, arena)
    reader = subprocess.Popen([sys.executable, "-c", READER, arena.path], stdout=subprocess.PIPE, text=True)
    try:
        ramp = (np.arange(200 * 128) % 4096).astype(np.float32)
        written = 0
        while written < len(ramp):
            written += side.fifo.write(ramp[written:written + 128])
        stdout, _ = reader.communicate(timeout=30)
    finally:
        reader.kill()
        arena.remove_file()
    count, in_order = stdout.split()
    assert int(count) == 200 * 128 and in_order == "1"
    assert side.timeline.count == 200 and side.late_renders == 0  # the reader's records, seen here
