"""A tiny percussion model exported the way 'neurorack export' does, for core and runtime tests."""

from __future__ import annotations

from pathlib import Path

import torch

from neurorack.atomic import atomic_write_text
from neurorack.core.percussion_config import (
    TINY_PERCUSSION,
    PercussionConfig,
    config_yaml,
)
from neurorack.ml.export import export_run
from neurorack.ml.percussion_model import PercussionModel
from neurorack.ml.train import save_weights


def export_percussion(folder: Path, model: PercussionModel | None = None, seed: int = 0,
                      config: PercussionConfig = TINY_PERCUSSION) -> tuple[Path, PercussionModel]:
    """Export ``model`` (default: ``lively(config, seed)``) to ``folder/model``."""
    if model is None:
        model = lively(config, seed)
    run = folder / "run"
    run.mkdir(parents=True, exist_ok=True)
    save_weights(model, run / "weights.safetensors")
    atomic_write_text(run / "config.yaml", config_yaml(model.config))
    return export_run(run, folder / "model", name="tiny-percussion"), model


def lively(config: PercussionConfig = TINY_PERCUSSION, seed: int = 0) -> PercussionModel:
    """A randomly initialised model of ``config`` with every weight nudged, so that every unit
    matters to the sound (a fresh model leaves some outputs near zero)."""
    torch.manual_seed(seed)
    model = PercussionModel(config).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.2 * torch.randn_like(parameter))
    return model


def silenced(config: PercussionConfig = TINY_PERCUSSION) -> PercussionModel:
    """A tiny model whose every weight is zero: its outputs are set through biases alone."""
    model = PercussionModel(config).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.zero_()
    return model
