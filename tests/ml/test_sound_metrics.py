"""Each sound metric on small synthetic signals: an imitation must fail where the sound passes."""

import numpy as np
import pytest

from neurorack.ml import sound_metrics as sm

SR = 48000


def t(seconds):
    return np.arange(int(seconds * SR)) / SR


def drum(pitch=180.0, seconds=0.5, start=64, rise_s=0.002, decay_s=0.08, seed=0, smear_s=0.0):
    """A membrane-like hit: three inharmonic modes and a little noise, rising over ``rise_s``;
    ``smear_s`` convolves its amplitude envelope with a window that long (what frame-rate
    synthesis does to an attack)."""
    time = t(seconds - start / SR)
    rng = np.random.default_rng(seed)
    modes = sum(a * np.sin(2 * np.pi * pitch * r * time + rng.uniform(0, 6.28))
                for a, r in ((1.0, 1.0), (0.5, 1.59), (0.3, 2.14)))
    envelope = np.exp(-time / decay_s) * np.minimum(time / rise_s, 1.0)
    if smear_s:
        window = np.ones(int(smear_s * SR))
        envelope = np.convolve(envelope, window / window.sum())[:len(time)]
    body = (modes + 0.05 * rng.standard_normal(len(time))) * envelope
    return np.concatenate([np.zeros(start), 0.4 * body])


def clap(gaps_ms=(0.0, 11.0, 23.0), seconds=0.4, seed=1):
    """Band-passed noise bursts (each 1 ms up, 3 ms down) and a short tail after the last."""
    rng = np.random.default_rng(seed)
    out = np.zeros(int(seconds * SR))
    time = t(seconds)
    for k, g in enumerate(gaps_ms):
        start = int((g / 1000.0) * SR) + 64
        env = np.zeros(len(out))
        local = time[:len(out) - start]
        decay = 0.003 if k < len(gaps_ms) - 1 else 0.03
        env[start:] = np.minimum(local / 0.001, 1.0) * np.exp(-np.maximum(local - 0.001, 0.0) / decay)
        out += env * rng.standard_normal(len(out))
    spectrum = np.fft.rfft(out)
    freqs = np.fft.rfftfreq(len(out), 1 / SR)
    spectrum[(freqs < 700) | (freqs > 5000)] = 0
    out = np.fft.irfft(spectrum, len(out))
    return 0.5 * out / np.abs(out).max()


def test_envelope_is_the_windowed_rms():
    x = np.ones(4800) * 0.5
    times, env = sm.rms_envelope(x, SR)
    assert np.allclose(env[10:-10], 0.5)
    assert times[1] - times[0] == pytest.approx(0.000125)


def test_attack_finds_onset_and_peak_of_a_ramp():
    x = np.zeros(SR // 2)
    onset, ramp = 960, 144  # 20 ms of silence, then a 3 ms linear rise and a slow decay
    x[onset:onset + ramp] = np.linspace(0, 1, ramp)
    x[onset + ramp:] = np.exp(-np.arange(len(x) - onset - ramp) / 4800)
    a = sm.attack(x, SR)
    assert a["onset_s"] == pytest.approx(onset / SR, abs=0.0006)
    assert a["time_to_peak_s"] == pytest.approx(0.003, abs=0.0008)
    assert 0.0015 < a["rise_s"] < 0.0035
    assert np.isnan(sm.attack(np.zeros(1000), SR)["time_to_peak_s"])


def test_a_smeared_attack_fails_time_to_peak_where_the_original_passes():
    x = drum()
    smeared = drum(smear_s=0.01)  # its envelope convolved with a 10 ms window
    reference = sm.attack(x, SR)
    same = sm.attack(x.copy(), SR)
    blurred = sm.attack(smeared, SR)
    assert abs(same["time_to_peak_s"] - reference["time_to_peak_s"]) * 1e3 <= 1.5
    assert abs(blurred["time_to_peak_s"] - reference["time_to_peak_s"]) * 1e3 > 1.5
    assert abs(blurred["rise_s"] - reference["rise_s"]) * 1e3 > 1.5
    # a level change or a delay does not count: only the attack's shape
    delayed = np.concatenate([np.zeros(300), 0.3 * x])[:len(x)]
    assert abs(sm.attack(delayed, SR)["time_to_peak_s"] - reference["time_to_peak_s"]) * 1e3 <= 0.3


def test_burst_count_sees_three_claps_and_one_after_merging():
    three = clap()
    assert sm.burst_count(three, SR) == 3
    single = clap(gaps_ms=(0.0,))
    assert sm.burst_count(single, SR) == 1
    assert sm.burst_count(drum(), SR) == 1
    # a smooth imitation of the three-burst clap (its envelope smoothed over 20 ms) has one burst
    rng = np.random.default_rng(5)
    _times, env = sm.rms_envelope(three, SR, window_s=0.02, step_s=1 / SR)
    assert sm.burst_count(env * rng.standard_normal(len(env)), SR) == 1
    assert sm.burst_count(np.zeros(1000), SR) == 0


def test_mel_filterbank_rows_are_normalised_and_cover_the_range():
    bank = sm.mel_filterbank(SR)
    assert bank.shape == (64, 1025)
    assert np.allclose(bank.sum(axis=1), 1.0)
    centres = (bank * np.fft.rfftfreq(2048, 1 / SR)).sum(axis=1)
    assert np.all(np.diff(centres) > 0) and centres[0] < 100 and 15000 < centres[-1] < 20000


def test_log_mel_distance_is_zero_for_the_sound_and_large_for_its_noise_vocoder():
    x = drum(pitch=220.0, decay_s=0.25)  # modal: sharp spectral peaks
    assert sm.log_mel_distance(x, x, SR) == 0.0
    vocoded = sm.noise_vocoder(x, SR, 32)
    d_vocoder = sm.log_mel_distance(x, vocoded, SR)
    assert d_vocoder > 1.5
    assert sm.log_mel_distance(x, 0.999 * x + 1e-4 * np.sin(np.arange(len(x))), SR) < 0.1 * d_vocoder
    # more bands get closer, and an exact copy of every STFT magnitude still is not the sound
    assert sm.log_mel_distance(x, sm.noise_vocoder(x, SR, 513), SR) < d_vocoder
    assert sm.log_mel_distance(x, sm.noise_vocoder(x, SR, 513), SR) > 1.0


def test_noise_vocoder_is_deterministic_and_keeps_level_and_spectral_envelope():
    x = drum()
    a, b = sm.noise_vocoder(x, SR, 32, seed=3), sm.noise_vocoder(x, SR, 32, seed=3)
    assert np.array_equal(a, b) and a.dtype == np.float32 and len(a) == len(x)
    assert not np.array_equal(a, sm.noise_vocoder(x, SR, 32, seed=4))
    level = 10 * np.log10(np.mean(a ** 2) / np.mean(x ** 2))
    assert abs(level) < 2.0
    assert abs(np.log2(sm.spectral_centroid(a, SR) / sm.spectral_centroid(x, SR))) < 0.5
    assert np.array_equal(sm.vocoder_band_of_bins(600, SR, 1024), np.arange(513))


def test_low_band_error_sees_a_missing_kick_body():
    x = drum(pitch=55.0, decay_s=0.2)
    onset = sm.attack(x, SR)["onset_s"]
    assert sm.low_band_error_db(x, x, SR, onset) == 0.0
    assert abs(sm.low_band_error_db(x, 0.5 * x, SR, onset) + 6.02) < 0.05
    spectrum = np.fft.rfft(x)
    spectrum[np.fft.rfftfreq(len(x), 1 / SR) < 200] = 0
    thin = np.fft.irfft(spectrum, len(x))
    assert sm.low_band_error_db(x, thin, SR, onset) < -15.0
    # a hi-hat with no low end is not scored on what lies 40 dB under it
    hat = clap(gaps_ms=(0.0,))
    assert abs(sm.low_band_error_db(hat, hat + 1e-5 * np.sin(2 * np.pi * 60 * t(len(hat) / SR)), SR, 0.0)) < 0.5


def sounds_for_identity():
    out = [drum(pitch=p, decay_s=d, seed=s) for p, d, s in
           ((60, 0.3, 0), (90, 0.15, 1), (140, 0.1, 2), (220, 0.05, 3), (330, 0.2, 4), (500, 0.04, 5))]
    out += [clap(), clap(gaps_ms=(0.0,), seed=2)]
    return out


def test_identity_is_perfect_for_originals_and_low_for_shuffled_renders():
    sounds = sounds_for_identity()
    emb = np.stack([sm.identity_embedding(x, SR) for x in sounds])
    assert emb.shape == (len(sounds), 160)
    ranks = sm.identity_ranks(sm.pairwise_distances(emb, emb))
    assert sm.top_k(ranks, 1) == 1.0
    # level does not change identity
    quieter = np.stack([sm.identity_embedding(0.1 * x, SR) for x in sounds])
    assert sm.top_k(sm.identity_ranks(sm.pairwise_distances(quieter, emb)), 1) == 1.0
    shuffled = np.roll(emb, 1, axis=0)
    assert sm.top_k(sm.identity_ranks(sm.pairwise_distances(shuffled, emb)), 1) <= 0.25


def test_gain_copies_count_as_one_sound_in_the_grouped_figure():
    sounds = sounds_for_identity()
    copies = sounds + [0.3 * sounds[2]]
    groups = sm.gain_copy_groups(copies, SR)
    assert groups[2] == groups[-1] and len(set(groups.tolist())) == len(sounds)
    emb = np.stack([sm.identity_embedding(x, SR) for x in copies])
    # renders of the quiet copy that land on the loud copy: wrong strictly, right as one sound
    renders = emb.copy()
    renders[-1] = emb[2]
    d = sm.pairwise_distances(renders, emb)
    d[-1, 2] = 0.0
    d[-1, -1] = 0.5
    assert sm.identity_ranks(d)[-1] == 2
    assert sm.identity_ranks(d, groups)[-1] == 1
    # two different hits of one drum are not gain copies
    assert len(set(sm.gain_copy_groups([drum(seed=0), drum(seed=1)], SR).tolist())) == 2


def test_spectral_centroid_and_spearman():
    tone = np.sin(2 * np.pi * 1000 * t(0.2))
    assert sm.spectral_centroid(tone, SR) == pytest.approx(1000, rel=0.01)
    assert np.isnan(sm.spectral_centroid(np.zeros(100), SR))
    assert sm.spearman([1, 2, 3, 4], [10, 20, 25, 100]) == pytest.approx(1.0)
    assert sm.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert np.isnan(sm.spearman([1, 2, 3], [5, 5, 5]))
