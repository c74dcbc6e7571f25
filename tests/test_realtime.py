"""SCHED_FIFO for the daemon's threads, and a clear word when the system refuses it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from neurorack.realtime import pin_quietly, unpinned_warning

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



def _in_a_thread(work):
    """``work()`` and the thread's own affinity afterwards, run on a fresh thread (pinning
    the test runner's thread would outlast the test)."""
    import threading

    result = {}

    def run():
        result["returned"] = work()
        result["affinity"] = os.sched_getaffinity(0)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return result["returned"], result["affinity"]


def test_a_thread_pins_itself_to_a_core_it_may_use():
    core = max(os.sched_getaffinity(0))
    assert _in_a_thread(lambda: pin_quietly(core)) == (True, {core})


def test_a_core_it_may_not_use_is_refused_and_the_thread_stays_where_it_was():
    allowed = os.sched_getaffinity(0)
    assert _in_a_thread(lambda: pin_quietly(1023)) == (False, allowed)
    assert _in_a_thread(lambda: pin_quietly(None)) == (None, allowed)


def test_the_refusal_says_which_cores_would_do():
    message = unpinned_warning("the render thread", 1023)
    usable = ", ".join(str(cpu) for cpu in sorted(os.sched_getaffinity(0)))
    assert message.startswith("the render thread runs where the kernel puts it: audio.cpu 1023 is not")
    assert f"(usable: {usable})" in message and "set audio.cpu to one of them, or null" in message
