"""Loading the dense parent of a trimming run: architecture, trained weights, early snapshot, data."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from neurorack.errors import NeurorackError


@dataclass
class Parent:
    """Everything ``run_lottery`` needs about the dense parent."""

    dense: object
    early: dict
    adapter: object
    task: object
    description: dict


def load_weights_file(path: Path, what: str) -> dict:
    """A safetensors file as a state dict.

    Raises:
        NeurorackError: missing or not a safetensors file, naming it and its role.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not path.is_file():
        raise NeurorackError(f"{path}: not found ({what})")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise NeurorackError(f"{path}: not a readable safetensors file ({what}): {exc}") from None


def resolve_device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise NeurorackError(f"--device {name}: no CUDA device is available")
    if not (name == "cpu" or name.startswith("cuda")):
        raise NeurorackError(f"--device: expected auto, cpu or cuda, got {name!r}")
    return name


def read_data_info(run: str | Path) -> dict | None:
    """The training run's ``data.json`` (files, licences, training ``options``), None if it has none."""
    path = Path(run) / "data.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise NeurorackError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None


def training_options(run: str | Path) -> dict:
    """How the parent trained (steps, batch, crop_frames, rewind_step, ...): from a run folder's
    ``data.json``, else from an exported model folder's card (``model.yaml``: training.options),
    else empty."""
    options = (read_data_info(run) or {}).get("options")
    card = Path(run) / "model.yaml"
    if not options and card.is_file():
        import yaml

        try:
            document = yaml.safe_load(card.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise NeurorackError(f"{card}: not valid YAML ({exc})") from None
        training = document.get("training") if isinstance(document, dict) else None
        options = training.get("options") if isinstance(training, dict) else None
    return dict(options) if isinstance(options, dict) else {}


def load_parent(run: str | Path, *, weights: str | None = None, early: str | None = None,
                data: str | None = None, device: str = "auto", task_options: dict | None = None) -> Parent:
    """Read the dense parent from its run folder (``config.yaml`` + weights files + data cache).

    ``task_options`` go to the family's task (``DescriptorTask`` or ``PercussionTask``); a
    descriptor model ignores the percussion-only ``sound_figures`` and refuses ``distil``.
    """
    from neurorack.core.percussion_config import PercussionConfig
    from neurorack.ml.dataset import load_cache
    from neurorack.runtime.loader import load_config

    run = Path(run)
    if not run.is_dir():
        raise NeurorackError(f"{run}: not a folder (expected the dense parent's run folder)")
    config = load_config(run / "config.yaml")
    weights_path = Path(weights) if weights else run / "weights.safetensors"
    early_path = Path(early) if early else run / "rewind.safetensors"
    data_path = Path(data) if data else run / "dataset.npz"
    options = dict(task_options or {})
    if isinstance(config, PercussionConfig):
        from neurorack.ml.percussion_model import PercussionModel
        from neurorack.ml.trim.percussion_adapter import (
            PercussionAdapter,
            PercussionTask,
        )

        dense, adapter = PercussionModel(config), PercussionAdapter()

        def make_task(data, **kwargs):
            return PercussionTask(data, dense, **kwargs)
    else:
        from neurorack.ml.model import DescriptorModel
        from neurorack.ml.trim.model_adapter import DescriptorAdapter, DescriptorTask

        dense, adapter, make_task = DescriptorModel(config), DescriptorAdapter(), DescriptorTask
        if options.pop("distil", 0.0):
            raise NeurorackError(f"{run / 'config.yaml'}: a descriptor model; --distil applies to percussion "
                                 "models only")
        options.pop("sound_figures", None)
    state = load_weights_file(weights_path, "the dense parent's trained weights")
    snapshot = load_weights_file(early_path, "the early snapshot to rewind to")
    for name, tensors in ((weights_path, state), (early_path, snapshot)):
        expected = {k: tuple(v.shape) for k, v in dense.state_dict().items()}
        got = {k: tuple(v.shape) for k, v in tensors.items()}
        if got != expected:
            wrong = sorted(set(expected) ^ set(got)) or [k for k in expected if expected[k] != got[k]]
            raise NeurorackError(f"{name}: does not fit {run / 'config.yaml'} (first mismatch: {wrong[0]})")
    dense.load_state_dict(state)
    if not data_path.is_file():
        raise NeurorackError(f"{data_path}: dataset cache not found (give it with --data)")
    data_info = read_data_info(run)
    task = make_task(load_cache(data_path), device=resolve_device(device), data_info=data_info, **options)
    description = {"run": run.name, "weights": weights_path.name, "early": early_path.name,
                   "data": data_path.name, "config": config.to_dict()}
    return Parent(dense, snapshot, adapter, task, description)
