"""``neurorack sound extract``: the template and, for a model with a timbre encoder, the
timbre code ``z`` of the same 48 kHz audio, written into the bank with the model's name."""

from __future__ import annotations

import argparse
import json
import wave
from dataclasses import replace

import numpy as np
import pytest
import yaml

from neurorack.app.module import DEFAULT_MODEL
from neurorack.cli import sound
from neurorack.config.module import ModuleConfig
from neurorack.core.descriptors import HOP
from neurorack.errors import NeurorackError
from neurorack.instrument.bank_file import add_sound
from neurorack.instrument.poly import PolyVoice
from neurorack.instrument.sound_bank import load_bank
from neurorack.instrument.trajectory import TemplateError, read_one_shot, template_of
from tests.instrument.model_fixture import make_model
from tests.instrument.test_timbre import FakeTimbreModel


class FakeEncoderModel(FakeTimbreModel):
    """The runtime interface with an encoder that records what it heard and returns a code
    computed from it (so a code from other audio would differ)."""

    def __init__(self, timbre_size=3, name="perc", size_out=None):
        super().__init__(timbre_size, name)
        self.heard: list[np.ndarray] = []
        self.size_out = size_out if size_out is not None else timbre_size

    def encode(self, audio):
        audio = np.asarray(audio)
        self.heard.append(audio.copy())
        stats = [np.sqrt(np.mean(audio ** 2)), len(audio) / 48000.0, np.abs(audio).max()]
        return np.array((stats * self.size_out)[:self.size_out], dtype=np.float32)


def write_wav(path, seconds=0.4, rate=44100, frequency=180.0, lead_s=0.0):
    t = np.arange(int(seconds * rate)) / rate
    tone = 0.8 * np.sin(2 * np.pi * frequency * t) * np.exp(-t / 0.08)
    audio = np.concatenate([np.zeros(int(lead_s * rate)), tone])
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes((audio * 32767).astype("<i2").tobytes())
    return path


def test_a_model_with_an_encoder_writes_z_of_the_templates_audio_and_the_voice_plays_it(tmp_path):
    one_shot = write_wav(tmp_path / "kick.wav", lead_s=0.05)
    bank_path = tmp_path / "bank" / "sounds.yaml"
    model = FakeEncoderModel()
    result = add_sound(bank_path, one_shot, "Kick", model=model)
    assert result["z_model"] == "perc" and result["z_size"] == 3
    trajectory, expected = template_of(read_one_shot(one_shot))
    assert len(model.heard) == 1
    heard = model.heard[0]
    assert len(trajectory) * HOP >= len(heard) > len(trajectory) * HOP - HOP
    np.testing.assert_array_equal(heard, expected)  # 48 kHz, from the template's first frame (the onset)
    full = read_one_shot(one_shot)  # 48 kHz
    onset = int(np.flatnonzero(np.abs(full) >= 1e-3 * np.abs(full).max())[0])  # -60 dB, as training data
    assert onset > 64
    np.testing.assert_array_equal(full[onset - 64:onset - 64 + len(heard)], heard)  # from the onset's sample
    entry = yaml.safe_load(bank_path.read_text())["sounds"][0]
    z = model.encode(heard)
    np.testing.assert_allclose(entry["z"], z, rtol=1e-6)
    assert entry["z_model"] == "perc"
    bank = load_bank(bank_path)
    voice = PolyVoice(model, bank.sounds)
    model.started.clear()
    voice.play(0)
    voice.render(np.zeros(HOP))
    np.testing.assert_allclose(model.started[0], z, rtol=1e-6)


def test_a_model_without_an_encoder_writes_no_z(tmp_path, tiny_model):
    bank_path = tmp_path / "sounds.yaml"
    result = add_sound(bank_path, write_wav(tmp_path / "snare.wav"), "Snare", model=tiny_model)
    assert result["z_model"] is None and result["z_size"] == 0
    entry = yaml.safe_load(bank_path.read_text())["sounds"][0]
    assert "z" not in entry and "z_model" not in entry
    assert load_bank(bank_path).sounds[0].z is None


def test_an_encoder_giving_the_wrong_size_leaves_the_bank_untouched(tmp_path):
    bank_path = tmp_path / "sounds.yaml"
    add_sound(bank_path, write_wav(tmp_path / "a.wav"), "A")
    before = bank_path.read_text()
    with pytest.raises(TemplateError, match="gave 2 values .* expected 3"):
        add_sound(bank_path, write_wav(tmp_path / "b.wav"), "B", model=FakeEncoderModel(timbre_size=3, size_out=2))
    assert bank_path.read_text() == before
    assert not (tmp_path / "templates" / "b.csv").exists()


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    root = tmp_path_factory.mktemp("installed")
    make_model(root / DEFAULT_MODEL, DEFAULT_MODEL)
    make_model(root / "other", "other", seed=1)
    return root


def write_bank(path, model):
    path.write_text(yaml.safe_dump({"model": model, "sounds": [{"name": "x", "curves": {"pitch_hz": [[0, 55]]}}]}))
    return path


def test_the_extract_model_is_the_one_asked_else_the_banks_else_the_modules_default(installed, tmp_path):
    config = replace(ModuleConfig(), models_dir=str(installed))
    pick = sound.extract_model_dir
    assert pick(str(installed / "other"), tmp_path / "new.yaml", config) == installed / "other"
    assert pick("other", tmp_path / "new.yaml", config) == installed / "other"
    assert pick(None, write_bank(tmp_path / "named.yaml", "other"), config) == installed / "other"
    assert pick(None, tmp_path / "new.yaml", config) == installed / DEFAULT_MODEL
    assert pick(None, write_bank(tmp_path / "any.yaml", None), config) == installed / DEFAULT_MODEL
    with pytest.raises(NeurorackError, match="names model 'gone', which is not installed"):
        pick(None, write_bank(tmp_path / "gone.yaml", "gone"), config)
    with pytest.raises(NeurorackError, match="--model nope: no model folder there"):
        pick("nope", tmp_path / "new.yaml", config)
    empty = replace(ModuleConfig(), models_dir=str(tmp_path / "no-models"))
    assert pick(None, tmp_path / "new.yaml", empty) is None


def parse(argv):
    parser = argparse.ArgumentParser()
    sound.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_sound_extract_takes_a_model_and_reports_it(installed, tmp_path, capsys):
    config = replace(ModuleConfig(), models_dir=str(installed))
    one_shot = write_wav(tmp_path / "tom.wav")
    bank_path = tmp_path / "sounds.yaml"
    args = parse(["sound", "extract", str(one_shot), "--name", "Tom", "--bank", str(bank_path),
                  "--model", str(installed / "other")])
    assert args.handler(args, config) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["model"] == "other" and report["z_model"] is None  # the tiny model has no encoder
    args = parse(["sound", "extract", str(one_shot), "--name", "Tom", "--bank", str(bank_path), "--no-model"])
    assert args.handler(args, config) == 0
    assert json.loads(capsys.readouterr().out)["model"] is None
    assert [s.name for s in load_bank(bank_path).sounds] == ["Tom"]


def test_extracting_a_sound_again_keeps_its_place_in_the_menu(tmp_path):
    bank_path = tmp_path / "bank" / "sounds.yaml"
    for name in ("Kick", "Snare", "Hat"):
        add_sound(bank_path, write_wav(tmp_path / f"{name}.wav"), name, model=FakeEncoderModel(name="old"))
    add_sound(bank_path, write_wav(tmp_path / "snare2.wav", frequency=300.0), "Snare", model=FakeEncoderModel(name="new"))
    add_sound(bank_path, write_wav(tmp_path / "clap.wav"), "Clap", model=FakeEncoderModel(name="new"))
    sounds = yaml.safe_load(bank_path.read_text())["sounds"]
    assert [s["name"] for s in sounds] == ["Kick", "Snare", "Hat", "Clap"]
    assert [s["z_model"] for s in sounds] == ["old", "new", "old", "new"]


def test_a_relative_one_shot_path_gives_its_folder_as_the_detail(tmp_path, monkeypatch, capsys):
    (tmp_path / "Kit808").mkdir()
    write_wav(tmp_path / "Kit808" / "kick.wav")
    monkeypatch.chdir(tmp_path / "Kit808")
    args = parse(["sound", "extract", "kick.wav", "--name", "Kick", "--bank", "sounds.yaml", "--no-model"])
    assert args.handler(args, ModuleConfig()) == 0
    assert [s["detail"] for s in yaml.safe_load((tmp_path / "Kit808" / "sounds.yaml").read_text())["sounds"]] == ["Kit808"]
