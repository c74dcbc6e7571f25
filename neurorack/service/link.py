"""The daemon's side of systemd: status lines, readiness, the audio watchdog, stopping.

Everything here does nothing outside systemd, so the daemon calls it unconditionally.
"""

from __future__ import annotations

import logging

from neurorack.service.notify import Notifier, watchdog_interval_s
from neurorack.service.watchdog import AudioWatchdog

log = logging.getLogger(__name__)


def status_line(stats: dict, device_name: str) -> str:
    """One line for ``systemctl status``: what plays where, and the dropouts so far.

    Args:
        stats: ``Engine.stats()``.
        device_name: where the audio goes.
    """
    dropouts = stats["underflows"] + stats["late_renders"]
    return (f"playing {stats['voice']} on {device_name}; {dropouts} dropouts "
            f"({stats['underflows']} underflows, {stats['late_renders']} late renders) "
            f"in {stats['callbacks']} callbacks")


class ServiceLink:
    """Readiness, status and watchdog for one daemon run.

    Args:
        notifier: where notifications go (``Notifier.from_environment()`` under systemd).
        watchdog_s: systemd's watchdog timeout in seconds, or None for no watchdog.
    """

    def __init__(self, notifier: Notifier, watchdog_s: float | None):
        self.notifier = notifier
        self.watchdog_s = watchdog_s
        self.watchdog: AudioWatchdog | None = None
        self.device_name = ""

    @classmethod
    def from_environment(cls) -> ServiceLink:
        return cls(Notifier.from_environment(), watchdog_interval_s())

    def status(self, text: str) -> None:
        self.notifier.status(text)

    def ready(self, engine, device_name: str) -> None:
        """Call once the voice is loaded and the stream has started: sends ``READY=1`` and
        starts pinging the watchdog while ``engine``'s callback count advances."""
        self.device_name = device_name
        self.notifier.ready(status_line(engine.stats(), device_name))
        if self.watchdog_s is not None and self.watchdog is None:
            self.watchdog = AudioWatchdog(self.notifier, lambda: engine.timeline.count, self.watchdog_s).start()
            log.debug("watchdog: pinging every %.2f s while audio callbacks advance", self.watchdog.period_s)

    def report(self, engine) -> None:
        """Refresh the status line from ``engine.stats()``; a stalled watchdog keeps its own."""
        if self.watchdog is None or not self.watchdog.is_stalled:
            self.notifier.status(status_line(engine.stats(), self.device_name))

    def stopping(self) -> None:
        """Sends ``STOPPING=1`` and stops the watchdog pings."""
        self.notifier.stopping("stopping: fading out")
        if self.watchdog is not None:
            self.watchdog.close()

    def close(self) -> None:
        if self.watchdog is not None:
            self.watchdog.close()
        self.notifier.close()
