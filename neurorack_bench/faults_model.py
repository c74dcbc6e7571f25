"""Fault family "model": broken model folders offered to the runtime while a model plays.

A small valid model folder is written (the layout of ``neurorack.ml.export``), loaded with
the real ``load_model`` and streamed with the real ``NumpyModel``. Each case copies the
folder, breaks one thing (truncated or bit-flipped weights, with and without a matching
checksum; a wrong shape; NaN or Inf weights; float64 weights; a missing or an extra
tensor; a pickle that would create a marker file if it were ever unpickled, in place of
the weights or as a ``model.pt``; missing or garbage files; a mismatched card; a card whose
parameter count is text or whose size is infinite) and loads it.

Survived: ``load_model`` raised a ``NeurorackError`` naming the folder (or, for a
bit flip with a matching checksum that still parses, the model loaded and renders finite
audio); the marker file never appeared; for a broken card, the Models list still lists a
good model beside it and marks only the broken one unavailable, naming its model.yaml; and
the model already playing rendered its next frames exactly as an undisturbed copy of it
did. Lost: anything else.

One case in 21 (``EVAL_CASE``) is ``neurorack eval --write`` in a subprocess on a copy of the
model whose weights, finite but huge, render NaN, over a kit of four tones: survived when it
exits 2 with one ``neurorack: error:`` line saying NaN, no traceback, and no evaluation.json.
"""

from __future__ import annotations

import hashlib
import pickle
import random
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from neurorack.errors import NeurorackError
from neurorack_bench.faults import CaseTimeout, FamilyResult, time_limit

CASE_LIMIT_S = 10.0
FRAMES_PER_CHECK = 3

CASES = ("truncated", "truncated_rechecksummed", "bit_flip", "bit_flip_rechecksummed", "wrong_shape",
         "nan_weights", "inf_weights", "float64_weights", "missing_tensor", "extra_tensor", "pickle_as_weights",
         "pickle_beside", "missing_file", "garbage_checksums", "garbage_config", "card_not_a_mapping",
         "card_sample_rate", "empty_weights", "card_parameters_text", "card_bytes_inf")
BAD_CARDS = {"card_not_a_mapping": None, "card_parameters_text": "parameters", "card_bytes_inf": "bytes"}
EVAL_CASE = "eval_nan_render"
EVAL_CODE = "import sys; from neurorack.cli import main; sys.exit(main(sys.argv[1:]))"
EVAL_LIMIT_S = 60.0


class MarkerPayload:
    """Unpickling this creates the marker file (``open(path, "w")``): proof that code ran."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def write_model(folder: Path, rng: np.random.Generator) -> Path:
    """A valid tiny model folder with small random weights, as ``neurorack export`` lays it out."""
    from safetensors.numpy import save

    from neurorack.core.architecture import TINY_CONFIG, config_yaml, expected_shapes
    from neurorack.ml.export import write_card, write_checksums

    folder.mkdir(parents=True, exist_ok=True)
    weights = {key: (0.1 * rng.standard_normal(shape)).astype(np.float32)
               for key, shape in expected_shapes(TINY_CONFIG).items()}
    (folder / "weights.safetensors").write_bytes(save(weights))
    (folder / "config.yaml").write_text(config_yaml(TINY_CONFIG), encoding="utf-8")
    write_card(folder, {"name": "fault-test", "sample_rate": TINY_CONFIG.sample_rate, "hop": TINY_CONFIG.hop})
    write_checksums(folder)
    return folder


def descriptor_frames(count: int) -> np.ndarray:
    """``[count, 5]`` descriptor frames in the middle of every range (geometric middle for log ones)."""
    from neurorack.core.descriptors import DESCRIPTOR_RANGES

    middle = [np.sqrt(r.low * r.high) if r.log else (r.low + r.high) / 2 for r in DESCRIPTOR_RANGES]
    return np.tile(np.array(middle, dtype=np.float32), (count, 1))


def _rechecksum(folder: Path) -> None:
    lines = [f"{hashlib.sha256((folder / name).read_bytes()).hexdigest()}  {name}"
             for name in ("weights.safetensors", "config.yaml")]
    (folder / "SHA256SUMS").write_text("\n".join(lines) + "\n")


def _with_tensors(folder: Path, change: Callable[[dict], None]) -> None:
    from safetensors.numpy import load, save

    tensors = dict(load((folder / "weights.safetensors").read_bytes()))
    change(tensors)
    (folder / "weights.safetensors").write_bytes(save(tensors))
    _rechecksum(folder)


def break_model(folder: Path, case: str, rng: random.Random, marker: Path) -> bool:
    """Break the model folder in place; returns True if it may still load (a harmless flip)."""
    weights = folder / "weights.safetensors"
    raw = bytearray(weights.read_bytes())
    if case.startswith("truncated"):
        weights.write_bytes(bytes(raw[:rng.randrange(0, len(raw))]))
    elif case.startswith("bit_flip"):
        position = rng.randrange(len(raw))
        raw[position] ^= 1 << rng.randrange(8)
        weights.write_bytes(bytes(raw))
    elif case == "wrong_shape":
        config = folder / "config.yaml"
        config.write_text(config.read_text().replace("gru_width: 16", "gru_width: 17"))
    elif case == "nan_weights":
        _with_tensors(folder, lambda t: t["head.weight"].__setitem__((0, 0), np.nan))
    elif case == "inf_weights":
        _with_tensors(folder, lambda t: t["gru.bias_ih_l0"].__setitem__(1, -np.inf))
    elif case == "float64_weights":
        _with_tensors(folder, lambda t: t.__setitem__("input.bias", t["input.bias"].astype(np.float64)))
    elif case == "missing_tensor":
        _with_tensors(folder, lambda t: t.pop("trunk.bias"))
    elif case == "extra_tensor":
        _with_tensors(folder, lambda t: t.__setitem__("backdoor.weight", np.zeros(4, np.float32)))
    elif case == "pickle_as_weights":
        weights.write_bytes(pickle.dumps({"state_dict": MarkerPayload(str(marker))}))
    elif case == "pickle_beside":
        (folder / "model.pt").write_bytes(pickle.dumps(MarkerPayload(str(marker))))
        weights.write_bytes(pickle.dumps(MarkerPayload(str(marker))))
    elif case == "missing_file":
        (folder / rng.choice(["weights.safetensors", "config.yaml", "model.yaml", "SHA256SUMS"])).unlink()
    elif case == "garbage_checksums":
        (folder / "SHA256SUMS").write_bytes(bytes(rng.getrandbits(8) for _ in range(200)))
    elif case == "garbage_config":
        (folder / "config.yaml").write_bytes(b"gru_width: [\n\x00\xff")
    elif case == "card_not_a_mapping":
        (folder / "model.yaml").write_text("- just\n- a list\n")
    elif case == "card_sample_rate":
        card = folder / "model.yaml"
        card.write_text(card.read_text().replace("sample_rate: 48000", "sample_rate: 44100"))
    elif case == "empty_weights":
        weights.write_bytes(b"")
    elif case == "card_parameters_text":
        with open(folder / "model.yaml", "a", encoding="utf-8") as card:
            card.write("parameters: 24,555 weights\n")
    elif case == "card_bytes_inf":
        with open(folder / "model.yaml", "a", encoding="utf-8") as card:
            card.write("bytes: .inf\n")
    if case.endswith("rechecksummed") or case in ("wrong_shape", "pickle_as_weights", "pickle_beside",
                                                  "garbage_config", "empty_weights"):
        _rechecksum(folder)
    return case == "bit_flip_rechecksummed"


def try_case(good: Path, workdir: Path, case: str, index: int, rng: random.Random) -> tuple[bool, str]:
    """Break a copy of ``good`` and load it; (survived, why), not counting the playing model."""
    from neurorack.runtime.loader import load_model
    from neurorack.runtime.numpy_model import NumpyModel

    folder = workdir / f"case{index:03d}-{case}"
    shutil.copytree(good, folder)
    marker = workdir / f"marker-{index:03d}"
    may_load = break_model(folder, case, rng, marker)
    try:
        with time_limit(CASE_LIMIT_S):
            loaded = load_model(folder)
    except CaseTimeout as exc:
        return False, f"hang: {exc}"
    except NeurorackError as exc:
        message = str(exc)
        if marker.exists():
            return False, "code in a pickle ran: the marker file exists"
        if str(folder) not in message:
            return False, f"error does not name the model folder: {message[:160]!r}"
        if case in BAD_CARDS:
            return listed_apart(good, folder, workdir / f"listing{index:03d}", BAD_CARDS[case])
        return True, message.splitlines()[0]
    except Exception as exc:  # noqa: BLE001 - a traceback is what this family hunts for
        return False, f"traceback: {type(exc).__name__}: {str(exc)[:120]}"
    if marker.exists():
        return False, "code in a pickle ran: the marker file exists"
    if not may_load:
        return False, "a broken model loaded"
    audio = NumpyModel(loaded).render(descriptor_frames(FRAMES_PER_CHECK))
    if not np.all(np.isfinite(audio)):
        return False, "a bit-flipped model loaded and renders NaN or Inf"
    return True, "bit flip that still parses: loaded, renders finite audio"


def write_kit(folder: Path) -> Path:
    """Four decaying tones as WAV files (one of them in the train split)."""
    import soundfile

    folder.mkdir(parents=True)
    t = np.arange(9600) / 48000
    for index, frequency in enumerate((80, 200, 450, 1000)):
        tone = 0.5 * np.sin(2 * np.pi * frequency * t) * np.exp(-t / 0.05)
        soundfile.write(folder / f"hit{index}.wav", tone, 48000)
    return folder


def eval_case(good: Path, workdir: Path, index: int, rng: random.Random) -> tuple[bool, str]:
    """``neurorack eval --write`` of a model that renders NaN: exit 2 and one clear line, nothing written."""
    folder = workdir / f"case{index:03d}-{EVAL_CASE}"
    shutil.copytree(good, folder)
    scale = rng.choice([1e20, 1e30, 1e36])  # finite, so the model loads; its activations overflow
    _with_tensors(folder, lambda t: t.update({key: (value * scale).astype(np.float32) for key, value in t.items()}))
    kit = write_kit(workdir / f"kit{index:03d}" / "Kit")
    command = [sys.executable, "-c", EVAL_CODE, "eval", str(folder), str(kit), "--cache", str(kit.parent / "cache.npz"),
               "--split", "train", "--limit", "1", "--control-sounds", "1", "--write"]
    try:
        done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=EVAL_LIMIT_S)
    except subprocess.TimeoutExpired:
        return False, f"neurorack eval did not finish within {EVAL_LIMIT_S:g} s (hang)"
    last = (done.stderr.strip().splitlines() or [""])[-1]
    if "Traceback" in done.stderr:
        return False, f"traceback: {last[:160]}"
    if done.returncode != 2:
        return False, f"exit {done.returncode} for a model that renders NaN: {last[:160]!r}"
    if not last.startswith("neurorack: error: ") or "NaN" not in last:
        return False, f"the error does not say NaN: {last[:160]!r}"
    if (folder / "evaluation.json").exists():
        return False, "evaluation.json was written for a model that renders NaN"
    return True, last


def listed_apart(good: Path, broken: Path, root: Path, key: str | None) -> tuple[bool, str]:
    """The Models list of a folder holding ``good`` and ``broken``: both listed, only the broken
    one unavailable, its reason naming its model.yaml (and ``key``)."""
    from neurorack.app.facade import installed_models

    shutil.copytree(good, root / "good")
    shutil.copytree(broken, root / "broken")
    try:
        listed = {info.name: info for info, _ in installed_models(root)}
    except Exception as exc:  # noqa: BLE001 - one bad card must not break the whole list
        return False, f"the Models list failed: {type(exc).__name__}: {str(exc)[:120]}"
    if sorted(listed) != ["broken", "good"] or listed["good"].error is not None:
        return False, f"the good model is not listed as available: {sorted(listed)}"
    error = listed["broken"].error or ""
    if str(root / "broken" / "model.yaml") not in error or (key is not None and f": {key}: " not in error):
        return False, f"the broken model's reason does not name its card and key: {error[:160]!r}"
    return True, f"listed unavailable: {error.splitlines()[0]}"


def run(trials: int, rng: random.Random, workdir: Path, progress: Callable[[int, int], None]) -> FamilyResult:
    """``trials`` broken folders (cycling through ``CASES``) while a good model keeps rendering."""
    from neurorack.runtime.loader import load_model
    from neurorack.runtime.numpy_model import NumpyModel

    result = FamilyResult("model")
    good = write_model(workdir / "good", np.random.default_rng(rng.randrange(2**32)))
    playing = NumpyModel(load_model(good))
    reference = NumpyModel(load_model(good))
    state, reference_state = playing.initial_state(), reference.initial_state()
    frames = descriptor_frames(FRAMES_PER_CHECK)
    out = np.empty(playing.hop, dtype=np.float32)
    expected = np.empty(reference.hop, dtype=np.float32)
    cases = (*CASES, EVAL_CASE)
    for index in range(trials):
        case = cases[index % len(cases)]
        if case == EVAL_CASE:
            ok, why = eval_case(good, workdir, index, rng)
        else:
            ok, why = try_case(good, workdir, case, index, rng)
        for frame in frames:  # the model already playing carries on, undisturbed
            playing.render_frame(frame, state, out)
            reference.render_frame(frame, reference_state, expected)
            if not (np.all(np.isfinite(out)) and np.array_equal(out, expected)):
                ok, why = False, f"the playing model was disturbed ({why})"
        result.record(case, ok, why)
        progress(index + 1, trials)
    result.notes["cases"] = list(cases)
    return result
