"""sd_notify without libsystemd: datagrams to the socket systemd names in ``$NOTIFY_SOCKET``.

Outside systemd (no ``$NOTIFY_SOCKET``) every call does nothing, so the daemon runs the
same from a terminal. A notification never raises: losing one must not stop the music.
"""

from __future__ import annotations

import logging
import os
import socket
import threading

log = logging.getLogger(__name__)

SOCKET_ENV = "NOTIFY_SOCKET"
WATCHDOG_USEC_ENV = "WATCHDOG_USEC"
WATCHDOG_PID_ENV = "WATCHDOG_PID"


class Notifier:
    """Sends ``KEY=value`` lines to systemd.

    Args:
        address: the socket path; a leading ``@`` names an abstract socket. None: do nothing.
    """

    def __init__(self, address: str | None):
        self.address = address
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()
        self._warned = False
        if address:
            if address.startswith("@"):
                address = "\0" + address[1:]
            self._target = address
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)

    @classmethod
    def from_environment(cls) -> Notifier:
        """The notifier systemd asked for (or one that does nothing)."""
        return cls(os.environ.get(SOCKET_ENV) or None)

    @property
    def is_enabled(self) -> bool:
        """True when running under a service manager that listens."""
        return self._socket is not None

    def send(self, **fields: object) -> bool:
        """Send one datagram of ``KEY=value`` lines; returns whether it was sent.

        Example: ``send(READY=1, STATUS="playing")``. Newlines in values are replaced by spaces,
        since a newline separates fields.
        """
        if self._socket is None:
            return False
        text = "\n".join(f"{key}={str(value).replace(chr(10), ' ')}" for key, value in fields.items())
        try:
            with self._lock:
                self._socket.sendto(text.encode("utf-8"), self._target)
        except OSError as exc:
            if not self._warned:
                log.warning("cannot notify systemd at %s: %s", self.address, exc)
                self._warned = True
            return False
        return True

    def ready(self, status: str) -> bool:
        """Tell systemd the service is up (``READY=1``), with a status line."""
        return self.send(READY=1, STATUS=status)

    def status(self, status: str) -> bool:
        """The one-line status ``systemctl status`` shows."""
        return self.send(STATUS=status)

    def watchdog(self) -> bool:
        """Reset systemd's watchdog timer (``WATCHDOG=1``)."""
        return self.send(WATCHDOG=1)

    def stopping(self, status: str = "stopping") -> bool:
        """Tell systemd a clean stop has begun (``STOPPING=1``)."""
        return self.send(STOPPING=1, STATUS=status)

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def watchdog_interval_s() -> float | None:
    """Seconds between watchdog pings systemd expects, or None when it expects none.

    That is ``$WATCHDOG_USEC`` (for this process: ``$WATCHDOG_PID`` unset or our pid).
    """
    text = os.environ.get(WATCHDOG_USEC_ENV)
    if not text:
        return None
    pid = os.environ.get(WATCHDOG_PID_ENV)
    if pid and pid.strip() != str(os.getpid()):
        return None
    try:
        usec = int(text)
    except ValueError:
        log.warning("ignoring %s=%r: expected microseconds", WATCHDOG_USEC_ENV, text)
        return None
    return usec / 1e6 if usec > 0 else None
