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
            "--write", "--json"]
    capsys.readouterr()
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["sounds"] == 3
    assert result["spectral_distance"]["model"] > 0 and result["spectral_distance"]["baseline"] > 0
    assert set(result["control"]) == {"loudness_db", "centroid_hz", "flatness", "pitch_hz", "pitch_confidence",
                                      "pitch_hz_all_sounds"}
    for row in result["control"].values():
        assert -1.0 <= row["model"]["pearson_r"] <= 1.0
    # the noise baseline follows loudness by construction (narrow low bands fluctuate, so not perfectly)
    assert result["control"]["loudness_db"]["baseline"]["pearson_r"] > 0.7
    card = (tmp_path / "model" / "model.yaml").read_text()
    assert "spectral_distance:" in card and (tmp_path / "model" / "evaluation.json").is_file()
    assert cache.is_file()

    assert main(["bench", "model", str(tmp_path / "model"), "--seconds", "0.2", "--paths", "numpy,eager",
                 "--write", "--json"]) == 0
    bench = json.loads(capsys.readouterr().out)
    for key in ("params", "bytes", "macs_per_second_of_audio", "rtf_1thread", "block_ms"):
        assert key in bench
    assert set(bench["block_ms"]) == {"p50", "p99", "max"}
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


def test_bad_input_is_one_clear_error(tmp_path, capsys):
    assert main(["eval", str(tmp_path / "missing"), "--cache", str(tmp_path / "none.npz")]) == 2
    assert "no such cache" in capsys.readouterr().err
    assert main(["bench", "model", str(tmp_path / "missing"), "--json"]) == 2
    assert "no such model folder" in capsys.readouterr().err
    assert main(["train", "--out", str(tmp_path / "run"), "--steps", "0"]) == 2
    assert "--steps: expected a whole number of at least 1" in capsys.readouterr().err
