"""Export: the model folder and its card; refusal of runs whose weights do not fit."""

import json

import pytest
import torch

from neurorack.atomic import atomic_write_text
from neurorack.core.architecture import TINY_CONFIG, config_yaml
from neurorack.core.descriptors import DESCRIPTOR_NAMES
from neurorack.errors import NeurorackError
from neurorack.ml.export import export_run, read_card, sha256_of
from neurorack.ml.model import DescriptorModel
from neurorack.ml.train import save_weights


def make_run(folder, config=TINY_CONFIG):
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    save_weights(DescriptorModel(config), folder / "weights.safetensors")
    atomic_write_text(folder / "config.yaml", config_yaml(config))
    data = {"folders": ["Kit"], "licences": {"Kit": {"drumkit_xml_license": "GPL"}},
            "splits": {"train": ["Kit/a.wav"], "valid": [], "test": ["Kit/b.wav"]}, "options": {"steps": 1}}
    (folder / "data.json").write_text(json.dumps(data))
    return folder


def test_exported_card_describes_the_model_and_its_data(tmp_path):
    run = make_run(tmp_path / "run")
    (run / "rewind.safetensors").write_bytes((run / "weights.safetensors").read_bytes())
    model = export_run(run, tmp_path / "models" / "tiny")
    card = read_card(model)
    assert card["name"] == "tiny"
    assert card["sample_rate"] == 48000 and card["hop"] == 256
    assert [d["name"] for d in card["descriptors"]] == list(DESCRIPTOR_NAMES)
    assert card["parameters"] == sum(p.numel() for p in DescriptorModel(TINY_CONFIG).parameters())
    assert card["bytes"] == (model / "weights.safetensors").stat().st_size
    assert card["training"]["files"]["test"] == ["Kit/b.wav"]
    assert card["training"]["licences"]["Kit"]["drumkit_xml_license"] == "GPL"
    sums = (model / "SHA256SUMS").read_text().split()
    assert sums == [sha256_of(model / "weights.safetensors"), "weights.safetensors",
                    sha256_of(model / "config.yaml"), "config.yaml",
                    sha256_of(model / "rewind.safetensors"), "rewind.safetensors"]
    assert card["training"]["rewind_weights"].startswith("rewind.safetensors")


def test_a_run_whose_weights_do_not_fit_its_config_is_not_exported(tmp_path):
    run = make_run(tmp_path / "run")
    atomic_write_text(run / "config.yaml", config_yaml(TINY_CONFIG.with_widths({"trunk": 4})))
    with pytest.raises(NeurorackError, match=r"trunk.weight: expected \(8, 16\), got \(32, 16\)"):
        export_run(run, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_an_unfinished_run_is_named(tmp_path):
    run = make_run(tmp_path / "run")
    (run / "weights.safetensors").unlink()
    with pytest.raises(NeurorackError, match="missing; has the run finished"):
        export_run(run, tmp_path / "out")


def test_a_re_export_replaces_the_export_s_files_and_keeps_the_others(tmp_path):
    run = make_run(tmp_path / "run")
    (run / "rewind.safetensors").write_bytes((run / "weights.safetensors").read_bytes())
    model = export_run(run, tmp_path / "models" / "tiny")
    (model / "evaluation.json").write_text("{}")
    (model / "trimming" / "lottery").mkdir(parents=True)
    (model / "trimming" / "lottery" / "records.csv").write_text("round\n")
    (run / "rewind.safetensors").unlink()  # a run without a rewind point: the old one must not stay
    export_run(run, model)
    assert sorted(p.name for p in model.iterdir()) == ["SHA256SUMS", "config.yaml", "evaluation.json", "model.yaml",
                                                      "trimming", "weights.safetensors"]
    assert (model / "trimming" / "lottery" / "records.csv").read_text() == "round\n"
    assert "rewind.safetensors" not in (model / "SHA256SUMS").read_text()
    assert sorted(p.name for p in model.parent.iterdir()) == ["tiny"]


def test_a_folder_that_is_not_a_model_is_not_exported_over(tmp_path):
    run = make_run(tmp_path / "run")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("x")
    with pytest.raises(NeurorackError, match="exists and is not a model folder"):
        export_run(run, tmp_path / "notes")
    assert sorted(p.name for p in (tmp_path / "notes").iterdir()) == ["todo.txt"]
