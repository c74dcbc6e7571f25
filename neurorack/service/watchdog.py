"""Ties systemd's watchdog to the audio: ping only while audio callbacks keep coming.

If the audio callback stops (a hung driver, a deadlock) the pings stop, and systemd
restarts the service once ``WatchdogSec`` has passed. A main loop that still runs does
not count as alive: only callbacks do.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from neurorack.service.notify import Notifier

log = logging.getLogger(__name__)

CHECKS_PER_TIMEOUT = 4


class AudioWatchdog:
    """A thread that sends ``WATCHDOG=1`` while ``counter()`` advances.

    Args:
        notifier: where pings go.
        counter: returns the number of audio callbacks so far (e.g. the engine's timeline
            count); read from this thread, so it must be a cheap, lock-free read.
        timeout_s: systemd's watchdog timeout (``$WATCHDOG_USEC`` in seconds); the counter
            is checked ``CHECKS_PER_TIMEOUT`` times per timeout.
    """

    def __init__(self, notifier: Notifier, counter: Callable[[], int], timeout_s: float):
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be above 0, got {timeout_s}")
        self.notifier = notifier
        self.counter = counter
        self.period_s = timeout_s / CHECKS_PER_TIMEOUT
        self.timeout_s = timeout_s
        self.pings = 0
        self.is_stalled = False
        self._stop_requested = threading.Event()
        self._thread = threading.Thread(target=self._run, name="neurorack-watchdog", daemon=True)

    def start(self) -> AudioWatchdog:
        self._thread.start()
        return self

    def check(self, previous: int) -> int:
        """One check: ping if the counter moved past ``previous``. Returns the counter's value."""
        current = self.counter()
        if current != previous:
            if self.is_stalled:
                log.warning("audio callbacks resumed; watchdog pings resume")
                self.is_stalled = False
            if self.notifier.watchdog():
                self.pings += 1
        elif not self.is_stalled:
            self.is_stalled = True
            log.error("audio callbacks stopped at %d: watchdog pings withheld; systemd restarts the "
                      "service if they do not resume within %.1f s", current, self.timeout_s)
            self.notifier.status(f"audio stalled after {current} callbacks")
        return current

    def _run(self) -> None:
        previous = self.counter()
        while not self._stop_requested.wait(self.period_s):
            previous = self.check(previous)

    def close(self) -> None:
        """Stop the thread (no more pings)."""
        self._stop_requested.set()
        if self._thread.is_alive():
            self._thread.join(self.period_s + 1.0)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()
