"""Every ``neurorack`` command the README shows parses as written: the commands and options
exist and the values have the documented form (placeholders such as FILE or N filled in).

Running them is the job of the tests of each command; the README's first two commands are
what CI runs (``.ci/run``).
"""

from __future__ import annotations

import itertools
import re
import shlex
from pathlib import Path

import pytest

from neurorack.cli import build_parser

README = Path(__file__).resolve().parents[1] / "README.md"
# what a placeholder stands for, so that typed options parse
PLACEHOLDERS = {"N": "2", "FILE": "x.yaml", "RUN": "runs/x", "DIR": "out", "MODEL": "models/x",
                "MODEL_DIR": "models/x", "NAME": "x", "ONE_SHOT": "kick.wav", "IN.wav": "in.wav",
                "DATA_DIR": "kits", "COMMAND": "run", "FAMILY": "config"}
NOT_COMMANDS = ("neurorack: error", "neurorack.service", "neurorack/")


def readme_commands() -> list[str]:
    """The README's neurorack command lines: inline code spans and lines of code blocks."""
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S)
    candidates = [line for block in blocks for line in block.splitlines()]
    candidates += re.findall(r"`([^`\n]*neurorack [^`\n]*)`", re.sub(r"```.*?```", "", text, flags=re.S))
    commands = []
    for line in candidates:
        for part in line.split("&&"):
            part = part.split("  #")[0].split(" # ")[0].strip()
            match = re.search(r"(?:^|bin/|sudo |-m )neurorack (.*)$", part)
            if match and not any(marker in part for marker in NOT_COMMANDS):
                commands.append(match.group(1).strip())
    return sorted(set(commands))


def expanded(command: str) -> list[list[str]]:
    """The argument lists a documented command stands for: ``a\\|b`` gives one per
    alternative, ``[--opt X]`` is taken as written, ``...`` is dropped, placeholders are filled.
    A mention in a sentence (``neurorack export``, ``sound extract ... --model M``: the
    command's name, or a part of a command) is checked with ``--help``: the command exists."""
    if re.fullmatch(r"[a-z-]+( [a-z-]+)?", command) or " ... " in f"{command} ":
        names = list(itertools.takewhile(lambda word: re.fullmatch(r"[a-z][a-z-]*", word), command.split()))
        return [[*names, "--help"]]
    alternatives = [[]]
    for word in shlex.split(command.replace("[", " ").replace("]", " ").replace("\\|", "|")):
        if word in ("...",) or word.endswith("..."):
            word = word[:-3]
            if not word:
                continue
        choices = word.split("|") if "|" in word else [word]
        alternatives = [[*words, *PLACEHOLDERS.get(c, c).split()] for words in alternatives for c in choices]
    return alternatives


COMMANDS = [(command, words) for command in readme_commands() for words in expanded(command)]


def test_the_readme_shows_the_commands_a_user_needs():
    shown = {words[0] for _, words in COMMANDS}
    assert {"run", "demo", "calibrate", "train", "export", "trim", "sound", "bench", "install-service"} <= shown


@pytest.mark.parametrize("command, words", COMMANDS, ids=[" ".join(words) for _, words in COMMANDS])
def test_a_readme_command_parses_as_written(command, words, capsys):
    try:
        build_parser().parse_args(words)
    except SystemExit as stop:
        assert stop.code == 0, f"README: 'neurorack {command}': {capsys.readouterr().err.strip()}"
