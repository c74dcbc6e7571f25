"""neurorack.audio.backends.offline: the engine on a virtual clock."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neurorack.audio.backends.offline import render_offline
from neurorack.audio.engine import Engine
from neurorack.audio.voices import TestVoice
from neurorack.config.module import AudioSettings
from neurorack.core.events import GateEdge

SR = 48000
EDGES = [GateEdge(0.0), GateEdge(0.0731, velocity=0.6), GateEdge(0.25), GateEdge(0.2501, gate=1),
         GateEdge(0.4, rising=False)]


def test_two_renders_with_the_same_edges_are_bit_identical():
    first = render_offline(Engine(TestVoice(SR)), 0.5, EDGES)
    second = render_offline(Engine(TestVoice(SR)), 0.5, list(reversed(EDGES)))
    assert first.dtype == np.float32
    assert np.abs(first).max() > 0.1
    assert first.tobytes() == second.tobytes()


def test_an_edge_one_sample_later_shifts_the_hit_by_exactly_one_sample():
    first = render_offline(Engine(TestVoice(SR)), 0.3, [GateEdge(0.1)])
    second = render_offline(Engine(TestVoice(SR)), 0.3, [GateEdge(0.1 + 1 / SR)])
    onset = 5080  # 0.1 s + 5.83 ms at 48 kHz
    assert np.flatnonzero(first)[0] == onset
    assert np.flatnonzero(second)[0] == onset + 1
    np.testing.assert_array_equal(second[onset + 1:onset + 4001], first[onset:onset + 4000])


@pytest.mark.parametrize(
    "seconds, audio",
    [
        (0.1, AudioSettings()),
        (0.08, AudioSettings()),
        (0.3, AudioSettings(block_size=1024)),
        (0.0101, AudioSettings(sample_rate=44100, block_size=32)),
        (1.0, AudioSettings(sample_rate=96000, block_size=512, lookahead_blocks=4)),
    ],
)
def test_length_is_whole_blocks_covering_the_requested_seconds(seconds, audio):
    engine = Engine(TestVoice(audio.sample_rate), audio)
    output = render_offline(engine, seconds, [GateEdge(seconds / 3)])
    blocks = math.ceil(seconds * audio.sample_rate / audio.block_size)
    assert output.shape == (blocks * audio.block_size,)
    assert engine.stats()["callbacks"] == blocks


@pytest.mark.parametrize("lookahead", [0.25, 0.5, 1.0, 2.0, 8.0])
def test_offline_render_has_no_late_renders_or_late_onsets(lookahead):
    engine = Engine(TestVoice(SR), AudioSettings(lookahead_blocks=lookahead))
    render_offline(engine, 0.4, EDGES)
    stats = engine.stats()
    assert stats["late_renders"] == 0
    assert stats["late_onsets"] == 0
    assert stats["underflows"] == 0
    assert stats["blocks_rendered"] >= stats["callbacks"]


def test_render_without_edges_is_silence_after_the_fade_in():
    output = render_offline(Engine(TestVoice(SR)), 0.2)
    np.testing.assert_array_equal(output, np.zeros_like(output))


def test_progress_is_reported_in_order_up_to_one():
    seen = []
    render_offline(Engine(TestVoice(SR)), 1.0, progress=seen.append)
    assert 100 <= len(seen) <= 200  # every blocks // 100 callbacks
    assert seen == sorted(seen)
    assert seen[-1] == pytest.approx(1.0)
    assert 0 < seen[0] < 0.05


def test_edges_after_the_end_are_never_played():
    engine = Engine(TestVoice(SR))
    output = render_offline(engine, 0.1, [GateEdge(5.0)])
    assert len(engine.onsets) == 0
    np.testing.assert_array_equal(output, np.zeros_like(output))


class RecordingEngine(Engine):
    """Notes, for every posted edge, the virtual times of the next render and callback."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.posted = []

    def post_gate(self, edge):
        self.posted.append((edge.time_s, self.next_render_time(), self.fifo.read_index / self.sample_rate))
        super().post_gate(edge)


def test_edges_are_posted_in_virtual_time_order_never_before_they_happen():
    engine = RecordingEngine(TestVoice(SR))
    times = [0.0, 0.011, 0.0111, 0.05077, 0.1234567, 0.2, 0.2001]
    render_offline(engine, 0.3, [GateEdge(t) for t in times])
    assert [t for t, _, _ in engine.posted] == times
    for edge_time, next_render, next_callback in engine.posted:
        # nothing due after the edge has been rendered or played before it was posted
        assert edge_time <= next_render
        assert edge_time <= next_callback
