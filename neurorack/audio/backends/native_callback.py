"""The audio callback in C: build ``native_callback.c``, load it, point it at an engine.

A Python callback must take the interpreter lock, and the module's render, poller and UI
threads hold it often: under load that delays the callback past its cycle and the server
skips one. The C callback does what ``Engine.pull`` does on the same arrays and never
takes the lock.

The library is built with the system's C compiler (``cc``; on Debian or Raspberry Pi OS
``sudo apt-get install gcc libc6-dev``) the first time it is needed, beside this file
when that is writable (``sh install.sh`` builds it there), else in the user's cache
directory. Its name holds a digest of the source and the machine, so a changed source
or another CPU gets a fresh build. ``python -m neurorack.audio.backends.native_callback``
builds it and says where.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from neurorack.audio.engine import Engine
from neurorack.errors import NeurorackError
from neurorack.realtime import CALLBACK_PRIORITY

SOURCE = Path(__file__).with_name("native_callback.c")
COMPILE_FLAGS = ["-O2", "-shared", "-fPIC", "-Wall"]
INSTALL_COMPILER = "sudo apt-get install gcc libc6-dev"


class NativeCallbackUnavailable(NeurorackError):
    """The C callback cannot be built or loaded here; the Python callback plays instead."""


class _Shared(ctypes.Structure):
    """``neurorack_shared`` in native_callback.c, field for field."""

    _fields_ = [
        ("samples", ctypes.c_void_p),
        ("sample_mask", ctypes.c_int64),
        ("fifo_indices", ctypes.c_void_p),
        ("record_read_index", ctypes.c_void_p),
        ("record_called_at", ctypes.c_void_p),
        ("record_stream_time", ctypes.c_void_p),
        ("record_mask", ctypes.c_int64),
        ("origins", ctypes.c_void_p),
        ("origin_mask", ctypes.c_int64),
        ("record_count", ctypes.c_void_p),
        ("inverse_rate", ctypes.c_double),
        ("counters", ctypes.c_void_p),
        ("channels", ctypes.c_int32),
        ("priority", ctypes.c_int32),
        ("realtime", ctypes.c_int32),
        ("cpu", ctypes.c_int32),
        ("pinned", ctypes.c_int32),
    ]


class _TimeInfo(ctypes.Structure):
    """PortAudio's ``PaStreamCallbackTimeInfo``."""

    _fields_ = [("input_adc_time", ctypes.c_double), ("current_time", ctypes.c_double),
                ("output_dac_time", ctypes.c_double)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_ulong,
                             ctypes.POINTER(_TimeInfo), ctypes.c_ulong, ctypes.c_void_p)


def library_name() -> str:
    """The built library's file name: the source's digest and this machine's CPU."""
    digest = hashlib.sha256(SOURCE.read_bytes() + " ".join(COMPILE_FLAGS).encode()).hexdigest()[:12]
    return f"native_callback-{platform.machine()}-{digest}.so"


def library_dirs() -> list[Path]:
    """Where the library is looked for, and built, in this order."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "neurorack"
    return [SOURCE.parent, cache, Path(tempfile.gettempdir()) / f"neurorack-{os.getuid()}"]


def build() -> Path:
    """The built library's path, compiling it first where it is not built yet.

    Raises:
        NativeCallbackUnavailable: no C compiler, the compiler failed, or nowhere is writable.
    """
    name, directories = library_name(), library_dirs()
    for directory in directories:
        if (directory / name).is_file():
            return directory / name
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not compiler:
        raise NativeCallbackUnavailable(f"no C compiler to build the C audio callback; install one: {INSTALL_COMPILER}")
    for directory in directories:
        try:
            directory.mkdir(parents=True, exist_ok=True)
            if not os.access(directory, os.W_OK):
                continue
        except OSError:
            continue
        target = directory / name
        partial = directory / f".{name}.{os.getpid()}.tmp"
        try:
            result = subprocess.run([compiler, *COMPILE_FLAGS, "-o", str(partial), str(SOURCE), "-lpthread"],
                                    capture_output=True, text=True, check=False)
            failure = (result.stderr.strip() or f"exit status {result.returncode}") if result.returncode else ""
        except OSError as exc:
            failure = str(exc)
        if failure:
            partial.unlink(missing_ok=True)
            raise NativeCallbackUnavailable(f"{compiler} could not build {SOURCE.name}: {failure}. "
                                            f"Is a C compiler with the C library's headers installed? "
                                            f"({INSTALL_COMPILER})")
        os.replace(partial, target)  # whole or not at all, even if two processes build at once
        return target
    raise NativeCallbackUnavailable("nowhere writable to build the C audio callback: tried "
                                    + ", ".join(str(d) for d in directories))


class NativeCallback:
    """The C callback bound to one engine's FIFO, timeline and counters.

    Args:
        engine: whose memory the callback reads and writes; it must outlive the stream.
        channels: interleaved output channels; the mono FIFO goes to each.
        priority: SCHED_FIFO priority the callback's thread raises itself to on its first call
            (0: leave the thread's scheduling alone).
        cpu: the core the callback's thread pins itself to on its first call (None: left alone).

    Raises:
        NativeCallbackUnavailable: the library cannot be built or loaded.
    """

    def __init__(self, engine: Engine, channels: int, priority: int = CALLBACK_PRIORITY, cpu: int | None = None):
        path = build()
        try:
            # PyDLL: the publishing store below runs with the interpreter lock held, so the render
            # thread does not give the lock up (and wait to get it back) once per block.
            self._library = ctypes.PyDLL(str(path))
        except OSError as exc:
            raise NativeCallbackUnavailable(f"could not load {path}: {exc}; delete it to rebuild it") from None
        fifo, timeline = engine.fifo, engine.timeline  # their arrays are whole, contiguous allocations
        self.shared = _Shared(
            samples=fifo.ring.ctypes.data, sample_mask=len(fifo.ring) - 1, fifo_indices=fifo.indices.ctypes.data,
            record_read_index=timeline.read_index.ctypes.data, record_called_at=timeline.called_at.ctypes.data,
            record_stream_time=timeline.stream_time.ctypes.data, record_mask=len(timeline.read_index) - 1,
            origins=timeline.origins.ctypes.data, origin_mask=len(timeline.origins) - 1,
            record_count=timeline.counts.ctypes.data, inverse_rate=1.0 / engine.sample_rate,
            counters=engine.callback_counters.ctypes.data, channels=channels, priority=priority, realtime=0,
            cpu=-1 if cpu is None else cpu, pinned=0,
        )
        store = self._library.neurorack_store_release
        store.argtypes, store.restype = [ctypes.c_void_p, ctypes.c_int64], None
        write_slot = fifo.indices.ctypes.data
        fifo.publish_write_index = lambda value: store(write_slot, value)
        self.function = _CALLBACK(("neurorack_callback", self._library))

    @property
    def function_address(self) -> int:
        """The C function's address, for PortAudio."""
        return ctypes.cast(self.function, ctypes.c_void_p).value

    @property
    def userdata_address(self) -> int:
        """The shared struct's address: PortAudio's ``userData`` for the callback."""
        return ctypes.addressof(self.shared)

    @property
    def realtime(self) -> bool | None:
        """Whether the callback's thread runs at ``priority`` or above; None before its first call."""
        return _outcome(self.shared.realtime)

    @property
    def pinned(self) -> bool | None:
        """Whether the callback's thread runs on ``cpu`` only; None before its first call or without one."""
        return _outcome(self.shared.pinned)

    def __call__(self, out, status: int = 0, stream_time: float = 0.0) -> int:
        """Run the callback once on ``out`` (``[frames, channels]`` float32), as PortAudio would."""
        if out.dtype.name != "float32" or out.ndim != 2 or out.shape[1] != self.shared.channels \
                or not out.flags.c_contiguous:
            raise ValueError(f"out must be a contiguous float32 [frames, {self.shared.channels}] array")
        info = _TimeInfo(0.0, stream_time, 0.0)
        return self.function(None, out.ctypes.data, len(out), ctypes.byref(info), status,
                             ctypes.addressof(self.shared))


def _outcome(flag: int) -> bool | None:
    """A first-call flag of the shared struct: 0 (not yet) None, 1 True, -1 False."""
    return {0: None, 1: True}.get(flag, False)


if __name__ == "__main__":
    try:
        print(f"the C audio callback is built: {build()}")
    except NativeCallbackUnavailable as exc:
        sys.exit(f"neurorack: {exc}")
