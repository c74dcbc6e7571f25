"""JACK for real-time tests and benchmarks: start the dummy driver, probe a running server.

The dummy driver paces cycles with a real timer and reports honest xruns, so it is a
real real-time server without a sound card. ``JackProbe`` is a passive client (it never
activates) that tells whether a server runs and at which rate and block size.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import math
import os
import shutil
import signal
import struct
import subprocess
import threading
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from neurorack.errors import NeurorackError

log = logging.getLogger(__name__)

JACK_NO_START_SERVER = 0x01
_MESSAGE_HANDLER = ctypes.CFUNCTYPE(None, ctypes.c_char_p)
_quiet = _MESSAGE_HANDLER(lambda message: None)  # "cannot connect" noise when probing for a server


def _libjack() -> ctypes.CDLL:
    name = ctypes.util.find_library("jack") or "libjack.so.0"
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        raise NeurorackError("the JACK library is missing; install it with "
                             "'sudo apt-get install --no-install-recommends jackd2'") from None
    lib.jack_client_open.restype = ctypes.c_void_p
    lib.jack_client_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_void_p]
    lib.jack_client_close.argtypes = [ctypes.c_void_p]
    for name in ("jack_get_buffer_size", "jack_get_sample_rate"):
        getattr(lib, name).restype = ctypes.c_uint32
        getattr(lib, name).argtypes = [ctypes.c_void_p]
    lib.jack_set_error_function.argtypes = [_MESSAGE_HANDLER]
    lib.jack_set_info_function.argtypes = [_MESSAGE_HANDLER]
    lib.jack_set_error_function(_quiet)
    lib.jack_set_info_function(_quiet)
    return lib


class JackProbe:
    """A passive JACK client that reads the server's rate and block size. Use as a context manager."""

    def __init__(self, name: str = "neurorack-bench"):
        self._lib = _libjack()
        status = ctypes.c_int(0)
        self._client = self._lib.jack_client_open(name.encode(), JACK_NO_START_SERVER, ctypes.byref(status))
        if not self._client:
            raise NeurorackError("no JACK server is running")

    @property
    def sample_rate(self) -> int:
        return int(self._lib.jack_get_sample_rate(self._client))

    @property
    def block_size(self) -> int:
        return int(self._lib.jack_get_buffer_size(self._client))

    def close(self) -> None:
        if self._client:
            self._lib.jack_client_close(self._client)
            self._client = None

    def __enter__(self) -> JackProbe:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def jack_is_running() -> bool:
    """True if a JACK server accepts clients."""
    try:
        with JackProbe("neurorack-probe"):
            return True
    except NeurorackError:
        return False


@dataclass(frozen=True)
class XrunCounts:
    """Xruns of a JACK server by cause, as its log names them.

    Attributes:
        server_late: cycles the server itself started late ("JackTimedDriver::Process XRun"
            on the dummy driver): its timer thread was held up, by the host or by threads
            above it, for more than a period. Every client then counts an underflow.
        client_late: a client had not finished its previous cycle when the next one began
            ("JackEngine::XRun: client ... not finished" or "... finished after").
    """

    server_late: int = 0
    client_late: int = 0

    @classmethod
    def from_lines(cls, lines) -> XrunCounts:
        lines = list(lines)
        return cls(server_late=sum("JackTimedDriver::Process XRun" in line for line in lines),
                   client_late=sum("JackEngine::XRun" in line for line in lines))

    def __add__(self, other: XrunCounts) -> XrunCounts:
        return XrunCounts(self.server_late + other.server_late, self.client_late + other.client_late)


class ServerLog:
    """jackd's output, each line stamped with the ``time.monotonic()`` at which it arrived.

    A thread of its own reads the pipe, so jackd never blocks on a full one. jackd prints
    an xrun from its real-time thread as it finds it, so the stamp is the xrun's time to
    within the few milliseconds the reader takes to wake.
    """

    def __init__(self, stream):
        self.lines: list[tuple[float, str]] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), name="jackd-log", daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        with stream:
            for raw in stream:
                self.lines.append((time.monotonic(), raw.decode(errors="replace").rstrip("\n")))

    def text(self) -> str:
        return "\n".join(line for _, line in self.lines)

    def xruns(self, since: float, until: float) -> XrunCounts:
        return XrunCounts.from_lines(line for stamp, line in list(self.lines) if since <= stamp < until)

    def finish(self, timeout_s: float = 2.0) -> None:
        """Wait until everything jackd printed before it exited has been read."""
        self._thread.join(timeout_s)


PR_SET_PDEATHSIG = 1


def _prepare_jackd(cpu: int | None) -> None:
    """In the jackd child before exec: the kernel sends it SIGTERM when the process that
    started it dies, even by SIGKILL, so no server is left running with parent 1; and with
    ``cpu``, it and every thread it starts run on that core only."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})


@contextlib.contextmanager
def stop_on_termination():
    """Within the block, SIGTERM (and SIGHUP) raise ``SystemExit(128 + signal)`` in the main
    thread, as SIGINT raises ``KeyboardInterrupt``: ``with`` blocks and ``finally`` clauses
    run, so a benchmark killed with ``kill`` stops the JACK server it started. Outside the
    main thread this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def leave(signum, frame):
        raise SystemExit(128 + signum)

    previous = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        previous[sig] = signal.signal(sig, leave)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


REGISTRY = Path("/dev/shm/jack-shm-registry")
REGISTRY_FULL = "Too many servers already active"
REGISTRY_MAGIC = 0x4A41434B  # "JACK"
REGISTRY_HEADER = struct.Struct("<IHxxiiii")  # magic, protocol, shm type, size, header length, entry length
MAX_SERVERS = 8  # slots in the registry header, one per server name


def jack_server_processes() -> list[int]:
    """Pids of every live JACK server on the machine, whoever started it (zombies excluded)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError):
                stat = (entry / "stat").read_text()
                command, state = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2]
                if command in ("jackd", "jackdbus") and state != "Z":
                    pids.append(int(entry.name))
    return pids


def clear_stale_registry(registry: Path = REGISTRY) -> int:
    """Free the registry slots of JACK servers that are no longer running; return how many.

    JACK's shared registry has one slot per server name (8 in all) and frees a slot only
    when a server of the same name starts again, so servers that died under differently
    named runs fill it and every new server fails with "Too many servers already active".
    Slots are cleared in place (processes that have the registry mapped see the change); a
    slot whose process is a live JACK server is never touched.
    """
    try:
        with open(registry, "r+b") as file:
            header = file.read(REGISTRY_HEADER.size)
            if len(header) < REGISTRY_HEADER.size:
                return 0
            magic, _, _, _, header_length, _ = REGISTRY_HEADER.unpack(header)
            slot = (header_length - REGISTRY_HEADER.size) // MAX_SERVERS
            if magic != REGISTRY_MAGIC or slot <= 4:  # not a registry this code understands
                return 0
            live = set(jack_server_processes())
            cleared = 0
            for index in range(MAX_SERVERS):
                offset = REGISTRY_HEADER.size + index * slot
                file.seek(offset)
                (pid,) = struct.unpack("<i", file.read(4))
                if pid and pid not in live:
                    file.seek(offset)
                    file.write(bytes(slot))
                    cleared += 1
    except OSError:
        return 0
    if cleared:
        log.warning("cleared %d slots of JACK's server registry (%s) held by servers that are no longer running",
                    cleared, registry)
    return cleared


class JackDummyServer:
    """Start ``jackd -d dummy`` unless a JACK server already runs; stop it afterwards.

    The server takes the name in ``$JACK_DEFAULT_SERVER`` when set (as JACK's clients do), so
    parallel runs can use servers of their own. It dies with the process that started it;
    use ``stop_on_termination`` around the session so a SIGTERM also stops it cleanly.

    Args:
        sample_rate: Hz.
        block_size: frames per period.
        cpu: the one core the server (all its threads) runs on; None: any. The dummy driver's
            timer thread stands in for a sound card's clock. Left free, it moves to another
            core whenever a client thread of higher priority wakes on its own, and on a
            virtual machine an idle core can take milliseconds to wake up: every client
            then misses the cycle. Pinned to a core that never idles (the soak's CPU hog:
            the server preempts it at once), it ticks on time, as hardware would.
    """

    def __init__(self, sample_rate: int = 48000, block_size: int = 128, cpu: int | None = None):
        self.sample_rate = sample_rate
        self.block_size = block_size
        self.cpu = cpu
        self.process: subprocess.Popen | None = None
        self.started_here = False
        self.realtime = False
        self._log = None

    def start(self, timeout_s: float = 10.0) -> JackDummyServer:
        if jack_is_running():
            log.info("using the JACK server that is already running")
            return self
        jackd = shutil.which("jackd")
        if jackd is None:
            raise NeurorackError("jackd is not installed; install it with "
                                 "'sudo apt-get install --no-install-recommends jackd2'")
        if self._launch(jackd, timeout_s) or (REGISTRY_FULL in self._tail() and clear_stale_registry()
                                               and self._launch(jackd, timeout_s)):
            return self
        raise NeurorackError(f"could not start the JACK dummy driver:\n{self._tail()}")

    def _launch(self, jackd: str, timeout_s: float) -> bool:
        """Start jackd, real-time scheduling first; True once it accepts clients."""
        for realtime in (True, False):
            command = [jackd, "-R" if realtime else "-r", "-d", "dummy",
                       "-r", str(self.sample_rate), "-p", str(self.block_size)]
            environment = dict(os.environ, JACK_NO_AUDIO_RESERVATION="1")
            self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, env=environment,
                                            preexec_fn=partial(_prepare_jackd, self.cpu))  # noqa: PLW1509 - prctl, affinity
            self._log = ServerLog(self.process.stdout)
            if self._wait_ready(timeout_s):
                self.started_here = True
                self.realtime = realtime
                log.info("started JACK dummy driver: %d Hz, %d frames, %s%s", self.sample_rate,
                         self.block_size, "real-time" if realtime else "not real-time",
                         "" if self.cpu is None else f", on core {self.cpu}")
                return True
            self._terminate()
        return False

    def _wait_ready(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            if jack_is_running():
                return True
            time.sleep(0.05)
        return False

    def _tail(self) -> str:
        return "" if self._log is None else self._log.text()[-2000:]

    def xruns(self, since: float = -math.inf, until: float = math.inf) -> XrunCounts | None:
        """The xruns jackd reported between two ``time.monotonic()`` readings, by cause;
        None for a server started elsewhere (its log is not ours to read).

        PortAudio flags the next callback of every client after any xrun, whoever caused
        it, so its underflow count cannot tell them apart; the server's log can.
        """
        return self._log.xruns(since, until) if self.started_here and self._log is not None else None

    def _terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.finish()  # the reader reaches the end of jackd's output once jackd has exited
        self.process = None

    def stop(self) -> None:
        """Stop the server if this object started it. Terminate PortAudio first."""
        if self.started_here:
            self._terminate()
            self.started_here = False
        self._log = None

    def __enter__(self) -> JackDummyServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
