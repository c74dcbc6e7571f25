"""neurorack.config.model_card: the keys the module reads are checked, every other key is kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from neurorack.config.model_card import ModelCard, load_card
from neurorack.config.schema import ConfigError

SHIPPED = sorted((Path(__file__).resolve().parents[2] / "models").glob("*/model.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.parent.name)
def test_every_shipped_card_is_valid(path):
    card, data = load_card(path)
    assert card.parameters > 0 and card.bytes > 0 and card.sample_rate == 48000
    assert "trimming" in data or "training" in data  # the rest of the card comes back as read


def test_keys_the_module_does_not_read_are_allowed(tmp_path):
    path = tmp_path / "model.yaml"
    path.write_text("name: kit\nparameters: 10\nspeed: {rtf_1thread: 31.5, block_ms: {p50: 0.1}}\n"
                    "metrics: {realtime_factor: 9, test: {sounds: 3}}\ntrimming: {rounds: [1, 2]}\n")
    card, data = load_card(path)
    assert card == ModelCard(name="kit", parameters=10, speed=card.speed, metrics=card.metrics)
    assert card.realtime_factor == 31.5 and data["trimming"] == {"rounds": [1, 2]}


@pytest.mark.parametrize("text, line, key, message", [
    ("name: x\nparameters: 24,555 weights\n", 2, "parameters",
     "expected a whole number or null, got '24,555 weights'"),
    ("parameters: .inf\n", 1, "parameters", "expected a whole number or null, got inf"),
    ("bytes: -4\n", 1, "bytes", "expected a value from 0 to 8e+12, got -4"),
    ("speed:\n  rtf_1thread: fast\n", 2, "speed.rtf_1thread", "expected a number or null, got 'fast'"),
    ("metrics:\n  realtime_factor: .nan\n", 2, "metrics.realtime_factor", "expected a number or null, got nan"),
    ("sample_rate: '48000'\n", 1, "sample_rate",
     "expected a whole number or null, got the string '48000' (a number in quotes; remove the quotes)"),
])
def test_a_wrong_value_names_the_file_the_key_and_its_line(tmp_path, text, line, key, message):
    path = tmp_path / "model.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_card(path)
    assert str(info.value) == f"{path}:{line}: {key}: {message}"


def test_a_card_that_is_not_a_mapping_is_refused(tmp_path):
    path = tmp_path / "model.yaml"
    path.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="the file should be a mapping of keys to values, got a list"):
        load_card(path)


def test_a_card_over_the_cap_is_refused_without_reading_it_all(tmp_path):
    path = tmp_path / "model.yaml"
    with open(path, "wb") as stream:
        stream.truncate(50 * 1024 * 1024)
    with pytest.raises(ConfigError, match=r"model.yaml: is 50 MB, over the 1 MB limit"):
        load_card(path)
