"""A lock-free single-producer, single-consumer ring buffer of mono float32 samples.

The render thread is the only writer and the audio callback the only reader. Each side
owns one counter (``write_index`` / ``read_index``, total frames ever written / read)
and only reads the other's. Data is copied before the owner's counter moves, so the
reader never sees frames that are not there yet. Rebinding a Python int is atomic, so
no lock is needed and the callback never waits.
"""

from __future__ import annotations

import numpy as np


class SampleFifo:
    """Ring buffer between the render thread (writer) and the audio callback (reader).

    Args:
        capacity: frames it can hold; rounded up to a power of two.
    """

    def __init__(self, capacity: int):
        if capacity < 1:
            raise ValueError("capacity must be positive")
        size = 1 << (int(capacity) - 1).bit_length()
        self._buffer = np.zeros(size, dtype=np.float32)
        self._mask = size - 1
        self.capacity = size
        self.write_index = 0
        self.read_index = 0

    @property
    def available(self) -> int:
        """Frames written and not read yet."""
        return self.write_index - self.read_index

    @property
    def free(self) -> int:
        """Frames that can be written without overwriting unread ones."""
        return self.capacity - (self.write_index - self.read_index)

    def write(self, samples: np.ndarray) -> int:
        """Append mono samples (writer side). Returns how many fitted."""
        count = min(len(samples), self.free)
        start = self.write_index & self._mask
        first = min(count, self.capacity - start)
        self._buffer[start:start + first] = samples[:first]
        if count > first:
            self._buffer[:count - first] = samples[first:count]
        self.write_index += count
        return count

    def read_into(self, out: np.ndarray) -> int:
        """Copy up to ``len(out)`` frames into ``out`` (reader side, the audio callback).

        ``out`` is ``[frames]`` or ``[frames, channels]``; mono samples go to every
        channel. Frames beyond what was available are left untouched; the caller
        writes silence there. Allocates no arrays.

        Returns:
            The number of frames copied.
        """
        count = min(len(out), self.write_index - self.read_index)
        start = self.read_index & self._mask
        first = min(count, self.capacity - start)
        if out.ndim == 2:
            out[:first] = self._buffer[start:start + first, np.newaxis]
            if count > first:
                out[first:count] = self._buffer[:count - first, np.newaxis]
        else:
            out[:first] = self._buffer[start:start + first]
            if count > first:
                out[first:count] = self._buffer[:count - first]
        self.read_index += count
        return count
