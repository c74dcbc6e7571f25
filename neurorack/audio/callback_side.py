"""What the audio callback touches, and nothing else: the FIFO, the timeline and two counters.

The engine holds one. The audio process (``neurorack.audio.backends.audio_process``)
builds the same one over shared memory, so the callback can run in a process of its own
where no other thread ever holds the interpreter lock it needs.
"""

from __future__ import annotations

import numpy as np

from neurorack.audio.fifo import SampleFifo
from neurorack.audio.shared_arrays import Arena
from neurorack.audio.timeline import CallbackTimeline


class CallbackSide:
    """The FIFO (render thread -> callback), the callback timeline, and the callback's counters.

    Args:
        sample_rate: Hz.
        block_size: frames per callback.
        fifo_frames: FIFO capacity (rounded up to a power of two).
        arena: where it all lives (default: private memory).
    """

    def __init__(self, sample_rate: int, block_size: int, fifo_frames: int, arena: Arena | None = None):
        arena = arena or Arena()
        self.sample_rate = sample_rate
        self.block_size = block_size
        self.fifo_frames = fifo_frames
        self.fifo = SampleFifo(fifo_frames, arena)
        self.timeline = CallbackTimeline(sample_rate, block_size, arena=arena)
        self._counts = arena.zeros(2, np.int64)  # underflows, late renders

    @classmethod
    def bytes_needed(cls, sample_rate: int, block_size: int, fifo_frames: int) -> int:
        """The size of a shared block that holds one."""
        counter = Arena()
        cls(sample_rate, block_size, fifo_frames, counter)
        return counter.used

    @property
    def underflows(self) -> int:
        """Output underflows the backend reported."""
        return int(self._counts[0])

    @property
    def late_renders(self) -> int:
        """Callbacks that found the FIFO short and played silence for the rest."""
        return int(self._counts[1])

    def count_underflow(self) -> None:
        self._counts[0] += 1

    def pull(self, out: np.ndarray, now: float, stream_time: float) -> None:
        """The body of the audio callback: copy ready samples into ``out``.

        Args:
            out: ``[frames, channels]`` float32 buffer to fill completely.
            now: monotonic time of the call.
            stream_time: the backend's own clock (PortAudio stream time, virtual time offline).
        """
        self.timeline.record(self.fifo.read_index, now, stream_time)
        copied = self.fifo.read_into(out)
        if copied < len(out):
            out[copied:] = 0.0
            self._counts[1] += 1
