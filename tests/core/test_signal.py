import numpy as np
import pytest

from neurorack.core.signal import resample


def test_resampling_keeps_a_tone_and_its_length():
    out = resample(np.sin(2 * np.pi * 1000 * np.arange(44100) / 44100), 44100, 48000)
    assert len(out) == 48000
    expected = np.sin(2 * np.pi * 1000 * np.arange(48000) / 48000)
    assert np.abs(out[1000:-1000] - expected[1000:-1000]).max() < 1e-3
    # frequency and level, measured on the output alone
    middle = out[4000:-4000] * np.hanning(40000)
    spectrum = np.abs(np.fft.rfft(middle, 48000 * 4))
    assert abs(np.argmax(spectrum) / 4 - 1000.0) < 0.5
    assert abs(20 * np.log10(np.sqrt(np.mean(out[4000:-4000] ** 2)) / np.sqrt(0.5))) < 0.01


@pytest.mark.parametrize("rate", [44100, 22050, 96000])
def test_resampling_a_one_shot_that_starts_with_a_jump_puts_no_echo_of_it_at_its_end(rate):
    # A noise burst at full level from its first sample, decaying to about -190 dB by the end:
    # a resampler that treats the sound as periodic wraps the jump into the last samples.
    t = np.arange(int(rate * 0.3)) / rate
    burst = 0.9 * np.random.default_rng(1).uniform(-1, 1, len(t)) * np.exp(-t / 0.015)
    out = resample(burst, rate, 48000)
    assert len(out) == round(len(burst) * 48000 / rate)
    tail = out[-480:]  # the last 10 ms
    assert 20 * np.log10(np.abs(tail).max() / np.abs(out).max()) < -60.0
    # and the burst itself survives: its energy within 0.5 dB (white noise above 24 kHz is lost
    # when going down from 96 kHz: half of it; the filter rolls off the top few % of the band)
    kept = min(1.0, 48000 / rate)
    energy_db = 10 * np.log10((np.sum(out ** 2) / 48000) / (kept * np.sum(burst ** 2) / rate))
    assert abs(energy_db) < 0.5
    assert np.argmax(np.abs(out)) < 480  # still loudest at its start
