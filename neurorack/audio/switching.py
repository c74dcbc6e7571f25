"""The voice that plays: crossfades from one voice to the next, and the fallback voice that
takes over from one that keeps failing.
"""

from __future__ import annotations

import logging
from collections import deque

import numpy as np

from neurorack.audio.engine_stats import EngineStats
from neurorack.audio.voices import Voice
from neurorack.core.events import GateEdge

log = logging.getLogger(__name__)

FALLBACK_FAILURES = 3      # this many muted blocks ...
FALLBACK_WINDOW_S = 2.0    # ... within this much audio switch to the fallback voice


class VoiceSwitch:
    """Renders the current voice, crossfaded from the outgoing one while a switch runs.

    Any thread may ask for a switch (``switch_voice``); the render thread starts it at its
    next block (``begin_pending_switch``, where ``pending`` is set) and renders the block in
    pieces cut at the gate onsets (``render``, ``gate``). A block that had to be muted is
    reported with ``failed``.

    Args:
        voice: what plays first.
        fallback: the voice that takes over when one fails ``FALLBACK_FAILURES`` times within
            ``FALLBACK_WINDOW_S`` of audio (None: keep muting).
        sample_rate: Hz.
        block_size: the largest piece ``render`` is given.
        crossfade_frames: length of a switch's crossfade.
        counters: where fallbacks and their warnings are counted.
    """

    def __init__(self, voice: Voice, fallback: Voice | None, sample_rate: int, block_size: int,
                 crossfade_frames: int, counters: EngineStats):
        self.voice = voice
        self.pending: Voice | None = None  # set by switch_voice; taken by the render thread
        self._fallback = fallback
        self._outgoing: Voice | None = None
        self._crossfade_done = 0
        self._crossfade_frames = crossfade_frames
        self._other = np.zeros(block_size)
        self._xfade_steps = np.arange(1, block_size + 1, dtype=np.float64) / crossfade_frames
        self._window_blocks = FALLBACK_WINDOW_S * sample_rate / block_size
        self._failed_blocks: deque[int] = deque(maxlen=FALLBACK_FAILURES)
        self.counters = counters

    def switch_voice(self, voice: Voice) -> None:
        """Crossfade to ``voice``, from the render thread's next block (any thread)."""
        self.pending = voice

    def begin_pending_switch(self) -> None:
        """Start the crossfade to the pending voice (render thread, when ``pending`` is set)."""
        voice, self.pending = self.pending, None
        self._outgoing = self.voice
        self.voice = voice
        self._crossfade_done = 0

    def render(self, out: np.ndarray) -> None:
        """Render the next ``len(out)`` samples into ``out``."""
        if len(out) == 0:
            return
        self.voice.render(out)
        if self._outgoing is None:
            return
        other = self._other[:len(out)]
        self._outgoing.render(other)
        fade_in = np.minimum(self._crossfade_done / self._crossfade_frames + self._xfade_steps[:len(out)], 1.0)
        out *= fade_in
        other *= 1.0 - fade_in
        out += other
        self._crossfade_done += len(out)
        if self._crossfade_done >= self._crossfade_frames:
            self._outgoing = None

    def gate(self, edge: GateEdge) -> None:
        """Hand the voice a gate edge whose onset is the next sample rendered."""
        on_gate = getattr(self.voice, "on_gate", None)  # voices that tell gates and edges apart
        if on_gate is not None:
            on_gate(edge)
        elif edge.rising:
            self.voice.trigger(edge.velocity)

    def failed(self, block: int) -> None:
        """Block number ``block`` was muted: reset the voices, and after ``FALLBACK_FAILURES``
        such blocks within ``FALLBACK_WINDOW_S``, play the fallback."""
        self._reset_voices()
        self._failed_blocks.append(block)
        if (self._fallback is None or self.voice is self._fallback or len(self._failed_blocks) < FALLBACK_FAILURES
                or self._failed_blocks[-1] - self._failed_blocks[0] > self._window_blocks):
            return
        failing = self.voice.name
        self.voice, self._outgoing, self.pending = self._fallback, None, None
        self._failed_blocks.clear()
        self.counters.fallbacks += 1
        message = f"{failing} failed {FALLBACK_FAILURES}x: playing {self._fallback.name}"
        self.counters.warnings.append(message)
        log.error("voice %r failed %d times within %.1f s of audio; switched to %r",
                  failing, FALLBACK_FAILURES, FALLBACK_WINDOW_S, self._fallback.name)

    def _reset_voices(self) -> None:
        for voice in (self.voice, self._outgoing):
            if voice is None:
                continue
            try:
                voice.reset()
            except Exception:
                log.exception("voice %r failed to reset", voice.name)
        self._outgoing = None
