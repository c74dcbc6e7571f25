"""``neurorack resynth`` end to end on a tiny exported model and small generated one-shots."""

import numpy as np
import pytest
import soundfile

from neurorack.cli import main
from neurorack.ml.dataset import prepare
from neurorack.runtime.resynth import Resynthesizer, resynthesise
from tests.runtime.tiny_model import export_tiny

HOP = 256


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    folder, _ = export_tiny(tmp_path_factory.mktemp("tiny"))
    return folder


def hit(rate: int, seconds: float, frequency_hz: float, noise: float = 0.0, lead_s: float = 0.05,
        tail_s: float = 0.1) -> np.ndarray:
    """Silence, a tone (plus ``noise``) that decays by 20 dB over ``seconds`` and stops, silence."""
    t = np.arange(int(rate * seconds)) / rate
    rattle = noise * np.random.default_rng(0).uniform(-1, 1, len(t))
    body = (0.5 * np.sin(2 * np.pi * frequency_hz * t) + rattle) * 10 ** (-t / seconds)
    return np.concatenate([np.zeros(int(rate * lead_s)), body, np.zeros(int(rate * tail_s))])


@pytest.fixture
def inputs(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    stereo = np.stack([hit(44100, 0.3, 220.0), 0.5 * hit(44100, 0.3, 220.0)], axis=1)
    soundfile.write(folder / "stereo44.wav", stereo, 44100)
    soundfile.write(folder / "mono48.wav", hit(48000, 0.2, 440.0), 48000, subtype="PCM_24")
    soundfile.write(folder / "snare.flac", hit(22050, 0.15, 180.0, noise=0.3), 22050)
    (folder / "broken.wav").write_bytes(b"RIFF this is not a wave file at all")
    return folder


def read(path):
    audio, rate = soundfile.read(str(path), always_2d=True)
    return audio, rate, soundfile.info(str(path)).subtype


def test_every_readable_file_is_rendered_and_an_unreadable_one_is_named(model, inputs, tmp_path, capsys):
    out = tmp_path / "out"
    names = ["stereo44.wav", "broken.wav", "mono48.wav", "snare.flac"]
    code = main(["resynth", str(model), *(str(inputs / n) for n in names), "--out", str(out), "--plot"])
    captured = capsys.readouterr()
    assert code == 1
    assert "broken.wav: cannot read it as audio" in captured.err
    assert "[1/4]" in captured.err and "[4/4]" in captured.err
    assert "3 of 4 sounds resynthesised by tiny" in captured.out and "1 failed" in captured.out
    assert sorted(p.name for p in out.iterdir()) == ["mono48.png", "mono48.wav", "snare.png", "snare.wav",
                                                      "stereo44.png", "stereo44.wav"]
    for stem, seconds in (("stereo44", 0.3), ("mono48", 0.2), ("snare", 0.15)):
        audio, rate, subtype = read(out / f"{stem}.wav")
        assert audio.shape[1] == 1 and rate == 48000 and subtype == "FLOAT"
        assert len(audio) % HOP == 0
        # the trimmed sound (silence cut at both ends), in whole frames, plus the 64-sample pre-roll
        assert abs(len(audio) - seconds * 48000) <= HOP + 64
        assert np.sqrt(np.mean(audio ** 2)) > 1e-3
        picture = (out / f"{stem}.png").read_bytes()
        assert picture[:8] == b"\x89PNG\r\n\x1a\n" and len(picture) > 20_000


def test_the_output_is_the_models_own_render_of_the_prepared_input(model, inputs, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["resynth", str(model), str(inputs / "stereo44.wav"), "--out", str(out)]) == 0
    assert not list(out.glob("*.png"))
    written, _, _ = read(out / "stereo44.wav")
    stereo, rate = soundfile.read(str(inputs / "stereo44.wav"))
    expected = resynthesise(Resynthesizer(model), prepare(stereo.mean(axis=1), rate))
    assert np.allclose(written[:, 0], expected, atol=1e-6)


def test_long_sounds_are_cut_at_max_seconds(model, tmp_path, capsys):
    rng = np.random.default_rng(0)
    soundfile.write(tmp_path / "long.wav", 0.3 * rng.uniform(-1, 1, 3 * 48000), 48000)
    out = tmp_path / "out"
    assert main(["resynth", str(model), str(tmp_path / "long.wav"), "--out", str(out), "--max-seconds", "1"]) == 0
    assert "cut at 1 s" in capsys.readouterr().err
    audio, _, _ = read(out / "long.wav")
    assert 48000 <= len(audio) < 48000 + HOP


def test_inputs_with_the_same_stem_are_refused_before_anything_is_written(model, inputs, tmp_path, capsys):
    other = tmp_path / "other"
    other.mkdir()
    soundfile.write(other / "Mono48.flac", hit(48000, 0.1, 300.0), 48000)
    out = tmp_path / "out"
    code = main(["resynth", str(model), str(inputs / "mono48.wav"), str(other / "Mono48.flac"), "--out", str(out)])
    assert code == 2
    error = capsys.readouterr().err
    assert "same name" in error and "mono48.wav" in error and "Mono48.flac" in error
    assert not out.exists()


def test_a_missing_model_a_missing_file_and_a_silent_file_are_clear_errors(model, tmp_path, capsys):
    soundfile.write(tmp_path / "silent.wav", np.zeros(4800), 48000)
    soundfile.write(tmp_path / "ok.wav", hit(48000, 0.1, 300.0), 48000)
    assert main(["resynth", str(tmp_path / "no-model"), str(tmp_path / "ok.wav"), "--out", str(tmp_path / "o")]) == 2
    assert "no such model folder" in capsys.readouterr().err
    out = tmp_path / "out"
    args = [str(tmp_path / "missing.wav"), str(tmp_path / "silent.wav"), str(tmp_path / "ok.wav")]
    assert main(["resynth", str(model), *args, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "missing.wav: no such file" in err and "silent.wav: silent" in err
    assert [p.name for p in out.iterdir()] == ["ok.wav"]


def test_help_explains_the_output_contract(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["resynth", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for words in ("<input stem>.wav", "32-bit float", "--max-seconds", "--plot", "Exit status"):
        assert words in text
