"""Read YAML while remembering the line of every key, so errors can point at it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from neurorack.config.schema import ConfigError, KeyPath, Problem, dotted


@dataclass(frozen=True)
class YamlDocument:
    """A parsed YAML file.

    Attributes:
        source: the file name shown in messages.
        data: the plain Python value (dicts, lists, scalars).
        lines: 1-based line of each key path, e.g. ``("audio", "block_size") -> 4``.
    """

    source: str
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line_of(self, path: KeyPath) -> int | None:
        """The line of ``path``, or of its nearest parent that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None


MAX_BYTES = 256 * 1024  # config, board, menu, state, calibration, scenario: the shipped ones are under 4 KB
MAX_LARGE_BYTES = 1024 * 1024  # sound banks and model cards (trimming records): the shipped ones are under 40 KB


def load_yaml(path: str | Path, max_bytes: int = MAX_BYTES) -> YamlDocument:
    """Read and parse a YAML file of at most ``max_bytes``.

    Raises:
        ConfigError: the file is missing, unreadable, too large, not UTF-8 or not valid YAML.
    """
    return parse_yaml(read_yaml_text(path, max_bytes), str(path))


def read_yaml_text(path: str | Path, max_bytes: int = MAX_BYTES) -> str:
    """The text of a YAML file, reading no more than ``max_bytes`` (+1 to see that it is larger).

    Raises:
        ConfigError: the file is missing, unreadable, larger than ``max_bytes`` or not UTF-8.
    """
    source = str(path)
    try:
        with open(path, "rb") as stream:
            raw = stream.read(max_bytes + 1)
            if len(raw) > max_bytes:
                size = os.fstat(stream.fileno()).st_size
                raise ConfigError([Problem(source, "", None, _too_large(size, max_bytes))])
        return raw.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError([Problem(source, "", None, "file not found")]) from None
    except IsADirectoryError:
        raise ConfigError([Problem(source, "", None, "is a folder, expected a YAML file")]) from None
    except PermissionError:
        raise ConfigError([Problem(source, "", None, "permission denied while reading it")]) from None
    except OSError as exc:
        raise ConfigError([Problem(source, "", None, f"cannot be read: {exc.strerror or exc}")]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            [Problem(source, "", None, f"is not UTF-8 text (byte {exc.start}); expected a YAML file")]
        ) from None


def _too_large(size: int, max_bytes: int) -> str:
    what = f"is {_size_text(size)}" if size > max_bytes else "is larger"  # a pipe or device has no size
    return (f"{what}, over the {_size_text(max_bytes)} limit for this kind of YAML file; "
            "check that it is the file you meant, or make it smaller")


def _size_text(size: int) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}".replace(".0 ", " ")
    return f"{size} bytes"


MAX_DEPTH = 64  # levels of sections and lists
MAX_NODES = 100_000  # values, counting every expansion of an alias
MAX_DIGITS = 1000  # digits of one whole number


class _ConfigLoader(yaml.SafeLoader):
    """SafeLoader that keeps mapping keys as written (``on:`` stays "on", not True) and
    leaves timestamps as text: config files need neither, and both confuse messages."""

    def construct_mapping(self, node, deep=False):
        self.flatten_mapping(node)
        return {_key_text(key): self.construct_object(value, deep=deep) for key, value in node.value}


_ConfigLoader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_scalar)


def _key_text(node: yaml.Node) -> str:
    """A mapping key as the user wrote it."""
    return str(node.value) if isinstance(node, yaml.ScalarNode) else yaml.serialize(node).strip()


def parse_yaml(text: str, source: str) -> YamlDocument:
    """Parse YAML text; an empty document is an empty mapping.

    Raises:
        ConfigError: the text is not valid YAML, or repeats a key.
    """
    loader = None
    try:
        loader = _ConfigLoader(text)  # its reader refuses control characters at once
        aliased = _check_depth(text, source)
        try:
            node = loader.get_single_node()
        except RecursionError:
            raise ConfigError([Problem(source, "", None, f"nests too deeply; expected at most {MAX_DEPTH} "
                                                         "levels of sections and lists")]) from None
        if node is None:
            return YamlDocument(source, {}, {})
        lines: dict[KeyPath, int] = {}
        problems: list[Problem] = []
        _index_lines(node, (), lines, problems, source, [MAX_NODES], aliased)
        if problems:
            raise ConfigError(problems)
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError([Problem(source, "", line, f"is not valid YAML: {reason}")]) from None
    except (ValueError, TypeError) as exc:  # a scalar the constructor could not convert
        raise ConfigError([Problem(source, "", None, f"holds a value YAML cannot read: {exc}")]) from None
    finally:
        if loader is not None:
            loader.dispose()
    return YamlDocument(source, data, lines)


def _check_depth(text: str, source: str) -> bool:
    """Refuse nesting deeper than ``MAX_DEPTH`` at its key and line, before the (recursive)
    composer sees it; the event parser itself is iterative.

    Returns:
        whether the text uses aliases (``*name``).
    """
    frames: list[list] = []  # per open collection: [is_mapping, key or index, expecting a key, next index]
    aliased = False
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        aliased = aliased or isinstance(event, yaml.AliasEvent)
        if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            frames.pop()
            continue
        if not isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent, yaml.MappingStartEvent,
                                  yaml.SequenceStartEvent)):
            continue
        if frames:
            frame = frames[-1]
            if frame[0] and frame[2] and isinstance(event, yaml.ScalarEvent):
                frame[1], frame[2] = event.value, False  # a key; its value comes next
                continue
            if frame[0]:
                frame[2] = True
            else:
                frame[1], frame[3] = frame[3], frame[3] + 1
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            if len(frames) >= MAX_DEPTH:
                path = tuple(f[1] for f in frames if f[1] is not None)
                raise ConfigError([Problem(source, dotted(path), event.start_mark.line + 1,
                                           f"nests more than {MAX_DEPTH} levels deep; expected a small config file")])
            frames.append([isinstance(event, yaml.MappingStartEvent), None, True, 0])
    return aliased


def _index_lines(
    node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int], problems: list[Problem], source: str,
    budget: list[int], aliased: bool,
) -> None:
    """Record key lines and repeated keys; stop at absurd depth or size (aliases that expand
    exponentially, a "billion laughs" file) with one problem instead of hanging."""
    budget[0] -= 1
    if budget[0] < 0 or len(path) > MAX_DEPTH:
        if len(path) > MAX_DEPTH:
            reason = f"nests more than {MAX_DEPTH} levels deep"
        elif aliased:
            reason = f"expands to more than {MAX_NODES} values through its anchors and aliases (*name)"
        else:
            reason = f"holds more than {MAX_NODES} values"
        raise ConfigError([Problem(source, dotted(path), node.start_mark.line + 1,
                                   f"{reason}; expected a small config file")])
    if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:int" and len(node.value) > MAX_DIGITS:
        problems.append(Problem(source, dotted(path), node.start_mark.line + 1,
                                f"expected a number of at most {MAX_DIGITS} digits, got {len(node.value)} digits"))
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = _key_text(key_node)
            child = (*path, key)
            if key in seen:
                problems.append(Problem(source, dotted(child), key_node.start_mark.line + 1, "appears twice; keep one"))
            seen.add(key)
            lines[child] = key_node.start_mark.line + 1
            _index_lines(value_node, child, lines, problems, source, budget, aliased)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            lines[child] = item.start_mark.line + 1
            _index_lines(item, child, lines, problems, source, budget, aliased)
