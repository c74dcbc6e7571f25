"""The engine: gate events in, rendered blocks into the FIFO, samples out of the callback.

Three sides, each with its own methods:

* producers (control poller, scripts, UI; any thread): ``post_gate``, ``switch_voice``,
  ``fade_out``;
* the render thread: ``next_render_time`` and ``render_block``;
* the audio callback: ``pull``, which only records the timeline and copies from the FIFO.

The engine puts together parts that each do one job: ``GateSchedule`` (where onsets go,
how far ahead to render), ``VoiceSwitch`` (the voice that plays, crossfades, the fallback),
``OutputStage`` (gain, limiter, fades) and ``EngineStats`` (counters and the report).
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque

import numpy as np

from neurorack.audio.engine_stats import RENDER_TIMES, EngineStats
from neurorack.audio.fifo import SampleFifo
from neurorack.audio.output_recorder import OutputRecorder
from neurorack.audio.output_stage import OutputStage
from neurorack.audio.render_profile import RenderProfile
from neurorack.audio.schedule import GateSchedule, Onset
from neurorack.audio.switching import VoiceSwitch
from neurorack.audio.timeline import CallbackTimeline
from neurorack.audio.voices import TestVoice, Voice
from neurorack.config.module import AudioSettings, OutputSettings
from neurorack.core.events import GateEdge

log = logging.getLogger(__name__)

_DEFAULT = object()


class Engine:
    """Renders voices into a FIFO ahead of the audio callback.

    Args:
        voice: what plays on gate 1.
        audio: sample rate, block size, lookahead and gate latency.
        output: the output stage's settings.
        fallback: the voice that takes over when ``voice`` keeps failing (see ``VoiceSwitch``;
            default: a ``TestVoice``; None: keep muting).

    Degradation: a voice that keeps failing is replaced by ``fallback``; late renders that
    keep coming (CPU starvation) raise the lookahead, and the gate latency with it, until
    the load has been gone a while (see ``GateSchedule``). Each is logged and kept in
    ``warnings``.
    """

    def __init__(self, voice: Voice, audio: AudioSettings | None = None, output: OutputSettings | None = None,
                 fallback: Voice | None = _DEFAULT):  # type: ignore[assignment]
        audio = audio or AudioSettings()
        output = output or OutputSettings()
        self.sample_rate = audio.sample_rate
        self.block_size = audio.block_size
        self.prefill_blocks = max(1, math.ceil(audio.lookahead_blocks - 1e-9))
        self.fifo = SampleFifo((self.prefill_blocks + 4) * self.block_size)
        self.timeline = CallbackTimeline(self.sample_rate, self.block_size)
        self.counters = EngineStats()
        self.schedule = GateSchedule(audio, self.timeline, self.counters,
                                     max_lookahead_s=(self.prefill_blocks + 3) * self.block_size / self.sample_rate)
        self.output = OutputStage(self.sample_rate, self.block_size, output.gain_db, output.ceiling_db,
                                  output.dc_block_hz, output.fade_ms)
        if fallback is _DEFAULT:
            fallback = TestVoice(self.sample_rate)
        self.voice_switch = VoiceSwitch(voice, fallback, self.sample_rate, self.block_size,
                                  self.output.fader.fade_frames, self.counters)
        self._mix = np.zeros(self.block_size)
        self.profile: RenderProfile | None = None  # benchmarks: each block's parts timed (profile_engine)
        self.recorder: OutputRecorder | None = None  # benchmarks: the rendered samples kept, to find sounds in
        self.silent_from: int | None = None
        self.output.fader.fade_in()

    # -- the parts' state, where the rest of the code reads it -------------------------

    @property
    def voice(self) -> Voice:
        """The voice playing (the incoming one while a crossfade runs)."""
        return self.voice_switch.voice

    @property
    def gate_latency_s(self) -> float:
        """From a gate edge's timestamp to its onset's fetch (raised with the lookahead)."""
        return self.schedule.gate_latency_s

    @property
    def lookahead_s(self) -> float:
        """How far ahead of its fetch a block is rendered."""
        return self.schedule.lookahead_s

    @property
    def onsets(self) -> deque[Onset]:
        """The last onsets placed, oldest first."""
        return self.schedule.onsets

    @property
    def warnings(self) -> list[str]:
        """What went wrong and was worked around (a fallback, a raised lookahead), oldest first."""
        return self.counters.warnings

    # -- producers ---------------------------------------------------------------------

    def post_gate(self, edge: GateEdge) -> None:
        """Queue a timestamped gate edge (any thread; never blocks)."""
        self.schedule.post_gate(edge)

    def switch_voice(self, voice: Voice) -> None:
        """Crossfade to ``voice`` over the fade time (any thread)."""
        self.voice_switch.switch_voice(voice)

    def fade_out(self) -> None:
        """Start the final fade; ``is_faded_out`` tells when it has been played."""
        self.output.fader.fade_out()

    @property
    def is_faded_out(self) -> bool:
        """True once the fade-out is rendered and the callback has played all of it."""
        return self.silent_from is not None and self.fifo.read_index >= self.silent_from

    def fade_out_and_wait(self, timeout_s: float = 2.0) -> bool:
        """Fade out, then wait until the callback has played the whole fade (or time runs out)."""
        self.fade_out()
        deadline = time.monotonic() + timeout_s
        while not self.is_faded_out and time.monotonic() < deadline:
            time.sleep(0.005)
        return self.is_faded_out

    # -- render thread -----------------------------------------------------------------

    def next_render_time(self) -> float:
        """Monotonic time at which the next block should be rendered.

        Minus infinity means now (the FIFO is being prefilled); plus infinity means
        wait for the first callback.
        """
        origin = self.timeline.origin()
        if origin is None:
            return -math.inf if self.fifo.write_index < self.prefill_blocks * self.block_size else math.inf
        return origin + self.fifo.write_index / self.sample_rate - self.schedule.lookahead_s

    def prefill(self) -> None:
        """Render the blocks the first callback needs; call before starting the stream."""
        while self.next_render_time() == -math.inf and self.render_block():
            pass

    def render_block(self) -> bool:
        """Render one block into the FIFO. Returns False if the FIFO had no room."""
        if self.fifo.free < self.block_size:
            return False
        started = time.perf_counter()
        profile = self.profile
        if profile is not None:
            profile.begin()
        start = self.fifo.write_index
        mix = self._mix
        switch = self.voice_switch
        counters = self.counters
        if switch.pending is not None:
            switch.begin_pending_switch()
        try:
            cursor = 0
            due = self.schedule.onsets_in_block(start)
            if profile is not None:
                profile.enter(profile.VOICES)
            for offset, edge in due:
                switch.render(mix[cursor:offset])
                cursor = offset
                switch.gate(edge)
            switch.render(mix[cursor:])
            if profile is not None:
                profile.enter(profile.OUTPUT)
            healthy = self.output.process(mix)
        except Exception:  # a voice must never take the audio down
            counters.render_errors += 1
            log.exception("voice %r failed while rendering; muting and resetting it", switch.voice.name)
            mix[:] = 0.0
            healthy = False
        if profile is not None:
            profile.enter(profile.ENGINE)
        if not healthy:
            counters.muted_blocks += 1
            switch.failed(counters.blocks_rendered)
        self.schedule.adapt()
        self.fifo.write(mix)
        if self.recorder is not None:
            self.recorder.write(start, mix)
        if self.silent_from is None and self.output.fader.is_silent:
            self.silent_from = start + self.block_size
        if profile is not None:
            profile.end()
        counters.render_ms[counters.blocks_rendered & (RENDER_TIMES - 1)] = (time.perf_counter() - started) * 1e3
        counters.blocks_rendered += 1
        return True

    # -- audio callback ----------------------------------------------------------------

    def pull(self, out: np.ndarray, now: float, stream_time: float) -> None:
        """The body of the audio callback: copy ready samples into ``out``.

        Args:
            out: ``[frames, channels]`` float32 buffer to fill completely.
            now: monotonic time of the call.
            stream_time: the backend's own clock (PortAudio stream time, virtual time offline).
        """
        self.timeline.record(self.fifo.read_index, now, stream_time)
        copied = self.fifo.read_into(out)
        if copied < len(out):
            out[copied:] = 0.0
            self.counters.late_renders += 1

    # -- reporting ---------------------------------------------------------------------

    def stats(self) -> dict:
        """Counters and render-time percentiles, as plain numbers."""
        return self.counters.report(self.timeline.count, self.schedule.lookahead_s * self.sample_rate / self.block_size,
                                    self.voice.name)
