"""Argument types for the command line: each turns the text typed into a value or says what
was expected (argparse prints it next to the option's name)."""

from __future__ import annotations

import argparse


def _number(text: str, kind: type):
    try:
        return kind(text)
    except ValueError:
        noun = "a whole number" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"expected {noun}, got '{text}'") from None


def positive_float(text: str) -> float:
    value = _number(text, float)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {text}")
    return value


def fraction(text: str) -> float:
    value = _number(text, float)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction between 0 and 1, got {text}")
    return value


def weight(text: str) -> float:
    value = _number(text, float)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a weight from 0 to 1, got {text}")
    return value


def positive_int(text: str) -> int:
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text}")
    return value


def non_negative_int(text: str) -> int:
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 0, got {text}")
    return value


def group_floor(text: str) -> tuple[str, int]:
    """``"gru=40"`` -> ``("gru", 40)``: a unit group's name and the fewest units it keeps."""
    name, equals, count = text.partition("=")
    if not equals or not name.strip():
        raise argparse.ArgumentTypeError(f"expected GROUP=N (a unit group's name and a number of units), got '{text}'")
    return name.strip(), positive_int(count)


def command_line(args: argparse.Namespace) -> str:
    """The command as typed (for cards and run folders), quoted where needed."""
    import shlex

    return " ".join(["neurorack", *(shlex.quote(a) for a in args.argv)])
