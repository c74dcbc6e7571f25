"""The figures the System page and the home page's CPU badge show, read from the running
system (Linux ``/proc`` and ``/sys``); any that cannot be read are None."""

from __future__ import annotations

import os
import time

from neurorack import __version__
from neurorack.ui.facade import SystemInfo


class SystemFigures:
    """Call it for a ``SystemInfo``: this process's CPU use since the previous call (None the
    first time), the board's temperature, memory and uptime."""

    def __init__(self):
        self._cpu_sample: tuple[float, float] | None = None

    def __call__(self) -> SystemInfo:
        return SystemInfo(__version__, None, self._cpu_percent(), temperature_c(), *memory_mb(), uptime_s())

    def _cpu_percent(self) -> float | None:
        """This process's CPU use since the last call, in % of one core."""
        now, used = time.monotonic(), time.process_time()
        previous, self._cpu_sample = self._cpu_sample, (now, used)
        if previous is None or now - previous[0] <= 0:
            return None
        return 100.0 * (used - previous[1]) / (now - previous[0])


def memory_mb() -> tuple[float | None, float | None]:
    """This process's resident memory and the board's total, in MiB."""
    try:
        with open("/proc/self/statm") as handle:
            resident_pages = int(handle.read().split()[1])
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        return resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20, total / 2**20
    except (OSError, ValueError, IndexError):
        return None, None


def uptime_s() -> float | None:
    """Seconds since the board booted."""
    try:
        with open("/proc/uptime") as handle:
            return float(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def temperature_c() -> float | None:
    """The SoC's temperature."""
    try:
        with open("/sys/class/thermal/thermal_zone0/temp") as handle:
            return int(handle.read()) / 1000.0
    except (OSError, ValueError):
        return None
