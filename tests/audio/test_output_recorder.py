"""The rendered samples a benchmark looks for sounds in: the last few seconds, by sample index."""

from __future__ import annotations

import numpy as np

from neurorack.audio.backends.offline import render_offline
from neurorack.audio.engine import Engine
from neurorack.audio.output_recorder import OutputRecorder
from neurorack.audio.voices import TestVoice
from neurorack.core.events import GateEdge


def test_it_keeps_the_last_samples_across_the_rings_end():
    recorder = OutputRecorder(16)
    for start in range(0, 40, 8):
        recorder.write(start, np.arange(start, start + 8, dtype=np.float64))
    assert recorder.written == 40
    assert np.array_equal(recorder.read(24, 40), np.arange(24, 40))
    assert recorder.read(23, 30) is None  # overwritten
    assert recorder.read(30, 41) is None  # not rendered yet


def test_samples_before_the_stream_are_silence():
    recorder = OutputRecorder(16)
    recorder.write(0, np.ones(8))
    assert np.array_equal(recorder.read(-4, 4), [0, 0, 0, 0, 1, 1, 1, 1])


def test_the_engine_records_what_the_callback_plays():
    engine = Engine(TestVoice(48000))
    engine.recorder = OutputRecorder()
    played = render_offline(engine, 0.5, [GateEdge(0.1), GateEdge(0.3)])
    assert np.array_equal(engine.recorder.read(0, len(played)), played)
