"""``neurorack.core.percussion_config``: what a percussion model's ``config.yaml`` holds."""

import yaml

from neurorack.core.percussion_config import TINY_PERCUSSION, TINY_WAVENET, PercussionConfig, config_yaml
from neurorack.runtime.loader import load_config


def test_a_gru_models_file_has_no_wavenet_sizes_and_reads_back_the_same(tmp_path):
    text = config_yaml(TINY_PERCUSSION.replace(gru_width=5))
    document = yaml.safe_load(text)
    assert document["gru_width"] == 5
    assert not [key for key in document if key.startswith("wavenet")]
    (tmp_path / "config.yaml").write_text(text, encoding="utf-8")
    assert load_config(tmp_path / "config.yaml") == TINY_PERCUSSION.replace(gru_width=5)


def test_a_wavenet_models_file_has_no_default_gru_width_and_reads_back_the_same(tmp_path):
    config = TINY_WAVENET.replace(wavenet_gates=[3, 4, 2], gru_width=PercussionConfig().gru_width)
    document = yaml.safe_load(config_yaml(config))
    assert "gru_width" not in document and document["wavenet_gates"] == [3, 4, 2]
    (tmp_path / "config.yaml").write_text(config_yaml(config), encoding="utf-8")
    assert load_config(tmp_path / "config.yaml") == config


def test_an_unused_size_that_is_not_the_default_is_kept_so_the_file_reads_back_the_same(tmp_path):
    assert yaml.safe_load(config_yaml(TINY_WAVENET))["gru_width"] == TINY_WAVENET.gru_width
