"""neurorack.config.yaml_source: parsing with line numbers, and clear errors for bad files."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from neurorack.config import yaml_source
from neurorack.config.schema import ConfigError
from neurorack.config.yaml_source import (
    MAX_BYTES,
    MAX_LARGE_BYTES,
    YamlDocument,
    load_yaml,
    parse_yaml,
)


def only_problem(info):
    (problem,) = info.value.problems
    return problem


def test_parse_yaml_records_the_line_of_every_key_and_list_item():
    text = (
        "# header\n"          # 1
        "audio:\n"            # 2
        "  block_size: 64\n"  # 3
        "\n"                  # 4
        "sounds:\n"           # 5
        "  - name: kick\n"    # 6
        "    pitch: 3\n"      # 7
        "  - name: snare\n"   # 8
    )
    document = parse_yaml(text, "bank.yaml")
    assert document.source == "bank.yaml"
    assert document.data == {"audio": {"block_size": 64}, "sounds": [{"name": "kick", "pitch": 3}, {"name": "snare"}]}
    assert document.lines[("audio",)] == 2
    assert document.lines[("audio", "block_size")] == 3
    assert document.lines[("sounds",)] == 5
    assert document.lines[("sounds", 0)] == 6
    assert document.lines[("sounds", 0, "pitch")] == 7
    assert document.lines[("sounds", 1, "name")] == 8


def test_line_of_falls_back_to_the_nearest_parent_with_a_line():
    document = YamlDocument("x.yaml", {}, {("audio",): 2, ("audio", "block_size"): 3})
    assert document.line_of(("audio", "block_size")) == 3
    assert document.line_of(("audio", "missing", "deeper")) == 2
    assert document.line_of(("elsewhere",)) is None
    assert document.line_of(()) is None


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_or_comment_only_text_is_an_empty_mapping(text):
    document = parse_yaml(text, "e.yaml")
    assert document.data == {}
    assert document.lines == {}


def test_duplicate_key_is_reported_with_its_dotted_key_and_the_line_of_the_repeat():
    text = "audio:\n  block_size: 64\n  sample_rate: 48000\n  block_size: 128\n"
    with pytest.raises(ConfigError) as info:
        parse_yaml(text, "dup.yaml")
    problem = only_problem(info)
    assert (problem.source, problem.key, problem.line) == ("dup.yaml", "audio.block_size", 4)
    assert problem.message == "appears twice; keep one"
    assert str(info.value) == "dup.yaml:4: audio.block_size: appears twice; keep one"


def test_every_duplicate_key_is_reported_at_once():
    text = "board: a\nboard: b\nlog_level: info\nlog_level: debug\n"
    with pytest.raises(ConfigError) as info:
        parse_yaml(text, "dup.yaml")
    assert [(p.key, p.line) for p in info.value.problems] == [("board", 2), ("log_level", 4)]


@pytest.mark.parametrize(
    "text, line, reason",
    [
        ("audio:\n\tblock_size: 128\n", 2, "found character '\\t' that cannot start any token"),
        ("board: mock\naudio: [1, 2\nlog_level: info\n", 3, "expected ',' or ']', but got ':'"),
        ("board: mock\n---\nboard: other\n", 2, "but found another document"),
    ],
)
def test_invalid_yaml_reports_the_line_and_the_reason(text, line, reason):
    with pytest.raises(ConfigError) as info:
        parse_yaml(text, "bad.yaml")
    problem = only_problem(info)
    assert (problem.key, problem.line) == ("", line)
    assert problem.message == f"is not valid YAML: {reason}"
    assert str(info.value).startswith(f"bad.yaml:{line}: is not valid YAML")


def test_load_yaml_reads_a_file_and_names_it_in_the_document(tmp_path):
    path = tmp_path / "module.yaml"
    path.write_text("board: mock\n", encoding="utf-8")
    document = load_yaml(path)
    assert document.source == str(path)
    assert document.data == {"board": "mock"}
    assert document.lines == {("board",): 1}


def test_load_yaml_missing_file_is_a_config_error(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        load_yaml(path)
    assert str(info.value) == f"{path}: file not found"
    assert only_problem(info).line is None


def test_load_yaml_directory_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_yaml(tmp_path)
    assert str(info.value) == f"{tmp_path}: is a folder, expected a YAML file"


def test_load_yaml_non_utf8_file_is_a_config_error_naming_the_byte(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"audio:\n  device: \xff\n")  # 0xff is at byte 17
    with pytest.raises(ConfigError) as info:
        load_yaml(path)
    assert str(info.value) == f"{path}: is not UTF-8 text (byte 17); expected a YAML file"


def test_load_yaml_empty_file_is_an_empty_mapping(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("", encoding="utf-8")
    assert load_yaml(path).data == {}


def test_deeply_nested_lists_are_one_config_error_not_a_recursion_traceback():
    text = "a: " + "[" * 5000 + "]" * 5000 + "\n"
    with pytest.raises(ConfigError) as info:
        parse_yaml(text, "deep.yaml")
    problem = only_problem(info)
    assert problem.line == 1 and "nests more than 64 levels deep" in problem.message


def test_nesting_beyond_the_depth_limit_names_the_line_where_it_goes_too_deep():
    text = "a: 1\nb:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(80))
    with pytest.raises(ConfigError) as info:
        parse_yaml(text, "deep.yaml")
    problem = only_problem(info)
    assert problem.line == 2 + 64 and "nests more than 64 levels deep" in problem.message


def test_exponential_alias_expansion_is_refused_quickly_instead_of_hanging():
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 9)]
    with pytest.raises(ConfigError) as info:
        parse_yaml("\n".join(lines) + "\n", "laughs.yaml")
    assert "expands to more than 100000 values through its anchors and aliases" in only_problem(info).message


def test_a_whole_number_with_thousands_of_digits_names_its_key_and_line():
    with pytest.raises(ConfigError) as info:
        parse_yaml("audio:\n  block_size: " + "9" * 5000 + "\n", "huge.yaml")
    problem = only_problem(info)
    assert (problem.key, problem.line) == ("audio.block_size", 2)
    assert "at most 1000 digits" in problem.message


def test_deep_nesting_under_a_key_names_that_key():
    text = "audio:\n  block_size: " + "[" * 100 + "1" + "]" * 100 + "\n"
    with pytest.raises(ConfigError) as info:
        parse_yaml(text, "deep.yaml")
    problem = only_problem(info)
    assert problem.key.startswith("audio.block_size[1][1]") and problem.line == 2


def test_a_file_over_the_size_cap_is_refused_with_its_size_the_cap_and_what_to_do(tmp_path):
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as stream:
        stream.truncate(50 * 1024 * 1024)  # sparse: 50 MB on paper, nothing on disk
    with pytest.raises(ConfigError) as info:
        load_yaml(path)
    assert str(info.value) == (f"{path}: is 50 MB, over the 256 KB limit for this kind of YAML file; "
                               "check that it is the file you meant, or make it smaller")


def test_a_file_of_keys_just_over_the_cap_is_refused_before_parsing(tmp_path):
    path = tmp_path / "keys.yaml"
    path.write_text("".join(f"key_{i:07d}: {i}\n" for i in range(MAX_BYTES // 16)), encoding="utf-8")
    started = time.perf_counter()
    with pytest.raises(ConfigError, match="over the 256 KB limit"):
        load_yaml(path)
    assert time.perf_counter() - started < 1.0


def test_each_kind_of_file_may_have_its_own_cap(tmp_path):
    path = tmp_path / "card.yaml"
    path.write_text("".join(f"key_{i:07d}: {i}\n" for i in range(100)), encoding="utf-8")  # 1600 bytes
    with pytest.raises(ConfigError, match="is 1.6 KB, over the 1 KB limit"):
        load_yaml(path, max_bytes=1024)
    assert load_yaml(path, max_bytes=2048).data["key_0000099"] == 99


def test_an_endless_file_is_read_only_up_to_the_cap():
    with pytest.raises(ConfigError) as info:
        load_yaml("/dev/zero")
    assert str(info.value).startswith("/dev/zero: is larger, over the 256 KB limit")


def test_shipped_yaml_files_fit_their_caps_ten_times_over():
    root = Path(__file__).resolve().parents[2]
    cards = list(root.glob("models/*/model.yaml")) + list(root.glob("sounds/*.yaml"))
    others = list(root.glob("hardware/boards/*.yaml")) + list(root.glob("neurorack/ui/*.yaml"))
    assert cards and others
    assert max(p.stat().st_size for p in cards) * 10 < MAX_LARGE_BYTES
    assert max(p.stat().st_size for p in others) * 10 < MAX_BYTES


def test_many_values_without_aliases_are_not_blamed_on_anchors(monkeypatch):
    monkeypatch.setattr(yaml_source, "MAX_NODES", 50)
    text = "values: [" + ", ".join("1" for _ in range(60)) + "]\n"
    with pytest.raises(ConfigError) as info:
        parse_yaml(text, "many.yaml")
    assert "holds more than 50 values" in only_problem(info).message
    assert "alias" not in only_problem(info).message


def test_a_control_character_is_invalid_yaml_not_a_traceback():
    with pytest.raises(ConfigError) as info:
        parse_yaml("\x03", "binary.yaml")
    assert str(info.value) == ("binary.yaml: is not valid YAML: unacceptable character #x0003: "
                               "special characters are not allowed")
