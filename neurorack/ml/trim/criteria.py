"""Scores that rank the units of each group (higher = more worth keeping).

- ``magnitude``: the L2 norm of everything that produces the unit (its rows in every
  producer, all gate blocks and biases). Needs no data.
- ``activation``: the mean absolute value of the unit's output over the scoring batches,
  as read by its first probe-able consumer (the input of an ``nn.Linear``, ``nn.Conv1d``
  or ``nn.GRU`` that consumes it).
- ``gradient``: first-order Taylor estimate of the loss change when the unit is cut,
  ``|sum over its consumer weights of w * dL/dw|`` per batch, averaged over batches
  (cutting the unit zeroes exactly those weights).
- ``mi``: the mutual information between the unit's output and the target, per frame.

The MI estimator: frames of the unit's output (time-aligned to the target frames by linear
interpolation when their rates differ) and frames of target features (the task's
``target_features``, e.g. log band energies, shape ``[batch, frames, features]``) are
pooled over all scoring batches, and at most ``max_samples`` frames are drawn without
replacement with a ``torch.Generator`` seeded by ``seed``. Each variable is cut into
``bins`` equal-count bins (quantiles of the subsample); MI is the plug-in estimate from the
joint histogram with the Miller-Madow bias correction ``-(bx-1)(by-1)/(2N)``, in nats,
floored at 0, and averaged over the target features. Dead or constant units score 0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from neurorack.errors import NeurorackError
from neurorack.ml.trim.groups import UnitGroup, UnitSlice

CRITERIA = ("magnitude", "activation", "gradient", "mi")


@dataclass(frozen=True)
class ScoringData:
    """What data-driven criteria need.

    Attributes:
        batches: the scoring batches (any objects the two functions accept).
        loss: ``loss(model, batch) -> scalar tensor``; runs the model forward.
        target_features: ``target_features(batch) -> [batch, frames, features]`` (for ``mi``).
    """

    batches: Sequence
    loss: Callable
    target_features: Callable | None = None


def score_units(model: nn.Module, groups: Sequence[UnitGroup], criterion: str, data: ScoringData | None = None,
                *, seed: int = 0, max_samples: int = 8192, bins: int = 8) -> dict[str, torch.Tensor]:
    """Score every unit of every group.

    Returns:
        group name -> float64 tensor ``[group.size]``.
    """
    if criterion not in CRITERIA:
        raise NeurorackError(f"criterion expected one of {', '.join(CRITERIA)}, got {criterion!r}")
    if criterion == "magnitude":
        return magnitude_scores(model, groups)
    if data is None or not data.batches:
        raise NeurorackError(f"the {criterion} criterion needs scoring batches")
    if criterion == "gradient":
        return gradient_scores(model, groups, data)
    if criterion == "activation":
        activations = _capture(model, groups, data, with_targets=False, seed=seed, max_samples=max_samples)
        return {name: acts.abs().mean(0).double() for name, (acts, _) in activations.items()}
    if data.target_features is None:
        raise NeurorackError("the mi criterion needs target features")
    activations = _capture(model, groups, data, with_targets=True, seed=seed, max_samples=max_samples)
    return {name: mutual_information(acts, targets, bins) for name, (acts, targets) in activations.items()}


def magnitude_scores(model: nn.Module, groups: Sequence[UnitGroup]) -> dict[str, torch.Tensor]:
    state = model.state_dict()
    scores = {}
    for group in groups:
        total = torch.zeros(group.size, dtype=torch.float64)
        for part in group.producers:
            total += _per_unit(state[part.param].detach().double().pow(2), part, group.size)
        scores[group.name] = total.sqrt()
    return scores


def gradient_scores(model: nn.Module, groups: Sequence[UnitGroup], data: ScoringData) -> dict[str, torch.Tensor]:
    params = dict(model.named_parameters())
    scores = {g.name: torch.zeros(g.size, dtype=torch.float64) for g in groups}
    was_training = model.training
    model.eval()
    for batch in data.batches:
        model.zero_grad(set_to_none=True)
        data.loss(model, batch).backward()
        for group in groups:
            taylor = torch.zeros(group.size, dtype=torch.float64)
            for part in group.consumers:
                p = params[part.param]
                if p.grad is not None:
                    taylor += _per_unit((p.detach() * p.grad).double(), part, group.size)
            scores[group.name] += taylor.abs() / len(data.batches)
    model.zero_grad(set_to_none=True)
    model.train(was_training)
    return scores


def _per_unit(values: torch.Tensor, part: UnitSlice, size: int) -> torch.Tensor:
    """Sum of ``values`` over everything except the unit index, per unit, blocks summed."""
    moved = values.movedim(part.dim, 0).reshape(values.shape[part.dim], -1).sum(1)
    out = torch.zeros(size, dtype=torch.float64)
    for unit in range(size):
        out[unit] = moved[part.indices([unit], size)].sum()
    return out


def _probe_for(model: nn.Module, group: UnitGroup) -> tuple[nn.Module, UnitSlice, bool]:
    """Where a group's unit values can be read: ``(module, slice, read its output)``.

    The input of the first consumer that is an ``nn.Linear``, ``nn.Conv1d`` or ``nn.GRU`` (what
    the layers after the unit read); failing that, the output of a producer ``nn.Linear`` or
    ``nn.Conv1d`` (a unit consumed by a bare parameter, such as a wavetable mixed by weights).
    """
    modules = dict(model.named_modules())
    for part in group.consumers:
        prefix, _, leaf = part.param.rpartition(".")
        module = modules.get(prefix)
        if part.dim != 1 or module is None:
            continue
        if isinstance(module, (nn.Linear, nn.Conv1d)) and leaf == "weight":
            return module, part, False
        if isinstance(module, nn.GRU) and leaf.startswith("weight_ih_l0"):
            return module, part, False
    for part in group.producers:
        prefix, _, leaf = part.param.rpartition(".")
        module = modules.get(prefix)
        if part.dim == 0 and leaf == "weight" and isinstance(module, (nn.Linear, nn.Conv1d)):
            return module, part, True
    raise NeurorackError(f"group {group.name}: neither a consumer's input nor a producer's output is an nn.Linear, "
                         f"nn.Conv1d or nn.GRU, so its activations cannot be read; use the magnitude or gradient "
                         f"criterion")


def _as_frames(module: nn.Module, tensor: torch.Tensor) -> torch.Tensor:
    """A consumer's input as ``[batch, frames, features]``."""
    if isinstance(module, nn.Conv1d):
        return tensor.transpose(1, 2) if tensor.dim() == 3 else tensor.T.unsqueeze(0)
    if isinstance(module, nn.GRU) and not module.batch_first and tensor.dim() == 3:
        return tensor.transpose(0, 1)
    if tensor.dim() == 1:
        return tensor.view(1, 1, -1)
    if tensor.dim() == 2:
        return tensor.unsqueeze(1)
    return tensor.reshape(tensor.shape[0], -1, tensor.shape[-1])


def _capture(model, groups, data: ScoringData, *, with_targets: bool, seed: int, max_samples: int):
    """Per group: ``(activations [N, size], targets [N, features] or None)``, subsampled."""
    collected: dict[str, list[torch.Tensor]] = {g.name: [] for g in groups}
    handles = []
    for group in groups:
        module, part, output = _probe_for(model, group)
        index = torch.tensor(part.indices(range(group.size), group.size), dtype=torch.long)

        def hook(mod, inputs, *result, _name=group.name, _index=index, _output=output):
            frames = _as_frames(mod, (result[0] if _output else inputs[0]).detach())
            collected[_name].append(frames.index_select(-1, _index.to(frames.device)).float().cpu())

        handles.append(module.register_forward_hook(hook) if output else module.register_forward_pre_hook(hook))
    targets: list[torch.Tensor] = []
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for batch in data.batches:
                counts = {name: len(chunks) for name, chunks in collected.items()}
                data.loss(model, batch)
                if with_targets:
                    target = data.target_features(batch).detach().float().cpu()
                    targets.append(target)
                    for name, chunks in collected.items():  # one forward may call a module several times
                        new = torch.cat(chunks[counts[name]:], dim=1)
                        del chunks[counts[name]:]
                        chunks.append(_resample_frames(new, target.shape[1]))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    target_rows = torch.cat([t.reshape(-1, t.shape[-1]) for t in targets]) if with_targets else None
    out = {}
    for group in groups:
        rows = torch.cat([c.reshape(-1, c.shape[-1]) for c in collected[group.name]])
        # The same seed draws the same frames for every group (all have the targets' row count).
        choice = subsample(rows.shape[0], max_samples, seed)
        out[group.name] = (rows[choice], target_rows[choice] if with_targets else None)
    return out


def subsample(count: int, cap: int, seed: int) -> torch.Tensor:
    """Row indices: all of ``0..count-1`` if ``count <= cap``, else ``cap`` drawn with ``seed``."""
    if count <= cap:
        return torch.arange(count)
    return torch.randperm(count, generator=torch.Generator().manual_seed(seed))[:cap]


def _resample_frames(frames: torch.Tensor, length: int) -> torch.Tensor:
    """``[batch, frames, units]`` linearly resampled in time to ``length`` frames."""
    if frames.shape[1] == length:
        return frames
    return nn.functional.interpolate(frames.transpose(1, 2), size=length, mode="linear",
                                     align_corners=True).transpose(1, 2)


def _quantile_codes(values: torch.Tensor, bins: int) -> torch.Tensor:
    """Equal-count bin codes ``0..bins-1`` per column of ``values [N, C]``."""
    quantiles = torch.linspace(0, 1, bins + 1, dtype=values.dtype)[1:-1]
    edges = torch.quantile(values, quantiles, dim=0).T.contiguous()  # [C, bins-1]
    return torch.searchsorted(edges, values.T.contiguous(), right=True).T  # [N, C]


def mutual_information(units: torch.Tensor, targets: torch.Tensor, bins: int = 8) -> torch.Tensor:
    """MI in nats between each unit and the target features (see the module docstring).

    Args:
        units: ``[N, units]`` unit outputs.
        targets: ``[N, features]`` target features, same rows.

    Returns:
        float64 ``[units]``: mean over features of the Miller-Madow corrected MI.
    """
    n, count = units.shape
    x = _quantile_codes(units.double(), bins)  # [N, U]
    y = _quantile_codes(targets.double(), bins)  # [N, F]
    x_bins = torch.tensor([torch.unique(x[:, u]).numel() for u in range(count)], dtype=torch.float64)
    total = torch.zeros(count, dtype=torch.float64)
    offsets = (torch.arange(count) * bins * bins).unsqueeze(0)
    for f in range(y.shape[1]):
        joint = torch.bincount((offsets + x * bins + y[:, f:f + 1]).reshape(-1), minlength=count * bins * bins)
        joint = joint.view(count, bins, bins).double() / n
        px = joint.sum(2, keepdim=True)
        py = joint.sum(1, keepdim=True)
        ratio = torch.where(joint > 0, joint / (px * py).clamp_min(1e-300), torch.ones_like(joint))
        plugin = (joint * ratio.log()).sum((1, 2))
        y_bins = torch.unique(y[:, f]).numel()
        total += (plugin - (x_bins - 1) * (y_bins - 1) / (2 * n)).clamp_min(0.0)
    return total / y.shape[1]


def as_mapping(scores: Mapping[str, Iterable[float]]) -> dict[str, list[float]]:
    """Scores as plain lists (for JSON records)."""
    return {name: [float(v) for v in values] for name, values in scores.items()}
