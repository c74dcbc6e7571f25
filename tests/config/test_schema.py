"""neurorack.config.schema: coercion, checks, whole-document validation and defaults."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import pytest

from neurorack.config.schema import (
    ConfigError,
    Problem,
    between,
    build,
    coerce,
    describe_defaults,
    setting,
)
from neurorack.config.yaml_source import YamlDocument, parse_yaml
from neurorack.errors import NeurorackError


@dataclass(frozen=True)
class Inner:
    level: float = setting(0.5, "A level.", check=between(0, 1))
    mode: str = setting("soft", "A mode.", choices=("soft", "hard"))


@dataclass(frozen=True)
class Outer:
    inner: Inner = setting(default_factory=Inner, help="Nested.")
    count: int = setting(3, "How many.")
    name: str | None = setting(None, "A name.")
    enabled: bool = setting(True, "On or off.")
    values: list[int] = setting(None, "Some numbers.")


def doc(text: str, source: str = "test.yaml") -> YamlDocument:
    return parse_yaml(text, source)


# -- Problem / ConfigError -------------------------------------------------------------


def test_problem_str_includes_file_line_key_and_message():
    assert str(Problem("a.yaml", "audio.block_size", 4, "bad")) == "a.yaml:4: audio.block_size: bad"


def test_problem_str_omits_missing_line_and_key():
    assert str(Problem("a.yaml", "", None, "file not found")) == "a.yaml: file not found"
    assert str(Problem("a.yaml", "k", None, "bad")) == "a.yaml: k: bad"


def test_config_error_lists_every_problem_one_per_line_and_is_a_neurorack_error():
    problems = [Problem("a.yaml", "x", 1, "one"), Problem("a.yaml", "y", 2, "two")]
    error = ConfigError(problems)
    assert isinstance(error, NeurorackError)
    assert error.problems == problems
    assert str(error) == "a.yaml:1: x: one\na.yaml:2: y: two"


# -- between -----------------------------------------------------------------------------


def test_between_accepts_both_ends_and_rejects_outside_with_unit():
    check = between(0.25, 8, "blocks")
    assert check(0.25) is None
    assert check(8) is None
    assert check(8.5) == "expected a value from 0.25 to 8 blocks, got 8.5"
    assert between(1, 2)(0) == "expected a value from 1 to 2, got 0"


# -- coerce ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, kind, expected",
    [
        (3, int, 3),
        (3, float, 3.0),
        (2.5, float, 2.5),
        ("hi", str, "hi"),
        (False, bool, False),
        (None, Optional[int], None),
        (7, Optional[int], 7),
        ("dev", int | str | None, "dev"),
        ([1, 2], list[int], [1, 2]),
    ],
)
def test_coerce_accepts_matching_values(value, kind, expected):
    converted, error = coerce(value, kind)
    assert error is None
    assert converted == expected
    assert type(converted) is type(expected)


def test_coerce_turns_an_int_into_a_float_for_float_fields():
    converted, error = coerce(4, float)
    assert error is None and isinstance(converted, float)


@pytest.mark.parametrize(
    "value, kind, message",
    [
        ("loud", float, "expected a number, got 'loud'"),
        (True, float, "expected a number, got true"),
        (2.5, int, "expected a whole number, got 2.5"),
        (False, int, "expected a whole number, got false"),
        ("yes", bool, "expected true or false, got 'yes'"),
        (1, bool, "expected true or false, got 1"),
        (5, str, "expected text, got 5"),
        ({"a": 1}, str, "expected text, got a mapping"),
        ("x", list[int], "expected a list, got 'x'"),
        ([1, "two"], list[int], "item 2: expected a whole number, got 'two'"),
        ([1], int | str | None, "expected a whole number or text or null, got a list"),
        (None, int, "expected a whole number, got null"),
        ("48000", int, "expected a whole number, got the string '48000' (a number in quotes; remove the quotes)"),
        ("-1.5", float, "expected a number, got the string '-1.5' (a number in quotes; remove the quotes)"),
        ("7", int | None, "expected a whole number or null, got the string '7' (a number in quotes; remove the quotes)"),
        ("nan", float, "expected a number, got 'nan'"),
        ("1", bool, "expected true or false, got '1'"),
    ],
)
def test_coerce_rejects_wrong_types_with_expected_and_got(value, kind, message):
    converted, error = coerce(value, kind)
    assert converted is None
    assert error == message


def test_coerce_raises_type_error_for_an_unsupported_schema_type():
    with pytest.raises(TypeError):
        coerce({}, dict)


# -- build -------------------------------------------------------------------------------


def test_build_empty_document_gives_all_defaults():
    assert build(Outer, doc("")) == Outer()


def test_build_null_section_gives_section_defaults():
    result = build(Outer, doc("inner:\ncount: 5\n"))
    assert result.inner == Inner()
    assert result.count == 5


def test_build_fills_given_values_and_keeps_defaults_for_the_rest():
    result = build(Outer, doc("inner:\n  mode: hard\nname: kick\nvalues: [1, 2, 3]\n"))
    assert result == Outer(inner=Inner(mode="hard"), name="kick", values=[1, 2, 3])


def test_build_reports_every_problem_sorted_by_line_with_dotted_keys():
    text = (
        "count: many\n"          # 1
        "inner:\n"               # 2
        "  level: 2\n"           # 3
        "  mode: medium\n"       # 4
        "  levle: 0.1\n"         # 5
        "enabled: 1\n"           # 6
        "values: [1, x]\n"       # 7
    )
    with pytest.raises(ConfigError) as info:
        build(Outer, doc(text, "outer.yaml"))
    got = [(p.source, p.line, p.key, p.message) for p in info.value.problems]
    assert got == [
        ("outer.yaml", 1, "count", "expected a whole number, got 'many'"),
        ("outer.yaml", 3, "inner.level", "expected a value from 0 to 1, got 2.0"),
        ("outer.yaml", 4, "inner.mode", "expected one of soft, hard, got 'medium'"),
        ("outer.yaml", 5, "inner.levle", "unknown key; did you mean 'level'?"),
        ("outer.yaml", 6, "enabled", "expected true or false, got 1"),
        ("outer.yaml", 7, "values", "item 2: expected a whole number, got 'x'"),
    ]


def test_build_unknown_key_without_close_match_lists_known_keys():
    with pytest.raises(ConfigError) as info:
        build(Inner, doc("zzzz: 1\n"))
    (problem,) = info.value.problems
    assert problem.key == "zzzz"
    assert problem.message == "unknown key; known keys: level, mode"


def test_build_with_extra_keys_ignores_unknown_keys_at_every_level_and_still_checks_known_ones():
    text = "lineage: {parent: x}\ninner:\n  notes: [1, 2]\n  mode: hard\ncount: 2\n"
    assert build(Outer, doc(text), extra_keys=True) == Outer(inner=Inner(mode="hard"), count=2)
    with pytest.raises(ConfigError) as info:
        build(Outer, doc("lineage: x\ninner:\n  level: .inf\n"), extra_keys=True)
    (problem,) = info.value.problems
    assert (problem.key, problem.line, problem.message) == ("inner.level", 3, "expected a finite number, got inf")


def test_a_value_of_the_wrong_type_for_a_choice_lists_the_choices():
    with pytest.raises(ConfigError) as info:
        build(Inner, doc("mode: 3\n"))
    (problem,) = info.value.problems
    assert problem.message == "expected one of soft, hard, got 3"


def test_build_rejects_a_non_mapping_file():
    with pytest.raises(ConfigError) as info:
        build(Outer, doc("- 1\n- 2\n"))
    (problem,) = info.value.problems
    assert problem.key == ""
    assert problem.message == "the file should be a mapping of keys to values, got a list"


def test_build_rejects_a_scalar_where_a_section_is_expected_at_its_line():
    with pytest.raises(ConfigError) as info:
        build(Outer, doc("count: 1\ninner: 5\n"))
    (problem,) = info.value.problems
    assert (problem.key, problem.line) == ("inner", 2)
    assert problem.message == "this section should be a mapping of keys to values, got 5"


def test_build_rejects_null_for_a_field_that_is_not_optional():
    with pytest.raises(ConfigError) as info:
        build(Outer, doc("inner:\n  level: null\n"))
    (problem,) = info.value.problems
    assert (problem.key, problem.line, problem.message) == ("inner.level", 2, "expected a number, got null")


# -- describe_defaults -----------------------------------------------------------------


def test_describe_defaults_writes_help_comments_nested_sections_and_scalars():
    assert describe_defaults(Inner) == ["# A level.", "level: 0.5", "# A mode.", "mode: soft"]
    lines = describe_defaults(Outer)
    assert lines[:6] == ["# Nested.", "inner:", "  # A level.", "  level: 0.5", "  # A mode.", "  mode: soft"]
    assert "name: null" in lines
    assert "enabled: true" in lines
    assert "count: 3" in lines


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_coerce_refuses_nan_and_inf_for_a_number(value):
    converted, error = coerce(value, float)
    assert converted is None
    assert error.startswith("expected a finite number, got")


def test_coerce_refuses_a_whole_number_too_large_for_a_float_instead_of_raising():
    converted, error = coerce(10**999, float)
    assert converted is None
    assert error == "expected a number of usual size, got one with 1000 digits"
