"""``neurorack.ml.trim.parent``: how the dense parent trained, from a run folder or a model folder."""

import json

import pytest
import yaml

from neurorack.errors import NeurorackError
from neurorack.ml.trim.parent import training_options


def test_a_run_folders_data_json_gives_the_training_options(tmp_path):
    (tmp_path / "data.json").write_text(json.dumps({"options": {"steps": 800, "batch": 4}}))
    (tmp_path / "model.yaml").write_text(yaml.safe_dump({"training": {"options": {"steps": 1, "batch": 1}}}))
    assert training_options(tmp_path) == {"steps": 800, "batch": 4}


def test_an_exported_model_folders_card_gives_them_when_there_is_no_data_json(tmp_path):
    card = {"name": "drums", "training": {"steps": 3600, "options": {"steps": 3600, "batch": 12, "crop_frames": 96,
                                                                     "rewind_step": 100}}}
    (tmp_path / "model.yaml").write_text(yaml.safe_dump(card))
    assert training_options(tmp_path) == {"steps": 3600, "batch": 12, "crop_frames": 96, "rewind_step": 100}


def test_a_folder_with_neither_gives_none_and_a_broken_card_names_itself(tmp_path):
    assert training_options(tmp_path) == {}
    (tmp_path / "model.yaml").write_text("training: [unclosed\n")
    with pytest.raises(NeurorackError, match="model.yaml: not valid YAML"):
        training_options(tmp_path)
