"""Fault family "config": mutated YAML files through the real loaders.

Each case takes a valid file (the default module config, a shipped board file, the shipped
menu, a small sound bank, a model card), applies one mutation (a type swap, an unknown or
missing key, broken YAML, a repeated key, a huge number, NaN or Inf, deep nesting, an alias
bomb, a wrong text encoding, an empty file, binary garbage, a file of keys over the size cap,
a number in quotes such as ``sample_rate: '48000'``) and loads it with the real loader.

Survived: the loader raised a ``NeurorackError`` whose message is one line that starts
with the file's path, names the mutated key and its line where the mutation has one; or
the file is still valid and loads cleanly (not for NaN and Inf: those must be refused; nor
for a file over its size cap, or a number in quotes, which must be refused saying so). Model cards allow keys the
module does not read, so an unknown key in a card must load.
Lost: any other exception (a traceback), a hang, or an unclear message. Some module
config cases also go through ``neurorack config --check`` in a subprocess, which must
exit 2 with one "neurorack: error:" line and no traceback.
"""

from __future__ import annotations

import copy
import math
import random
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from neurorack.config.yaml_source import MAX_BYTES, MAX_LARGE_BYTES
from neurorack.errors import NeurorackError
from neurorack_bench.faults import CaseTimeout, FamilyResult, time_limit

CASE_LIMIT_S = 5.0
CLI_LIMIT_S = 60.0
CLI_CASES = 12

SOUND_BANK_TEXT = """\
model: null
sounds:
  - name: Drone
    mode: drone
    curves:
      duration_s: 2.0
      loudness_db: [[0, -30], [0.2, -14], [2.0, -16]]
      pitch_hz: [[0, 55]]
      centroid_hz: [[0, 400], [1.0, 900], [2.0, 400]]
      flatness: [[0, 0.001]]
  - name: Hit
    mode: one_shot
    retrigger: restart
    curves:
      duration_s: 0.5
      loudness_db: [[0, -10], [0.5, -60]]
"""

CARD_TEXT = """\
name: fault-test
sample_rate: 48000
parameters: 24555
bytes: 99300
speed:
  rtf_1thread: 57.2
metrics:
  realtime_factor: 41.0
"""

MUTATIONS = ("type_swap", "unknown_key", "missing_key", "bad_syntax", "duplicate_key", "huge_number",
             "nan_inf", "deep_nesting", "alias_bomb", "wrong_encoding", "empty", "binary", "oversized",
             "quoted_number")

BROKEN_LINES = ("key: [unclosed", "  : :", "\tindented: 1", "- item after a mapping", "{", "'unterminated",
                "a: b: c", "@reserved: 1", "key: *undefined_alias")

SWAP_VALUES: tuple[Any, ...] = ("some text", 3, 2.5, True, None, [1, 2], {"x": 1}, "")


@dataclass(frozen=True)
class Target:
    """A kind of file: its valid base text, its loader, the name it is saved under, its size
    cap and whether it allows keys the module does not read."""

    kind: str
    file_name: str
    base_text: str
    load: Callable[[Path], Any]
    max_bytes: int = MAX_BYTES
    extra_keys: bool = False


@dataclass(frozen=True)
class Mutant:
    """One mutated file and what a good rejection must name."""

    mutation: str
    data: bytes
    key: str | None = None        # the key the message must name
    needs_line: bool = False      # whether the message must give a line number
    must_reject: bool = False     # a clean load is a loss (NaN, Inf, syntax errors)
    must_say: str | None = None   # what the message must contain


def targets() -> list[Target]:
    """The file kinds that exist in this checkout (the sound bank schema is optional)."""
    from neurorack.config.board import boards_dir, load_board
    from neurorack.config.menu import default_menu_path, load_menu_spec
    from neurorack.config.model_card import load_card
    from neurorack.config.module import default_config_yaml, load_module_config

    found = [Target("module", "module.yaml", default_config_yaml(), load_module_config)]
    for board in ("raspberry-pi-4", "mock"):
        path = boards_dir() / f"{board}.yaml"
        if path.is_file():
            found.append(Target("board", f"{board}.yaml", path.read_text(encoding="utf-8"), load_board))
    found.append(Target("menu", "menu.yaml", default_menu_path().read_text(encoding="utf-8"), load_menu_spec))
    found.append(Target("card", "model.yaml", CARD_TEXT, load_card, MAX_LARGE_BYTES, extra_keys=True))
    try:
        from neurorack.config.sound_bank import load_sound_bank
    except ImportError:
        return found
    found.append(Target("sound_bank", "bank.yaml", SOUND_BANK_TEXT, load_sound_bank, MAX_LARGE_BYTES))
    return found


def _paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path in ``data`` (mapping keys and list positions), parents first."""
    out = []
    if isinstance(data, dict):
        for key, value in data.items():
            out.append((*prefix, key))
            out += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            out.append((*prefix, index))
            out += _paths(value, (*prefix, index))
    return out


def _get(data: Any, path: tuple) -> Any:
    for part in path:
        data = data[part]
    return data


def _last_key(path: tuple) -> str | None:
    keys = [p for p in path if isinstance(p, str)]
    return keys[-1] if keys else None


def _dump(data: Any) -> bytes:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode("utf-8")


def mutate(base_text: str, mutation: str, rng: random.Random, max_bytes: int = MAX_BYTES,
           extra_keys: bool = False) -> Mutant:
    """Apply ``mutation`` to a valid YAML text (``max_bytes``: the file's size cap; ``extra_keys``:
    whether the file allows unknown keys)."""
    data = yaml.safe_load(base_text) or {}
    paths = [p for p in _paths(data) if _last_key(p) is not None]
    leaves = [p for p in paths if not isinstance(_get(data, p), (dict, list))]
    mappings = [()] + [p for p in paths if isinstance(_get(data, p), dict)]
    lines = base_text.splitlines()
    if mutation in ("type_swap", "huge_number", "nan_inf", "deep_nesting") and leaves:
        path = rng.choice(leaves)
        old = _get(data, path)
        if mutation == "type_swap":
            value = rng.choice([v for v in SWAP_VALUES if type(v) is not type(old)])
        elif mutation == "huge_number":
            value = rng.choice([10**30, -(10**30), 1e308, -1e308, 10**999, 2**64])
        elif mutation == "nan_inf":
            value = rng.choice([math.nan, math.inf, -math.inf])
        else:
            value = "@@DEEP@@"
        mutant = copy.deepcopy(data)
        _get(mutant, path[:-1])[path[-1]] = value
        text = _dump(mutant)
        if mutation == "deep_nesting":
            depth = rng.choice([70, 200, 1000, 5000])
            text = text.replace(b"'@@DEEP@@'", b"[" * depth + b"1" + b"]" * depth).replace(
                b"@@DEEP@@", b"[" * depth + b"1" + b"]" * depth)
        return Mutant(mutation, text, _last_key(path), needs_line=True,
                      must_reject=mutation in ("nan_inf", "deep_nesting"))
    numbers = [p for p in leaves if isinstance(_get(data, p), (int, float)) and not isinstance(_get(data, p), bool)]
    if mutation == "quoted_number" and numbers:  # sample_rate: '48000'
        path = rng.choice(numbers)
        mutant = copy.deepcopy(data)
        _get(mutant, path[:-1])[path[-1]] = str(_get(data, path))
        return Mutant(mutation, _dump(mutant), _last_key(path), needs_line=True, must_reject=True,
                      must_say="a number in quotes")
    if mutation == "unknown_key":
        path = rng.choice(mappings)
        mutant = copy.deepcopy(data)
        key = f"zz_unknown_{rng.randrange(1000)}"
        _get(mutant, path)[key] = rng.choice(SWAP_VALUES)
        return Mutant(mutation, _dump(mutant), key, needs_line=True, must_reject=not extra_keys)
    if mutation == "missing_key" and paths:
        path = rng.choice([p for p in paths if isinstance(p[-1], str)])
        mutant = copy.deepcopy(data)
        del _get(mutant, path[:-1])[path[-1]]
        return Mutant(mutation, _dump(mutant))
    if mutation == "bad_syntax":
        at = rng.randrange(len(lines) + 1)
        broken = [*lines[:at], rng.choice(BROKEN_LINES), *lines[at:]]
        return Mutant(mutation, ("\n".join(broken) + "\n").encode("utf-8"), needs_line=True)
    if mutation == "duplicate_key":
        keyed = [i for i, line in enumerate(lines) if re.match(r"^\s*[A-Za-z_][\w-]*:", line)]
        if keyed:
            at = rng.choice(keyed)
            key = re.match(r"^\s*([A-Za-z_][\w-]*):", lines[at]).group(1)
            text = "\n".join([*lines[:at + 1], lines[at], *lines[at + 1:]]) + "\n"
            return Mutant(mutation, text.encode("utf-8"), key, needs_line=True, must_reject=True)
    if mutation == "alias_bomb":
        bomb = ["zz_l0: &zz_l0 [x, x, x, x, x, x, x, x, x]"]
        bomb += [f"zz_l{i}: &zz_l{i} [" + ", ".join([f"*zz_l{i - 1}"] * 9) + "]" for i in range(1, 9)]
        return Mutant(mutation, ("\n".join(bomb + lines) + "\n").encode("utf-8"), must_reject=True)
    if mutation == "wrong_encoding":
        text = "# réglages (façade)\n" + base_text
        encoding = rng.choice(["utf-16", "utf-32", "latin-1", "cp1252"])
        return Mutant(mutation, text.encode(encoding), must_reject=True)
    if mutation == "empty":
        return Mutant(mutation, rng.choice([b"", b"\n", b"   \n\n", b"# nothing here\n", b"---\n", b"null\n"]))
    if mutation == "oversized":  # a file of keys (or a list) a little or much larger than the cap
        line = rng.choice(["zz_key_{:07d}: {}\n", "- zz_item_{:07d}_{}\n"])
        count = int(max_bytes * rng.choice([1.01, 1.5, 4.0])) // len(line.format(0, 0)) + 1
        filler = "".join(line.format(i, i % 10) for i in range(count))
        text = base_text + filler if line.startswith("zz") else filler
        return Mutant(mutation, text.encode("utf-8"), must_reject=True, must_say="limit for this kind of YAML file")
    size = rng.choice([1, 16, 200, 4096])
    return Mutant("binary", bytes(rng.getrandbits(8) for _ in range(size)))


def judge(target: Target, mutant: Mutant, path: Path) -> tuple[bool, str]:
    """Load ``path`` with the target's loader; (survived, why) as described in the module doc."""
    try:
        with time_limit(CASE_LIMIT_S):
            target.load(path)
    except CaseTimeout as exc:
        return False, f"hang: {exc}"
    except NeurorackError as exc:
        return _clear_message(str(exc), mutant, path)
    except Exception as exc:  # noqa: BLE001 - exactly what this family hunts for
        return False, f"traceback: {type(exc).__name__}: {str(exc)[:120]}"
    if mutant.must_reject:
        return False, f"accepted: the file loaded although it should be refused ({mutant.mutation})"
    return True, "still valid; loaded cleanly"


def _clear_message(message: str, mutant: Mutant, path: Path) -> tuple[bool, str]:
    lines = message.splitlines()
    if len(lines) != 1:
        return False, f"expected one line, got {len(lines)}: {message[:160]!r}"
    line = lines[0]
    if not line.startswith(str(path)):
        return False, f"does not start with the file name: {line[:160]!r}"
    if mutant.must_say is not None and mutant.must_say not in line:
        return False, f"does not say '{mutant.must_say}': {line[:160]!r}"
    if mutant.needs_line and not re.match(re.escape(str(path)) + r":\d+: ", line):
        return False, f"no line number: {line[:160]!r}"
    if mutant.key is not None and mutant.key not in line and ": is not valid YAML: " not in line:
        # a swapped value of a valid type may break a check that spans keys, which names its own key
        names_a_key = re.match(re.escape(str(path)) + r":\d+: [\w.\[\]]+: ", line)
        if not (mutant.mutation == "type_swap" and names_a_key):
            return False, f"does not name the key '{mutant.key}': {line[:160]!r}"
    return True, line


def check_cli(path: Path, loaded_in_process: bool) -> tuple[bool, str]:
    """``neurorack config --check path`` in a subprocess: exit 2 and one error line, or exit 0."""
    try:
        done = subprocess.run([sys.executable, "-m", "neurorack", "config", "--check", str(path)],
                              check=False, capture_output=True, text=True, timeout=CLI_LIMIT_S)
    except subprocess.TimeoutExpired:
        return False, "cli: hang"
    if "Traceback" in done.stderr:
        return False, f"cli: traceback on stderr: {done.stderr.strip().splitlines()[-1][:160]}"
    if done.returncode == 0:
        return loaded_in_process, "cli: exit 0" + ("" if loaded_in_process else " for a file the loader refused")
    error_lines = done.stderr.strip().splitlines()
    if done.returncode != 2 or len(error_lines) != 1 or not error_lines[0].startswith("neurorack: error: "):
        return False, f"cli: exit {done.returncode}, stderr {done.stderr[:160]!r}"
    return True, error_lines[0]


def run(trials: int, rng: random.Random, workdir: Path, progress: Callable[[int, int], None]) -> FamilyResult:
    """Mutate ``trials`` files, spread over every target and mutation."""
    result = FamilyResult("config")
    kinds = targets()
    result.notes["targets"] = sorted({t.kind for t in kinds})
    cli_every = max(1, trials // len(kinds) // CLI_CASES)
    cli_checked = module_cases = 0
    for index in range(trials):
        target = kinds[index % len(kinds)]
        mutation = MUTATIONS[(index // len(kinds)) % len(MUTATIONS)]
        mutant = mutate(target.base_text, mutation, rng, target.max_bytes, target.extra_keys)
        folder = workdir / f"case{index:04d}"
        folder.mkdir()
        path = folder / target.file_name
        path.write_bytes(mutant.data)
        ok, why = judge(target, mutant, path)
        if target.kind == "module":
            module_cases += 1
            if ok and module_cases % cli_every == 1 % cli_every:
                cli_checked += 1
                ok, why = check_cli(path, why.startswith("still valid"))
        result.record(f"{target.kind}/{mutant.mutation}", ok, why)
        progress(index + 1, trials)
    result.notes["cli_checked"] = cli_checked
    return result
