"""The synthesiser: harmonic bank pitch and level, Nyquist muting, band-limited noise."""

import numpy as np
import torch

from neurorack.core.descriptors import extract
from neurorack.core.synth_tables import band_edges_hz, noise_bands
from neurorack.ml.synth import initial_synth_state, noise_table, synthesize

SR, HOP = 48000, 256


def render(harmonic_amps, noise_amps, f0_hz, n_bands=8, table_size=8192):
    """[T, K], [T, Nb], [T] -> audio [T * hop] (batch of one)."""
    harmonic_amps = torch.as_tensor(harmonic_amps, dtype=torch.float32)[None]
    noise_amps = torch.as_tensor(noise_amps, dtype=torch.float32)[None]
    f0 = torch.as_tensor(f0_hz, dtype=torch.float32)[None]
    state = initial_synth_state(1, harmonic_amps.shape[-1], noise_amps.shape[-1])
    table = noise_table(n_bands, table_size, SR, 0)
    audio, _ = synthesize(harmonic_amps, noise_amps, f0, state, table, HOP, SR)
    return audio[0].numpy()


def test_one_harmonic_is_a_sine_at_f0_with_its_amplitude():
    frames = 100
    amps = np.zeros((frames, 4))
    amps[:, 0] = 0.5
    audio = render(amps, np.zeros((frames, 8)), np.full(frames, 440.0))
    descriptors = extract(audio)[10:-10]
    assert np.allclose(descriptors[:, 3], 440.0, rtol=0.002)
    assert np.allclose(descriptors[:, 0], 20 * np.log10(0.5 / np.sqrt(2)), atol=0.05)


def test_harmonics_above_nyquist_are_muted():
    frames = 40
    amps = np.ones((frames, 16)) * 0.05
    audio = render(amps, np.zeros((frames, 8)), np.full(frames, 3000.0))[HOP * 4:]
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    freqs = np.fft.rfftfreq(len(audio), 1 / SR)
    expected = [3000.0 * k for k in range(1, 8)]  # 8 * 3000 = 24000 is Nyquist: muted
    peaks = freqs[np.argsort(spectrum)[-7:]]
    assert sorted(np.round(peaks, -2)) == expected
    aliased = spectrum[(freqs > 1000) & (np.abs((freqs + 1500) % 3000 - 1500) > 200)].max()
    assert aliased < 1e-3 * spectrum.max()


def test_each_noise_band_stays_in_its_band_and_loops_seamlessly():
    table = noise_bands(8, 8192, SR, 0)
    edges = band_edges_hz(8, SR)
    freqs = np.fft.rfftfreq(8192, 1 / SR)
    for band in range(8):
        power = np.abs(np.fft.rfft(table[:, band])) ** 2
        inside = (freqs >= edges[band]) & (freqs <= edges[band + 1])
        assert power[inside].sum() > 0.999 * power.sum()
        assert np.isclose(np.sqrt(np.mean(table[:, band] ** 2)), 1.0, atol=1e-3)


def test_amplitudes_ramp_from_silence_over_the_first_frame():
    amps = np.zeros((3, 1))
    amps[:, 0] = 1.0
    audio = render(amps, np.zeros((3, 8)), np.full(3, 1000.0))
    first, later = np.abs(audio[:HOP // 4]).max(), np.abs(audio[2 * HOP:]).max()
    assert first < 0.3 and later > 0.99
