"""``neurorack demo``: a scripted performance rendered offline through the full engine."""

from __future__ import annotations

import time
from pathlib import Path

from neurorack.audio.backends.offline import render_offline
from neurorack.audio.engine import Engine
from neurorack.audio.voices import TestVoice
from neurorack.audio.wav import write_wav
from neurorack.config.module import ModuleConfig
from neurorack.controls.script import pattern_edges


def render_demo(config: ModuleConfig, out: str | Path = "neurorack-demo.wav", seconds: float = 8.0,
                progress=None) -> dict:
    """Render the demo pattern to ``out``; return what was done and how fast."""
    engine = Engine(TestVoice(config.audio.sample_rate), config.audio, config.output)
    edges = pattern_edges(seconds)
    started = time.perf_counter()
    samples = render_offline(engine, seconds, edges, progress=progress)
    elapsed = time.perf_counter() - started
    path = write_wav(out, samples, engine.sample_rate)
    from neurorack.ui.recording import render_gif  # the OLED's view of a scripted tour, beside the WAV

    screen = render_gif(Path(out).with_suffix(".gif"))
    return {
        "path": str(path),
        "screen_gif": screen["path"],
        "seconds": len(samples) / engine.sample_rate,
        "gates": len(edges),
        "render_s": elapsed,
        "realtime_factor": (len(samples) / engine.sample_rate) / elapsed,
        "stats": engine.stats(),
    }
