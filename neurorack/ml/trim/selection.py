"""Which units to remove this round, given their scores.

Scores are first normalised per group (per layer): each is divided by its group's mean
score, so a unit's value says "how much it matters compared with its neighbours" and
groups with large weights or activations are not spared for that reason alone.

- ``global``: all units of all groups compete; the lowest normalised scores go first,
  ``round(rate * removable)`` of them, where *removable* counts units above each group's
  minimum. A group that reaches its minimum stops giving units.
- ``local``: every group gives ``round(rate * size)`` of its own lowest units (at least
  one while above its minimum), never going below its minimum.

Ties break by group order, then unit index, so the same scores always pick the same units.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from neurorack.errors import NeurorackError
from neurorack.ml.trim.groups import UnitGroup

SCOPES = ("global", "local")


def normalise_per_group(scores: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Each group's scores divided by their mean (all-zero groups stay zero)."""
    out = {}
    for name, values in scores.items():
        values = values.double()
        mean = values.abs().mean()
        out[name] = values / mean if mean > 0 else torch.zeros_like(values)
    return out


def select_units(groups: Sequence[UnitGroup], scores: Mapping[str, torch.Tensor], rate: float,
                 scope: str) -> dict[str, list[int]]:
    """The units to remove, per group name (sorted ids; groups that lose none are absent).

    Raises:
        NeurorackError: a bad rate or scope, or every group already at its minimum.
    """
    if not 0 < rate < 1:
        raise NeurorackError(f"rate expected a fraction between 0 and 1, got {rate}")
    if scope not in SCOPES:
        raise NeurorackError(f"scope expected one of {', '.join(SCOPES)}, got {scope!r}")
    for group in groups:
        if group.name not in scores or scores[group.name].numel() != group.size:
            raise NeurorackError(f"group {group.name}: expected {group.size} scores")
    removable = sum(g.size - g.minimum for g in groups)
    if removable == 0:
        raise NeurorackError("every unit group is at its minimum; nothing left to trim")
    normalised = normalise_per_group({g.name: scores[g.name] for g in groups})
    if scope == "local":
        chosen = {}
        for group in groups:
            count = min(max(round(rate * group.size), 1), group.size - group.minimum)
            if count > 0:
                order = _stable_order(normalised[group.name])
                chosen[group.name] = sorted(order[:count])
        return chosen
    target = max(1, round(rate * removable))
    candidates = sorted((float(normalised[g.name][u]), gi, u)
                        for gi, g in enumerate(groups) for u in range(g.size))
    left = {g.name: g.size for g in groups}
    chosen: dict[str, list[int]] = {}
    for _, gi, unit in candidates:
        group = groups[gi]
        if left[group.name] <= group.minimum:
            continue
        left[group.name] -= 1
        chosen.setdefault(group.name, []).append(unit)
        target -= 1
        if target == 0:
            break
    return {name: sorted(units) for name, units in chosen.items()}


def _stable_order(values: torch.Tensor) -> list[int]:
    return sorted(range(values.numel()), key=lambda u: (float(values[u]), u))
