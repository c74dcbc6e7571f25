"""A process that keeps one core busy, at normal priority whatever the priority of the process
that starts it (a bench or test that ran the daemon in-process may hold SCHED_FIFO, which a
child would inherit, and a real-time hog would starve what it is meant to load)."""

from __future__ import annotations

import subprocess
import sys

HOG_CODE = "import os\nos.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))\nwhile True:\n    pass\n"


def start_cpu_hog() -> subprocess.Popen:
    """Start a hog; the caller kills and waits for it."""
    return subprocess.Popen([sys.executable, "-c", HOG_CODE], stdin=subprocess.DEVNULL)
