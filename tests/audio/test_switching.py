"""neurorack.audio.switching: the crossfade between voices, gates to the voice, the fallback.

Each test drives a ``VoiceSwitch`` by hand with voices made for it; no engine is built.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

from neurorack.audio.engine_stats import EngineStats
from neurorack.audio.switching import FALLBACK_FAILURES, FALLBACK_WINDOW_S, VoiceSwitch
from neurorack.core.events import GateEdge

SR = 48000
BLOCK = 128
FADE = 300  # crossfade frames: not a multiple of the block


class ConstantVoice:
    """Renders ``value`` everywhere; counts what it is asked to do."""

    def __init__(self, value: float, name: str = "constant"):
        self.value = value
        self.name = name
        self.frames = 0
        self.triggers: list[float] = []
        self.resets = 0

    def trigger(self, velocity: float) -> None:
        self.triggers.append(velocity)

    def render(self, out: np.ndarray) -> None:
        out[:] = self.value
        self.frames += len(out)

    def reset(self) -> None:
        self.resets += 1


class GateVoice(ConstantVoice):
    """Takes every edge through ``on_gate``."""

    def __init__(self):
        super().__init__(0.0, "gate voice")
        self.edges: list[GateEdge] = []

    def on_gate(self, edge: GateEdge) -> None:
        self.edges.append(edge)


class UnresettableVoice(ConstantVoice):
    def reset(self) -> None:
        raise RuntimeError("no reset")


def make(voice, fallback=None) -> tuple[VoiceSwitch, EngineStats]:
    counters = EngineStats()
    return VoiceSwitch(voice, fallback, SR, BLOCK, FADE, counters), counters


def render(switch: VoiceSwitch, lengths: list[int]) -> np.ndarray:
    """Render pieces of these lengths (each at most a block) one after another."""
    pieces = []
    for length in lengths:
        out = np.full(length, np.nan)
        switch.render(out)
        pieces.append(out)
    return np.concatenate(pieces)


# -- playing and switching ---------------------------------------------------------------


def test_without_a_switch_the_voice_plays_alone():
    voice = ConstantVoice(0.25)
    switch, _ = make(voice)
    np.testing.assert_array_equal(render(switch, [BLOCK, 40]), np.full(BLOCK + 40, 0.25))
    assert voice.frames == BLOCK + 40


def test_an_empty_piece_renders_nothing():
    voice = ConstantVoice(0.25)
    switch, _ = make(voice)
    switch.render(np.zeros(0))
    assert voice.frames == 0


def test_a_switch_waits_for_the_render_thread_to_begin_it():
    old, new = ConstantVoice(1.0, "old"), ConstantVoice(0.0, "new")
    switch, _ = make(old)
    switch.switch_voice(new)
    assert switch.pending is new and switch.voice is old
    switch.begin_pending_switch()
    assert switch.pending is None and switch.voice is new


def test_the_crossfade_is_one_linear_ramp_across_pieces_then_the_old_voice_stops():
    old, new = ConstantVoice(1.0, "old"), ConstantVoice(0.0, "new")
    switch, _ = make(old)
    switch.switch_voice(new)
    switch.begin_pending_switch()
    lengths = [50, BLOCK, 17, BLOCK, BLOCK]
    output = render(switch, lengths)
    # the old voice's share: (FADE - n) / FADE after n + 1 samples, then none
    expected = np.maximum(1.0 - np.arange(1, len(output) + 1) / FADE, 0.0)
    np.testing.assert_allclose(output, expected, atol=1e-12)
    assert old.frames == 50 + BLOCK + 17 + BLOCK  # the piece that ends the fade is its last
    assert new.frames == len(output)


def test_a_switch_during_a_crossfade_starts_a_new_one_from_the_voice_fading_in():
    first, second, third = ConstantVoice(1.0, "first"), ConstantVoice(0.0, "second"), ConstantVoice(0.5, "third")
    switch, _ = make(first)
    switch.switch_voice(second)
    switch.begin_pending_switch()
    render(switch, [BLOCK])
    switch.switch_voice(third)
    switch.begin_pending_switch()
    frames = first.frames
    output = render(switch, [BLOCK])
    assert first.frames == frames  # dropped
    np.testing.assert_allclose(output, 0.5 * np.arange(1, BLOCK + 1) / FADE, atol=1e-12)


# -- gates -------------------------------------------------------------------------------


def test_a_voice_without_on_gate_is_triggered_by_rising_edges_with_their_velocity():
    voice = ConstantVoice(0.0)
    switch, _ = make(voice)
    for edge in (GateEdge(0.0, velocity=0.7), GateEdge(0.1, rising=False), GateEdge(0.2, velocity=0.3)):
        switch.gate(edge)
    assert voice.triggers == [0.7, 0.3]


def test_a_voice_with_on_gate_gets_every_edge():
    voice = GateVoice()
    switch, _ = make(voice)
    edges = [GateEdge(0.0), GateEdge(0.1, rising=False)]
    for edge in edges:
        switch.gate(edge)
    assert voice.edges == edges and voice.triggers == []


def test_gates_go_to_the_voice_fading_in():
    old, new = ConstantVoice(1.0, "old"), ConstantVoice(0.0, "new")
    switch, _ = make(old)
    switch.switch_voice(new)
    switch.begin_pending_switch()
    switch.gate(GateEdge(0.0))
    assert (old.triggers, new.triggers) == ([], [1.0])


# -- failures and the fallback -----------------------------------------------------------


def test_a_failed_block_resets_both_voices_and_ends_the_crossfade():
    old, new = ConstantVoice(1.0, "old"), ConstantVoice(0.0, "new")
    switch, counters = make(old)
    switch.switch_voice(new)
    switch.begin_pending_switch()
    render(switch, [BLOCK])
    switch.failed(0)
    assert (old.resets, new.resets) == (1, 1)
    frames = old.frames
    np.testing.assert_array_equal(render(switch, [BLOCK]), np.zeros(BLOCK))  # the new voice alone
    assert old.frames == frames and counters.fallbacks == 0


def test_a_voice_that_cannot_be_reset_is_logged_and_left_playing(caplog):
    voice = UnresettableVoice(0.1, "stubborn")
    switch, _ = make(voice)
    with caplog.at_level(logging.ERROR, logger="neurorack.audio.switching"):
        switch.failed(0)
    assert "voice 'stubborn' failed to reset" in caplog.text
    assert switch.voice is voice


def test_failures_close_together_switch_to_the_fallback_with_a_warning(caplog):
    voice, fallback = ConstantVoice(0.1, "model"), ConstantVoice(0.2, "test voice")
    switch, counters = make(voice, fallback)
    switch.switch_voice(ConstantVoice(0.3, "next"))  # asked for, but the fallback wins
    with caplog.at_level(logging.ERROR, logger="neurorack.audio.switching"):
        for block in range(FALLBACK_FAILURES - 1):
            switch.failed(10 + block)
        assert switch.voice is voice and counters.fallbacks == 0
        switch.failed(10 + FALLBACK_FAILURES)
    assert switch.voice is fallback and switch.pending is None
    assert counters.fallbacks == 1
    assert counters.warnings == [f"model failed {FALLBACK_FAILURES}x: playing test voice"]
    assert "switched to 'test voice'" in caplog.text
    np.testing.assert_array_equal(render(switch, [BLOCK]), np.full(BLOCK, 0.2))


def test_failures_spread_wider_than_the_window_only_reset():
    voice = ConstantVoice(0.1, "model")
    switch, counters = make(voice, ConstantVoice(0.2, "test voice"))
    window_blocks = FALLBACK_WINDOW_S * SR / BLOCK
    spacing = int(window_blocks / (FALLBACK_FAILURES - 1)) + 1
    for k in range(2 * FALLBACK_FAILURES):
        switch.failed(k * spacing)
    assert switch.voice is voice and counters.fallbacks == 0 and counters.warnings == []
    assert voice.resets == 2 * FALLBACK_FAILURES


def test_failures_just_inside_the_window_fall_back():
    switch, counters = make(ConstantVoice(0.1, "model"), ConstantVoice(0.2, "test voice"))
    window_blocks = FALLBACK_WINDOW_S * SR / BLOCK
    last = int(window_blocks)
    for block in (0, last // 2, last):
        switch.failed(block)
    assert counters.fallbacks == 1


@pytest.mark.parametrize("with_fallback", [False, True], ids=["none", "failing-fallback"])
def test_without_a_voice_to_fall_back_to_failures_only_reset(with_fallback):
    voice = ConstantVoice(0.1, "model")
    switch, counters = make(voice, voice if with_fallback else None)
    for block in range(3 * FALLBACK_FAILURES):
        switch.failed(block)
    assert switch.voice is voice and counters.fallbacks == 0
    assert voice.resets == 3 * FALLBACK_FAILURES
