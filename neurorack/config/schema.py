"""A small schema layer: frozen dataclasses whose fields carry a default, a help text and
a check. ``build`` validates a whole YAML document at once and reports every problem
with the file, the key, the line and what was expected.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Union

from neurorack.errors import NeurorackError

KeyPath = tuple  # e.g. ("audio", "block_size") or ("sounds", 3, "name")

Check = Callable[[Any], "str | None"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong in one file."""

    source: str
    key: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class ConfigError(NeurorackError):
    """A configuration file is wrong; ``problems`` lists every problem found."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def setting(default: Any = dataclasses.MISSING, help: str = "", *, check: Check | None = None,
            choices: Iterable[Any] | None = None, default_factory: Any = dataclasses.MISSING) -> Any:
    """Declare a config field with its default, its help text and how it is checked.

    Args:
        default: the value used when the key is absent.
        help: one or two sentences for ``--help``-style listings and generated files.
        check: returns an error message ("expected ..., got ...") or None.
        choices: the only values allowed.
        default_factory: for nested sections.
    """
    metadata = {"help": help, "check": check, "choices": tuple(choices) if choices is not None else None}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def between(low: float, high: float, unit: str = "") -> Check:
    """A check for a number within ``[low, high]``."""
    suffix = f" {unit}" if unit else ""

    def check(value: float) -> str | None:
        if low <= value <= high:
            return None
        return f"expected a value from {low:g} to {high:g}{suffix}, got {value!r}"

    return check


def build(cls: type, document: Any, *, extra_keys: bool = False) -> Any:
    """Validate ``document`` (a ``YamlDocument``) against dataclass ``cls``.

    Args:
        extra_keys: allow keys the schema does not know, at every level, and ignore them
            (files that other tools add to, such as model cards).

    Returns:
        An instance of ``cls``; absent keys take their defaults.

    Raises:
        ConfigError: listing every problem in the document, not just the first.
    """
    problems: list[Problem] = []
    result = _build(cls, document.data, (), document, problems, extra_keys)
    if problems:
        raise ConfigError(sorted(problems, key=lambda p: p.line or 0))
    return result


def _build(cls: type, data: Any, path: KeyPath, document: Any, problems: list[Problem],
           extra_keys: bool = False) -> Any:
    def problem(key_path: KeyPath, message: str) -> None:
        problems.append(Problem(document.source, dotted(key_path), document.line_of(key_path), message))

    if not isinstance(data, dict):
        what = "the file" if not path else "this section"
        problem(path, f"{what} should be a mapping of keys to values, got {_describe(data)}")
        return None
    hints = typing.get_type_hints(cls)
    known = [f.name for f in dataclasses.fields(cls)]
    for key in data:
        if key not in known and not extra_keys:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(known)}"
            problem((*path, key), f"unknown key; {hint}")
    count_before = len(problems)
    values = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        key_path = (*path, f.name)
        value = data[f.name]
        kind = hints[f.name]
        if dataclasses.is_dataclass(kind):
            values[f.name] = _build(kind, value if value is not None else {}, key_path, document, problems,
                                    extra_keys)
            continue
        converted, error = coerce(value, kind)
        if error is None:
            error = _check(f, converted)
        elif f.metadata.get("choices") is not None:
            numbers = all(isinstance(c, (int, float)) for c in f.metadata["choices"])
            error = f"expected one of {_choices_text(f)}, got {_describe(value, numbers)}"
        if error is not None:
            problem(key_path, error)
        else:
            values[f.name] = converted
    if len(problems) > count_before:
        return None
    return cls(**values)


def _check(f: dataclasses.Field, value: Any) -> str | None:
    if value is None:
        return None
    choices = f.metadata.get("choices")
    if choices is not None and value not in choices:
        return f"expected one of {_choices_text(f)}, got {value!r}"
    check = f.metadata.get("check")
    return check(value) if check is not None else None


def _choices_text(f: dataclasses.Field) -> str:
    return ", ".join(str(c) for c in f.metadata["choices"])


def coerce(value: Any, kind: Any) -> tuple[Any, str | None]:
    """Convert a YAML value to ``kind`` (int, float, str, bool, Optional/Union, list[...]).

    Returns:
        ``(value, None)`` on success, ``(None, "expected ..., got ...")`` otherwise.
    """
    options = _union_members(kind)
    if options is not None:
        for option in options:
            converted, error = coerce(value, option)
            if error is None:
                return converted, None
        numbers = int in options or float in options
        return None, f"expected {' or '.join(_type_name(o) for o in options)}, got {_describe(value, numbers)}"
    if kind is type(None):
        return (None, None) if value is None else (None, f"expected null, got {_describe(value)}")
    if kind is bool:
        return (value, None) if isinstance(value, bool) else (None, f"expected true or false, got {_describe(value)}")
    if kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value, None
        return None, f"expected a whole number, got {_describe(value, number_expected=True)}"
    if kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                number = float(value)
            except OverflowError:
                return None, f"expected a number of usual size, got one with {len(str(abs(value)))} digits"
            if not math.isfinite(number):
                return None, f"expected a finite number, got {_describe(value)}"
            return number, None
        return None, f"expected a number, got {_describe(value, number_expected=True)}"
    if kind is str:
        return (value, None) if isinstance(value, str) else (None, f"expected text, got {_describe(value)}")
    if typing.get_origin(kind) is list:
        (item_kind,) = typing.get_args(kind)
        if not isinstance(value, list):
            return None, f"expected a list, got {_describe(value)}"
        items = []
        for index, item in enumerate(value):
            converted, error = coerce(item, item_kind)
            if error is not None:
                return None, f"item {index + 1}: {error}"
            items.append(converted)
        return items, None
    raise TypeError(f"unsupported config type {kind!r}")  # a programming error, not user input


def _union_members(kind: Any) -> tuple | None:
    if typing.get_origin(kind) in (Union, types.UnionType):
        return typing.get_args(kind)
    return None


def _type_name(kind: Any) -> str:
    names = {int: "a whole number", float: "a number", str: "text", bool: "true or false", type(None): "null"}
    if kind in names:
        return names[kind]
    if typing.get_origin(kind) is list:
        return "a list"
    return getattr(kind, "__name__", str(kind))


def _describe(value: Any, number_expected: bool = False) -> str:
    """``value`` for "got ..."; with ``number_expected``, a number in quotes is said to be one."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if number_expected and isinstance(value, str) and _is_number(value):
        return f"the string {value!r} (a number in quotes; remove the quotes)"
    return repr(value)


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text.replace("_", "")))
    except ValueError:
        return False


def dotted(path: KeyPath) -> str:
    """``("sounds", 2, "name")`` -> ``sounds[3].name`` (list positions count from 1)."""
    out = ""
    for part in path:
        out += f"[{part + 1}]" if isinstance(part, int) and not isinstance(part, bool) else (f".{part}" if out else str(part))
    return out


def describe_defaults(cls: type, indent: str = "") -> list[str]:
    """YAML lines for every field of ``cls`` with its default and help as comments."""
    lines: list[str] = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        help_text = f.metadata.get("help", "")
        if help_text:
            lines.append(f"{indent}# {help_text}")
        if dataclasses.is_dataclass(hints[f.name]):
            lines.append(f"{indent}{f.name}:")
            lines.extend(describe_defaults(hints[f.name], indent + "  "))
        else:
            default = f.default
            lines.append(f"{indent}{f.name}: {_yaml_scalar(default)}")
    return lines


def _yaml_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value if value and value.replace("_", "").replace("-", "").isalnum() else repr(value)
    return repr(value)
