"""The output timeline: which sample each audio callback played, and when.

The audio callback records, for every call, the FIFO read index (the index of the
first sample it plays), the monotonic time it ran and the backend's stream time. From
that the render thread knows when a given sample will be fetched, which is how gate
onsets land at a constant latency after their edges.

Callbacks are sometimes late (scheduling, the interpreter lock) but never early, so
the estimate takes the minimum over a short window: it follows drift within a fraction
of a second and ignores late wake-ups.

Every record, and the count, is a NumPy array, so the callback can also be C code
writing the same memory (``backends/native_callback.c``).
"""

from __future__ import annotations

import math

import numpy as np

RECENT = 6  # callbacks (16 ms at 128 frames) that must agree before the timeline is taken to have moved


class CallbackTimeline:
    """Ring of per-callback records, written by the audio callback only.

    Args:
        sample_rate: Hz.
        block_size: frames per callback.
        size: records kept (a power of two).
        window: callbacks the fetch-time estimate looks back over.
    """

    def __init__(self, sample_rate: int, block_size: int = 128, size: int = 1 << 14, window: int = 128):
        if size & (size - 1) or window & (window - 1) or size < 1 or window < 1:
            raise ValueError("size and window must be powers of two")
        self.sample_rate = sample_rate
        self._mask = size - 1
        self.read_index = np.zeros(size, dtype=np.int64)
        self.called_at = np.zeros(size)
        self.stream_time = np.zeros(size)
        self.origins = np.full(window, math.inf)  # per callback: when sample 0 would have been fetched
        self._window_mask = window - 1
        self._inverse_rate = 1.0 / sample_rate
        self._half_block_s = 0.5 * block_size / sample_rate
        self.counts = np.zeros(1, dtype=np.int64)  # [callbacks recorded]

    @property
    def count(self) -> int:
        """Callbacks recorded so far."""
        return int(self.counts[0])

    def record(self, read_index: int, now: float, stream_time: float) -> None:
        """Called at the top of every audio callback. Allocates no arrays."""
        k = self.count
        slot = k & self._mask
        self.read_index[slot] = read_index
        self.called_at[slot] = now
        self.stream_time[slot] = stream_time
        self.origins[k & self._window_mask] = now - read_index * self._inverse_rate
        self.counts[0] = k + 1

    def origin(self) -> float | None:
        """Monotonic time at which sample 0 would have been fetched, or None before any callback.

        Normally the minimum over the window. When the last few callbacks all sit more
        than half a block later, the timeline itself has moved (the server skipped a
        cycle, or the FIFO ran short), so the estimate follows at once instead of
        waiting for the window to forget.
        """
        count = self.count
        if count == 0:
            return None
        settled = float(self.origins.min())
        recent = min(self.origins[(count - back) & self._window_mask] for back in range(1, min(count, RECENT) + 1))
        return float(recent) if recent - settled > self._half_block_s else settled

    def fetch_time(self, sample_index: int) -> float | None:
        """Estimated monotonic time at which the callback fetches ``sample_index``."""
        origin = self.origin()
        return None if origin is None else origin + sample_index * self._inverse_rate

    def sample_at(self, when: float) -> float | None:
        """The (fractional) sample index fetched at monotonic time ``when``."""
        origin = self.origin()
        return None if origin is None else (when - origin) * self.sample_rate

    def recent(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Copies of the kept records, oldest first: ``(read_index, called_at, stream_time)``."""
        total = self.count
        count = min(total, self._mask + 1)
        order = np.arange(total - count, total) & self._mask
        return self.read_index[order].copy(), self.called_at[order].copy(), self.stream_time[order].copy()
