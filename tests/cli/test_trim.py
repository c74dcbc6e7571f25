import json

import pytest
import torch
from safetensors.torch import load_file

from neurorack.cli import main
from neurorack.core.architecture import TINY_CONFIG, config_yaml, load_config
from neurorack.ml.dataset import save_cache
from neurorack.ml.model import DescriptorModel
from neurorack.ml.train import save_weights
from neurorack.runtime.loader import load_model
from tests.ml.trim.test_model_adapter import _one_shots


def _parent_run(folder):
    folder.mkdir()
    torch.manual_seed(0)
    model = DescriptorModel(TINY_CONFIG)
    (folder / "config.yaml").write_text(config_yaml(TINY_CONFIG))
    save_weights(model, folder / "rewind.safetensors")
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    save_weights(model, folder / "weights.safetensors")
    save_cache(_one_shots(), folder / "dataset.npz")
    (folder / "data.json").write_text(json.dumps({"splits": {"train": ["Kit/0.wav"]}, "licences": {"Kit": "GPL"}}))
    return folder


def test_trim_then_report_from_the_command_line(tmp_path, capsys):
    parent = _parent_run(tmp_path / "dense")
    for criterion, rounds in (("magnitude", 1), ("mi", 2)):
        code = main(["trim", str(parent), "--criterion", criterion, "--rounds", str(rounds), "--retrain-steps", "2",
                     "--device", "cpu", "--max-samples", "200", "--batch", "4", "--crop-frames", "16",
                     "--test-crops", "4", "--bench-seconds", "0.05", "--bench-paths", "numpy,eager", "--out", str(tmp_path / criterion), "--json"])
        assert code == 0
        records = json.loads(capsys.readouterr().out)
        assert [r["round"] for r in records] == list(range(rounds + 1))
        assert records[-1]["params"] < records[0]["params"]
        assert (tmp_path / criterion / f"round_{rounds:03d}" / "config.yaml").is_file()
        assert set(records[1]["realtime_factor_paths"]) == {"numpy", "eager"}
        assert records[1]["realtime_factor"] == max(records[1]["realtime_factor_paths"].values())
    # a round folder exports like a training run; the exported model rebuilds to the same output
    assert main(["export", str(tmp_path / "mi" / "round_002"), "--out", str(tmp_path / "model")]) == 0
    loaded = load_model(tmp_path / "model")
    assert loaded.parameters == records[2]["params"]
    assert loaded.card["training"]["licences"] == {"Kit": "GPL"}
    round_model = DescriptorModel(load_config(tmp_path / "mi" / "round_002" / "config.yaml"))
    round_model.load_state_dict(load_file(str(tmp_path / "mi" / "round_002" / "weights.safetensors")))
    rebuilt = DescriptorModel(loaded.config)
    rebuilt.load_state_dict({k: torch.from_numpy(v) for k, v in loaded.weights.items()})
    x = torch.tensor([[[-20.0, 1500.0, 0.1, 220.0, 0.9]] * 12])
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(x)[0], round_model(x)[0], rtol=0, atol=0)
    code = main(["trim", "report", str(tmp_path / "mi"), str(tmp_path / "magnitude"), "--out", str(tmp_path / "r")])
    assert code == 0
    table = (tmp_path / "r" / "report.md").read_text()
    assert "| mi, global | 2 |" in table and "| magnitude, global | 1 |" in table
    assert "| magnitude, global | 2 |" not in table
    assert (tmp_path / "r" / "report.png").read_bytes()[:4] == b"\x89PNG"


def test_bad_inputs_give_one_clear_error(tmp_path, capsys):
    parent = _parent_run(tmp_path / "dense")
    (parent / "rewind.safetensors").write_bytes(b"not safetensors")
    assert main(["trim", str(parent), "--out", str(tmp_path / "x")]) == 2
    assert "rewind.safetensors: not a readable safetensors file (the early snapshot" in capsys.readouterr().err
    assert main(["trim", "report", str(tmp_path / "nothing")]) == 2
    assert "records.json: not found" in capsys.readouterr().err
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "records.json").write_text('[{"round": 0,\n oops}]')
    assert main(["trim", "report", str(tmp_path / "broken")]) == 2
    assert "records.json:2: not valid JSON" in capsys.readouterr().err
    assert main(["trim", str(parent)]) == 2
    assert "--out DIR is required" in capsys.readouterr().err
    (parent / "rewind.safetensors").write_bytes((parent / "weights.safetensors").read_bytes())
    assert main(["trim", str(parent), "--distil", "0.5", "--out", str(tmp_path / "d")]) == 2
    assert "a descriptor model; --distil applies to percussion models only" in capsys.readouterr().err


def test_a_percussion_model_trims_with_distillation_and_exports_from_the_command_line(tmp_path, capsys):
    from neurorack.core.percussion_config import TINY_PERCUSSION
    from neurorack.core.percussion_config import config_yaml as percussion_yaml
    from neurorack.ml.percussion_model import PercussionModel

    run = tmp_path / "percussion"
    run.mkdir()
    torch.manual_seed(0)
    model = PercussionModel(TINY_PERCUSSION)
    (run / "config.yaml").write_text(percussion_yaml(TINY_PERCUSSION))
    save_weights(model, run / "rewind.safetensors")
    save_weights(model, run / "weights.safetensors")
    save_cache(_one_shots(seconds=0.5), run / "dataset.npz")
    (run / "data.json").write_text(json.dumps({"options": {"batch": 2, "crop_frames": 20}}))
    code = main(["trim", str(run), "--criterion", "mi", "--scope", "local", "--rounds", "1", "--retrain-steps", "2",
                 "--distil", "0.5", "--no-sound-figures", "--device", "cpu", "--max-samples", "200",
                 "--test-crops", "2", "--bench-seconds", "0.05", "--bench-paths", "numpy", "--out",
                 str(tmp_path / "trim"), "--json"])
    assert code == 0
    records = json.loads(capsys.readouterr().out)
    assert records[1]["params"] < records[0]["params"] and records[1]["distil"] == 0.5
    assert "sound" not in records[1]
    assert main(["export", str(tmp_path / "trim" / "round_001"), "--out", str(tmp_path / "model")]) == 0
    loaded = load_model(tmp_path / "model")
    assert loaded.parameters == records[1]["params"]
    assert loaded.config.gru_width < TINY_PERCUSSION.gru_width
    with pytest.raises(SystemExit):
        main(["trim", str(run), "--distil", "1.5", "--out", str(tmp_path / "x")])
    assert "expected a weight from 0 to 1, got 1.5" in capsys.readouterr().err


def test_the_cli_offers_every_rewind_mode_the_lottery_knows():
    from neurorack.cli import build_parser
    from neurorack.ml.trim.lottery import REWIND_MODES

    trim = build_parser()._subparsers._group_actions[0].choices["trim"]
    rewind = next(a for a in trim._actions if a.dest == "rewind")
    assert tuple(rewind.choices) == REWIND_MODES
