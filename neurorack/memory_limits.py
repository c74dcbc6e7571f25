"""What the native libraries need from an address-space limit (``LimitAS=``, ``ulimit -v``).

Python turns a failed allocation into ``MemoryError``, which the daemon reports in one line.
OpenBLAS (behind NumPy's matrix products) does not: it maps its memory outside Python and,
when it cannot, ends the process on the spot (exit status 1, or SIGINT when it cannot start
its threads). So the daemon keeps OpenBLAS to one thread, and before the two steps where
OpenBLAS maps memory (loading NumPy; starting the audio threads, each of which maps a buffer
of its own on its first larger matrix product) it checks that the limit leaves room, and
stops with a clear error if not. Nothing here imports NumPy.
"""

from __future__ import annotations

import os
import re
import resource
import sys
from pathlib import Path

from neurorack.errors import NeurorackError

# Room for either step, with some to spare: NumPy's load maps about 80 MiB (OpenBLAS's code
# and first buffer); an audio thread needs its stack (8 MiB) and an OpenBLAS buffer (34 MiB).
NATIVE_HEADROOM = 96 << 20


class OutOfAddressSpace(NeurorackError):
    """The address-space limit leaves too little room for what comes next."""


def single_threaded_blas() -> None:
    """Before NumPy loads: OpenBLAS multiplies on the calling thread, with no workers of its own.

    The models' products are too small to gain from more threads, workers would run outside
    the render thread's real-time priority (which would then wait on them), and under a
    memory limit OpenBLAS ends the process when it cannot start them. A value already set
    in the environment is kept."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def before_numpy() -> None:
    """Call before NumPy loads (once it has, there is nothing left to do): keep OpenBLAS to
    one thread, and check for room to load it."""
    if "numpy" in sys.modules:
        return
    single_threaded_blas()
    require_headroom("loading NumPy")


def address_space_left() -> int | None:
    """Bytes the address-space limit still allows this process to map; None without a limit
    (or where it cannot be read)."""
    limit, _ = resource.getrlimit(resource.RLIMIT_AS)
    if limit == resource.RLIM_INFINITY:
        return None
    try:
        match = re.search(r"VmSize:\s+(\d+) kB", Path("/proc/self/status").read_text())
    except OSError:
        return None
    return None if match is None else limit - int(match.group(1)) * 1024


def require_headroom(step: str, needed: int = NATIVE_HEADROOM) -> None:
    """Raise ``OutOfAddressSpace`` unless the address-space limit leaves ``needed`` bytes for ``step``."""
    left = address_space_left()
    if left is not None and left < needed:
        raise OutOfAddressSpace(f"out of memory: the address-space limit leaves {max(left, 0) >> 20} MiB and "
                                f"{step} needs {needed >> 20} MiB; raise the service's memory limit")


ENOMEM_IMPORT_MESSAGES = ("cannot allocate memory", "failed to map segment")


def out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it was raised from) is the system running out of memory: a
    ``MemoryError``, a thread that cannot start, or an ``ENOMEM`` (an import that cannot map
    its library raises ``ImportError`` from one)."""
    import errno

    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, MemoryError):
            return True
        if isinstance(exc, RuntimeError) and "can't start new thread" in str(exc):
            return True
        if isinstance(exc, OSError) and (exc.errno == errno.ENOMEM or "out of memory" in str(exc).lower()):
            return True  # the kernel's ENOMEM, or a library's own words (FreeType)
        if isinstance(exc, ImportError) and any(s in str(exc).lower() for s in ENOMEM_IMPORT_MESSAGES):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False
