"""Scripted gates: a short drum pattern that stands in for a patch in mock mode and demos."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Iterable

from neurorack.audio.engine import Engine, GateEdge


@dataclass(frozen=True)
class ScriptedHit:
    """A rising edge at ``time_s`` seconds into the pattern."""

    time_s: float
    gate: int = 0
    velocity: float = 1.0


# Two bars at 120 BPM: a kick-like pattern with an accent, a flam and a quiet ghost note.
DEMO_PATTERN = (
    ScriptedHit(0.00, velocity=1.0), ScriptedHit(0.50, velocity=0.6), ScriptedHit(0.75, velocity=0.4),
    ScriptedHit(1.00, velocity=0.9), ScriptedHit(1.50, velocity=0.6), ScriptedHit(2.00, velocity=1.0),
    ScriptedHit(2.25, velocity=0.3), ScriptedHit(2.50, velocity=0.7), ScriptedHit(3.00, velocity=0.9),
    ScriptedHit(3.25, velocity=0.5), ScriptedHit(3.375, velocity=0.5), ScriptedHit(3.50, velocity=0.8),
)
DEMO_PATTERN_LENGTH_S = 4.0


def pattern_edges(seconds: float, pattern: Iterable[ScriptedHit] = DEMO_PATTERN,
                  length_s: float = DEMO_PATTERN_LENGTH_S, start_s: float = 0.1) -> list[GateEdge]:
    """The pattern looped over ``seconds``, as edges at virtual times (for offline renders)."""
    hits = list(pattern)
    edges = []
    loop = 0
    while start_s + loop * length_s < seconds:
        for hit in hits:
            at = start_s + loop * length_s + hit.time_s
            if at < seconds:
                edges.append(GateEdge(at, hit.gate, True, hit.velocity))
        loop += 1
    return edges


class ScriptedControls(threading.Thread):
    """Plays the pattern in real time: each edge is stamped with the time it fires."""

    def __init__(self, engine: Engine, pattern: Iterable[ScriptedHit] = DEMO_PATTERN,
                 length_s: float = DEMO_PATTERN_LENGTH_S):
        super().__init__(name="neurorack-script", daemon=True)
        self.engine = engine
        self.pattern = sorted(pattern, key=lambda hit: hit.time_s)
        self.length_s = length_s
        self._stop_requested = threading.Event()

    def run(self) -> None:
        start = time.monotonic() + 0.2
        loop = 0
        while not self._stop_requested.is_set():
            for hit in self.pattern:
                due = start + loop * self.length_s + hit.time_s
                if self._stop_requested.wait(max(0.0, due - time.monotonic())):
                    return
                self.engine.post_gate(GateEdge(time.monotonic(), hit.gate, True, hit.velocity))
            loop += 1

    def stop(self) -> None:
        self._stop_requested.set()
        if self.is_alive():
            self.join(1.0)
