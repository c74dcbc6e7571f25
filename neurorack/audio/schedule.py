"""The gate schedule: where each gate edge's onset goes on the output timeline, and how far
ahead of the callback the render thread works.

Every gate edge carries a monotonic timestamp. Its onset goes to the sample fetched at
``edge_time + gate_latency``, so latency is constant whatever the block boundaries.
This works as long as ``gate_latency >= lookahead + one block``: a block is rendered
``lookahead`` before it is fetched, and an edge must be known before the block holding
its onset is rendered.

Late renders that keep coming (CPU starvation) raise the lookahead, and the gate latency
with it, by one block at a time up to what the FIFO holds. After ``CALM_S`` of audio
without a late render, a raised lookahead comes down a block (and the gate latency with
it, at a block with no gate edge pending, so no onset is late), and on down to the
configured one; where the load keeps coming back, the calm spell it takes doubles, up to
``CALM_MAX_S``.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from dataclasses import dataclass

from neurorack.audio.engine_stats import EngineStats
from neurorack.audio.timeline import CallbackTimeline
from neurorack.config.module import AudioSettings
from neurorack.core.events import GateEdge

log = logging.getLogger(__name__)

GATE_QUEUE_SIZE = 1024
SAFETY_MARGIN_S = 0.0005
OVERLOAD_LATE_S = 25 * 128 / 48000  # late renders of this much audio in all (sustained overload, not a host hiccup) ...
OVERLOAD_WINDOW_S = 2.0    # ... within this much wall time raise the lookahead by one block
OVERLOAD_WARMUP_S = 0.5    # late renders in the first this much of audio (start-up) do not count
CALM_S = 5.0               # this much audio without a late render lowers a raised lookahead by one block ...
CALM_MAX_S = 60.0          # ... doubled by a raise that follows a drop (it came down too soon), up to this


@dataclass(frozen=True)
class Onset:
    """Where an edge's onset was placed: ``sample`` on the output timeline."""

    edge: GateEdge
    sample: int
    late: bool


def late_renders_to_raise(audio: AudioSettings) -> int:
    """How many late renders within ``OVERLOAD_WINDOW_S`` raise the lookahead: as many blocks as
    make ``OVERLOAD_LATE_S`` of audio (25 of 128 samples at 48 kHz, 50 of 64). Counted in audio,
    not blocks, so that a host hiccup of a few milliseconds weighs the same at any block size."""
    return max(1, round(OVERLOAD_LATE_S * audio.sample_rate / audio.block_size))


def default_gate_latency_s(audio: AudioSettings) -> float:
    """The smallest constant gate latency the schedule can always meet."""
    block_s = audio.block_size / audio.sample_rate
    return (audio.lookahead_blocks + 1.0) * block_s + SAFETY_MARGIN_S


class GateSchedule:
    """Places gate edges at a constant latency and adapts the lookahead to the CPU load.

    Producers call ``post_gate`` (any thread); the render thread calls ``onsets_in_block``
    and then ``adapt`` once per block.

    Args:
        audio: sample rate, block size, lookahead and gate latency.
        timeline: the callbacks' record, which maps edge times to samples.
        counters: where late onsets, dropped edges, lookahead changes and warnings are counted;
            its ``late_renders`` and ``blocks_rendered`` drive the lookahead.
        max_lookahead_s: the furthest ahead the FIFO lets the render thread work.
    """

    def __init__(self, audio: AudioSettings, timeline: CallbackTimeline, counters: EngineStats,
                 max_lookahead_s: float):
        self.sample_rate = audio.sample_rate
        self.block_size = audio.block_size
        self.timeline = timeline
        self.counters = counters
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
        self.base_gate_latency_s = self.gate_latency_s  # the configured one, before any raise
        self.max_lookahead_s = max_lookahead_s
        self._gate_margin_s = self.gate_latency_s - self.lookahead_s  # kept as the lookahead moves
        self._edges: deque[GateEdge] = deque()
        self._waiting: list[GateEdge] = []
        self.onsets: deque[Onset] = deque(maxlen=4096)
        self._late_seen = 0
        self.late_renders_to_raise = late_renders_to_raise(audio)
        self._late_times: deque[float] = deque(maxlen=self.late_renders_to_raise)
        self._calm_from = 0  # blocks_rendered at the last late render or lookahead change
        self._calm_s = CALM_S
        self._drops_at_raise = 0  # lookahead_drops at the last raise

    def post_gate(self, edge: GateEdge) -> None:
        """Queue a timestamped gate edge (any thread; never blocks)."""
        if len(self._edges) >= GATE_QUEUE_SIZE:
            self.counters.gate_overflows += 1
            return
        self._edges.append(edge)

    def onsets_in_block(self, start: int) -> list[tuple[int, GateEdge]]:
        """Edges whose onset falls in ``[start, start + block)``, as (offset, edge), in order.

        An edge whose onset sample was rendered already goes to ``start`` and counts as a
        late onset. Every edge placed is kept in ``onsets``.
        """
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
                self.counters.late_onsets += 1
                sample = start
            self.onsets.append(Onset(edge, sample, late))
            due.append((sample - start, edge))
        self._waiting = keep
        return due

    def adapt(self) -> None:
        """Raise the lookahead while late renders keep coming; lower it again once calm.
        Called once per block, after the block is rendered."""
        counters = self.counters
        late = counters.late_renders  # written by the callback; a stale read only delays this
        if late != self._late_seen:
            self._calm_from = counters.blocks_rendered
            self._raise_lookahead_if_late(late)
        elif self.gate_latency_s > self.lookahead_s + self._gate_margin_s + 1e-9:
            self._lower_gate_latency_if_no_edge_pending()
        elif (self.lookahead_s > self.base_lookahead_s + 1e-9
              and (counters.blocks_rendered - self._calm_from) * self.block_size >= self._calm_s * self.sample_rate):
            self._lower_lookahead()

    def _raise_lookahead_if_late(self, late: int) -> None:
        """Late renders that keep coming mean the CPU is starved: work one block further ahead
        (and delay gates by as much, so onsets stay exact) instead of dropping out again."""
        counters = self.counters
        if self.timeline.count * self.block_size < OVERLOAD_WARMUP_S * self.sample_rate:
            self._late_seen = counters.startup_late_renders = late  # start-up: threads and imports still settling
            return
        now = time.monotonic()
        for _ in range(min(late - self._late_seen, self.late_renders_to_raise)):
            self._late_times.append(now)
        self._late_seen = late
        block_s = self.block_size / self.sample_rate
        if (len(self._late_times) < self.late_renders_to_raise or now - self._late_times[0] > OVERLOAD_WINDOW_S
                or self.lookahead_s + block_s > self.max_lookahead_s + 1e-9):
            return
        self._late_times.clear()
        if counters.lookahead_drops > self._drops_at_raise:  # it came down too soon: wait longer next time
            self._calm_s = min(2.0 * self._calm_s, CALM_MAX_S)
        self._drops_at_raise = counters.lookahead_drops
        self.lookahead_s += block_s
        self.gate_latency_s = self.lookahead_s + self._gate_margin_s
        counters.lookahead_raises += 1
        message = (f"CPU overloaded: lookahead {self.lookahead_s / block_s:.2g} blocks, "
                   f"gate latency {self.gate_latency_s * 1e3:.1f} ms")
        counters.warnings.append(message)
        log.warning("%d late renders within %.1f s: %s", self.late_renders_to_raise, OVERLOAD_WINDOW_S, message)

    def _lower_lookahead(self) -> None:
        """A calm spell: render one block less ahead. The gate latency follows at a later
        block (``_lower_gate_latency_if_no_edge_pending``): the audio rendered so far still
        reaches the old lookahead, and an onset brought forward now could fall inside it."""
        block_s = self.block_size / self.sample_rate
        self.lookahead_s = max(self.base_lookahead_s, self.lookahead_s - block_s)
        self._calm_from = self.counters.blocks_rendered
        self.counters.lookahead_drops += 1
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
