"""Timbre features and mode values: what the percussion model's code is made of."""

from __future__ import annotations

import numpy as np

from neurorack.core.timbre import (
    FEATURE_SIZE,
    LEVEL_SCALE,
    MISSING_LEVEL,
    MODE_SCALE,
    mode_values,
    timbre_features,
)

SR = 48000


def _bell(partials_hz, seconds: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return sum(np.sin(2 * np.pi * f * t) * np.exp(-t * (3 + i)) / (1 + i) for i, f in enumerate(partials_hz))


def test_mode_values_find_an_inharmonic_sound_s_partials_as_ratios_to_its_pitch():
    partials = [220.0, 220.0 * 2.76, 220.0 * 5.40, 220.0 * 8.93]  # a struck bar's ratios
    values = mode_values(_bell(partials), 220.0, 6)
    ratios, levels = 2.0 ** (values[:6] * MODE_SCALE), values[6:] * LEVEL_SCALE
    found = [int(np.argmin(np.abs(ratios / expected - 1.0))) for expected in (1.0, 2.76, 5.40, 8.93)]
    for index, expected in zip(found, (1.0, 2.76, 5.40, 8.93)):
        assert abs(ratios[index] / expected - 1.0) < 0.004
    assert np.all(np.diff(values[:6]) >= 0)
    assert levels[found[0]] == 0.0  # the strongest peak
    assert levels[found[0]] > levels[found[1]] > levels[found[2]]  # the partials' levels fall as built
    assert np.all(np.delete(levels, found) < levels[found[2]])  # window side lobes are weaker


def test_a_silent_sound_takes_the_fallback_and_the_pitch_only_moves_the_values():
    values = mode_values(np.zeros(SR // 4), 300.0, 4, fallback=np.array([1.0, 3.0, 5.0, 7.0]))
    np.testing.assert_allclose(2.0 ** (values[:4] * MODE_SCALE), [1.0, 3.0, 5.0, 7.0], rtol=1e-5)
    np.testing.assert_allclose(values[4:], MISSING_LEVEL)
    # the same sound described with a pitch an octave lower: every ratio doubles
    lower, same = mode_values(_bell([300.0, 810.0]), 150.0, 2), mode_values(_bell([300.0, 810.0]), 300.0, 2)
    np.testing.assert_allclose(lower[:2] - same[:2], 1.0 / MODE_SCALE, atol=1e-6)
    np.testing.assert_allclose(lower[2:], same[2:])


def test_timbre_features_ignore_level_and_tell_a_tone_from_noise():
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(SR // 2) * np.exp(-np.arange(SR // 2) / 3000)
    tone = _bell([220.0])
    assert timbre_features(noise).shape == (FEATURE_SIZE,)
    np.testing.assert_allclose(timbre_features(0.05 * noise), timbre_features(noise), atol=1e-5)
    assert np.abs(timbre_features(noise) - timbre_features(tone)).max() > 0.5
