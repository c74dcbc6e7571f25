"""The spectral lock: the tilt reaches the requested centroid, the balance follows pitch confidence,
the level is the loudness, and the output measured by the extractor follows the requests."""

import dataclasses
import math

import numpy as np
import pytest
import torch

from neurorack.core import spectral_lock
from neurorack.core.descriptors import extract
from neurorack.core.synth_tables import band_edges_hz
from neurorack.ml.model import TINY_CONFIG, DescriptorModel

LOCKED = dataclasses.replace(TINY_CONFIG, spectral_lock=True)
NOISE_LOG_F = spectral_lock.noise_log_frequencies(band_edges_hz(32, 48000))
NOISE_LOG_WIDTH = spectral_lock.noise_log_widths(band_edges_hz(32, 48000))


def centroid_of(p, q, log_f_h, fraction):
    return fraction * float(p @ np.exp(log_f_h)) + (1.0 - fraction) * float(q @ np.exp(NOISE_LOG_F))


def random_frame(rng):
    f0 = math.exp(rng.uniform(math.log(40.0), math.log(4000.0)))
    k = np.arange(1, 49)
    log_f_h = np.log(k * f0)
    logits_h = np.where(k * f0 < 24000.0, rng.normal(0.0, 2.0, 48), spectral_lock.MASKED_LOGIT)
    return logits_h, rng.normal(0.0, 2.0, 32), log_f_h


def test_the_tilt_reaches_every_reachable_centroid():
    rng = np.random.default_rng(3)
    errors = []
    for _ in range(200):
        logits_h, logits_n, log_f_h = random_frame(rng)
        fraction = rng.uniform(0.01, 0.99)
        target = math.exp(rng.uniform(math.log(300.0), math.log(8000.0)))
        ends = [centroid_of(*spectral_lock_shares(logits_h, logits_n, log_f_h, beta), log_f_h, fraction)
                for beta in (-spectral_lock.MAX_TILT, spectral_lock.MAX_TILT)]
        if not ends[0] < target < ends[1]:
            continue  # out of reach of this frame's partials and bands
        p, q = spectral_lock.lock_frame(logits_h, logits_n, log_f_h, NOISE_LOG_F, fraction, target)
        assert p.sum() == pytest.approx(1.0) and q.sum() == pytest.approx(1.0)
        assert np.all(p[logits_h == spectral_lock.MASKED_LOGIT] == 0.0)
        errors.append(abs(math.log(centroid_of(p, q, log_f_h, fraction) / target)))
    assert len(errors) > 100
    assert np.percentile(errors, 95) < 0.01  # within 1 % for 95 % of frames
    assert max(errors) < 0.05


def spectral_lock_shares(logits_h, logits_n, log_f_h, beta):
    """Shares tilted by a given beta (the reference the Newton steps search): the harmonics mix
    the network's tilted shape with the tilt alone over the audible ones."""
    def shares(z):
        e = np.exp(z - z.max())
        return e / e.sum()
    envelope = np.where(logits_h == spectral_lock.MASKED_LOGIT, spectral_lock.MASKED_LOGIT, 0.0)
    mix = spectral_lock.ENVELOPE_SHARE
    p = (1.0 - mix) * shares(logits_h + beta * log_f_h) + mix * shares(envelope + beta * log_f_h)
    return p, shares(logits_n + beta * NOISE_LOG_F)


@pytest.mark.parametrize("envelope_share, reads_f0", [(spectral_lock.ENVELOPE_SHARE, True), (0.0, False)])
def test_a_network_shape_on_one_high_partial_still_reads_as_the_driven_pitch(monkeypatch, envelope_share, reads_f0):
    """A bell-like head puts nearly all the harmonic power on harmonic 12; the envelope keeps
    enough consecutive harmonics that YIN reads the fundamental. Without it, it reads the partial."""
    monkeypatch.setattr(spectral_lock, "ENVELOPE_SHARE", envelope_share)
    f0, k = 110.0, np.arange(1, 49)
    logits_h = np.where(k == 12, 12.0, 0.0)
    p, _ = spectral_lock.lock_frame(logits_h, np.zeros(32), np.log(k * f0), NOISE_LOG_F, 0.99, 12 * f0)
    t = np.arange(48000) / 48000.0
    tone = (np.sqrt(2.0 * p)[:, None] * np.sin(2.0 * np.pi * f0 * k[:, None] * t)).sum(axis=0) * 0.1
    pitch = np.median(extract(tone.astype(np.float32))[10:-10, 3])
    assert (abs(pitch / f0 - 1.0) < 0.02) == reads_f0, pitch


def test_harmonic_fraction_rises_with_confidence_and_stays_inside_zero_and_one():
    values = [spectral_lock.harmonic_fraction(c) for c in np.linspace(0.0, 1.0, 21)]
    assert values == sorted(values)
    assert values[0] == spectral_lock.MIN_FRACTION and values[-1] == 1.0 - spectral_lock.MIN_FRACTION
    assert spectral_lock.harmonic_fraction(spectral_lock.FLOOR) == spectral_lock.MIN_FRACTION
    # a flatter request keeps less of the harmonic share, none at the release point
    flatter = [spectral_lock.harmonic_fraction(0.9, s) for s in (0.0, 0.1, 0.25, spectral_lock.FLATNESS_RELEASE)]
    assert flatter == sorted(flatter, reverse=True) and flatter[-1] == spectral_lock.MIN_FRACTION


def test_torch_and_numpy_locks_give_the_same_shares():
    torch.manual_seed(0)
    model = DescriptorModel(dataclasses.replace(LOCKED, n_harmonics=48, n_noise_bands=32)).eval()
    descriptors = torch.tensor([[[-20.0, 1500.0, 0.1, 180.0, 0.8], [-30.0, 6000.0, 0.3, 900.0, 0.5]]])
    head = torch.randn(1, 2, 48 + 32 + 2) * 2.0
    with torch.no_grad():
        harmonic, noise, _ = model.controls(head, descriptors)
        level = torch.pow(10.0, descriptors[..., 0] / 20.0) * torch.exp(1.5 * torch.tanh(head[..., -1]))
    for t in range(2):
        d = descriptors[0, t].numpy()
        fraction = spectral_lock.harmonic_fraction(float(d[4]), float(d[2]))
        k = np.arange(1, 49)
        logits_h = np.where(k * d[3] < 24000.0, 2.0 * head[0, t, :48].numpy(), spectral_lock.MASKED_LOGIT)
        logits_n = spectral_lock.noise_logits(head[0, t, 48:80].numpy(), NOISE_LOG_WIDTH, float(d[2]))
        p, q = spectral_lock.lock_frame(logits_h, logits_n, np.log(k * float(d[3])),
                                        NOISE_LOG_F, fraction, float(d[1]), spectral_lock.release(float(d[2])))
        scale = float(level[0, t])
        assert np.allclose(harmonic[0, t].numpy(), np.sqrt(2.0 * fraction * p) * scale, rtol=1e-4, atol=1e-7)
        assert np.allclose(noise[0, t].numpy(), np.sqrt((1.0 - fraction) * q) * scale, rtol=1e-4, atol=1e-7)
        # the frame's mean square is the level squared: harmonics a^2 / 2, noise bands (RMS 1) b^2
        power = float((harmonic[0, t] ** 2).sum() / 2.0 + (noise[0, t] ** 2).sum())
        assert power == pytest.approx(scale ** 2, rel=1e-4)


@pytest.mark.parametrize("column, low, high, at_least",
                         [(1, 400.0, 6000.0, 0.95), (2, 0.001, 0.5, 0.8), (4, 0.45, 1.0, 0.9)],
                         ids=["centroid", "flatness", "pitch_confidence"])
def test_even_an_untrained_locked_model_follows_the_request(column, low, high, at_least):
    """The untrained model ignores its inputs; the measured descriptor follows the request all the same.
    The unlocked one does not: the check can fail."""
    frames = 160
    descriptors = np.tile(np.array([-18.0, 1500.0, 0.01, 150.0, 0.8], np.float32), (frames, 1))
    log_scale = column in (1, 2)  # centroid and flatness are compared on log scales, as eval does
    descriptors[:, column] = np.geomspace(low, high, frames) if log_scale else np.linspace(low, high, frames)
    r = {}
    for config in (TINY_CONFIG, LOCKED):
        torch.manual_seed(2)
        model = DescriptorModel(config).eval()
        with torch.no_grad():
            audio = model(torch.from_numpy(descriptors)[None])[0][0].numpy()
        measured = extract(audio)[8:-4, column]
        wanted = descriptors[8:-4, column]
        if log_scale:
            measured, wanted = np.log(measured), np.log(wanted)
        r[config.spectral_lock] = float(np.corrcoef(wanted, measured)[0, 1])
    assert r[True] > at_least
    assert r[False] < 0.9
