"""Gate inputs: a Schmitt trigger with a hold-off, and a bounded queue of timestamped edges.

The trigger acts on the first sample past a threshold (no waiting for confirmation, so
no added latency) and then holds its state for ``debounce_s``: ringing or bounce on the
edge cannot produce a second edge, and hysteresis (rising above ``rising_volts``, falling
below ``falling_volts``) keeps noise around one threshold from toggling it.

Each edge is stamped with the time of the sample that crossed, so the stamp is at most
one poll period after the true edge.
"""

from __future__ import annotations

import threading
from collections import deque

from neurorack.core.events import GateEdge


class SchmittTrigger:
    """One gate input.

    Args:
        rising_volts: goes high above this (jack volts).
        falling_volts: goes low below this.
        debounce_s: after an edge, no other edge for this long.
        gate: the gate's index in the edges it makes.
        velocity_full_volts: the level that plays at velocity 1.0; None: always 1.0.
    """

    def __init__(self, rising_volts: float, falling_volts: float, debounce_s: float, gate: int = 0,
                 velocity_full_volts: float | None = None):
        if falling_volts >= rising_volts:
            raise ValueError("falling_volts must be below rising_volts")
        self.rising_volts = rising_volts
        self.falling_volts = falling_volts
        self.debounce_s = debounce_s
        self.gate = gate
        self.velocity_full_volts = velocity_full_volts
        self.is_high = False
        self._last_edge_s = -float("inf")

    def update(self, volts: float, time_s: float) -> GateEdge | None:
        """Feed one sample in jack volts taken at monotonic ``time_s``; an edge or None."""
        if time_s - self._last_edge_s < self.debounce_s:
            return None
        if not self.is_high and volts > self.rising_volts:
            self.is_high = True
            self._last_edge_s = time_s
            velocity = 1.0
            if self.velocity_full_volts:
                velocity = min(volts / self.velocity_full_volts, 1.0)
            return GateEdge(time_s, self.gate, True, velocity)
        if self.is_high and volts < self.falling_volts:
            self.is_high = False
            self._last_edge_s = time_s
            return GateEdge(time_s, self.gate, False, 0.0)
        return None


class EdgeQueue:
    """A bounded, thread-safe FIFO of gate edges that never blocks its producer.

    When full, new edges are dropped and counted in ``overflows``.
    """

    def __init__(self, size: int = 256):
        self.size = size
        self._edges: deque[GateEdge] = deque()
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self.overflows = 0

    def put(self, edge: GateEdge) -> None:
        with self._lock:
            if len(self._edges) >= self.size:
                self.overflows += 1
                return
            self._edges.append(edge)
            self._ready.notify()

    def drain(self) -> list[GateEdge]:
        """Every queued edge, oldest first."""
        with self._lock:
            edges = list(self._edges)
            self._edges.clear()
        return edges

    def wait_for_edge(self, timeout_s: float) -> GateEdge | None:
        """The oldest edge, waiting up to ``timeout_s`` for one."""
        with self._ready:
            if not self._edges:
                self._ready.wait(timeout_s)
            return self._edges.popleft() if self._edges else None

    def __len__(self) -> int:
        return len(self._edges)
