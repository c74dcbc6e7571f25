"""Each block's render time split into its parts: the model's network, its synthesis, the voice
around them, the output stage and the engine (off unless a benchmark turns it on)."""

from __future__ import annotations

import numpy as np
import pytest

from neurorack.audio.backends.offline import render_offline
from neurorack.audio.engine import Engine
from neurorack.audio.render_profile import PARTS, RenderProfile, profile_engine
from neurorack.audio.voices import TestVoice
from neurorack.config.module import ModuleConfig
from neurorack.core.events import GateEdge
from neurorack_bench.realtime import make_voice


def _profiled_model_engine() -> tuple[Engine, RenderProfile]:
    """The shipped default model with its bank, hit 8 times a second for 2 s, offline, profiled."""
    voice, instrument, _ = make_voice("model", ModuleConfig())
    assert instrument is not None
    engine = Engine(voice)
    profile = RenderProfile(1024)
    profile_engine(engine, profile)
    render_offline(engine, 2.0, [GateEdge(0.05 + index / 8) for index in range(16)])
    return engine, profile


def test_the_parts_of_each_block_add_up_to_its_whole_render_time():
    engine, profile = _profiled_model_engine()
    assert profile.count == engine.counters.blocks_rendered == 750
    parts, block = profile.ns[:, :-1], profile.ns[:, -1]
    assert np.array_equal(parts.sum(axis=1), block)
    assert np.all(parts >= 0)
    # the whole, as the profile times it, is the engine's own render time of the block, less a few calls
    engine_us = engine.counters.render_ms[:profile.count] * 1000.0
    profiled_us = block[:profile.count] / 1000.0
    assert np.all(profiled_us <= engine_us + 1.0)
    assert np.median(profiled_us / engine_us) > 0.8


def test_every_part_is_reported_and_the_model_parts_are_timed():
    _, profile = _profiled_model_engine()
    summary = profile.summary()
    assert list(summary) == [*PARTS, "block"]
    for times in summary.values():
        assert set(times) == {"p50", "p99", "max", "mean"} and 0.0 <= times["p50"] <= times["p99"] <= times["max"]
    assert sum(summary[part]["mean"] for part in PARTS) == pytest.approx(summary["block"]["mean"])
    for part in PARTS:
        assert summary[part]["max"] > 0.0, part
    # a 256-sample model frame every other 128-frame block per hit: the network and synthesis run
    assert summary["model"]["p99"] > 0.0 and summary["synthesis"]["p99"] > 0.0


def test_a_summary_covers_the_blocks_since_a_count():
    profile = RenderProfile(4)
    for block_us in (1, 2, 3, 4, 5, 6):
        profile.ns[profile.count & 3] = [0, 0, 0, 0, 0, block_us * 1000]
        profile.count += 1
    assert profile.summary(4)["block"] == pytest.approx({"p50": 5.5, "p99": 5.99, "max": 6.0, "mean": 5.5})
    assert profile.summary()["block"]["max"] == 6.0 and profile.summary()["block"]["p50"] == 4.5  # the last 4
    assert profile.summary(6)["block"] == {"p50": 0.0, "p99": 0.0, "max": 0.0, "mean": 0.0}


def test_a_voice_without_a_model_spends_its_time_in_voices():
    engine = Engine(TestVoice(48000))
    profile = RenderProfile()
    profile_engine(engine, profile)
    render_offline(engine, 0.5, [GateEdge(0.1)])
    summary = profile.summary()
    assert summary["model"]["max"] == summary["synthesis"]["max"] == 0.0
    assert summary["voices"]["max"] > 0.0 and summary["output"]["max"] > 0.0


def test_it_is_off_unless_a_benchmark_turns_it_on():
    voice, _, _ = make_voice("model", ModuleConfig())
    engine = Engine(voice)
    assert engine.profile is None and engine.recorder is None
    assert voice.profile is None and voice.model.profile is None
    profile = RenderProfile()
    profile_engine(engine, profile)
    assert engine.profile is voice.profile is voice.model.profile is profile
    profile_engine(engine, None)
    assert engine.profile is None and voice.profile is None and voice.model.profile is None
