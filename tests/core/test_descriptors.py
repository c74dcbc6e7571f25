"""Descriptors on synthetic signals whose answers are known."""

import numpy as np
import pytest

from neurorack.core.descriptors import (
    DESCRIPTOR_NAMES,
    HOP,
    SILENCE_DB,
    extract,
    frame_count,
    normalise,
)

SR = 48000
LOUDNESS, CENTROID, FLATNESS, PITCH, CONFIDENCE = range(5)


def sine(frequency_hz: float, amplitude: float = 0.5, seconds: float = 0.5) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * frequency_hz * np.arange(int(SR * seconds)) / SR)


def steady(descriptors: np.ndarray) -> np.ndarray:
    """Frames away from the edges, where the window is full."""
    return descriptors[10:-10]


def test_one_frame_per_hop_rounded_up():
    assert extract(np.zeros(HOP * 10 + 1)).shape == (11, len(DESCRIPTOR_NAMES))
    assert frame_count(HOP * 10) == 10


@pytest.mark.parametrize("amplitude", [1.0, 0.1, 0.01])
def test_loudness_of_a_calibrated_sine(amplitude):
    expected_db = 20 * np.log10(amplitude / np.sqrt(2))  # a full-scale sine is -3.01 dB
    measured = steady(extract(sine(1000.0, amplitude)))[:, LOUDNESS]
    assert np.allclose(measured, expected_db, atol=0.05)


def test_silence_reads_the_floor_with_no_pitch_confidence():
    descriptors = extract(np.zeros(SR // 4))
    assert np.all(descriptors[:, LOUDNESS] == SILENCE_DB)
    assert np.all(descriptors[:, CONFIDENCE] == 0.0)


@pytest.mark.parametrize("frequency_hz", [55.0, 110.0, 440.0, 1500.0, 3000.0])
def test_sine_pitch_is_found_with_confidence(frequency_hz):
    descriptors = steady(extract(sine(frequency_hz)))
    assert np.allclose(descriptors[:, PITCH], frequency_hz, rtol=0.005)
    assert np.all(descriptors[:, CONFIDENCE] > 0.9)


@pytest.mark.parametrize("frequency_hz", [200.0, 1000.0, 5000.0])
def test_sine_centroid_is_its_frequency(frequency_hz):
    measured = steady(extract(sine(frequency_hz)))[:, CENTROID]
    assert np.allclose(measured, frequency_hz, rtol=0.01)


def test_centroid_of_two_equal_sines_is_their_mean():
    measured = steady(extract(sine(1000.0, 0.3) + sine(3000.0, 0.3)))[:, CENTROID]
    assert np.allclose(measured, 2000.0, rtol=0.01)


def test_white_noise_is_flat_and_unpitched_and_a_sine_is_not():
    noise = np.random.default_rng(0).standard_normal(SR // 2) * 0.1
    noisy = steady(extract(noise))
    tonal = steady(extract(sine(440.0)))
    # The periodogram of white noise is exponential: flatness exp(-euler gamma) = 0.56.
    assert np.allclose(np.median(noisy[:, FLATNESS]), 0.56, atol=0.04)
    assert np.all(tonal[:, FLATNESS] < 1e-3)
    assert np.all(noisy[:, CONFIDENCE] < 0.5)
    assert np.allclose(np.median(noisy[:, CENTROID]), SR / 4, rtol=0.05)  # flat spectrum: half of Nyquist


def test_harmonic_tone_pitch_is_its_fundamental_not_its_strongest_partial():
    t = np.arange(SR // 2) / SR
    tone = 0.1 * np.sin(2 * np.pi * 150 * t) + 0.4 * np.sin(2 * np.pi * 300 * t) + 0.3 * np.sin(2 * np.pi * 450 * t)
    assert np.allclose(steady(extract(tone))[:, PITCH], 150.0, rtol=0.01)


def test_pitch_of_a_decaying_drum_like_tone_follows_the_tone_under_noise():
    rng = np.random.default_rng(1)
    t = np.arange(SR // 2) / SR
    hit = np.exp(-t / 0.15) * 0.8 * np.sin(2 * np.pi * 80 * t) + np.exp(-t / 0.01) * 0.3 * rng.standard_normal(len(t))
    descriptors = extract(hit)[8:40]  # after the noise burst, before the tail fades out
    assert np.allclose(np.median(descriptors[:, PITCH]), 80.0, rtol=0.02)


def test_normalised_descriptors_stay_within_minus_one_to_one():
    noise = np.random.default_rng(2).standard_normal(SR // 4)
    scaled = normalise(extract(np.concatenate([noise, np.zeros(4000), sine(100.0), sine(1000.0)])))
    assert scaled.min() >= -1.0 and scaled.max() <= 1.0
    assert scaled.std(axis=0).min() > 0.01  # every column moves
