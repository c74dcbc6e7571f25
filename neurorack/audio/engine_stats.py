"""The engine's counters, render times and warnings, and the report built from them.

Each counter is written by one side only (the render thread, the audio callback or the
producers, as noted beside it) and may be read from any thread.
"""

from __future__ import annotations

import numpy as np

RENDER_TIMES = 4096  # the last this many blocks' render times are kept (a power of two)


class EngineStats:
    """Plain counters, shared by the engine and its parts, which each bump their own."""

    def __init__(self):
        self.callback_counters = np.zeros(2, dtype=np.int64)  # the audio callback's: see the properties
        self.render_ms = np.zeros(RENDER_TIMES)  # render thread: per block, at blocks_rendered & (RENDER_TIMES - 1)
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

    def report(self, callbacks: int, lookahead_blocks: float, voice: str) -> dict:
        """Counters and render-time percentiles, as plain numbers, with the figures the
        engine's other parts keep: ``callbacks`` played, the lookahead now and the voice playing."""
        kept = self.render_ms[:min(self.blocks_rendered, len(self.render_ms))]
        p50, p99 = np.percentile(kept, [50, 99]) if len(kept) else (0.0, 0.0)
        return {
            "callbacks": callbacks,
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
            "lookahead_blocks": lookahead_blocks,
            "warnings": list(self.warnings),
            "render_ms": {"p50": float(p50), "p99": float(p99), "max": float(kept.max()) if len(kept) else 0.0},
            "voice": voice,
        }
