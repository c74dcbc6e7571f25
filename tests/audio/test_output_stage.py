"""neurorack.audio.output_stage: the guards, DC blocker, soft limiter, fader."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from neurorack.audio.output_stage import (
    MAX_LEVEL,
    DcBlocker,
    Fader,
    OutputStage,
    SoftLimiter,
)

SR = 48000
BLOCK = 128


def faded_in_stage(**kwargs) -> OutputStage:
    """An output stage whose start fade has finished (fade_ms=1: 48 frames)."""
    stage = OutputStage(SR, BLOCK, fade_ms=1.0, **kwargs)
    stage.fader.fade_in()
    stage.process(np.zeros(BLOCK))
    assert stage.fader.gain == 1.0
    return stage


def sine(frequency: float, frames: int, amplitude: float = 0.3, start: int = 0) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * frequency * np.arange(start, start + frames) / SR)


# -- NaN / Inf guard --------------------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_block_is_muted_and_the_next_finite_block_plays(bad):
    stage = faded_in_stage()
    block = sine(440, BLOCK)
    block[37] = bad
    assert stage.process(block) is False
    np.testing.assert_array_equal(block, np.zeros(BLOCK))
    following = sine(440, BLOCK, start=BLOCK)
    assert stage.process(following) is True
    assert np.isfinite(following).all()
    assert np.abs(following).max() > 0.1


def test_non_finite_block_resets_the_dc_blocker():
    stage = faded_in_stage()
    for k in range(20):  # give the DC blocker a history
        stage.process(0.4 + sine(100, BLOCK, start=k * BLOCK))
    stage.process(np.full(BLOCK, np.nan))
    following = sine(300, BLOCK, amplitude=0.2)
    expected = following.copy()
    DcBlocker(SR, 5.0).process(expected)  # a DC blocker with no past
    stage.process(following)
    np.testing.assert_allclose(following, expected, atol=1e-12)


HUGE_BLOCKS = {
    "constant": np.full(BLOCK, 1e307),
    "alternating": np.where(np.arange(BLOCK) % 2, -1e307, 1e307),  # overflows inside the DC blocker
    "one sample": np.where(np.arange(BLOCK) == 37, 1e307, 0.0),
    "just over": np.full(BLOCK, 2 * MAX_LEVEL),
}


@pytest.mark.parametrize("gain_db", [0.0, 24.0])
@pytest.mark.parametrize("huge", list(HUGE_BLOCKS))
def test_samples_near_the_float_limit_are_muted_and_the_next_block_plays(huge, gain_db):
    stage = faded_in_stage(gain_db=gain_db)
    block = HUGE_BLOCKS[huge].copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning either
        assert stage.process(block) is False
    np.testing.assert_array_equal(block, np.zeros(BLOCK))
    assert sum(stage.trips.values()) == 1
    following = sine(440, BLOCK, amplitude=0.02)
    expected = following * 10 ** (gain_db / 20)
    DcBlocker(SR, 5.0).process(expected)  # as from a DC blocker with no past
    assert stage.process(following) is True
    np.testing.assert_allclose(following, expected, atol=1e-12)


def test_a_guard_after_the_dc_blocker_resets_it():
    stage = faded_in_stage()
    stage.dc_blocker._last_out = 1e307  # a past the guard before it could not have let in
    block = sine(440, BLOCK)
    assert stage.process(block) is False
    assert stage.trips == {"gain": 0, "dc blocker": 1, "limiter": 0}
    following = sine(440, BLOCK, amplitude=0.02)
    assert stage.process(following) is True and 0.01 < np.abs(following).max() < 0.03


def test_the_limiter_runs_only_over_its_knee_and_its_guard_still_trips(monkeypatch):
    calls = []

    def broken_limiter(self, block):  # a limiter that breaks whatever it touches
        calls.append(len(block))
        block[3] = np.nan

    monkeypatch.setattr(SoftLimiter, "process", broken_limiter)
    stage = faded_in_stage()
    quiet = sine(440, BLOCK, amplitude=0.1)  # under the knee (half the -1 dBFS ceiling)
    assert stage.process(quiet) is True and calls == []
    loud = sine(440, BLOCK, amplitude=0.8)
    assert stage.process(loud) is False and calls == [BLOCK]
    assert stage.trips == {"gain": 0, "dc blocker": 0, "limiter": 1}
    np.testing.assert_array_equal(loud, np.zeros(BLOCK))


def test_finite_block_returns_true():
    stage = faded_in_stage()
    assert stage.process(sine(200, BLOCK)) is True


def test_gain_scales_the_output_linearly():
    quiet = faded_in_stage(gain_db=-20.0)
    unity = faded_in_stage()
    a, b = sine(250, BLOCK), sine(250, BLOCK)
    quiet.process(a)
    unity.process(b)
    np.testing.assert_allclose(a, 0.1 * b, atol=1e-12)


# -- soft limiter -----------------------------------------------------------------------


CEILING = 10 ** (-1 / 20)


@pytest.mark.parametrize(
    "block",
    [
        np.array([1e6, -1e6, 1e6, -1e6]),
        np.array([np.inf, -np.inf, 0.0]),
        np.random.default_rng(4).normal(0, 100, 10_000),
        np.random.default_rng(5).uniform(-3, 3, 10_000),
        np.linspace(-50, 50, 10_001),
    ],
)
def test_soft_limiter_never_exceeds_the_ceiling(block):
    limiter = SoftLimiter(CEILING)
    block = block.astype(np.float64)
    limiter.process(block)
    assert np.abs(block).max() <= CEILING


def test_soft_limiter_keeps_sign_and_order():
    limiter = SoftLimiter(CEILING)
    block = np.linspace(-20, 20, 4001)
    original = block.copy()
    limiter.process(block)
    assert (np.sign(block) == np.sign(original)).all()
    assert (np.diff(block) >= 0).all()
    assert block.max() > 0.99 * CEILING


def test_soft_limiter_is_transparent_below_the_knee():
    limiter = SoftLimiter(CEILING)
    assert limiter.knee == pytest.approx(CEILING / 2)
    block = np.random.default_rng(6).uniform(-1, 1, 4096) * limiter.knee
    original = block.copy()
    limiter.process(block)
    np.testing.assert_array_equal(block, original)


def test_soft_limiter_leaves_quiet_samples_of_a_loud_block_unchanged_and_is_continuous_at_the_knee():
    limiter = SoftLimiter(1.0)
    block = np.array([0.1, -0.3, 0.5, 0.5 + 1e-9, 5.0])
    limiter.process(block)
    np.testing.assert_array_equal(block[:3], [0.1, -0.3, 0.5])
    assert block[3] == pytest.approx(0.5, abs=1e-8)
    assert 0.5 < block[4] <= 1.0


def test_output_stage_with_high_gain_stays_under_the_ceiling():
    stage = faded_in_stage(gain_db=24.0, ceiling_db=-6.0)
    ceiling = 10 ** (-6 / 20)
    rng = np.random.default_rng(7)
    for _ in range(50):
        block = rng.normal(0, 10, BLOCK)
        assert stage.process(block)
        assert np.abs(block).max() <= ceiling


# -- DC blocker -------------------------------------------------------------------------


def test_dc_blocker_removes_a_constant_offset_and_keeps_the_tone():
    blocker = DcBlocker(SR, 5.0)
    frames = SR  # 1 s
    signal = 0.5 + sine(200, frames, amplitude=0.3)
    for start in range(0, frames, BLOCK):
        blocker.process(signal[start:start + BLOCK])
    tail = signal[-SR // 10:]  # last 0.1 s: exactly 20 periods of 200 Hz
    assert abs(tail.mean()) < 1e-3
    assert np.abs(tail).max() == pytest.approx(0.3, rel=0.01)
    assert np.sqrt(np.mean(tail ** 2)) == pytest.approx(0.3 / math.sqrt(2), rel=0.01)


def reference_dc_blocker(x: np.ndarray, r: float) -> np.ndarray:
    y = np.zeros_like(x)
    last_in = last_out = 0.0
    for n, value in enumerate(x):
        last_out = value - last_in + r * last_out
        last_in = value
        y[n] = last_out
    return y


def test_dc_blocker_matches_the_per_sample_recursion_across_blocks_of_any_length():
    rng = np.random.default_rng(8)
    lengths = [1, 7, 63, 64, 65, 128, 200, 3, 500, 1]
    signal = 0.2 + rng.uniform(-0.5, 0.5, sum(lengths))
    blocker = DcBlocker(SR, 5.0)
    expected = reference_dc_blocker(signal, blocker.r)
    start = 0
    for length in lengths:
        blocker.process(signal[start:start + length])
        start += length
    assert np.abs(signal - expected).max() < 1e-9


@pytest.mark.parametrize("corner, rate", [(1.0, 44100), (40.0, 96000)])
def test_dc_blocker_coefficient_follows_corner_and_rate(corner, rate):
    assert DcBlocker(rate, corner).r == pytest.approx(1 - 2 * math.pi * corner / rate)


def test_dc_blocker_reset_forgets_the_past():
    blocker = DcBlocker(SR, 5.0)
    blocker.process(np.full(300, 0.7))
    blocker.reset()
    block = np.full(10, 0.25)
    blocker.process(block)
    np.testing.assert_allclose(block, reference_dc_blocker(np.full(10, 0.25), blocker.r), atol=1e-12)


# -- fader ------------------------------------------------------------------------------


def run_fader(fader: Fader, frames: int, block: int) -> np.ndarray:
    out = []
    for start in range(0, frames, block):
        chunk = np.ones(min(block, frames - start))
        fader.process(chunk)
        out.append(chunk)
    return np.concatenate(out)


def test_fader_starts_silent_and_outputs_zeros():
    fader = Fader(100, 64)
    assert fader.is_silent
    block = np.ones(64)
    fader.process(block)
    np.testing.assert_array_equal(block, np.zeros(64))


def test_fade_in_ramps_from_zero_to_one_over_fade_frames():
    fader = Fader(100, 64)
    fader.fade_in()
    assert not fader.is_silent
    gains = run_fader(fader, 300, 64)
    expected = np.minimum(np.arange(1, 301) / 100, 1.0)
    np.testing.assert_allclose(gains, expected, atol=1e-12)
    assert fader.gain == 1.0
    np.testing.assert_array_equal(gains[100:], np.ones(200))


def test_fade_out_reaches_exact_silence_and_is_silent():
    fader = Fader(100, 64)
    fader.fade_in()
    run_fader(fader, 128, 64)
    fader.fade_out()
    assert not fader.is_silent
    gains = run_fader(fader, 256, 64)
    np.testing.assert_allclose(gains[:100], np.maximum(1 - np.arange(1, 101) / 100, 0), atol=1e-12)
    np.testing.assert_array_equal(gains[99:], np.zeros(157))
    assert fader.gain == 0.0
    assert fader.is_silent


def test_fade_out_during_a_fade_in_turns_back_from_the_current_gain():
    fader = Fader(100, 64)
    fader.fade_in()
    first = run_fader(fader, 30, 30)
    fader.fade_out()
    second = run_fader(fader, 50, 50)
    assert first[-1] == pytest.approx(0.30)
    assert second[0] == pytest.approx(0.29)
    assert second[29] == 0.0
    assert fader.is_silent


def test_output_stage_fade_length_follows_fade_ms():
    assert OutputStage(SR, BLOCK, fade_ms=20.0).fader.fade_frames == 960
    assert OutputStage(44100, BLOCK, fade_ms=10.0).fader.fade_frames == 441
