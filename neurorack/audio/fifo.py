"""A lock-free single-producer, single-consumer ring buffer of mono float32 samples.

The render thread is the only writer and the audio callback the only reader. Each side
owns one counter (``write_index`` / ``read_index``, total frames ever written / read)
and only reads the other's. Data is copied before the owner's counter moves, so the
reader never sees frames that are not there yet. No lock is needed and the callback
never waits.

The ring and both counters are NumPy arrays, so the audio callback can also be C code
working on the same memory (``backends/native_callback.c``). Such a reader installs
``publish_write_index``, a store that makes the samples visible before the counter on
every CPU.
"""

from __future__ import annotations

from functools import partial

import numpy as np

WRITE, READ = 0, 1  # positions in SampleFifo.indices


class SampleFifo:
    """Ring buffer between the render thread (writer) and the audio callback (reader).

    Args:
        capacity: frames it can hold; rounded up to a power of two.
    """

    def __init__(self, capacity: int):
        if capacity < 1:
            raise ValueError("capacity must be positive")
        size = 1 << (int(capacity) - 1).bit_length()
        self.ring = np.zeros(size, dtype=np.float32)
        self._mask = size - 1
        self.capacity = size
        self.indices = np.zeros(2, dtype=np.int64)  # [write_index, read_index]
        self.publish_write_index = partial(self.indices.__setitem__, WRITE)  # a C reader replaces it

    @property
    def write_index(self) -> int:
        """Frames ever written (the writer's counter)."""
        return int(self.indices[WRITE])

    @property
    def read_index(self) -> int:
        """Frames ever read (the reader's counter)."""
        return int(self.indices[READ])

    @property
    def available(self) -> int:
        """Frames written and not read yet."""
        return self.write_index - self.read_index

    @property
    def free(self) -> int:
        """Frames that can be written without overwriting unread ones."""
        return self.capacity - self.available

    def write(self, samples: np.ndarray) -> int:
        """Append mono samples (writer side). Returns how many fitted."""
        written = self.write_index
        count = min(len(samples), self.free)
        start = written & self._mask
        first = min(count, self.capacity - start)
        self.ring[start:start + first] = samples[:first]
        if count > first:
            self.ring[:count - first] = samples[first:count]
        self.publish_write_index(written + count)
        return count

    def read_into(self, out: np.ndarray) -> int:
        """Copy up to ``len(out)`` frames into ``out`` (reader side, the audio callback).

        ``out`` is ``[frames]`` or ``[frames, channels]``; mono samples go to every
        channel. Frames beyond what was available are left untouched; the caller
        writes silence there. Allocates no arrays.

        Returns:
            The number of frames copied.
        """
        read = self.read_index
        count = min(len(out), self.write_index - read)
        start = read & self._mask
        first = min(count, self.capacity - start)
        if out.ndim == 2:
            out[:first] = self.ring[start:start + first, np.newaxis]
            if count > first:
                out[first:count] = self.ring[:count - first, np.newaxis]
        else:
            out[:first] = self.ring[start:start + first]
            if count > first:
                out[first:count] = self.ring[:count - first]
        self.indices[READ] = read + count
        return count
