"""Timbre codes through the instrument: each hit's model state gets its sound's ``z`` (blended
by the morph CV at the trigger), a ``z`` made for another model plays as zeros with one
warning, and the pitch CV transposes (pitch and centroid by the same ratio)."""

import logging
from dataclasses import dataclass

import numpy as np
import pytest

from neurorack.audio.backends.offline import render_offline
from neurorack.audio.engine import Engine
from neurorack.config.sound_bank import Curves
from neurorack.config.state import CvRoute, Routing
from neurorack.core.events import GateEdge
from neurorack.instrument.instrument import build_voice
from neurorack.instrument.poly import PlayableSound, PolyVoice, timbre_for_model
from neurorack.instrument.routing import CvRouter, Modulation
from neurorack.instrument.sound_bank import load_bank
from neurorack.instrument.trajectory import CENTROID, PITCH, from_curves

HOP = 256


@dataclass
class FakeState:
    z: np.ndarray | None


class FakeTimbreModel:
    """The streaming runtime's interface, with a timbre code: it records every ``z`` a hit
    starts with and every descriptor frame it is asked for, and renders a DC level of
    ``1 + sum(z * weights)``, so the output depends on the ``z`` the state holds."""

    def __init__(self, timbre_size=4, name="perc"):
        self.hop = HOP
        self.sample_rate = 48000
        self.name = name
        self.timbre_size = timbre_size
        self.weights = np.arange(1, timbre_size + 1, dtype=np.float64)
        self.started: list = []
        self.frames: list[np.ndarray] = []

    def initial_state(self, z=None):
        self.started.append(None if z is None else np.array(z, dtype=np.float64))
        return FakeState(None if z is None else np.array(z, dtype=np.float64))

    def render_frame(self, descriptors, state, out):
        self.frames.append(np.array(descriptors, dtype=np.float64))
        level = 1.0 + (float(state.z @ self.weights) if state.z is not None else 0.0)
        out[:] = 0.01 * level


def sound(name="hit", z=None, z_model="perc", pitch=220.0, centroid=1000.0, morph_to=None, seconds=0.5):
    curves = Curves(duration_s=seconds, loudness_db=[[0, -10]], pitch_hz=[[0, pitch]], centroid_hz=[[0, centroid]])
    return PlayableSound(name, from_curves(curves), morph_to=morph_to,
                         z=None if z is None else np.array(z, dtype=np.float32), z_model=z_model)


def first_block(voice, index=0):
    voice.play(index)
    out = np.zeros(HOP)
    voice.render(out)
    return out


def test_each_hit_starts_its_model_state_with_its_sounds_timbre_code():
    model = FakeTimbreModel()
    kick, snare = [0.5, -1.0, 0.25, 2.0], [-0.5, 0.0, 1.0, 0.125]
    voice = PolyVoice(model, [sound("kick", kick), sound("snare", snare)])
    model.started.clear()
    out_kick = first_block(voice, 0)
    out_snare = first_block(voice, 1)  # both ring now: the block sums them
    np.testing.assert_allclose(model.started[0], kick)
    np.testing.assert_allclose(model.started[1], snare)
    assert len(model.started) == 2
    w = model.weights
    assert out_kick[0] == pytest.approx(0.01 * (1 + np.dot(kick, w)))
    assert out_snare[0] == pytest.approx(0.01 * (1 + np.dot(kick, w)) + 0.01 * (1 + np.dot(snare, w)))


def test_a_hit_keeps_its_timbre_when_the_morph_cv_moves_but_the_next_hit_takes_the_blend():
    model = FakeTimbreModel()
    a, b = np.array([1.0, 0.0, -2.0, 4.0]), np.array([3.0, 1.0, 2.0, 0.0])
    morph = {"amount": 0.25}
    voice = PolyVoice(model, [sound("a", a, morph_to=1), sound("b", b)],
                      modulation=lambda: Modulation(morph=morph["amount"]))
    out = np.zeros(HOP)
    voice.render(out)  # the voice reads the CVs once per block; a hit takes the morph of the last one
    model.started.clear()
    voice.play(0)
    voice.render(out)
    np.testing.assert_allclose(model.started[-1], a + 0.25 * (b - a))
    first = out[0]
    morph["amount"] = 1.0
    voice.render(out)
    voice.render(out)
    assert out[0] == pytest.approx(first)  # the ringing hit's z did not move
    voice.play(0)
    voice.render(out)
    np.testing.assert_allclose(model.started[-1], b)
    morph["amount"] = 0.0
    voice.render(out)
    voice.play(0)
    voice.render(out)
    np.testing.assert_allclose(model.started[-1], a)
    voice.play(1)  # a sound without a partner keeps its own z whatever the morph
    np.testing.assert_allclose(model.started[-1], b)


def test_a_z_from_another_model_or_of_another_size_plays_zeros_with_one_warning_each(caplog):
    model = FakeTimbreModel(timbre_size=4, name="perc")
    sounds = [sound("good", [1.0, 2.0, 3.0, 4.0]), sound("foreign", [1.0, 2.0, 3.0, 4.0], z_model="other-perc"),
              sound("short", [1.0, 2.0], z_model="perc"), sound("authored", None)]
    with caplog.at_level(logging.INFO, logger="neurorack.instrument.poly"):
        voice = PolyVoice(model, sounds)
        for index in range(4):
            for _ in range(3):  # hits log nothing more
                first_block(voice, index)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2, warnings
    assert "'foreign'" in warnings[0] and "other-perc" in warnings[0] and "'perc'" in warnings[0]
    assert "'short'" in warnings[1] and "2 values" in warnings[1] and "takes 4" in warnings[1]
    started = model.started[-12:]
    for hit in started[:3]:
        np.testing.assert_allclose(hit, [1.0, 2.0, 3.0, 4.0])
    for hit in started[3:]:
        np.testing.assert_array_equal(hit, np.zeros(4))
        assert hit.shape == (4,)


def test_a_model_without_an_encoder_plays_a_bank_with_z_and_gets_none(tiny_model, caplog):
    assert tiny_model.timbre_size == 0
    with caplog.at_level(logging.WARNING, logger="neurorack.instrument.poly"):
        voice = PolyVoice(tiny_model, [sound("kick", [0.5, 1.0], z_model="perc"), sound("drone")])
    assert len(caplog.records) == 1 and "'kick'" in caplog.records[0].getMessage()
    out = np.zeros(4800)
    voice.play(0)
    voice.render(out)
    assert np.sqrt(np.mean(out ** 2)) > 1e-3  # audio keeps playing
    tiny_model.initial_state(None)
    with pytest.raises(ValueError, match="takes no timbre code"):
        tiny_model.initial_state(np.zeros(2))


def test_timbre_for_model_accepts_an_unnamed_z_of_the_right_size_only():
    model = FakeTimbreModel(timbre_size=3)
    np.testing.assert_array_equal(timbre_for_model(sound(z=[1, 2, 3], z_model=None), model), [1, 2, 3])
    np.testing.assert_array_equal(timbre_for_model(sound(z=[1, 2], z_model=None), model), [0, 0, 0])
    np.testing.assert_array_equal(timbre_for_model(sound(z=[1, np.nan, 3]), model), [0, 0, 0])
    assert timbre_for_model(sound(z=[1, 2, 3]), FakeTimbreModel(timbre_size=0)) is None


def write_bank(tmp_path, body):
    path = tmp_path / "bank.yaml"
    path.write_text(body)
    return path


def test_the_bank_carries_z_and_its_model_into_the_voice(tmp_path, caplog):
    path = write_bank(tmp_path, """\
model: perc
sounds:
  - name: Kick
    curves: {pitch_hz: [[0, 55]], loudness_db: [[0, -10], [0.2, -40]]}
    z: [0.5, -1, 0.25, 2]
  - name: Snare
    curves: {pitch_hz: [[0, 200]], loudness_db: [[0, -10], [0.2, -40]]}
    z: [1, 1, 1, 1]
    z_model: older-perc
""")
    bank = load_bank(path)
    assert bank.sounds[0].z_model == "perc" and bank.sounds[1].z_model == "older-perc"
    model = FakeTimbreModel(name="perc")
    with caplog.at_level(logging.WARNING, logger="neurorack.instrument.poly"):
        voice = build_voice(model, bank, CvRouter(lambda: (0.0, 0.0, 0.0, 0.0)))
    assert [r.getMessage().split("'")[1] for r in caplog.records] == ["Snare"]
    model.started.clear()
    first_block(voice, 0)
    first_block(voice, 1)
    np.testing.assert_allclose(model.started[0], [0.5, -1, 0.25, 2])
    np.testing.assert_array_equal(model.started[1], np.zeros(4))


def test_a_model_switch_carries_ringing_hits_on_with_the_new_models_timbre(caplog):
    old, new = FakeTimbreModel(name="perc"), FakeTimbreModel(name="perc")
    sounds = [sound("kick", [1.0, 0.0, 0.0, 2.0])]
    voice = PolyVoice(old, sounds)
    first_block(voice, 0)
    successor = PolyVoice(new, sounds, continue_from=voice)
    new.started.clear()
    successor.render(np.zeros(HOP))
    assert successor.active_voices == 1
    np.testing.assert_allclose(new.started[0], [1.0, 0.0, 0.0, 2.0])


def descriptors_asked(modulation):
    model = FakeTimbreModel()
    voice = PolyVoice(model, [sound(pitch=220.0, centroid=1000.0, z=[0, 0, 0, 0])], modulation=lambda: modulation)
    first_block(voice, 0)
    return model.frames[-1]


@pytest.mark.parametrize("ratio", [0.25, 2.0, 2.0 ** (7 / 12)])
def test_the_pitch_cv_moves_pitch_and_centroid_by_the_same_ratio(ratio):
    base = descriptors_asked(Modulation())
    moved = descriptors_asked(Modulation(pitch_ratio=ratio))
    assert moved[PITCH] / base[PITCH] == pytest.approx(ratio, rel=1e-5)
    assert moved[CENTROID] / base[CENTROID] == pytest.approx(ratio, rel=1e-5)


def test_the_centroid_cv_moves_the_centroid_alone_and_multiplies_with_the_pitch_cv():
    base = descriptors_asked(Modulation())
    bright = descriptors_asked(Modulation(centroid_ratio=2.0))
    assert bright[CENTROID] / base[CENTROID] == pytest.approx(2.0, rel=1e-5)
    assert bright[PITCH] == pytest.approx(base[PITCH])
    both = descriptors_asked(Modulation(centroid_ratio=2.0, pitch_ratio=0.5))
    assert both[CENTROID] == pytest.approx(base[CENTROID], rel=1e-5)
    assert both[PITCH] / base[PITCH] == pytest.approx(0.5, rel=1e-5)


@pytest.fixture(scope="module")
def locked_model(tmp_path_factory):
    """A tiny model whose output centroid follows the centroid descriptor (spectral lock)."""
    import dataclasses

    from neurorack.core.architecture import TINY_CONFIG
    from neurorack.runtime.loader import load_model
    from neurorack.runtime.numpy_model import NumpyModel
    from tests.instrument.model_fixture import make_model

    config = dataclasses.replace(TINY_CONFIG, spectral_lock=True, n_harmonics=32, n_noise_bands=16)
    return NumpyModel(load_model(make_model(tmp_path_factory.mktemp("locked") / "locked", "locked", config=config)))


@pytest.mark.parametrize("flatness", [0.001, 0.05])
def test_each_volt_on_a_pitch_routed_cv_transposes_the_output_spectrum_an_octave(locked_model, flatness):
    """Through the real router and a model that heeds the centroid: the output's measured
    spectral centroid doubles per volt (with the pitch alone moving it would barely move)."""
    from tests.instrument.test_poly import spectrum_centroid

    def centroid_at(volts):
        router = CvRouter(lambda: (volts, 0.0, 0.0, 0.0), Routing(cv1=CvRoute("pitch")))
        curves = Curves(duration_s=0.6, loudness_db=[[0, -10]], pitch_hz=[[0, 110.0]], centroid_hz=[[0, 600.0]],
                        flatness=[[0, flatness]])
        voice = PolyVoice(locked_model, [PlayableSound("s", from_curves(curves))], modulation=router)
        out = render_offline(Engine(voice), 0.5, [GateEdge(0.01)])
        return spectrum_centroid(out[4800:21600])

    centroids = [centroid_at(v) for v in (0.0, 1.0, 2.0)]
    assert centroids[1] / centroids[0] == pytest.approx(2.0, rel=0.1), centroids
    assert centroids[2] / centroids[1] == pytest.approx(2.0, rel=0.1), centroids
