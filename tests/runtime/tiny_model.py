"""A tiny random model exported the way 'neurorack export' does, for runtime tests."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from neurorack.atomic import atomic_write_text
from neurorack.core.architecture import TINY_CONFIG, ModelConfig, config_yaml
from neurorack.ml.export import export_run
from neurorack.ml.model import DescriptorModel
from neurorack.ml.train import save_weights

LOCKED_TINY_CONFIG = dataclasses.replace(TINY_CONFIG, spectral_lock=True)


def export_tiny(folder: Path, seed: int = 0, config: ModelConfig = TINY_CONFIG) -> tuple[Path, DescriptorModel]:
    """Export a randomly initialised tiny model (``TINY_CONFIG`` unless given) to ``folder/model``;
    return it and the torch model."""
    torch.manual_seed(seed)
    model = DescriptorModel(config).eval()
    with torch.no_grad():  # a louder, more varied head than the default init
        model.head.weight.mul_(4.0)
    run = folder / "run"
    run.mkdir(parents=True, exist_ok=True)
    save_weights(model, run / "weights.safetensors")
    atomic_write_text(run / "config.yaml", config_yaml(config))
    return export_run(run, folder / "model", name="tiny"), model
