"""Drive the engine on a virtual clock: deterministic, as fast as the CPU allows.

The same engine, FIFO and callback path run as in real time. Only the clock is
virtual: the loop plays the parts of the render thread (wake at the due time, render),
the audio callback (every block period) and the control source (post each edge at its
time), always in time order.
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from neurorack.audio.engine import Engine
from neurorack.core.events import GateEdge


def render_offline(engine: Engine, seconds: float, edges: Iterable[GateEdge] = (),
                   progress=None) -> np.ndarray:
    """Render ``seconds`` of output.

    Args:
        engine: a fresh engine.
        seconds: length of the render.
        edges: gate edges with ``time_s`` in virtual seconds from the start.
        progress: optional callable taking the fraction done (0..1), called about 100 times.

    Returns:
        The output timeline, ``[frames]`` float32, exactly what the callback played.
    """
    block = engine.block_size
    inverse_rate = 1.0 / engine.sample_rate
    blocks = math.ceil(seconds * engine.sample_rate / block - 1e-9)
    output = np.zeros((blocks * block, 1), dtype=np.float32)
    pending = sorted(edges, key=lambda e: e.time_s)
    next_edge = 0
    report_every = max(1, blocks // 100)
    k = 0
    while k < blocks:
        callback_time = (k * block) * inverse_rate
        render_time = engine.next_render_time()
        edge_time = pending[next_edge].time_s if next_edge < len(pending) else math.inf
        if edge_time <= min(render_time, callback_time):
            engine.post_gate(pending[next_edge])
            next_edge += 1
        elif render_time < callback_time and engine.render_block():
            pass
        else:
            engine.pull(output[k * block:(k + 1) * block], callback_time, callback_time)
            k += 1
            if progress is not None and k % report_every == 0:
                progress(k / blocks)
    if progress is not None:
        progress(1.0)
    return output[:, 0]
