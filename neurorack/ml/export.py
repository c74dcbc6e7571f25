"""``neurorack export``: a trained run becomes a self-describing model folder.

A model folder (the contract with the runtime, the trimming tools and the instrument)::

    weights.safetensors   every tensor of the DescriptorModel state dict, float32
    config.yaml           ModelConfig: rebuilds the architecture (widths included)
    model.yaml            the card: sample rate, hop, descriptors and ranges, parameters, bytes,
                          MACs per second, training files and licences, measured metrics
    rewind.safetensors    (when the run has it) the early weights, the lottery rewind point
    SHA256SUMS            sha256 of weights.safetensors, config.yaml (and rewind.safetensors),
                          "HASH  NAME" lines
    losses.png            the run's loss curves (when the run has them)
    evaluation.json       (after 'neurorack eval --write') the full evaluation; its headline
                          figures go into the card's ``metrics``, and 'neurorack bench model
                          --write' puts the speed figures into the card's ``speed``

Load it with ``neurorack.runtime.loader.load_model(path)``; it checks all of this.

Exporting installs the folder whole (``neurorack.atomic.atomic_folder``): it is written beside
``out_dir`` and swapped in with one rename, so a power cut leaves the previous model or the new
one, never new weights beside old checksums. Re-exporting over a model folder replaces the
files above and keeps the others (an evaluation, trimming records).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import yaml

from neurorack.atomic import atomic_folder, atomic_write_bytes, atomic_write_text
from neurorack.core import architecture, percussion_config
from neurorack.core.descriptors import DESCRIPTOR_RANGES
from neurorack.core.percussion_config import PercussionConfig
from neurorack.errors import NeurorackError
from neurorack.runtime.loader import config_yaml, expected_shapes, load_config

FORMAT_VERSION = 1
WEIGHTS = "weights.safetensors"
CONFIG = "config.yaml"
CARD = "model.yaml"
CHECKSUMS = "SHA256SUMS"
CHECKSUMMED = (WEIGHTS, CONFIG)
REWIND = "rewind.safetensors"
LOSSES = "losses.png"
EXPORTED = (WEIGHTS, CONFIG, CARD, CHECKSUMS, REWIND, LOSSES)  # what a re-export replaces


def sha256_of(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_checksums(model_dir: str | Path) -> Path:
    model_dir = Path(model_dir)
    names = [*CHECKSUMMED, *([REWIND] if (model_dir / REWIND).is_file() else [])]
    lines = [f"{sha256_of(model_dir / name)}  {name}" for name in names]
    return atomic_write_text(model_dir / CHECKSUMS, "\n".join(lines) + "\n")


def export_run(run_dir: str | Path, out_dir: str | Path, name: str | None = None,
               weights: str = "weights.safetensors", extra_command: str | None = None) -> Path:
    """Export ``run_dir`` (written by ``neurorack train``) to the model folder ``out_dir``.

    Raises:
        NeurorackError: the run is incomplete, or its weights do not fit its config.
    """
    from safetensors.numpy import load

    run_dir, out_dir = Path(run_dir), Path(out_dir)
    weights_path = run_dir / weights
    if not weights_path.is_file():
        raise NeurorackError(f"{weights_path}: missing; has the run finished? ('neurorack train --resume' "
                             "completes it)")
    config = load_config(run_dir / "config.yaml")
    raw = weights_path.read_bytes()
    tensors = load(raw)
    shapes = expected_shapes(config)
    problems = [f"{key}: expected {shapes[key]}, got {tuple(tensors[key].shape) if key in tensors else 'nothing'}"
                for key in shapes if key not in tensors or tuple(tensors[key].shape) != shapes[key]]
    if problems or set(tensors) != set(shapes):
        raise NeurorackError(f"{weights_path} does not fit {run_dir / 'config.yaml'}: " + "; ".join(problems))
    data_path = run_dir / "data.json"
    data = json.loads(data_path.read_text()) if data_path.is_file() else {}
    history_path = run_dir / "history.json"
    history = json.loads(history_path.read_text()) if history_path.is_file() else {}
    parameters = int(sum(t.size for t in tensors.values()))
    card = {
        "name": name or out_dir.name,
        "format_version": FORMAT_VERSION,
        "sample_rate": config.sample_rate,
        "hop": config.hop,
        "hop_ms": round(1000.0 * config.hop / config.sample_rate, 3),
        "descriptors": [{"name": r.name, "unit": r.unit, "low": r.low, "high": r.high,
                         "scale": "log" if r.log else "linear"} for r in DESCRIPTOR_RANGES],
        "parameters": parameters,
        "bytes": len(raw),
        **_architecture_summary(config),
        "training": {
            "run": run_dir.name,
            "weights": weights,
            "steps": len(history.get("train", [])) or None,
            "final_train_loss": history["train"][-1] if history.get("train") else None,
            "final_valid_loss": history["valid"][-1] if history.get("valid") else None,
            "options": data.get("options", {}),
            "data_folders": data.get("folders", []),
            "licences": data.get("licences", {}),
            "file_counts": {split: len(files) for split, files in data.get("splits", {}).items()},
            "skipped": data.get("skipped", []),
            "files": data.get("splits", {}),
        },
        "commands": {"train": data.get("command"), "resumed": [r.get("command") for r in data.get("resumed_with", [])],
                     "export": extra_command},
        "metrics": {},
    }
    if out_dir.exists() and not _is_model_folder(out_dir):
        raise NeurorackError(f"{out_dir}: exists and is not a model folder; export into a new folder")
    with atomic_folder(out_dir) as folder:
        if (run_dir / REWIND).is_file():  # the lottery rewind point, for trimming from this folder
            atomic_write_bytes(folder / REWIND, (run_dir / REWIND).read_bytes())
            card["training"]["rewind_weights"] = f"{REWIND} (step {data.get('options', {}).get('rewind_step')})"
        atomic_write_bytes(folder / WEIGHTS, raw)
        atomic_write_text(folder / CONFIG, config_yaml(config))
        write_card(folder, card)
        write_checksums(folder)
        if (run_dir / LOSSES).is_file():
            atomic_write_bytes(folder / LOSSES, (run_dir / LOSSES).read_bytes())
        _keep_the_others(out_dir, folder)
    return out_dir


def _is_model_folder(folder: Path) -> bool:
    return folder.is_dir() and (not any(folder.iterdir()) or any((folder / name).is_file() for name in EXPORTED[:4]))


def _keep_the_others(previous: Path, folder: Path) -> None:
    """Hard-link (else copy) into ``folder`` what ``previous`` holds beyond an export's files."""
    if not previous.is_dir():
        return
    for entry in previous.iterdir():
        if entry.name in EXPORTED:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, folder / entry.name, symlinks=True, copy_function=_link_or_copy)
        else:
            _link_or_copy(entry, folder / entry.name)


def _link_or_copy(source, target) -> None:
    try:
        os.link(source, target, follow_symlinks=False)
    except OSError:
        shutil.copy2(source, target, follow_symlinks=False)


def _architecture_summary(config) -> dict:
    """The card's architecture fields: family, operation count, widths and synthesis sizes."""
    if isinstance(config, PercussionConfig):
        memory = ("wavenet_channels", "wavenet_gates", "wavenet_skip") if config.wavenet else ("gru_width",)
        return {"family": percussion_config.FAMILY,
                "macs_per_second_of_audio": int(percussion_config.macs_per_second(config)),
                "frame_network": config.frame_network,
                "widths": {key: getattr(config, key) for key in ("timbre_size", "encoder_width", "input_width",
                                                                 *memory, "trunk_width", "residual_width",
                                                                 "hit_width", "hit_mid_width")},
                "synthesis": {key: getattr(config, key) for key in ("n_harmonics", "n_modes", "n_noise_bands",
                                                                    "n_atoms", "atom_length", "envelope_points")}}
    return {"family": "descriptor",
            "macs_per_second_of_audio": int(architecture.macs_per_second(config)),
            "widths": config.widths(),
            "synthesis": {"n_harmonics": config.n_harmonics, "n_noise_bands": config.n_noise_bands}}


def write_card(model_dir: str | Path, card: dict) -> Path:
    header = "# Model card: written by 'neurorack export'; metrics by 'neurorack eval --write'.\n"
    return atomic_write_text(Path(model_dir) / CARD, header + yaml.safe_dump(card, sort_keys=False, width=110))


def read_card(model_dir: str | Path) -> dict:
    from neurorack.config.yaml_source import MAX_LARGE_BYTES, load_yaml

    return load_yaml(Path(model_dir) / CARD, MAX_LARGE_BYTES).data
