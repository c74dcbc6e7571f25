"""The running system's figures for the System page."""

from __future__ import annotations

import time

from neurorack import __version__
from neurorack.ui.system_figures import SystemFigures, memory_mb


def test_cpu_use_is_measured_between_calls():
    figures = SystemFigures()
    assert figures().cpu_percent is None  # nothing to compare with yet
    end = time.process_time() + 0.02
    while time.process_time() < end:
        pass
    info = figures()
    assert info.version == __version__ and 0 < info.cpu_percent <= 100 * 64


def test_memory_is_this_process_within_the_board():
    used, total = memory_mb()
    assert used is None or 0 < used < total
