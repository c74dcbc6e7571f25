"""A tiny random model exported the way 'neurorack export' does, for runtime tests."""

from __future__ import annotations

from pathlib import Path

import torch

from neurorack.atomic import atomic_write_text
from neurorack.ml.architecture import TINY_CONFIG, config_yaml
from neurorack.ml.export import export_run
from neurorack.ml.model import DescriptorModel
from neurorack.ml.train import save_weights


def export_tiny(folder: Path, seed: int = 0) -> tuple[Path, DescriptorModel]:
    """Export a randomly initialised TINY_CONFIG model to ``folder/model``; return it and the torch model."""
    torch.manual_seed(seed)
    model = DescriptorModel(TINY_CONFIG).eval()
    with torch.no_grad():  # a louder, more varied head than the default init
        model.head.weight.mul_(4.0)
    run = folder / "run"
    run.mkdir(parents=True, exist_ok=True)
    save_weights(model, run / "weights.safetensors")
    atomic_write_text(run / "config.yaml", config_yaml(TINY_CONFIG))
    return export_run(run, folder / "model", name="tiny"), model
