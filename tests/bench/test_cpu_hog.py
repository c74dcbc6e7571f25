"""neurorack_bench.cpu_hog: a hog runs at normal priority even when started from a real-time thread."""

from __future__ import annotations

import os
import time

import pytest

from neurorack_bench.cpu_hog import start_cpu_hog


def test_a_hog_started_from_a_real_time_thread_runs_at_normal_priority():
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
    except PermissionError:
        pytest.skip("this user may not use SCHED_FIFO, so a child cannot inherit it either")
    hog = start_cpu_hog()
    try:
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))  # the test thread back first
        deadline = time.monotonic() + 5.0
        while os.sched_getscheduler(hog.pid) != os.SCHED_OTHER and time.monotonic() < deadline:
            time.sleep(0.01)
        assert os.sched_getscheduler(hog.pid) == os.SCHED_OTHER
        assert hog.poll() is None  # still burning
    finally:
        hog.kill()
        hog.wait()
