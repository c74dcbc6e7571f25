"""The WAV stand-in for a sound card: blocks the render thread misses stay silent in the
file, as a listener would have heard them, and are counted and reported at the end."""

from __future__ import annotations

import logging
import time
import wave

import numpy as np

from neurorack.audio.backends.paced_wav import PacedWavBackend
from neurorack.audio.engine import Engine
from neurorack.audio.voices import TestVoice

LATE_BLOCKS = 6


class StallingVoice(TestVoice):
    """A test voice whose 20th render takes ``LATE_BLOCKS`` block periods (a busy machine)."""

    def __init__(self, sample_rate: int):
        super().__init__(sample_rate)
        self.renders = 0

    def render(self, out: np.ndarray) -> None:
        self.renders += 1
        if self.renders == 20:
            time.sleep(LATE_BLOCKS * len(out) / self.sample_rate)
        super().render(out)


def test_late_renders_leave_counted_holes_reported_at_the_end(tmp_path, caplog):
    engine = Engine(StallingVoice(48000))
    backend = PacedWavBackend(engine, tmp_path / "run.wav")
    backend.start()
    time.sleep(0.3)
    with caplog.at_level(logging.WARNING, logger="neurorack.audio.backends.paced_wav"):
        backend.stop()
    assert backend.late_blocks >= 1 and backend.silent_frames >= engine.block_size
    silent_ms = 1000.0 * backend.silent_frames / engine.sample_rate
    message = backend.gaps_message()
    assert message.startswith(f"{backend.late_blocks} late block")
    assert f"({silent_ms:.0f} ms of silence) while recording" in message and message.endswith("too busy")
    assert [r.getMessage() for r in caplog.records] == [message]
    with wave.open(str(tmp_path / "run.wav")) as recorded:  # the holes are kept: the file lasts as long as it played
        assert recorded.getnframes() >= 0.3 * engine.sample_rate


def test_no_late_block_no_report(tmp_path):
    backend = PacedWavBackend(Engine(TestVoice(48000)), tmp_path / "run.wav")
    assert backend.gaps_message() is None
