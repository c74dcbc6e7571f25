"""Where the render thread's time goes, block by block (``bench realtime``, ``bench soak``).

The engine, the instrument's voice and the model's runtime each say which part of a block's
work begins (``enter``); the time up to the next call goes to the part that ran. Parts nest
as calls do: the model's network runs inside the voice's render, the synthesis of its frame
after the network. So the parts of a block add up to the block, and a voice or a model that
says nothing leaves its time with whoever called it.

Each call is a ``time.perf_counter_ns`` reading added to a counter; each block's parts land
in a row of a preallocated NumPy ring. Nothing is logged and nothing grows. Off, which is
the daemon's default (``Engine.profile`` None), it costs one ``is not None`` test at each
of those places.
"""

from __future__ import annotations

from time import perf_counter_ns

import numpy as np

PARTS = ("model", "synthesis", "voices", "output", "engine")
"""model: the network of a model frame (descriptors in, amplitudes out); synthesis: the hop of
samples from them; voices: the voice around them (CVs, trajectories, slots mixed, fades; all of a
voice without a model); output: the output stage; engine: gate placement, crossfades, FIFO."""


class RenderProfile:
    """Per-block time of each part of the render, in a ring of the last ``blocks`` blocks.

    Written by the render thread only; ``summary`` is read by another thread at the end of a
    measurement (a row being written at that moment is at worst a block's figures mixed).

    Args:
        blocks: blocks kept (rounded up to a power of two).
    """

    MODEL, SYNTHESIS, VOICES, OUTPUT, ENGINE = range(len(PARTS))

    def __init__(self, blocks: int = 4096):
        size = 1 << max(0, int(blocks) - 1).bit_length()
        self.ns = np.zeros((size, len(PARTS) + 1), dtype=np.int64)  # per block: each part, then the whole block
        self._mask = size - 1
        self.count = 0  # blocks profiled so far
        self._spent = [0] * len(PARTS)
        self._part = self.ENGINE
        self._since = 0
        self._began = 0

    def begin(self) -> None:
        """A block's render starts (with the engine's part)."""
        spent = self._spent
        for part in range(len(spent)):
            spent[part] = 0
        self._part = self.ENGINE
        self._began = self._since = perf_counter_ns()

    def enter(self, part: int) -> None:
        """``part`` runs from now on (until the next ``enter`` or ``end``)."""
        now = perf_counter_ns()
        self._spent[self._part] += now - self._since
        self._part, self._since = part, now

    def end(self) -> None:
        """The block is rendered: keep its parts and its whole time."""
        now = perf_counter_ns()
        self._spent[self._part] += now - self._since
        row = self.ns[self.count & self._mask]
        row[:-1] = self._spent
        row[-1] = now - self._began
        self.count += 1

    def summary(self, since: int = 0) -> dict:
        """Microseconds per block of each part and of the whole block (``block``): ``{part:
        {p50, p99, max, mean}}`` over the blocks profiled since ``count`` was ``since`` (at most
        the last ``blocks``); zeros when there are none. The parts' means add up to the block's
        (their percentiles need not: a model frame runs in some blocks, not in every one)."""
        count = self.count
        first = max(since, count - len(self.ns))
        if count > first:
            rows = self.ns[np.arange(first, count) & self._mask] / 1000.0
        else:
            rows = np.zeros((1, len(PARTS) + 1))
        p50, p99 = np.percentile(rows, [50, 99], axis=0)
        peak, mean = rows.max(axis=0), rows.mean(axis=0)
        return {name: {"p50": float(p50[i]), "p99": float(p99[i]), "max": float(peak[i]), "mean": float(mean[i])}
                for i, name in enumerate((*PARTS, "block"))}


def profile_engine(engine, profile: RenderProfile | None) -> None:
    """Profile ``engine``'s render with ``profile`` (None: stop), its voice and the voice's model
    too when they take part (a ``profile`` attribute: ``PolyVoice``, the NumPy runtimes)."""
    engine.profile = profile
    voice = engine.voice
    for part in (voice, getattr(voice, "model", None)):
        if part is not None and hasattr(part, "profile"):
            part.profile = profile
