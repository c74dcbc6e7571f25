"""Arrays that two processes can share: the audio process's view of the engine's FIFO.

An ``Arena`` hands out NumPy arrays one after another from one block of memory. Two
processes that ask for the same arrays in the same order get the same bytes, so the
audio callback in its own process and the render thread in the daemon see one FIFO.

``Arena()`` is private memory (for one process). ``Arena.create(size)`` puts the block in
a file under ``/dev/shm`` (RAM), which ``Arena.open(path)`` maps from the other process.
"""

from __future__ import annotations

import mmap
import os
import tempfile

import numpy as np

ALIGN = 64  # every array starts on its own cache line


def shared_memory_dir() -> str:
    """Where the shared block's file lives: RAM-backed ``/dev/shm`` where there is one."""
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else tempfile.gettempdir()


class Arena:
    """Hands out arrays from one block of memory.

    Args:
        buffer: the block (an ``mmap``); None allocates each array privately and only counts
            the bytes, which is how ``size`` learns what a shared block must hold.
        path: the file behind ``buffer``, if any.
    """

    def __init__(self, buffer: mmap.mmap | None = None, path: str | None = None):
        self.buffer = buffer
        self.path = path
        self.used = 0

    @classmethod
    def create(cls, size: int) -> Arena:
        """A zeroed block of ``size`` bytes in a new file that another process can ``open``."""
        fd, path = tempfile.mkstemp(prefix="neurorack-audio-", dir=shared_memory_dir())
        try:
            os.ftruncate(fd, max(size, 1))
            buffer = mmap.mmap(fd, max(size, 1))
        finally:
            os.close(fd)
        return cls(buffer, path)

    @classmethod
    def open(cls, path: str) -> Arena:
        """Map the block another process ``create``-d."""
        fd = os.open(path, os.O_RDWR)
        try:
            buffer = mmap.mmap(fd, os.fstat(fd).st_size)
        finally:
            os.close(fd)
        return cls(buffer, path)

    def zeros(self, shape: int | tuple[int, ...], dtype) -> np.ndarray:
        """The next array (zeros in a fresh block)."""
        dtype = np.dtype(dtype)
        count = int(np.prod(shape))
        start = -(-self.used // ALIGN) * ALIGN
        self.used = start + count * dtype.itemsize
        if self.buffer is None:
            return np.zeros(shape, dtype=dtype)
        if self.used > len(self.buffer):
            raise ValueError(f"the shared block holds {len(self.buffer)} bytes, {self.used} asked for")
        return np.frombuffer(self.buffer, dtype=dtype, count=count, offset=start).reshape(shape)

    def remove_file(self) -> None:
        """Delete the file (mappings stay valid until closed). Safe to call twice."""
        if self.path is not None:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
