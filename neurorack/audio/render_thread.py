"""The render thread: wakes just before each block is due and renders it."""

from __future__ import annotations

import logging
import threading
import time

from neurorack.audio.engine import Engine
from neurorack.realtime import (
    RENDER_PRIORITY,
    pin_quietly,
    request_realtime,
    unpinned_warning,
)

log = logging.getLogger(__name__)

MAX_SLEEP_S = 0.002


class RenderThread(threading.Thread):
    """Keeps the engine's FIFO exactly ``lookahead`` ahead of the audio callback, on core
    ``cpu`` when one is given (``audio.cpu``)."""

    def __init__(self, engine: Engine, cpu: int | None = None):
        super().__init__(name="neurorack-render", daemon=True)
        self.engine = engine
        self.cpu = cpu
        self._stop_requested = threading.Event()

    def run(self) -> None:
        request_realtime(RENDER_PRIORITY, "the render thread")
        if pin_quietly(self.cpu) is False:
            log.warning(unpinned_warning("the render thread", self.cpu))
        engine = self.engine
        while not self._stop_requested.is_set():
            due = engine.next_render_time()
            wait = due - time.monotonic()
            if wait <= 0:
                if engine.render_block():
                    continue
                wait = 0.0002  # FIFO full: the callback has not caught up yet
            time.sleep(min(wait, MAX_SLEEP_S))

    def stop(self, timeout: float = 1.0) -> None:
        self._stop_requested.set()
        if self.is_alive():
            self.join(timeout)

