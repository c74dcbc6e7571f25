"""Real-time scheduling for the daemon's threads.

Every thread of the daemon can hold the interpreter lock that the audio callback
needs. If an ordinary thread holding it is preempted by some other busy process, the
callback waits too, and audio drops out. So the daemon runs all its threads under
SCHED_FIFO: the main thread at a low priority (threads it starts inherit it), the
render thread higher. Where that is not permitted the daemon carries on and says how
to allow it.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)

BACKGROUND_PRIORITY = 1
RENDER_PRIORITY = 70


def request_realtime(priority: int, what: str) -> bool:
    """Put the calling thread under SCHED_FIFO at ``priority``. Returns whether it worked."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
    except (PermissionError, AttributeError, OSError):
        log.info("%s runs at normal priority: real-time scheduling is not permitted "
                 "(allow it with LimitRTPRIO in the service, or an rtprio limit for the audio group)", what)
        return False
    log.debug("%s runs with real-time priority %d", what, priority)
    return True
