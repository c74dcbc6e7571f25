"""The descriptor-matched filtered-noise baseline, and saving an evaluation with a model.

``neurorack eval`` itself lives in ``neurorack.ml.sound_eval`` (figures) and
``neurorack.ml.sound_metrics`` (definitions); ``noise_baseline`` is one of the imitations it
measures a model against.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from neurorack.core.descriptors import HOP, SAMPLE_RATE
from neurorack.core.synth_tables import band_edges_hz, noise_bands


def noise_baseline(descriptors: np.ndarray, n_bands: int = 32, table_size: int = 65536) -> np.ndarray:
    """Descriptor-matched filtered noise: [T, 5] -> [T * hop] float32.

    Per frame, band amplitudes form a Gaussian bump on a log-frequency axis centred at the
    centroid, with a width of 0.5 + 4 * flatness (in natural-log units of frequency), scaled so
    the RMS follows the loudness; amplitudes ramp across each frame like the model's.
    """
    table = noise_bands(n_bands, table_size, SAMPLE_RATE, 1)
    edges = band_edges_hz(n_bands, SAMPLE_RATE)
    centres = np.log(np.sqrt(edges[:-1] * edges[1:]))
    width = 0.5 + 4.0 * np.clip(descriptors[:, 2:3], 0.0, 1.0)
    bump = np.exp(-0.5 * ((centres[None] - np.log(descriptors[:, 1:2])) / width) ** 2)
    bump /= np.sqrt((bump ** 2).sum(axis=1, keepdims=True))
    amps = bump * 10.0 ** (np.clip(descriptors[:, 0:1], -90.0, 0.0) / 20.0)
    previous = np.concatenate([np.zeros((1, n_bands)), amps[:-1]])
    ramp = np.arange(1, HOP + 1) / HOP
    out = np.empty(len(descriptors) * HOP, dtype=np.float32)
    for t in range(len(descriptors)):
        index = np.arange(t * HOP, (t + 1) * HOP) % table_size
        frame_amps = previous[t] + (amps[t] - previous[t]) * ramp[:, None]
        out[t * HOP:(t + 1) * HOP] = (table[index] * frame_amps).sum(axis=1)
    return out


def write_evaluation(model_dir: str | Path, result: dict, command: str, before: dict | None = None) -> None:
    """Save ``evaluation.json`` in the model folder and copy the model's headline figures (and
    which targets it meets) per split into its card; with ``before`` (the evaluation of the
    model it replaces, on the same sounds), that model's figures too, under ``before``."""
    from neurorack.atomic import atomic_write_text
    from neurorack.ml.export import read_card, write_card

    model_dir = Path(model_dir)
    saved = {**result, "command": command}
    if before is not None:
        saved["before"] = before
    atomic_write_text(model_dir / "evaluation.json", json.dumps(saved, indent=2) + "\n")
    card = read_card(model_dir)
    card["metrics"] = {"command": command, **_card_metrics(result)}
    if before is not None:
        card["metrics"]["before"] = {"model": before["model"], **_card_metrics(before)}
    write_card(model_dir, card)


def _card_metrics(result: dict) -> dict:
    """Per split: the model's figures that have a target, and which targets it meets."""
    from neurorack.ml.sound_eval import TARGETS

    metrics: dict = {}
    for split, figures in result["splits"].items():
        if not figures.get("sounds"):
            metrics[split] = {"sounds": 0}
            continue
        row: dict = {"sounds": figures["sounds"]}
        for section, key, _, target, _ in TARGETS:
            value = figures[section]["model"].get(key)
            if target and isinstance(value, float):
                row[key] = round(value, 4)
        passed = [key for key, by_system in figures["checks"].items() if by_system["model"]]
        row["targets_met"] = f"{len(passed)} of {len(figures['checks'])}"
        row["targets_missed"] = [key for key, by_system in figures["checks"].items() if by_system["model"] is False]
        row["targets_not_measured"] = [key for key, by_system in figures["checks"].items()
                                       if by_system["model"] is None]
        metrics[split] = row
    return metrics
