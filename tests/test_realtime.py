"""SCHED_FIFO for the daemon's threads, and a clear word when the system refuses it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

SCRIPT = """
import logging, os, sys
os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))  # not what the test runner may have inherited
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stdout)
from neurorack.realtime import request_realtime
print(request_realtime(1, "the daemon"), request_realtime(70, "the render thread"))
"""


def _run_limited(rtprio: int) -> list[str]:
    """Run SCRIPT with RLIMIT_RTPRIO set (and, as root, without CAP_SYS_NICE, which overrides it)."""
    command = ["prlimit", f"--rtprio={rtprio}", sys.executable, "-c", SCRIPT]
    if os.geteuid() == 0:
        command = ["setpriv", "--inh-caps=-sys_nice", "--bounding-set=-sys_nice", *command]
    result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


needs_tools = pytest.mark.skipif(shutil.which("prlimit") is None or shutil.which("setpriv") is None,
                                 reason="prlimit/setpriv (util-linux) missing")


@needs_tools
def test_refusal_is_one_warning_with_the_reason_and_the_fix():
    lines = _run_limited(0)
    assert lines[-1] == "False False"
    warning, info = lines[0], lines[1]
    assert warning.startswith("WARNING the daemon runs at normal priority")
    assert "priority 1 was refused" in warning and "real-time priorities up to 0" in warning
    assert "LimitRTPRIO=" in warning
    assert info.startswith("INFO the render thread runs at normal priority")

