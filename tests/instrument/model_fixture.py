"""A tiny exported model for instrument tests, made through the model engineer's export API.

The weights are random but fixed, with the head's harmonic/noise mix biased towards the
harmonic bank, so the output has a clear pitch that tests can measure.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neurorack.atomic import atomic_write_bytes, atomic_write_text
from neurorack.core.architecture import (
    TINY_CONFIG,
    ModelConfig,
    config_yaml,
    expected_shapes,
)
from neurorack.ml.export import export_run


def make_model(folder: Path, name: str = "tiny", seed: int = 0, config: ModelConfig = TINY_CONFIG) -> Path:
    """Export a tiny random model to ``folder`` and return it."""
    from safetensors.numpy import save

    rng = np.random.default_rng(seed)
    weights = {}
    for key, shape in expected_shapes(config).items():
        scale = 1.0 / np.sqrt(shape[-1]) if len(shape) > 1 else 0.1
        weights[key] = (rng.standard_normal(shape) * scale).astype(np.float32)
    k, nb = config.n_harmonics, config.n_noise_bands
    weights["head.bias"][k + nb] = 6.0       # mostly harmonic
    weights["head.bias"][k + nb + 1] = 0.0   # unity gain: the output's level follows the loudness asked
    weights["head.weight"][k + nb:] = 0.0
    run = folder.parent / f"{folder.name}-run"
    run.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(run / "weights.safetensors", save(weights))
    atomic_write_text(run / "config.yaml", config_yaml(config))
    return export_run(run, folder, name=name)
