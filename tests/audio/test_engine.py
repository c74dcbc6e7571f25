"""neurorack.audio.engine: sample-exact onsets, the NaN/error guard, voice switching, fade-out.

The engine is driven on the virtual clock of the offline backend, or by hand where a test
needs to post an edge at a particular moment. Nothing here opens an audio device.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import math

import numpy as np
import pytest

from neurorack.audio import schedule
from neurorack.audio.backends.offline import render_offline
from neurorack.audio.engine import Engine
from neurorack.audio.schedule import OVERLOAD_WARMUP_S, Onset, default_gate_latency_s, late_renders_to_raise
from neurorack.audio.switching import FALLBACK_FAILURES, FALLBACK_WINDOW_S
from neurorack.audio.voices import TestVoice
from neurorack.config.module import AudioSettings, OutputSettings
from neurorack.core.events import GateEdge
from neurorack_bench.faults_runtime import VirtualClock, play_virtually

SR = 48000
BLOCK = 128
OVERLOAD_LATE_RENDERS = late_renders_to_raise(AudioSettings())  # 25 at these blocks


# -- voices made for these tests ---------------------------------------------------------


class ImpulseVoice:
    """One sample of ``0.4 * velocity`` right after each trigger, silence otherwise."""

    name = "impulse"

    def __init__(self):
        self.pending = 0.0
        self.resets = 0

    def trigger(self, velocity: float) -> None:
        self.pending = 0.4 * velocity

    def render(self, out: np.ndarray) -> None:
        out[:] = 0.0
        if self.pending and len(out):
            out[0] = self.pending
            self.pending = 0.0

    def reset(self) -> None:
        self.resets += 1
        self.pending = 0.0


class SineVoice:
    """A continuous sine that ignores triggers; ``reset`` restarts its phase."""

    def __init__(self, frequency: float, amplitude: float = 0.4, phase: float = 0.0, name: str = "sine"):
        self.name = name
        self.step = 2 * math.pi * frequency / SR
        self.amplitude = amplitude
        self.phase = phase
        self.frames = 0
        self.resets = 0
        self.triggers = 0

    def trigger(self, velocity: float) -> None:
        self.triggers += 1

    def render(self, out: np.ndarray) -> None:
        n = np.arange(self.frames, self.frames + len(out))
        out[:] = self.amplitude * np.sin(self.phase + self.step * n)
        self.frames += len(out)

    def reset(self) -> None:
        self.resets += 1
        self.frames = 0


class PoisonedOnTriggerVoice(SineVoice):
    """A sine whose render call right after a trigger is spoilt by ``poison``."""

    def __init__(self):
        super().__init__(300.0, name=self.name)
        self.poisoned = False

    def trigger(self, velocity: float) -> None:
        super().trigger(velocity)
        self.poisoned = True

    def render(self, out: np.ndarray) -> None:
        super().render(out)
        if self.poisoned and len(out):
            self.poison(out)
            self.poisoned = False

    def poison(self, out: np.ndarray) -> None:
        raise NotImplementedError


class NanOnTriggerVoice(PoisonedOnTriggerVoice):
    """A sine that renders NaN in the render call right after a trigger."""

    name = "nan voice"

    def poison(self, out: np.ndarray) -> None:
        out[len(out) // 2] = np.nan


class HugeOnTriggerVoice(PoisonedOnTriggerVoice):
    """A sine whose render call right after a trigger gives finite samples near the float
    limit: all ``1e307``, or alternating in sign (which overflows in the DC blocker)."""

    name = "huge voice"

    def __init__(self, alternating: bool):
        super().__init__()
        self.alternating = alternating

    def poison(self, out: np.ndarray) -> None:
        out[:] = 1e307
        if self.alternating:
            out[1::2] = -1e307


class RaiseOnTriggerVoice(SineVoice):
    """A sine whose render raises from its trigger until it is reset."""

    def __init__(self):
        super().__init__(300.0, name="raising voice")
        self.broken = False

    def trigger(self, velocity: float) -> None:
        super().trigger(velocity)
        self.broken = True

    def render(self, out: np.ndarray) -> None:
        if self.broken:
            raise RuntimeError("model exploded")
        super().render(out)

    def reset(self) -> None:
        super().reset()
        self.broken = False


class AlwaysBrokenVoice:
    name = "always broken"

    def trigger(self, velocity: float) -> None:
        raise RuntimeError("no trigger")

    def render(self, out: np.ndarray) -> None:
        raise RuntimeError("no render")

    def reset(self) -> None:
        raise RuntimeError("no reset")


# -- helpers -----------------------------------------------------------------------------


def expected_sample(time_s: float, latency_s: float, rate: int = SR) -> int:
    exact = (time_s + latency_s) * rate
    assert abs(exact - math.floor(exact) - 0.5) > 1e-6, "pick a time that does not round at .5"
    return round(exact)


def peaks(output: np.ndarray, threshold: float = 0.1) -> list[int]:
    return [int(i) for i in np.flatnonzero(np.abs(output) > threshold)]


def start(engine: Engine) -> list[np.ndarray]:
    """Prefill, then play the first callback at monotonic time 0 (origin 0)."""
    while engine.next_render_time() == -math.inf:
        assert engine.render_block()
    assert engine.next_render_time() == math.inf
    first = np.zeros((engine.block_size, 1), dtype=np.float32)
    engine.pull(first, 0.0, 0.0)
    return [first]


def play(engine: Engine, played: list[np.ndarray]) -> None:
    """One more callback, at its exact time on the origin-0 timeline."""
    now = engine.fifo.read_index / engine.sample_rate
    out = np.zeros((engine.block_size, 1), dtype=np.float32)
    engine.pull(out, now, now)
    played.append(out)


# -- sample-exact onsets -----------------------------------------------------------------


def test_onset_lands_on_the_exact_sample_after_the_gate_latency():
    engine = Engine(TestVoice(SR))
    output = render_offline(engine, 0.3, [GateEdge(0.1)])
    expected = round((0.1 + engine.gate_latency_s) * 48000)
    assert expected == 5080
    nonzero = np.flatnonzero(output)
    assert nonzero[0] == expected
    assert list(engine.onsets) == [Onset(GateEdge(0.1), expected, False)]
    assert engine.counters.late_onsets == 0


ODD_TIMES = [0.0213, 0.05077, 0.1234567, 0.2001, 0.2011, 0.33333, 0.4444]


@pytest.mark.parametrize(
    "audio",
    [
        AudioSettings(),
        AudioSettings(gate_latency_ms=12.3),
        AudioSettings(gate_latency_ms=7.77),
        AudioSettings(sample_rate=44100, block_size=64),
        AudioSettings(lookahead_blocks=0.5),
        AudioSettings(lookahead_blocks=2.5, block_size=256),
        AudioSettings(sample_rate=96000, block_size=32, lookahead_blocks=3),
    ],
    ids=["default", "12.3ms", "7.77ms", "44k1-64", "lookahead-0.5", "lookahead-2.5-256", "96k-32"],
)
def test_several_edges_at_odd_times_land_on_their_exact_samples(audio):
    engine = Engine(ImpulseVoice(), audio)
    edges = [GateEdge(t) for t in ODD_TIMES]
    output = render_offline(engine, 0.5, list(reversed(edges)))
    rate = audio.sample_rate
    expected = [expected_sample(t, engine.gate_latency_s, rate) for t in ODD_TIMES]
    assert any(sample % audio.block_size for sample in expected)  # not block aligned
    assert [(o.edge.time_s, o.sample, o.late) for o in engine.onsets] == [
        (t, s, False) for t, s in zip(ODD_TIMES, expected)]
    assert peaks(output) == expected
    assert engine.counters.late_onsets == 0


def test_custom_gate_latency_moves_the_onset_by_exactly_the_difference():
    default = Engine(ImpulseVoice())
    slower = Engine(ImpulseVoice(), dataclasses.replace(AudioSettings(), gate_latency_ms=20.0))
    a = render_offline(default, 0.3, [GateEdge(0.1)])
    b = render_offline(slower, 0.3, [GateEdge(0.1)])
    assert peaks(a) == [5080]
    assert peaks(b) == [round(0.12 * SR)]


def test_velocity_scales_the_voice_and_falling_edges_play_nothing():
    engine = Engine(ImpulseVoice())
    edges = [GateEdge(0.05, velocity=1.0), GateEdge(0.1, velocity=0.5), GateEdge(0.15, rising=False)]
    output = render_offline(engine, 0.25, edges)
    first, second = (expected_sample(t, engine.gate_latency_s) for t in (0.05, 0.1))
    assert peaks(output, 0.01) == [first, second]
    # within the DC blocker's tail of the first hit (a few 1e-5)
    assert output[second] == pytest.approx(0.5 * output[first], abs=2e-4)
    assert len(engine.onsets) == 3  # the falling edge is scheduled, it just triggers nothing


def test_late_edge_goes_to_the_start_of_the_next_rendered_block_and_is_counted():
    engine = Engine(ImpulseVoice())
    played = start(engine)          # block 0 rendered and played, origin 0
    assert engine.render_block()    # block 1: samples 128..255
    assert engine.render_block()    # block 2: samples 256..383
    # This edge's onset, 0 + 5.83 ms = sample 280, sits in block 2, already rendered.
    engine.post_gate(GateEdge(0.0))
    assert engine.render_block()    # block 3: samples 384..511
    assert engine.counters.late_onsets == 1
    assert list(engine.onsets) == [Onset(GateEdge(0.0), 384, True)]
    for _ in range(3):
        play(engine, played)
    output = np.concatenate(played)[:, 0]
    assert np.flatnonzero(output)[0] == 384


def test_too_small_gate_latency_makes_late_onsets_at_block_starts():
    engine = Engine(ImpulseVoice(), dataclasses.replace(AudioSettings(), gate_latency_ms=1.0))
    output = render_offline(engine, 0.3, [GateEdge(0.1003)])
    (onset,) = engine.onsets
    assert onset.late
    assert engine.counters.late_onsets == 1
    assert onset.sample % BLOCK == 0
    assert onset.sample > round((0.1003 + 0.001) * SR)
    assert peaks(output) == [onset.sample]


# -- render-thread / callback mechanics --------------------------------------------------


def test_next_render_time_prefills_then_waits_for_the_first_callback_then_runs_lookahead_ahead():
    engine = Engine(TestVoice(SR), AudioSettings(lookahead_blocks=2.5))
    assert engine.prefill_blocks == 3
    rendered = 0
    while engine.next_render_time() == -math.inf:
        engine.render_block()
        rendered += 1
    assert rendered == 3
    assert engine.next_render_time() == math.inf
    engine.pull(np.zeros((BLOCK, 2), dtype=np.float32), 10.0, 0.0)
    assert engine.next_render_time() == pytest.approx(10.0 + (3 * BLOCK - 2.5 * BLOCK) / SR)


def test_render_block_refuses_when_the_fifo_is_full():
    engine = Engine(TestVoice(SR))
    capacity_blocks = engine.fifo.capacity // BLOCK
    for _ in range(capacity_blocks):
        assert engine.render_block()
    assert engine.render_block() is False
    assert engine.counters.blocks_rendered == capacity_blocks


def test_pull_with_an_empty_fifo_writes_silence_and_counts_a_late_render():
    engine = Engine(TestVoice(SR))
    out = np.full((BLOCK, 2), 0.7, dtype=np.float32)
    engine.pull(out, 0.0, 0.0)
    np.testing.assert_array_equal(out, np.zeros((BLOCK, 2)))
    assert engine.counters.late_renders == 1
    assert engine.timeline.count == 1


# -- NaN and error guard -----------------------------------------------------------------


def test_nan_from_a_voice_mutes_exactly_its_block_and_resets_the_voice():
    voice = NanOnTriggerVoice()
    engine = Engine(voice)
    output = render_offline(engine, 0.3, [GateEdge(0.1)])
    onset = expected_sample(0.1, engine.gate_latency_s)
    block_start = onset - onset % BLOCK
    assert np.isfinite(output).all()
    np.testing.assert_array_equal(output[block_start:block_start + BLOCK], np.zeros(BLOCK))
    assert np.abs(output[block_start - BLOCK:block_start]).max() > 0.1   # playing before
    assert np.abs(output[block_start + BLOCK:block_start + 2 * BLOCK]).max() > 0.01  # and after
    assert engine.counters.muted_blocks == 1
    assert engine.counters.render_errors == 0
    assert voice.resets == 1


@pytest.mark.parametrize("alternating", [False, True], ids=["constant", "alternating"])
def test_samples_near_the_float_limit_mute_their_block_and_the_sound_returns_at_once(alternating):
    voice = HugeOnTriggerVoice(alternating)
    engine = Engine(voice)
    output = render_offline(engine, 0.3, [GateEdge(0.1)])
    onset = expected_sample(0.1, engine.gate_latency_s)
    block_start = onset - onset % BLOCK
    assert np.isfinite(output).all()
    np.testing.assert_array_equal(output[block_start:block_start + BLOCK], np.zeros(BLOCK))
    assert np.abs(output[block_start + 2 * BLOCK:block_start + 3 * BLOCK]).max() > 0.1  # a block later
    assert 0.3 < np.abs(output[-SR // 10:]).max() < 0.5  # the sine, not the DC blocker's memory at the ceiling
    assert engine.counters.muted_blocks == 1 and voice.resets == 1


def test_voice_that_raises_is_muted_reset_and_the_engine_keeps_rendering():
    voice = RaiseOnTriggerVoice()
    engine = Engine(voice)
    output = render_offline(engine, 0.3, [GateEdge(0.1), GateEdge(0.2)])
    blocks = math.ceil(0.3 * SR / BLOCK)
    assert len(output) == blocks * BLOCK
    assert np.isfinite(output).all()
    assert engine.counters.render_errors == 2
    assert engine.counters.muted_blocks == 2
    assert voice.resets == 2
    for time_s in (0.1, 0.2):
        onset = expected_sample(time_s, engine.gate_latency_s)
        block_start = onset - onset % BLOCK
        np.testing.assert_array_equal(output[block_start:block_start + BLOCK], np.zeros(BLOCK))
    assert np.abs(output[-BLOCK:]).max() > 0.1  # the sine came back
    assert engine.stats()["late_renders"] == 0


def test_voice_that_always_raises_gives_finite_silence_without_stopping_the_engine(caplog):
    engine = Engine(AlwaysBrokenVoice(), fallback=None)
    with caplog.at_level(logging.CRITICAL, logger="neurorack.audio.engine"):
        output = render_offline(engine, 0.1, [GateEdge(0.02)])
    blocks = math.ceil(0.1 * SR / BLOCK)
    assert len(output) == blocks * BLOCK
    np.testing.assert_array_equal(output, np.zeros(blocks * BLOCK))
    assert engine.counters.render_errors == engine.counters.blocks_rendered >= blocks
    assert engine.counters.muted_blocks == engine.counters.blocks_rendered
    assert engine.stats()["callbacks"] == blocks


# -- voice switch ------------------------------------------------------------------------


def test_switch_voice_mid_render_crossfades_without_a_jump_and_then_plays_the_new_voice():
    old = SineVoice(200.0, name="old")
    new = SineVoice(400.0, phase=math.pi / 2, name="new")  # starts at its peak
    engine = Engine(old)
    switched_at = []

    def progress(fraction):
        if fraction >= 0.5 and not switched_at:
            engine.switch_voice(new)
            switched_at.append(engine.fifo.write_index)

    output = render_offline(engine, 0.6, progress=progress).astype(np.float64)
    (at,) = switched_at
    threshold = 0.03  # > the largest natural step of either sine (0.021)
    # a hard switch would jump from the old sine's last sample to the new sine's first
    assert abs(0.4 - output[at - 1]) > 0.1
    steps = np.abs(np.diff(output[1000:]))
    assert steps.max() < threshold
    # the old voice is rendered alongside until the crossfade ends (whole blocks), then dropped
    assert old.frames == at + math.ceil(engine.output.fader.fade_frames / BLOCK) * BLOCK
    assert new.frames == len(output) - at
    assert engine.voice is new
    assert engine.stats()["voice"] == "new"
    tail = output[-SR // 5:]  # the last 0.2 s, long after the crossfade
    spectrum = np.abs(np.fft.rfft(tail))
    freqs = np.fft.rfftfreq(len(tail), 1 / SR)
    assert freqs[np.argmax(spectrum)] == pytest.approx(400.0, abs=5)
    assert spectrum[np.argmin(np.abs(freqs - 200.0))] < 1e-3 * spectrum.max()


# -- fade-out ----------------------------------------------------------------------------


def test_fade_out_reaches_exact_silence_and_is_faded_out_after_the_callback_plays_it():
    engine = Engine(SineVoice(300.0))
    faded_from = []
    seen = []

    def progress(fraction):
        if fraction >= 0.5 and not faded_from:
            engine.fade_out()
            faded_from.append(engine.fifo.write_index)
        seen.append((engine.fifo.read_index, engine.is_faded_out))

    assert not engine.is_faded_out
    output = render_offline(engine, 0.5, progress=progress)
    (start_of_fade,) = faded_from
    silent_from = engine.silent_from
    assert silent_from is not None
    fade_frames = engine.output.fader.fade_frames
    assert start_of_fade + fade_frames <= silent_from <= start_of_fade + fade_frames + BLOCK
    assert np.abs(output[start_of_fade - BLOCK:start_of_fade]).max() > 0.3
    np.testing.assert_array_equal(output[silent_from:], np.zeros(len(output) - silent_from))
    # the fade is a decay: each block no louder than the one before
    levels = [np.abs(output[s:s + BLOCK]).max() for s in range(start_of_fade, silent_from, BLOCK)]
    assert all(b <= a + 1e-6 for a, b in itertools.pairwise(levels))
    assert engine.is_faded_out
    assert any(not flag for index, flag in seen if index > start_of_fade)
    for read_index, flag in seen:
        assert flag == (read_index >= silent_from)


def test_engine_fades_in_at_start():
    engine = Engine(SineVoice(300.0), output=OutputSettings(fade_ms=10.0))
    output = render_offline(engine, 0.05)
    fade_frames = engine.output.fader.fade_frames
    assert fade_frames == 480
    ramp = np.minimum(np.arange(1, len(output) + 1) / fade_frames, 1.0)
    # the DC blocker's start transient adds ~0.4 * 5 Hz / 300 Hz to the 0.4 sine
    assert (np.abs(output) <= 0.41 * ramp + 1e-6).all()
    assert np.abs(output[fade_frames:]).max() > 0.39


# -- degradation: fallback voice, longer lookahead -----------------------------------------


def test_voice_that_keeps_failing_falls_back_to_the_test_voice_with_a_warning(caplog):
    engine = Engine(AlwaysBrokenVoice())
    with caplog.at_level(logging.CRITICAL, logger="neurorack.audio.engine"):
        output = render_offline(engine, 0.2, [GateEdge(0.1)])
    assert engine.voice.name == "test voice"
    assert engine.counters.muted_blocks == FALLBACK_FAILURES  # muted until the switch, then healthy
    assert engine.counters.fallbacks == 1
    assert engine.stats()["warnings"] == [f"always broken failed {FALLBACK_FAILURES}x: playing test voice"]
    assert np.all(np.isfinite(output)) and np.abs(output[int(0.11 * SR):]).max() > 0.05  # the gate plays


def test_failures_spread_wider_than_the_window_only_mute(caplog):
    voice = RaiseOnTriggerVoice()
    engine = Engine(voice)
    spacing = FALLBACK_WINDOW_S * 0.6
    edges = [GateEdge(0.05 + spacing * k) for k in range(FALLBACK_FAILURES)]
    with caplog.at_level(logging.CRITICAL, logger="neurorack.audio.engine"):
        render_offline(engine, spacing * FALLBACK_FAILURES, edges)
    assert engine.counters.render_errors == FALLBACK_FAILURES
    assert engine.voice is voice and engine.counters.fallbacks == 0 and engine.warnings == []


def _past_warmup(engine: Engine, played: list[np.ndarray]) -> None:
    """Play and render in step through the start-up period, where late renders do not count."""
    while engine.timeline.count * BLOCK < OVERLOAD_WARMUP_S * SR:
        engine.render_block()
        play(engine, played)


def test_late_renders_that_keep_coming_raise_lookahead_and_gate_latency_by_one_block(caplog):
    engine = Engine(SineVoice(200.0))
    played = start(engine)
    _past_warmup(engine, played)
    block_s = BLOCK / SR
    lookahead, latency = engine.lookahead_s, engine.gate_latency_s
    for _ in range(OVERLOAD_LATE_RENDERS + 3):  # the render thread starves: the FIFO runs dry
        play(engine, played)
    assert engine.counters.late_renders >= OVERLOAD_LATE_RENDERS
    with caplog.at_level(logging.WARNING, logger="neurorack.audio.schedule"):
        assert engine.render_block()
    assert engine.lookahead_s == pytest.approx(lookahead + block_s)
    assert engine.gate_latency_s == pytest.approx(latency + block_s)
    assert engine.stats()["lookahead_raises"] == 1
    assert engine.warnings[-1].startswith("CPU overloaded: lookahead 2 blocks")
    assert "late renders within" in caplog.text


def test_lookahead_never_grows_past_what_the_fifo_holds():
    engine = Engine(SineVoice(200.0))
    played = start(engine)
    _past_warmup(engine, played)
    for _ in range(40):  # the render thread gets one block done per OVERLOAD_LATE_RENDERS + 1 callbacks
        for _ in range(OVERLOAD_LATE_RENDERS + 1):
            play(engine, played)
        engine.render_block()
    assert engine.counters.lookahead_raises >= 2
    assert engine.lookahead_s <= engine.schedule.max_lookahead_s + 1e-9
    assert engine.fifo.capacity >= engine.lookahead_s * SR + BLOCK


def _starve(engine: Engine, played: list[np.ndarray]) -> None:
    """Late renders that keep coming: the render thread falls a whole burst behind."""
    for _ in range(OVERLOAD_LATE_RENDERS + 3):
        play(engine, played)
    engine.render_block()
    assert engine.counters.lookahead_raises == 1


def _keep_up(engine: Engine, played: list[np.ndarray], seconds: float, edges: list[GateEdge] = ()) -> None:
    """Play ``seconds`` of callbacks with the render thread on its schedule, each edge posted
    when its time comes (as the poller would)."""
    pending = sorted(edges, key=lambda edge: edge.time_s)
    for _ in range(round(seconds * SR / BLOCK)):
        now = engine.fifo.read_index / SR
        while pending and pending[0].time_s <= now:
            engine.post_gate(pending.pop(0))
        while engine.next_render_time() <= now:
            assert engine.render_block()
        play(engine, played)


@pytest.fixture
def raised(monkeypatch) -> tuple[Engine, list[np.ndarray]]:
    """An engine whose lookahead was just raised once by a burst of late renders; calm
    after half a second of audio."""
    monkeypatch.setattr(schedule, "CALM_S", 0.5)
    engine = Engine(SineVoice(200.0))
    played = start(engine)
    _past_warmup(engine, played)
    _starve(engine, played)
    return engine, played


def test_a_calm_spell_brings_a_raised_lookahead_and_the_gate_latency_back_down(raised, caplog):
    engine, played = raised
    lookahead, latency = engine.schedule.base_lookahead_s, default_gate_latency_s(AudioSettings())
    _keep_up(engine, played, 0.4)
    assert engine.lookahead_s == pytest.approx(lookahead + BLOCK / SR)  # not calm for long enough yet
    with caplog.at_level(logging.INFO, logger="neurorack.audio.schedule"):
        _keep_up(engine, played, 0.2)
    assert engine.lookahead_s == pytest.approx(lookahead) and engine.gate_latency_s == pytest.approx(latency)
    assert engine.stats()["lookahead_drops"] == 1 and engine.stats()["lookahead_blocks"] == pytest.approx(1.0)
    assert "lookahead back to 1 blocks" in caplog.text and "gate latency back to" in caplog.text
    late = engine.counters.late_renders
    _keep_up(engine, played, 1.0)
    assert engine.counters.late_renders == late and engine.counters.lookahead_drops == 1  # never below the configured lookahead


def test_onsets_stay_exact_and_none_is_late_while_the_lookahead_comes_down(raised):
    engine, played = raised
    raised_latency, raised_from = engine.gate_latency_s, engine.fifo.read_index / SR
    through = [GateEdge(raised_from + 0.45 + k * 0.0011) for k in range(120)]  # dense, all through the drop
    after = [GateEdge(raised_from + 0.65 + k * 0.0123) for k in range(10)]
    _keep_up(engine, played, 0.8, through + after)
    assert engine.counters.lookahead_drops == 1 and engine.counters.late_onsets == 0
    lowered = default_gate_latency_s(AudioSettings())
    assert engine.gate_latency_s == pytest.approx(lowered)
    placed = {onset.edge: onset.sample for onset in engine.onsets}
    assert [placed[edge] for edge in through] == [expected_sample(edge.time_s, raised_latency) for edge in through]
    assert [placed[edge] for edge in after] == [expected_sample(edge.time_s, lowered) for edge in after]


# -- a stall on a virtual clock: the lookahead goes up, then all the way back down -----------


class StallingVoice(SineVoice):
    """A sine whose render calls numbered in ``at`` each sleep ``seconds`` on ``clock``."""

    def __init__(self, clock: VirtualClock, at: list[int], seconds: float):
        super().__init__(200.0, name="stalling voice")
        self.clock, self.at, self.seconds = clock, at, seconds
        self.calls = 0

    def render(self, out: np.ndarray) -> None:
        super().render(out)
        if self.calls in self.at:
            self.clock.now += self.seconds
        self.calls += 1


def stalls_at(*seconds: float) -> list[int]:
    """The render calls at these times (with the configured lookahead, one block per call)."""
    return [round(t * SR / BLOCK) for t in seconds]


def run_virtually(engine: Engine, clock: VirtualClock, seconds: float) -> list[float]:
    """``play_virtually`` (the fault bench's), with the lookahead in blocks at every callback."""
    return [lookahead * SR / BLOCK for lookahead in play_virtually(engine, clock, seconds)]


def test_after_a_stall_the_lookahead_comes_back_to_the_configured_one_within_seconds(caplog):
    clock = VirtualClock()
    engine = Engine(StallingVoice(clock, stalls_at(1.0), seconds=0.3))  # once, for 0.3 s
    with caplog.at_level(logging.INFO, logger="neurorack.audio.schedule"):
        lookahead = run_virtually(engine, clock, 12.0)
    assert engine.counters.late_renders > OVERLOAD_LATE_RENDERS and engine.counters.lookahead_raises == 1
    assert max(lookahead) == 2.0
    back = len(lookahead) - lookahead[::-1].index(2.0)  # the first callback at the configured lookahead again
    assert back * BLOCK / SR < 1.3 + 10.0  # the stall ended at 1.3 s: back within 10 s of calm
    assert lookahead[-1] == 1.0 and engine.gate_latency_s == pytest.approx(default_gate_latency_s(AudioSettings()))
    stats = engine.stats()
    assert (stats["lookahead_raises"], stats["lookahead_drops"], stats["lookahead_blocks"]) == (1, 1, 1.0)
    assert "lookahead back to 1 blocks" in caplog.text


def test_late_renders_in_the_start_up_are_counted_apart():
    clock = VirtualClock()
    engine = Engine(StallingVoice(clock, stalls_at(0.05), seconds=0.2))  # in the start-up
    run_virtually(engine, clock, 1.0)
    stats = engine.stats()
    assert stats["startup_late_renders"] == stats["late_renders"] > OVERLOAD_LATE_RENDERS
    assert stats["lookahead_raises"] == 0
