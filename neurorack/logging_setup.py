"""Logging that reads well in a terminal and in the journal.

In a terminal each line carries a time and a level. Under systemd, stderr goes to the
journal, which stamps every line itself; there each line starts with a syslog priority
prefix such as ``<4>`` instead, so ``journalctl -p warning`` filters by level and
``journalctl`` colours warnings and errors.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TextIO

JOURNAL_STREAM_ENV = "JOURNAL_STREAM"
INVOCATION_ID_ENV = "INVOCATION_ID"

# Python level -> syslog priority (sd-daemon(3)): 2 crit, 3 err, 4 warning, 6 info, 7 debug.
SYSLOG_PRIORITIES = ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4), (logging.INFO, 6))
DEBUG_PRIORITY = 7


def syslog_priority(levelno: int) -> int:
    """The syslog priority for a Python logging level."""
    for threshold, priority in SYSLOG_PRIORITIES:
        if levelno >= threshold:
            return priority
    return DEBUG_PRIORITY


class JournalFormatter(logging.Formatter):
    """``<priority>logger: message``, with the prefix on every line of a multi-line record
    (tracebacks included), since the journal stores each line as its own entry."""

    def __init__(self) -> None:
        super().__init__("%(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{syslog_priority(record.levelno)}>"
        return "\n".join(prefix + line for line in super().format(record).split("\n"))


def stream_is_journal(stream: TextIO, environ: dict | None = None) -> bool:
    """True when ``stream`` goes to systemd's journal.

    systemd sets ``$JOURNAL_STREAM`` to ``device:inode`` of the stream it connected; it is
    trusted only if it matches ``stream`` (a child with redirected stderr keeps the variable).
    Without it, a non-terminal stream of a service (``$INVOCATION_ID`` set) counts too.
    """
    environ = os.environ if environ is None else environ
    try:
        status = os.fstat(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return False
    journal = environ.get(JOURNAL_STREAM_ENV, "")
    if journal:
        device, _, inode = journal.partition(":")
        return device.isdigit() and inode.isdigit() and (status.st_dev, status.st_ino) == (int(device), int(inode))
    return bool(environ.get(INVOCATION_ID_ENV)) and not stream.isatty()


def setup_logging(level: str = "info", stream: TextIO | None = None) -> None:
    """Log to ``stream`` (default stderr): journal style under systemd, else with times."""
    stream = sys.stderr if stream is None else stream
    if stream_is_journal(stream):
        formatter: logging.Formatter = JournalFormatter()
    else:
        formatter = logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
