"""The audio callback in C: load ``native_callback.c``'s library, point it at an engine.

A Python callback must take the interpreter lock, and the module's render, poller and UI
threads hold it often: under load that delays the callback past its cycle and the server
skips one. The C callback does what ``Engine.pull`` does on the same arrays and never
takes the lock.

``pip install`` builds the library (``setup.py``: the ``_native_callback`` extension, a
plain C library that ctypes loads) with the system's C compiler (on Debian or Raspberry
Pi OS ``sudo apt-get install gcc libc6-dev``; ``sh install.sh`` installs it). Nothing is
compiled at run time, so a module with a read-only root, or no compiler, plays it from
a wheel built elsewhere. Where it was not built the Python callback plays, and
``installed_callback`` says why (``neurorack hw check``, the bench JSON, and
``python -m neurorack.audio.backends.native_callback`` print it).
"""

from __future__ import annotations

import ctypes
from pathlib import Path

from neurorack import compiled_library
from neurorack.audio.engine import Engine
from neurorack.errors import NeurorackError
from neurorack.realtime import CALLBACK_PRIORITY

SOURCE = Path(__file__).with_name("native_callback.c")
LIBRARY_MODULE = "neurorack.audio.backends._native_callback"
LIBRARY = compiled_library.installed_library(LIBRARY_MODULE, SOURCE)  # what NativeCallback loads
NOT_BUILT_NOTE = compiled_library.not_built_note(LIBRARY).name  # setup.py's build step writes it when the build fails


class NativeCallbackUnavailable(NeurorackError):
    """The C callback was not built or does not load here; the Python callback plays instead."""


def load_library(path: Path | None = None) -> ctypes.PyDLL:
    """The library at ``path`` (default: ``LIBRARY``), loaded (``compiled_library.load``: PyDLL,
    so the publishing store below runs with the interpreter lock held and the render thread does
    not give the lock up, and wait to get it back, once per block).

    Raises:
        NativeCallbackUnavailable: it was not built at install, or does not load; the message says why.
    """
    return compiled_library.load(LIBRARY if path is None else path, SOURCE, "the C callback",
                                 NativeCallbackUnavailable)


def why_python() -> str | None:
    """Why a sound device plays the Python callback with this install; None: the C one plays."""
    try:
        load_library()
    except NativeCallbackUnavailable as exc:
        return str(exc)
    return None


def describe_callback(why: str | None) -> dict:
    """Which audio callback plays, for logs and JSON: ``{"runs": "native", "why": None}``, or
    ``{"runs": "python", "why": why}`` (``why``: the reason, None when the native one plays)."""
    return {"runs": "python", "why": why} if why else {"runs": "native", "why": None}


def callback_summary(description: dict) -> str:
    """A ``describe_callback`` dict in words: ``native``, or ``python (why)``."""
    return description["runs"] + (f" ({description['why']})" if description["why"] else "")


def installed_callback() -> dict:
    """``describe_callback`` for the callback a sound device plays with this install: what
    ``neurorack hw check`` and every bench's JSON report (``SoundDeviceBackend.callback_description``
    is the one a started stream plays)."""
    return describe_callback(why_python())


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


class NativeCallback:
    """The C callback bound to one engine's FIFO, timeline and counters.

    Args:
        engine: whose memory the callback reads and writes; it must outlive the stream.
        channels: interleaved output channels; the mono FIFO goes to each.
        priority: SCHED_FIFO priority the callback's thread raises itself to on its first call
            (0: leave the thread's scheduling alone).
        cpu: the core the callback's thread pins itself to on its first call (None: left alone).

    Raises:
        NativeCallbackUnavailable: the library was not built at install, or does not load.
    """

    def __init__(self, engine: Engine, channels: int, priority: int = CALLBACK_PRIORITY, cpu: int | None = None):
        self._library = load_library()
        fifo, timeline = engine.fifo, engine.timeline  # their arrays are whole, contiguous allocations
        self.shared = _Shared(
            samples=fifo.ring.ctypes.data, sample_mask=len(fifo.ring) - 1, fifo_indices=fifo.indices.ctypes.data,
            record_read_index=timeline.read_index.ctypes.data, record_called_at=timeline.called_at.ctypes.data,
            record_stream_time=timeline.stream_time.ctypes.data, record_mask=len(timeline.read_index) - 1,
            origins=timeline.origins.ctypes.data, origin_mask=len(timeline.origins) - 1,
            record_count=timeline.counts.ctypes.data, inverse_rate=1.0 / engine.sample_rate,
            counters=engine.counters.callback_counters.ctypes.data, channels=channels, priority=priority, realtime=0,
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
    print(f"audio callback: {callback_summary(installed_callback())}")
