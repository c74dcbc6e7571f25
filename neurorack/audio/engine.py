"""The engine: gate events in, rendered blocks into the FIFO, samples out of the callback.

Three sides, each with its own methods:

* producers (control poller, scripts, UI; any thread): ``post_gate``, ``switch_voice``,
  ``fade_out``;
* the render thread: ``next_render_time`` and ``render_block``;
* the audio callback: ``pull``, which only records the timeline and copies from the FIFO.

Every gate edge carries a monotonic timestamp. Its onset goes to the sample fetched at
``edge_time + gate_latency``, so latency is constant whatever the block boundaries.
This works as long as ``gate_latency >= lookahead + one block``: a block is rendered
``lookahead`` before it is fetched, and an edge must be known before the block holding
its onset is rendered.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from neurorack.audio.fifo import SampleFifo
from neurorack.audio.output_recorder import OutputRecorder
from neurorack.audio.output_stage import OutputStage
from neurorack.audio.render_profile import RenderProfile
from neurorack.audio.timeline import CallbackTimeline
from neurorack.audio.voices import TestVoice, Voice
from neurorack.config.module import AudioSettings, OutputSettings
from neurorack.core.events import GateEdge

log = logging.getLogger(__name__)

GATE_QUEUE_SIZE = 1024
SAFETY_MARGIN_S = 0.0005
FALLBACK_FAILURES = 3      # this many muted blocks ...
FALLBACK_WINDOW_S = 2.0    # ... within this much audio switch to the fallback voice
OVERLOAD_LATE_RENDERS = 25  # this many late renders (sustained overload, not a host hiccup) ...
OVERLOAD_WINDOW_S = 2.0    # ... within this much wall time raise the lookahead by one block
OVERLOAD_WARMUP_S = 0.5    # late renders in the first this much of audio (start-up) do not count
CALM_S = 5.0               # this much audio without a late render lowers a raised lookahead by one block ...
CALM_MAX_S = 60.0          # ... doubled by a raise that follows a drop (it came down too soon), up to this
_DEFAULT = object()


@dataclass(frozen=True)
class Onset:
    """Where an edge's onset was placed: ``sample`` on the output timeline."""

    edge: GateEdge
    sample: int
    late: bool


def default_gate_latency_s(audio: AudioSettings) -> float:
    """The smallest constant gate latency the schedule can always meet."""
    block_s = audio.block_size / audio.sample_rate
    return (audio.lookahead_blocks + 1.0) * block_s + SAFETY_MARGIN_S


class Engine:
    """Renders voices into a FIFO ahead of the audio callback.

    Args:
        voice: what plays on gate 1.
        audio: sample rate, block size, lookahead and gate latency.
        output: the output stage's settings.
        fallback: the voice that takes over when ``voice`` fails ``FALLBACK_FAILURES`` times
            within ``FALLBACK_WINDOW_S`` of audio (default: a ``TestVoice``; None: keep muting).

    Degradation: a voice that keeps failing is replaced by ``fallback``; late renders that
    keep coming (CPU starvation) raise the lookahead, and the gate latency with it, by one
    block at a time up to what the FIFO holds. Each is logged and kept in ``warnings``.
    After ``CALM_S`` of audio without a late render, a raised lookahead comes down a block
    (and the gate latency with it, at a block with no gate edge pending, so no onset is late),
    and on down to the configured one; where the load keeps coming back, the calm spell it
    takes doubles, up to ``CALM_MAX_S``.
    """

    def __init__(self, voice: Voice, audio: AudioSettings | None = None, output: OutputSettings | None = None,
                 fallback: Voice | None = _DEFAULT):  # type: ignore[assignment]
        audio = audio or AudioSettings()
        output = output or OutputSettings()
        self.sample_rate = audio.sample_rate
        self.block_size = audio.block_size
        self.lookahead_s = audio.lookahead_blocks * audio.block_size / audio.sample_rate
        if audio.gate_latency_ms is None:
            self.gate_latency_s = default_gate_latency_s(audio)
        else:
            self.gate_latency_s = audio.gate_latency_ms / 1000.0
        minimum = default_gate_latency_s(audio) - SAFETY_MARGIN_S
        if self.gate_latency_s < minimum:
            log.warning("gate latency %.2f ms is below lookahead + one block (%.2f ms): some onsets will be late",
                        self.gate_latency_s * 1e3, minimum * 1e3)
        self.base_lookahead_s = self.lookahead_s
        self._gate_margin_s = self.gate_latency_s - self.lookahead_s  # kept as the lookahead moves
        self.prefill_blocks = max(1, math.ceil(audio.lookahead_blocks - 1e-9))
        self.fifo = SampleFifo((self.prefill_blocks + 4) * self.block_size)
        self.max_lookahead_s = (self.prefill_blocks + 3) * self.block_size / self.sample_rate
        self.timeline = CallbackTimeline(self.sample_rate, self.block_size)
        self.output = OutputStage(self.sample_rate, self.block_size, output.gain_db, output.ceiling_db,
                                  output.dc_block_hz, output.fade_ms)
        self._crossfade_frames = self.output.fader.fade_frames
        self.voice = voice
        self._outgoing: Voice | None = None
        self._crossfade_done = 0
        self._pending_voice: Voice | None = None
        self._edges: deque[GateEdge] = deque()
        self._waiting: list[GateEdge] = []
        self._mix = np.zeros(self.block_size)
        self._other = np.zeros(self.block_size)
        self._xfade_steps = np.arange(1, self.block_size + 1, dtype=np.float64) / self._crossfade_frames
        self.onsets: deque[Onset] = deque(maxlen=4096)
        self._render_ms = np.zeros(4096)
        self.profile: RenderProfile | None = None  # benchmarks: each block's parts timed (profile_engine)
        self.recorder: OutputRecorder | None = None  # benchmarks: the rendered samples kept, to find sounds in
        self.silent_from: int | None = None
        # counters (each written by one side only)
        self.callback_counters = np.zeros(2, dtype=np.int64)  # the audio callback's: see the properties
        self.blocks_rendered = 0     # render thread
        self.late_onsets = 0         # render thread: edge arrived after its onset sample was rendered
        self.muted_blocks = 0        # render thread: an output guard tripped (NaN, Inf, overflow) or a voice raised
        self.render_errors = 0       # render thread: exceptions raised by a voice
        self.gate_overflows = 0      # producers: edges dropped because the queue was full
        self.fallbacks = 0           # render thread: switches to the fallback voice
        self.lookahead_raises = 0    # render thread: lookahead raised under CPU pressure
        self.lookahead_drops = 0     # render thread: lookahead lowered again after a calm spell
        self.startup_late_renders = 0  # render thread: late renders seen in the start-up, which raise nothing
        self.warnings: list[str] = []  # render thread appends; shown on screen and logged
        if fallback is _DEFAULT:
            fallback = TestVoice(self.sample_rate)
        self._fallback = fallback
        self._failed_blocks: deque[int] = deque(maxlen=FALLBACK_FAILURES)
        self._late_seen = 0
        self._late_times: deque[float] = deque(maxlen=OVERLOAD_LATE_RENDERS)
        self._calm_from = 0  # blocks_rendered at the last late render or lookahead change
        self._calm_s = CALM_S
        self._drops_at_raise = 0  # lookahead_drops at the last raise
        self.output.fader.fade_in()

    @property
    def underflows(self) -> int:
        """Output underflows the backend reported (written by the audio callback)."""
        return int(self.callback_counters[0])

    @underflows.setter
    def underflows(self, value: int) -> None:
        self.callback_counters[0] = value

    @property
    def late_renders(self) -> int:
        """Callbacks that found the FIFO short and padded with silence (written by the audio callback)."""
        return int(self.callback_counters[1])

    @late_renders.setter
    def late_renders(self, value: int) -> None:
        self.callback_counters[1] = value

    # -- producers ---------------------------------------------------------------------

    def post_gate(self, edge: GateEdge) -> None:
        """Queue a timestamped gate edge (any thread; never blocks)."""
        if len(self._edges) >= GATE_QUEUE_SIZE:
            self.gate_overflows += 1
            return
        self._edges.append(edge)

    def switch_voice(self, voice: Voice) -> None:
        """Crossfade to ``voice`` over the fade time (any thread)."""
        self._pending_voice = voice

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
        return origin + self.fifo.write_index / self.sample_rate - self.lookahead_s

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
        if self._pending_voice is not None:
            self._begin_crossfade()
        try:
            cursor = 0
            due = self._onsets_in_block(start)
            if profile is not None:
                profile.enter(profile.VOICES)
            for offset, edge in due:
                self._render_voices(mix[cursor:offset], cursor)
                cursor = offset
                on_gate = getattr(self.voice, "on_gate", None)  # voices that tell gates and edges apart
                if on_gate is not None:
                    on_gate(edge)
                elif edge.rising:
                    self.voice.trigger(edge.velocity)
            self._render_voices(mix[cursor:], cursor)
            if profile is not None:
                profile.enter(profile.OUTPUT)
            healthy = self.output.process(mix)
        except Exception:  # a voice must never take the audio down
            self.render_errors += 1
            log.exception("voice %r failed while rendering; muting and resetting it", self.voice.name)
            mix[:] = 0.0
            healthy = False
        if profile is not None:
            profile.enter(profile.ENGINE)
        if not healthy:
            self.muted_blocks += 1
            self._reset_voices()
            self._fall_back_if_failing()
        self._adapt_lookahead()
        self.fifo.write(mix)
        if self.recorder is not None:
            self.recorder.write(start, mix)
        if self.silent_from is None and self.output.fader.is_silent:
            self.silent_from = start + self.block_size
        if profile is not None:
            profile.end()
        self._render_ms[self.blocks_rendered & 4095] = (time.perf_counter() - started) * 1e3
        self.blocks_rendered += 1
        return True

    def _onsets_in_block(self, start: int) -> list[tuple[int, GateEdge]]:
        """Edges whose onset falls in ``[start, start + block)``, as (offset, edge), in order."""
        while self._edges:
            self._waiting.append(self._edges.popleft())
        if not self._waiting:
            return []
        origin = self.timeline.origin()
        if origin is None:
            return []
        due: list[tuple[int, GateEdge]] = []
        keep: list[GateEdge] = []
        end = start + self.block_size
        for edge in sorted(self._waiting, key=lambda e: e.time_s):
            sample = math.floor((edge.time_s + self.gate_latency_s - origin) * self.sample_rate + 0.5)
            if sample >= end:
                keep.append(edge)
                continue
            late = sample < start
            if late:
                self.late_onsets += 1
                sample = start
            self.onsets.append(Onset(edge, sample, late))
            due.append((sample - start, edge))
        self._waiting = keep
        return due

    def _begin_crossfade(self) -> None:
        voice, self._pending_voice = self._pending_voice, None
        self._outgoing = self.voice
        self.voice = voice
        self._crossfade_done = 0

    def _render_voices(self, out: np.ndarray, offset: int) -> None:
        """Render the current voice, crossfaded from the outgoing one while a switch runs."""
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

    def _fall_back_if_failing(self) -> None:
        """After ``FALLBACK_FAILURES`` muted blocks within ``FALLBACK_WINDOW_S``, play the fallback."""
        self._failed_blocks.append(self.blocks_rendered)
        window_blocks = FALLBACK_WINDOW_S * self.sample_rate / self.block_size
        if (self._fallback is None or self.voice is self._fallback or len(self._failed_blocks) < FALLBACK_FAILURES
                or self._failed_blocks[-1] - self._failed_blocks[0] > window_blocks):
            return
        failing = self.voice.name
        self.voice, self._outgoing, self._pending_voice = self._fallback, None, None
        self._failed_blocks.clear()
        self.fallbacks += 1
        message = f"{failing} failed {FALLBACK_FAILURES}x: playing {self._fallback.name}"
        self.warnings.append(message)
        log.error("voice %r failed %d times within %.1f s of audio; switched to %r",
                  failing, FALLBACK_FAILURES, FALLBACK_WINDOW_S, self._fallback.name)

    def _adapt_lookahead(self) -> None:
        """Raise the lookahead while late renders keep coming; lower it again once calm."""
        late = self.late_renders  # written by the callback; a stale read only delays this
        if late != self._late_seen:
            self._calm_from = self.blocks_rendered
            self._raise_lookahead_if_late(late)
        elif self.gate_latency_s > self.lookahead_s + self._gate_margin_s + 1e-9:
            self._lower_gate_latency_if_no_edge_pending()
        elif (self.lookahead_s > self.base_lookahead_s + 1e-9
              and (self.blocks_rendered - self._calm_from) * self.block_size >= self._calm_s * self.sample_rate):
            self._lower_lookahead()

    def _raise_lookahead_if_late(self, late: int) -> None:
        """Late renders that keep coming mean the CPU is starved: work one block further ahead
        (and delay gates by as much, so onsets stay exact) instead of dropping out again."""
        if self.timeline.count * self.block_size < OVERLOAD_WARMUP_S * self.sample_rate:
            self._late_seen = self.startup_late_renders = late  # start-up: threads and imports still settling
            return
        now = time.monotonic()
        for _ in range(min(late - self._late_seen, OVERLOAD_LATE_RENDERS)):
            self._late_times.append(now)
        self._late_seen = late
        block_s = self.block_size / self.sample_rate
        if (len(self._late_times) < OVERLOAD_LATE_RENDERS or now - self._late_times[0] > OVERLOAD_WINDOW_S
                or self.lookahead_s + block_s > self.max_lookahead_s + 1e-9):
            return
        self._late_times.clear()
        if self.lookahead_drops > self._drops_at_raise:  # it came down too soon: wait longer next time
            self._calm_s = min(2.0 * self._calm_s, CALM_MAX_S)
        self._drops_at_raise = self.lookahead_drops
        self.lookahead_s += block_s
        self.gate_latency_s = self.lookahead_s + self._gate_margin_s
        self.lookahead_raises += 1
        message = (f"CPU overloaded: lookahead {self.lookahead_s / block_s:.2g} blocks, "
                   f"gate latency {self.gate_latency_s * 1e3:.1f} ms")
        self.warnings.append(message)
        log.warning("%d late renders within %.1f s: %s", OVERLOAD_LATE_RENDERS, OVERLOAD_WINDOW_S, message)

    def _lower_lookahead(self) -> None:
        """A calm spell: render one block less ahead. The gate latency follows at a later
        block (``_lower_gate_latency_if_no_edge_pending``): the audio rendered so far still
        reaches the old lookahead, and an onset brought forward now could fall inside it."""
        block_s = self.block_size / self.sample_rate
        self.lookahead_s = max(self.base_lookahead_s, self.lookahead_s - block_s)
        self._calm_from = self.blocks_rendered
        self.lookahead_drops += 1
        log.info("no late render for %.0f s: lookahead back to %.2g blocks", self._calm_s, self.lookahead_s / block_s)

    def _lower_gate_latency_if_no_edge_pending(self) -> None:
        """Bring the gate latency down to the lowered lookahead's, at a block after the one that
        lowered it (rendered one block later than before, it reaches no further than the new
        latency) and while no edge waits to be placed (one seen earlier could land in audio
        already rendered)."""
        if self._edges or self._waiting:
            return
        self.gate_latency_s = self.lookahead_s + self._gate_margin_s
        log.info("gate latency back to %.1f ms", self.gate_latency_s * 1e3)

    def _reset_voices(self) -> None:
        for voice in (self.voice, self._outgoing):
            if voice is None:
                continue
            try:
                voice.reset()
            except Exception:
                log.exception("voice %r failed to reset", voice.name)
        self._outgoing = None

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
            self.late_renders += 1

    # -- reporting ---------------------------------------------------------------------

    def stats(self) -> dict:
        """Counters and render-time percentiles, as plain numbers."""
        kept = self._render_ms[:min(self.blocks_rendered, len(self._render_ms))]
        p50, p99 = np.percentile(kept, [50, 99]) if len(kept) else (0.0, 0.0)
        return {
            "callbacks": self.timeline.count,
            "underflows": self.underflows,
            "late_renders": self.late_renders,
            "startup_late_renders": self.startup_late_renders,
            "blocks_rendered": self.blocks_rendered,
            "late_onsets": self.late_onsets,
            "muted_blocks": self.muted_blocks,
            "render_errors": self.render_errors,
            "gate_overflows": self.gate_overflows,
            "fallbacks": self.fallbacks,
            "lookahead_raises": self.lookahead_raises,
            "lookahead_drops": self.lookahead_drops,
            "lookahead_blocks": self.lookahead_s * self.sample_rate / self.block_size,
            "warnings": list(self.warnings),
            "render_ms": {"p50": float(p50), "p99": float(p99), "max": float(kept.max()) if len(kept) else 0.0},
            "voice": self.voice.name,
        }
