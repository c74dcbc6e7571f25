import json

import pytest
import yaml

from neurorack.cli import main
from neurorack.errors import NeurorackError
from neurorack.ml.trim.card import annotate_card, round_lineage
from neurorack.runtime.loader import load_model
from tests.cli.test_trim import _parent_run

TINY_TRIM = ["--criterion", "magnitude", "--rounds", "2", "--retrain-steps", "1", "--device", "cpu", "--batch", "2",
             "--crop-frames", "16", "--test-crops", "2", "--bench-seconds", "0.05", "--bench-paths", "numpy"]


@pytest.fixture(scope="module")
def trimmed(tmp_path_factory):
    """A two-round trimming run of a tiny parent, its report, round 2 exported and measured."""
    root = tmp_path_factory.mktemp("card")
    run = root / "trim"
    assert main(["trim", str(_parent_run(root / "dense")), *TINY_TRIM, "--out", str(run), "--json"]) == 0
    assert main(["trim", "report", str(run)]) == 0
    model = root / "model"
    assert main(["export", str(run / "round_002"), "--out", str(model)]) == 0
    assert main(["bench", "model", str(model), "--seconds", "0.05", "--paths", "numpy", "--write", "--json"]) == 0
    return run, model


def test_card_records_lineage_metrics_and_the_run_records(trimmed, capsys):
    run, model = trimmed
    capsys.readouterr()
    assert main(["trim", "card", str(run / "round_002"), "--out", str(model), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    card = yaml.safe_load((model / "model.yaml").read_text())
    records = json.loads((run / "records.json").read_text())
    assert printed["metrics"] == card["metrics"]
    lineage = card["trimming"]
    assert lineage["round"] == 2 and lineage["run"] == "trim"
    assert lineage["parent"]["run"] == "dense"
    assert lineage["settings"]["criterion"] == "magnitude" and lineage["settings"]["retrain_steps"] == 1
    assert lineage["dense_widths"]["gru"] == 16 and lineage["widths"]["gru"] < 16
    assert [r["params"] for r in lineage["rounds"]] == [r["params"] for r in records]
    metrics = card["metrics"]
    assert metrics["realtime_factor"] == pytest.approx(card["speed"]["rtf_1thread"], rel=1e-3)
    assert metrics["error_multiplier"] == pytest.approx(records[2]["error_multiplier"], abs=1e-4)
    assert metrics["params_removed_pct"] == pytest.approx(records[2]["params_removed_pct"], abs=0.01)
    assert metrics["dense_parameters"] == records[0]["params"] > card["parameters"]
    copied = sorted(p.name for p in (model / "trimming").iterdir())
    assert copied == ["records.csv", "records.json", "report.json", "report.md", "round_000.json",
                      "round_001.json", "round_002.json", "settings.json"]
    assert (model / "trimming" / "report.md").read_text() == (run / "report.md").read_text()
    # the card is still one the runtime loads (its checksums cover weights and config)
    assert load_model(model).parameters == records[2]["params"]


def test_card_refuses_a_model_exported_from_another_round(trimmed, tmp_path):
    run, model = trimmed
    with pytest.raises(NeurorackError, match="not those of"):
        annotate_card(model, run / "round_001")


def test_card_asks_for_the_speed_measurement_first(trimmed, tmp_path):
    run, _ = trimmed
    bare = tmp_path / "bare"
    assert main(["export", str(run / "round_002"), "--out", str(bare)]) == 0
    with pytest.raises(NeurorackError, match="bench model"):
        annotate_card(bare, run / "round_002")


def test_lineage_needs_a_round_folder(trimmed, tmp_path):
    run, _ = trimmed
    with pytest.raises(NeurorackError, match="round folder"):
        round_lineage(run)
    (tmp_path / "round_004").mkdir()
    with pytest.raises(NeurorackError, match="round.json: not found"):
        round_lineage(tmp_path / "round_004")


def test_card_command_needs_one_round_and_out(trimmed, capsys):
    run, _ = trimmed
    assert main(["trim", "card", str(run / "round_002")]) == 2
    assert "expected one round folder and --out" in capsys.readouterr().err


def test_the_card_lists_every_width_trimming_can_change_for_each_family():
    from neurorack.core.architecture import TINY_CONFIG
    from neurorack.core.percussion_config import TINY_PERCUSSION, TINY_WAVENET
    from neurorack.ml.trim.card import trimmed_width_fields

    assert set(trimmed_width_fields(TINY_CONFIG.to_dict())) == {"input", "gru", "trunk", "residual"}
    assert set(trimmed_width_fields(TINY_PERCUSSION.to_dict())) == {"encoder", "input", "gru", "trunk", "residual",
                                                                    "hit", "hit_mid", "n_atoms"}
    wavenet = trimmed_width_fields(TINY_WAVENET.to_dict())
    assert "gru" not in wavenet and {"wavenet_channels", "wavenet_gates", "wavenet_skip"} <= set(wavenet)
