"""The toolbox commands end to end on a tiny model and a tiny kit: export, eval, bench model."""

import json

import numpy as np
import soundfile

from neurorack.cli import main
from tests.ml.test_export import make_run


def write_kit(folder):
    folder.mkdir(parents=True)
    t = np.arange(9600) / 48000
    for i, f in enumerate([80, 120, 200, 300, 450, 700, 1000, 1500, 2200, 3000, 4000, 5000]):
        soundfile.write(folder / f"hit{i}.wav", 0.5 * np.sin(2 * np.pi * f * t) * np.exp(-t / 0.05), 48000)
    return folder


def test_export_eval_and_bench_print_their_figures(tmp_path, capsys):
    run = make_run(tmp_path / "run")
    assert main(["export", str(run), "--out", str(tmp_path / "model")]) == 0
    kit = write_kit(tmp_path / "Kit")
    cache = tmp_path / "cache.npz"
    args = ["eval", str(tmp_path / "model"), str(kit), "--cache", str(cache), "--split", "train", "--limit", "3",
            "--control-sounds", "1", "--write", "--json"]
    capsys.readouterr()
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    split = result["splits"]["train"]
    assert list(result["splits"]) == ["train"] and split["sounds"] == 3
    for system in ("model", "noise_baseline", "vocoder", "original"):
        assert split["reconstruction"][system]["log_mel_db"] >= 0
    assert split["reconstruction"]["original"]["log_mel_db"] == 0
    assert split["reconstruction"]["vocoder"]["log_mel_ratio_to_vocoder"] == 1
    assert split["checks"]["time_to_peak_error_ms_median"]["original"] is True
    card = (tmp_path / "model" / "model.yaml").read_text()
    assert "targets_met:" in card and (tmp_path / "model" / "evaluation.json").is_file()
    assert main(["eval", str(tmp_path / "model"), "--cache", str(cache), "--split", "train", "--limit", "2",
                 "--control-sounds", "1"]) == 0
    assert "| log-mel distance / 32-band vocoder's | <= 0.6 |" in capsys.readouterr().out
    assert cache.is_file()
    from neurorack.ml.export import read_card
    from tests.core.tiny_percussion import export_percussion

    percussion = export_percussion(tmp_path / "percussion")[0]
    assert main(["eval", str(percussion), "--before", str(tmp_path / "model"), "--cache", str(cache), "--split",
                 "train", "--limit", "2", "--control-sounds", "1", "--write"]) == 0
    table = capsys.readouterr().out
    assert "| figure | target | model | tiny-percussion | noise baseline | 32-band vocoder | original |" in table
    row = next(line for line in table.splitlines() if line.startswith("| log-mel distance / 32-band"))
    assert len([cell for cell in row.split("|")[3:-1] if cell.strip()]) == 5  # both models and 3 references
    before = read_card(percussion)["metrics"]["before"]
    assert before["model"] == "model" and before["train"]["sounds"] == 2

    assert main(["bench", "model", str(tmp_path / "model"), "--seconds", "0.2", "--paths", "numpy,eager",
                 "--write", "--json"]) == 0
    bench = json.loads(capsys.readouterr().out)
    for key in ("params", "bytes", "macs_per_second_of_audio", "rtf_1thread", "block_ms"):
        assert key in bench
    assert set(bench["block_ms"]) == {"p50", "p99", "max"}
    assert bench["audio_callback"] == {"runs": "native", "why": None}
    assert bench["paths"]["numpy"]["rtf_1thread"] > 0 and bench["paths"]["eager"]["rtf_1thread"] > 0
    from neurorack.ml.export import read_card
    from neurorack.runtime.loader import load_model

    speed = read_card(tmp_path / "model")["speed"]
    assert speed["rtf_1thread"] == bench["rtf_1thread"] and speed["path"] in ("numpy", "eager")
    load_model(tmp_path / "model")  # the card edits leave the checksummed files intact


def test_train_builds_the_cache_trains_and_exports_from_the_command_line(tmp_path, capsys):
    kit = write_kit(tmp_path / "Kit")
    run = tmp_path / "run"
    args = ["train", str(kit), "--out", str(run), "--cache", str(tmp_path / "c.npz"), "--tiny", "--steps", "2",
            "--batch", "2", "--crop-frames", "16", "--checkpoint-every", "1", "--rewind-step", "1", "--threads", "1"]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["steps"] == 2 and result["device"] == "cpu"
    data = json.loads((run / "data.json").read_text())
    assert data["command"].startswith("neurorack ") and data["folders"] == ["Kit"]
    assert sum(len(files) for files in data["splits"].values()) == 12
    assert main(["export", str(run), "--out", str(tmp_path / "model")]) == 0
    assert (tmp_path / "model" / "rewind.safetensors").is_file()


def test_train_takes_the_wavenet_style_frame_network(tmp_path, capsys):
    from neurorack.runtime.loader import load_config

    kit = write_kit(tmp_path / "Kit")
    args = ["train", str(kit), "--out", str(tmp_path / "run"), "--cache", str(tmp_path / "c.npz"), "--tiny",
            "--frame-network", "wavenet", "--steps", "1", "--batch", "2", "--crop-frames", "20", "--threads", "1"]
    assert main(args) == 0
    capsys.readouterr()
    config = load_config(tmp_path / "run" / "config.yaml")
    assert config.frame_network == "wavenet" and len(config.wavenet_gates) == 3
    assert main(["train", str(kit), "--out", str(tmp_path / "d"), "--family", "descriptor", "--frame-network",
                 "wavenet"]) == 2
    assert "--frame-network applies to --family percussion only" in capsys.readouterr().err


def test_bad_input_is_one_clear_error(tmp_path, capsys):
    assert main(["eval", str(tmp_path / "missing"), "--cache", str(tmp_path / "none.npz")]) == 2
    assert "no such cache" in capsys.readouterr().err
    assert main(["bench", "model", str(tmp_path / "missing"), "--json"]) == 2
    assert "no such model folder" in capsys.readouterr().err
    assert main(["train", "--out", str(tmp_path / "run"), "--steps", "0"]) == 2
    assert "--steps: expected a whole number of at least 1" in capsys.readouterr().err


def test_eval_of_a_silent_model_exits_non_zero_naming_the_nan_figures(tmp_path, capsys, monkeypatch):
    from neurorack.runtime.resynth import Resynthesizer

    run = make_run(tmp_path / "run")
    assert main(["export", str(run), "--out", str(tmp_path / "model")]) == 0
    kit = write_kit(tmp_path / "Kit")
    monkeypatch.setattr(Resynthesizer, "render", lambda self, code: np.zeros(len(code.frames) * 256, np.float32))
    capsys.readouterr()
    assert main(["eval", str(tmp_path / "model"), str(kit), "--cache", str(tmp_path / "c.npz"), "--split", "train",
                 "--limit", "2", "--control-sounds", "1", "--write"]) == 2
    captured = capsys.readouterr()
    assert "| log-mel distance / 32-band vocoder's |" in captured.out  # the table is still printed
    error = captured.err.strip().splitlines()[-1]  # after the progress bar
    assert "Traceback" not in captured.err
    assert error.startswith(f"neurorack: error: figures are NaN for the model where the noise baseline measures "
                            f"them ({tmp_path / 'model'}: train: time_to_peak_error_ms_median, ")
    assert error.endswith("is the model silent, or does it render NaN? Nothing was written.")
    assert not (tmp_path / "model" / "evaluation.json").exists()
