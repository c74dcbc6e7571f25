"""Real-time scheduling for the daemon's threads.

Every thread of the daemon can hold the interpreter lock that the audio callback
needs. If an ordinary thread holding it is preempted by some other busy process, the
callback waits too, and audio drops out. So the daemon runs all its threads under
SCHED_FIFO: the main thread at a low priority (threads it starts inherit it), the ADC
poller and the render thread higher, and the audio callback's thread highest of all.
That thread belongs to PortAudio (or JACK, which gives its clients a priority below its
own), so the callback raises itself on its first call. Where that is not permitted the
daemon carries on and says how to allow it.

``audio.cpu`` pins the callback's and the render thread's threads to one core, the one the
audio server's clock (or the sound card's interrupt) runs on: the server then wakes the
callback on its own core, never a sleeping one across the chip.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)

BACKGROUND_PRIORITY = 1
RENDER_PRIORITY = 70
CALLBACK_PRIORITY = 80  # above every thread of ours that can hold the interpreter lock


def raise_quietly(priority: int) -> bool:
    """Put the calling thread under SCHED_FIFO at ``priority`` unless it already runs at
    least that high. Logs nothing (safe in the audio callback); returns whether it runs
    at ``priority`` or higher now."""
    try:
        if os.sched_getscheduler(0) == os.SCHED_FIFO and os.sched_getparam(0).sched_priority >= priority:
            return True
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
    except (PermissionError, AttributeError, OSError):
        return False
    return True


def pin_quietly(core: int | None) -> bool | None:
    """Run the calling thread on ``core`` only. Logs nothing (safe in the audio callback).

    Returns None when ``core`` is None (left where the kernel puts it), else whether the
    thread runs on that core now (False: the core is not one this process may use).
    """
    if core is None:
        return None
    try:
        os.sched_setaffinity(0, {core})
    except (OSError, ValueError, AttributeError):
        return False
    return True


def unpinned_warning(what: str, core: int) -> str:
    """What to say when ``what`` could not be pinned to ``core``."""
    try:
        usable = ", ".join(str(cpu) for cpu in sorted(os.sched_getaffinity(0)))
    except (OSError, AttributeError):
        usable = "unknown"
    return (f"{what} runs where the kernel puts it: audio.cpu {core} is not a core this process may use "
            f"(usable: {usable}); set audio.cpu to one of them, or null")


_refused_before = False


def request_realtime(priority: int, what: str) -> bool:
    """Put the calling thread under SCHED_FIFO at ``priority``. Returns whether it worked.

    The first refusal in a process is a warning that names the reason and the fix; later
    ones (other threads) are logged at info level.
    """
    global _refused_before
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
    except (PermissionError, AttributeError, OSError) as exc:
        level = logging.INFO if _refused_before else logging.WARNING
        _refused_before = True
        log.log(level, "%s runs at normal priority, so other programs can interrupt the audio: SCHED_FIFO "
                "priority %d was refused (%s; this process may use real-time priorities up to %s). Allow it "
                "with LimitRTPRIO= in the service (neurorack install-service does), or an rtprio limit for "
                "the audio group in /etc/security/limits.d", what, priority,
                getattr(exc, "strerror", None) or exc, _rtprio_limit())
        return False
    log.debug("%s runs with real-time priority %d", what, priority)
    return True


def _rtprio_limit() -> str:
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_RTPRIO)
    except (ImportError, AttributeError, OSError):
        return "unknown"
    return "unlimited" if soft == resource.RLIM_INFINITY else str(soft)
