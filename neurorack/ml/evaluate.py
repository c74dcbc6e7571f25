"""Saving an evaluation with a model: ``evaluation.json`` and the headline figures in its card.

``neurorack eval`` itself lives in ``neurorack.ml.sound_eval`` (figures) and
``neurorack.ml.sound_metrics`` (definitions); the imitations it measures a model against are
in ``neurorack.ml.baselines``.
"""

from __future__ import annotations

import json
from pathlib import Path


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
