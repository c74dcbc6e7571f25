"""The percussion model's NumPy runtime against its torch twin, and what its synthesis promises:
streaming at any block size, attacks from the onset sample, exact transposition, noise that
follows the centroid, a timbre code that ignores level."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurorack.core.descriptors import extract
from neurorack.core.percussion import PercussionRuntime
from neurorack.core.percussion_config import TINY_PERCUSSION, register
from neurorack.core.timbre import mode_values, timbre_features
from neurorack.runtime.loader import load_model
from neurorack.runtime.numpy_model import streaming_model
from neurorack.runtime.resynth import SoundCode, transpose
from neurorack.runtime.voice import ModelVoice
from tests.core.tiny_percussion import export_percussion, silenced

SR = 48000


def hit_curves(frames: int = 60, pitch: float = 180.0, centroid: float = 2500.0) -> np.ndarray:
    t = np.arange(frames)
    return np.stack([-8.0 - 0.8 * t, centroid * np.exp(-t / 40), np.full(frames, 0.15),
                     pitch * (1 + 0.3 * np.exp(-t / 6)), np.full(frames, 0.8)], axis=1).astype(np.float32)


def one_shot(seconds: float = 0.4, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    return (rng.standard_normal(n) * np.exp(-np.arange(n) / 4000)).astype(np.float32)


@pytest.fixture
def exported(tmp_path):
    return export_percussion(tmp_path)


def test_numpy_frames_equal_torch_whole_hits(exported):
    folder, model = exported
    runtime = streaming_model(load_model(folder))
    assert isinstance(runtime, PercussionRuntime)
    audio = one_shot()
    z = runtime.encode(audio)
    with torch.no_grad():
        onset_pitch = float(extract(audio[:4096])[0, 3])
        modes = torch.from_numpy(mode_values(audio, onset_pitch, model.config.n_modes))[None]
        expected_z = model.encode(torch.from_numpy(timbre_features(audio))[None], torch.tensor([onset_pitch]),
                                  modes)[0].numpy()
    np.testing.assert_allclose(z, expected_z, atol=1e-6)
    for curves in (hit_curves(), transpose(SoundCode(hit_curves()), 1.5).frames):  # the transient is transposed too
        with torch.no_grad():
            expected = model.render(torch.from_numpy(curves)[None], torch.from_numpy(z)[None], noise_offset=777)
        expected = expected[0].numpy()
        got = runtime.render(curves, runtime.initial_state(z, noise_offset=777))
        assert np.abs(expected).max() > 1e-3
        np.testing.assert_allclose(got, expected, atol=1e-4 * np.abs(expected).max())


@pytest.mark.parametrize("block", [32, 64, 100, 1024])
def test_any_block_size_gives_the_same_samples(exported, block):
    runtime = streaming_model(load_model(exported[0]))
    curves = hit_curves(40)
    reference = runtime.render(curves, z=runtime.encode(one_shot()))
    voice = ModelVoice(runtime, curves, z=runtime.encode(one_shot()))
    voice.trigger(1.0)
    out = np.concatenate([_block(voice, block) for _ in range(-(-len(reference) // block))])[:len(reference)]
    np.testing.assert_allclose(out, reference, atol=1e-6)


def _block(voice, size):
    out = np.zeros(size, np.float32)
    voice.render(out)
    return out


def _from(model, compiled: bool = True) -> PercussionRuntime:
    from neurorack.ml.percussion_model import state_arrays
    from neurorack.runtime.loader import LoadedModel

    return PercussionRuntime(LoadedModel(None, "set", model.config, state_arrays(model), {}), compiled=compiled)


def _tone_model(partial: int, noise: bool = False):
    """Only partial ``partial`` sounds (or, with ``noise``, only the noise), flat attack envelope."""
    model = silenced()
    c = model.config
    with torch.no_grad():
        bias = model.head.bias
        bias[:c.n_partials] = -20.0
        bias[partial] = 20.0
        bias[c.n_partials + c.noise_grid] = -20.0 if noise else 20.0  # the mix: noise or partials
        model.hit_out.bias[c.n_modes + c.n_atoms:] = 0.0  # envelope gains exp(0) = 1
    return model


def _peak_hz(audio: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio)), 1 << 20))
    return float(np.argmax(spectrum) * SR / (1 << 20))


@pytest.mark.parametrize("partial", [0, 2, TINY_PERCUSSION.n_harmonics + 1])
def test_one_volt_transposes_harmonics_and_modes_by_an_exact_octave(partial):
    model = _tone_model(partial)
    runtime = _from(model)
    flat = np.tile(np.array([-10.0, 1500.0, 0.01, 130.0, 0.9], np.float32), (80, 1))
    up = flat.copy()
    up[:, [1, 3]] *= 2.0
    low, high = (_peak_hz(runtime.render(c)[4096:]) for c in (flat, up))
    cents = 1200 * np.log2(high / low) - 1200
    assert abs(cents) < 1.0, (low, high)
    ratio = low / 130.0
    reference = _from(model, compiled=False)  # the NumPy frame, whose state is readable
    expected = reference.initial_state()  # the partial's ratio is set by the hit network at frame 0
    reference.render_frame(flat[0], expected, np.zeros(256, np.float32))
    assert ratio == pytest.approx(float(expected.ratios[partial]), rel=2e-3)


def _centroid(audio: np.ndarray) -> float:
    power = np.abs(np.fft.rfft(audio)) ** 2
    freqs = np.fft.rfftfreq(len(audio), 1 / SR)
    return float((power * freqs).sum() / power.sum())


def test_the_noise_spectrum_follows_the_centroid_by_the_same_ratio():
    model = _tone_model(0, noise=True)
    with torch.no_grad():  # a peaked noise shape: +8 at the centroid, falling away on both sides
        grid = model.config.noise_grid
        model.head.bias[model.config.n_partials:model.config.n_partials + grid] = torch.from_numpy(
            -np.abs(np.linspace(-8, 8, grid))).float()
    runtime = _from(model)
    curves = np.tile(np.array([-10.0, 500.0, 0.3, 100.0, 0.1], np.float32), (100, 1))
    measured = []
    for octaves in (0, 1, 2):
        shifted = curves.copy()
        shifted[:, 1] *= 2.0 ** octaves
        measured.append(_centroid(runtime.render(shifted)[2048:]))
    for step in (1, 2):
        assert measured[step] / measured[0] == pytest.approx(2.0 ** step, rel=0.15)


def test_the_attack_can_rise_within_a_millisecond_of_the_onset_sample():
    model = _tone_model(0, noise=True)
    c = model.config
    with torch.no_grad():  # envelope: loud first point, quiet after it
        model.hit_out.bias[c.n_modes + c.n_atoms:] = -10.0
        model.hit_out.bias[c.n_modes + c.n_atoms] = 10.0
    audio = _from(model).render(np.tile(np.array([-10.0, 3000.0, 0.3, 100.0, 0.1], np.float32), (20, 1)))
    rms = np.sqrt(np.convolve(audio ** 2, np.ones(12) / 12, mode="valid"))  # 0.25 ms RMS
    assert np.argmax(rms) < SR // 1000
    assert rms[:48].max() > 100 * rms[144:384].max()  # 40 dB down 3 to 8 ms later


def test_a_hit_starts_at_its_own_level_not_a_ramp_from_silence():
    runtime = _from(_tone_model(0, noise=True))
    audio = runtime.render(np.tile(np.array([-10.0, 3000.0, 0.3, 100.0, 0.1], np.float32), (8, 1)))
    first, later = np.sqrt(np.mean(audio[:64] ** 2)), np.sqrt(np.mean(audio[1024:1536] ** 2))
    assert first == pytest.approx(later, rel=0.3)


def test_the_timbre_code_ignores_level_but_not_timbre(exported):
    runtime = streaming_model(load_model(exported[0]))
    shot = one_shot()
    assert np.allclose(runtime.encode(shot), runtime.encode(0.1 * shot), atol=1e-5)
    tone = (0.5 * np.sin(2 * np.pi * 200 * np.arange(len(shot)) / SR) * np.exp(-np.arange(len(shot)) / 8000))
    assert np.abs(runtime.encode(shot) - runtime.encode(tone.astype(np.float32))).max() > 1e-3


def test_a_wrong_timbre_code_is_refused(exported):
    runtime = streaming_model(load_model(exported[0]))
    with pytest.raises(ValueError, match="timbre code of 12 values"):
        runtime.initial_state(np.zeros(7))


def test_the_networks_hear_nothing_of_a_transposition_and_the_transient_plays_faster(exported):
    runtime = PercussionRuntime(load_model(exported[0]), compiled=False)  # the NumPy frame, whose state is readable
    curves = hit_curves(80, pitch=150.0, centroid=1200.0)
    z = runtime.encode(one_shot())
    z[TINY_PERCUSSION.timbre_size - 1] = register(curves[0, 3])  # at its own pitch: the transient plays at speed 1
    code = SoundCode(curves, z)
    states = []
    for volts in (0.0, 1.0):
        state = runtime.initial_state(code.z)
        runtime.render(transpose(code, volts).frames, state)
        states.append(state)
    np.testing.assert_allclose(states[1].hidden, states[0].hidden, atol=1e-6)
    np.testing.assert_allclose(states[1].ratios, states[0].ratios, atol=1e-6)
    assert len(states[1].transient) < 0.55 * len(states[0].transient)  # played twice as fast
    # (what then moves by the interval: test_one_volt_transposes_..., test_the_noise_spectrum_follows_...)


def test_sounds_drawn_as_curves_play_the_neutral_code_with_spread_quiet_modes(exported):
    runtime = streaming_model(load_model(exported[0]))
    neutral = runtime.neutral_code()
    c = TINY_PERCUSSION
    assert neutral.shape == (runtime.timbre_size,)
    ratios = 2.0 ** (neutral[c.timbre_size:c.timbre_size + c.n_modes] * 4.0)
    np.testing.assert_allclose(ratios, np.geomspace(0.5, 16.0, c.n_modes), rtol=1e-5)  # not a unison
    assert np.all(neutral[-c.n_modes:] < 0) and np.all(neutral[:c.timbre_size] == 0)
    np.testing.assert_array_equal(runtime.initial_state().z, neutral)


def test_the_wavenet_frame_network_streams_as_torch_and_hears_nothing_of_a_transposition(tmp_path):
    from neurorack.core.percussion_config import TINY_WAVENET

    folder, model = export_percussion(tmp_path, config=TINY_WAVENET)
    runtime = streaming_model(load_model(folder))
    curves = hit_curves(40, pitch=150.0, centroid=1200.0)
    z = runtime.encode(one_shot())
    with torch.no_grad():
        expected = model.render(torch.from_numpy(curves)[None], torch.from_numpy(z)[None], noise_offset=9)[0].numpy()
    np.testing.assert_allclose(runtime.render(curves, runtime.initial_state(z, noise_offset=9)), expected,
                               atol=1e-4 * np.abs(expected).max())
    states = []
    for volts in (0.0, 1.0):
        state = runtime.initial_state(z)
        runtime.render(transpose(SoundCode(curves, z), volts).frames, state)
        states.append(state)
    assert states[0].hidden.shape == (TINY_WAVENET.wavenet_skip,) and np.abs(states[0].hidden).max() > 0
    np.testing.assert_allclose(states[1].hidden, states[0].hidden, atol=1e-6)
    np.testing.assert_allclose(states[1].history, states[0].history, atol=1e-6)
