"""A stand-in sound card: plays the engine in real time into a WAV file.

For ``neurorack run --mock`` on machines with no sound device. A thread calls the
engine's callback every block period, exactly as a device would, and appends the
samples to the file.

The file records what a listener would have heard: a block the render thread did not
finish in time is played short, padded with silence, as a sound card would. Such blocks
are counted, and ``stop`` reports them (the machine was too busy to play in real time).
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import numpy as np

from neurorack.audio.audio_file import WavStream, to_pcm16
from neurorack.audio.engine import Engine
from neurorack.audio.render_thread import RenderThread

log = logging.getLogger(__name__)


class PacedWavBackend:
    """Runs the engine against a real-time clock, writing what it plays to ``path``.

    Attributes:
        error: why the clock thread died (e.g. out of memory), or None while it plays; the
            callbacks stop with it, which the daemon notices.
        late_blocks: blocks the render thread had not (completely) rendered when they were due.
        silent_frames: the frames of silence those blocks were padded with.
    """

    def __init__(self, engine: Engine, path: str | Path):
        self.engine = engine
        self.path = Path(path)
        self.device_name = f"WAV file {self.path}"
        self._render_thread = RenderThread(engine)
        self._stop_requested = threading.Event()
        self._clock_thread = threading.Thread(target=self._play_or_record_error, name="neurorack-wav-clock",
                                              daemon=True)
        self._wave: WavStream | None = None
        self.error: str | None = None
        self.late_blocks = 0
        self.silent_frames = 0

    def start(self) -> None:
        self._wave = WavStream(self.path, self.engine.sample_rate)  # open until stop()
        self.engine.prefill()
        self._render_thread.start()
        self._clock_thread.start()

    def _play_or_record_error(self) -> None:
        try:
            self._play()
        except Exception as exc:  # noqa: BLE001 - any failure ends playback: recorded for the daemon, one line
            self.error = "out of memory" if isinstance(exc, MemoryError) else f"{type(exc).__name__}: {exc}"
            log.error("the WAV clock thread stopped: %s", self.error)

    def _play(self) -> None:
        block = self.engine.block_size
        period = block / self.engine.sample_rate
        batch = np.zeros((block * 64, 1), dtype=np.float32)
        filled = 0
        started = time.monotonic()
        k = 0
        while not self._stop_requested.is_set():
            due = started + k * period
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            read = self.engine.fifo.read_index
            self.engine.pull(batch[filled:filled + block], time.monotonic(), k * period)
            missing = block - (self.engine.fifo.read_index - read)
            if missing:
                self.late_blocks += 1
                self.silent_frames += missing
            filled += block
            k += 1
            if filled == len(batch):
                self._wave.write(to_pcm16(batch[:, 0]))
                filled = 0
        self._wave.write(to_pcm16(batch[:filled, 0]))

    def stop(self, timeout_s: float = 2.0) -> None:
        """Fade out, let the fade play, close the file and log what the late blocks left in it.
        Also after a ``start`` that failed half-way: it stops what did start."""
        if self._clock_thread.is_alive():
            self.engine.fade_out_and_wait(timeout_s)
        self._stop_requested.set()
        if self._clock_thread.ident is not None:
            self._clock_thread.join(timeout_s)
        self._render_thread.stop()
        try:
            if self._wave is not None:
                self._wave.close()
        except (OSError, MemoryError) as exc:
            log.error("closing %s: %s", self.path, exc)
        if self.late_blocks:
            log.warning("%s", self.gaps_message())

    def gaps_message(self) -> str | None:
        """What the late blocks left in the file, or None if there were none."""
        if not self.late_blocks:
            return None
        blocks = f"{self.late_blocks} late block" + ("s" if self.late_blocks > 1 else "")
        silent_ms = 1000.0 * self.silent_frames / self.engine.sample_rate
        return f"{blocks} ({silent_ms:.0f} ms of silence) while recording {self.path}; the machine was too busy"
