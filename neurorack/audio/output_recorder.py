"""The last few seconds the engine rendered, by sample index, for benchmarks that look for
each gate's sound in the output (``neurorack_bench.sound_onsets``).

The render thread copies each block, after the output stage (what the callback plays), into a
preallocated ring: no arrays are allocated, no lock is taken. Off, which is the daemon's
default (``Engine.recorder`` None), nothing is copied.
"""

from __future__ import annotations

import numpy as np


class OutputRecorder:
    """Ring of the last ``size`` rendered samples, indexed as the FIFO and onsets are (samples
    since the stream started).

    Args:
        size: samples kept (rounded up to a power of two; the default holds 5.4 s at 48 kHz).
    """

    def __init__(self, size: int = 1 << 18):
        size = 1 << max(0, int(size) - 1).bit_length()
        self.ring = np.zeros(size, dtype=np.float32)
        self._mask = size - 1
        self.written = 0  # samples ever written: the ring holds [written - size, written)

    def write(self, index: int, block: np.ndarray) -> None:
        """Keep ``block``, the samples from ``index`` on (render thread; ``index`` follows on)."""
        count = len(block)
        start = index & self._mask
        first = min(count, len(self.ring) - start)
        self.ring[start:start + first] = block[:first]
        if count > first:
            self.ring[:count - first] = block[first:]
        self.written = index + count

    def read(self, begin: int, end: int) -> np.ndarray | None:
        """A copy of samples ``[begin, end)`` (those before 0 are the silence before the stream),
        or None when some are not rendered yet or no longer kept (any thread)."""
        if end > self.written or begin < self.written - len(self.ring) or end < begin:
            return None
        indices = np.arange(begin, end)
        samples = np.where(indices >= 0, self.ring[indices & self._mask], np.float32(0.0))
        if begin < self.written - len(self.ring):  # overwritten while it was copied
            return None
        return samples
