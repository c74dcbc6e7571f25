"""neurorack.config.module: the module config file, its defaults and where it is found."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from neurorack.config.module import (
    CONFIG_ENV,
    AudioSettings,
    ModuleConfig,
    OutputSettings,
    default_config_yaml,
    load_module_config,
)
from neurorack.config.schema import ConfigError, build
from neurorack.config.yaml_source import YamlDocument


def write(tmp_path: Path, text: str, name: str = "module.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_several_mistakes_are_all_reported_at_once_with_file_key_and_line(tmp_path):
    path = write(tmp_path, """\
        # my module
        audio:
          sample_rate: 44000
          blok_size: 256
          lookahead_blocks: 20
        output:
          gain_db: loud
          fade_ms: 5
        log_level: verbose
        zzz_extra: 1
        """)
    with pytest.raises(ConfigError) as info:
        load_module_config(path)
    got = [(p.source, p.line, p.key, p.message) for p in info.value.problems]
    src = str(path)
    known = "audio, output, board, models_dir, sound_bank, state_dir, log_level"
    assert got == [
        (src, 3, "audio.sample_rate", "expected one of 44100, 48000, 96000, got 44000"),
        (src, 4, "audio.blok_size", "unknown key; did you mean 'block_size'?"),
        (src, 5, "audio.lookahead_blocks", "expected a value from 0.25 to 8 blocks, got 20.0"),
        (src, 7, "output.gain_db", "expected a number, got 'loud'"),
        (src, 9, "log_level", "expected one of debug, info, warning, error, got 'verbose'"),
        (src, 10, "zzz_extra", f"unknown key; known keys: {known}"),
    ]
    assert str(info.value).splitlines() == [
        f"{src}:3: audio.sample_rate: expected one of 44100, 48000, 96000, got 44000",
        f"{src}:4: audio.blok_size: unknown key; did you mean 'block_size'?",
        f"{src}:5: audio.lookahead_blocks: expected a value from 0.25 to 8 blocks, got 20.0",
        f"{src}:7: output.gain_db: expected a number, got 'loud'",
        f"{src}:9: log_level: expected one of debug, info, warning, error, got 'verbose'",
        f"{src}:10: zzz_extra: unknown key; known keys: {known}",
    ]


def test_unknown_key_suggests_the_close_match(tmp_path):
    path = write(tmp_path, "output:\n  ceiling_bd: -3\n")
    with pytest.raises(ConfigError) as info:
        load_module_config(path)
    (problem,) = info.value.problems
    assert (problem.key, problem.line) == ("output.ceiling_bd", 2)
    assert problem.message == "unknown key; did you mean 'ceiling_db'?"


def test_wrong_type_says_what_was_expected_and_what_was_given(tmp_path):
    path = write(tmp_path, "audio:\n  block_size: big\n  device: [1, 2]\n")
    with pytest.raises(ConfigError) as info:
        load_module_config(path)
    assert [(p.key, p.line, p.message) for p in info.value.problems] == [
        ("audio.block_size", 2, "expected one of 32, 64, 128, 256, 512, 1024, got 'big'"),
        ("audio.device", 3, "expected a whole number or text or null, got a list"),
    ]


def test_a_number_in_quotes_is_named_as_a_string_with_the_values_allowed(tmp_path):
    path = write(tmp_path, "audio:\n  sample_rate: '48000'\n  lookahead_blocks: '1.5'\n")
    with pytest.raises(ConfigError) as info:
        load_module_config(path)
    assert [(p.key, p.message) for p in info.value.problems] == [
        ("audio.sample_rate",
         "expected one of 44100, 48000, 96000, got the string '48000' (a number in quotes; remove the quotes)"),
        ("audio.lookahead_blocks", "expected a number, got the string '1.5' (a number in quotes; remove the quotes)"),
    ]


def test_duplicate_key_in_module_config_is_reported_with_its_line(tmp_path):
    path = write(tmp_path, "board: mock\nlog_level: info\nboard: other\n")
    with pytest.raises(ConfigError) as info:
        load_module_config(path)
    assert str(info.value) == f"{path}:3: board: appears twice; keep one"


def test_invalid_yaml_in_module_config_gives_its_line(tmp_path):
    path = write(tmp_path, "audio:\n  block_size: 128\n\tsample_rate: 48000\n")
    with pytest.raises(ConfigError) as info:
        load_module_config(path)
    (problem,) = info.value.problems
    assert problem.line == 3
    assert problem.message.startswith("is not valid YAML")


def test_missing_file_directory_and_non_utf8_are_clear_config_errors(tmp_path):
    missing = tmp_path / "absent.yaml"
    with pytest.raises(ConfigError, match="absent.yaml: file not found"):
        load_module_config(missing)
    with pytest.raises(ConfigError, match="is a folder, expected a YAML file"):
        load_module_config(tmp_path)
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"board: \xe9\n")
    with pytest.raises(ConfigError, match=r"is not UTF-8 text \(byte 7\)"):
        load_module_config(binary)


def test_empty_file_gives_all_defaults(tmp_path):
    assert load_module_config(write(tmp_path, "")) == ModuleConfig()


def test_values_given_are_used_and_the_rest_default(tmp_path):
    path = write(tmp_path, """\
        audio:
          device: USB
          block_size: 64
          gate_latency_ms: 4
        output:
          gain_db: -6
        log_level: debug
        """)
    config = load_module_config(path)
    assert config.audio == AudioSettings(device="USB", block_size=64, gate_latency_ms=4.0)
    assert isinstance(config.audio.gate_latency_ms, float)
    assert config.output == OutputSettings(gain_db=-6.0)
    assert config.log_level == "debug"
    assert config.board == "mock"


def test_device_may_be_an_index(tmp_path):
    assert load_module_config(write(tmp_path, "audio:\n  device: 2\n")).audio.device == 2


def test_load_module_config_none_without_env_gives_defaults(monkeypatch):
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    assert load_module_config(None) == ModuleConfig()
    assert load_module_config() == ModuleConfig()


def test_load_module_config_none_reads_the_file_named_by_the_env_variable(tmp_path, monkeypatch):
    path = write(tmp_path, "board: raspberry-pi-4\n")
    monkeypatch.setenv(CONFIG_ENV, str(path))
    assert load_module_config(None).board == "raspberry-pi-4"


def test_an_explicit_path_wins_over_the_env_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(CONFIG_ENV, str(write(tmp_path, "board: from-env\n", "env.yaml")))
    assert load_module_config(write(tmp_path, "board: explicit\n")).board == "explicit"


def test_env_variable_pointing_at_a_missing_file_is_a_config_error(tmp_path, monkeypatch):
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "gone.yaml"))
    with pytest.raises(ConfigError, match="gone.yaml: file not found"):
        load_module_config(None)


def test_default_config_yaml_parses_back_into_the_default_config():
    text = default_config_yaml()
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    assert set(data) == {"audio", "output", "board", "models_dir", "sound_bank", "state_dir", "log_level"}
    assert build(ModuleConfig, YamlDocument("defaults.yaml", data)) == ModuleConfig()


def test_default_config_yaml_written_to_a_file_loads_as_the_defaults(tmp_path):
    path = tmp_path / "defaults.yaml"
    path.write_text(default_config_yaml(), encoding="utf-8")
    assert load_module_config(path) == ModuleConfig()


def test_default_config_yaml_explains_every_key_with_a_comment():
    lines = default_config_yaml().splitlines()
    assert lines[0].startswith("#")
    for index, line in enumerate(lines):
        if line.strip() and not line.lstrip().startswith("#"):
            assert lines[index - 1].lstrip().startswith("# "), f"no help comment above {line!r}"


def test_resolved_state_dir_prefers_state_dir_and_expands_home(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/ignored")
    monkeypatch.setenv("XDG_STATE_HOME", "/xdg/ignored")
    assert ModuleConfig(state_dir="/srv/state").resolved_state_dir() == Path("/srv/state")
    assert ModuleConfig(state_dir="~/neuro").resolved_state_dir() == tmp_path / "neuro"


def test_resolved_state_dir_uses_the_first_systemd_state_directory(monkeypatch):
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/neurorack:/var/lib/other")
    monkeypatch.setenv("XDG_STATE_HOME", "/xdg/ignored")
    assert ModuleConfig().resolved_state_dir() == Path("/var/lib/neurorack")


def test_resolved_state_dir_falls_back_to_xdg_state_home(monkeypatch):
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", "/xdg/state")
    assert ModuleConfig().resolved_state_dir() == Path("/xdg/state/neurorack")


def test_resolved_state_dir_defaults_to_local_state_in_home(monkeypatch, tmp_path):
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert ModuleConfig().resolved_state_dir() == tmp_path / ".local" / "state" / "neurorack"
