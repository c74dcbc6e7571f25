"""Physical removal of units: a smaller dense model of the same class, no masks.

The smaller model is rebuilt from a widths config with the removed units subtracted, and
its tensors are filled with the kept slices of the larger one. Loading is strict, so a
declaration that forgets a consumer fails loudly with the parameter's name.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Protocol

import torch
from torch import nn

from neurorack.ml.trim.groups import (
    GroupDeclarationError,
    UnitGroup,
    kept_indices,
    validate_groups,
    with_widths,
)


class TrimAdapter(Protocol):
    """How the trimming code sees a model family (see ``neurorack.ml.trim.model_adapter``)."""

    def widths(self, model: nn.Module):
        """The model's frozen widths dataclass."""

    def groups(self, model: nn.Module) -> Sequence[UnitGroup]:
        """The model's prunable unit groups at its current widths."""

    def rebuild(self, model: nn.Module, widths) -> nn.Module:
        """A freshly initialised model of the same class and settings with ``widths``."""


class SelfDescribingAdapter:
    """For models that carry ``.widths``, ``.unit_groups()`` and ``type(model)(widths)``."""

    def widths(self, model):
        return model.widths

    def groups(self, model):
        return model.unit_groups()

    def rebuild(self, model, widths):
        return type(model)(widths)


def shapes_of(state: Mapping[str, torch.Tensor]) -> dict[str, tuple[int, ...]]:
    return {name: tuple(t.shape) for name, t in state.items()}


def slice_state(state: Mapping[str, torch.Tensor], groups: Sequence[UnitGroup],
                removed: Mapping[str, Sequence[int]]) -> dict[str, torch.Tensor]:
    """``state`` with the units in ``removed`` cut out of every producer and consumer.

    Args:
        state: parameters/buffers of the model that ``groups`` describe.
        removed: group name -> unit ids to delete.

    Returns:
        New contiguous tensors; parameters no group touches are copied unchanged.
    """
    keep = kept_indices(groups, removed, shapes_of(state))
    out = {}
    for name, tensor in state.items():
        tensor = tensor.detach()
        for dim in range(tensor.dim()):
            if (name, dim) in keep:
                tensor = tensor.index_select(dim, torch.tensor(keep[(name, dim)], dtype=torch.long,
                                                               device=tensor.device))
        out[name] = tensor.clone().contiguous()
    return out


def smaller_widths(widths, groups: Sequence[UnitGroup], removed: Mapping[str, Sequence[int]]):
    """``widths`` with each group's field reduced by the number of its removed units."""
    changes = {}
    for group in groups:
        count = len(set(removed.get(group.name, ())))
        if count:
            if group.size - count < group.minimum:
                raise GroupDeclarationError(f"group {group.name}: removing {count} of {group.size} units would go "
                                            f"below its minimum of {group.minimum}")
            changes[group.width_field] = group.size - count
    return with_widths(widths, changes)


def remove_units(model: nn.Module, removed: Mapping[str, Sequence[int]], adapter: TrimAdapter,
                 source_state: Mapping[str, torch.Tensor] | None = None,
                 source_groups: Sequence[UnitGroup] | None = None) -> nn.Module:
    """Build the smaller model without the ``removed`` units.

    Args:
        model: the model to trim (its class, settings and widths are used).
        removed: group name -> unit ids of ``model`` to delete.
        adapter: how to read widths/groups and rebuild.
        source_state: take the kept weights from this state instead of ``model``'s (the
            rewind snapshot); it must be laid out as ``source_groups`` say.
        source_groups: the groups of ``source_state`` with ``removed`` in their unit ids.

    Returns:
        A new model in eval mode; ``model`` is untouched.
    """
    groups = adapter.groups(model)
    state = model.state_dict() if source_state is None else source_state
    layout = groups if source_groups is None else source_groups
    validate_groups(layout, shapes_of(state))
    new_widths = smaller_widths(adapter.widths(model) if source_groups is None else _widths_for(
        adapter.widths(model), layout), layout, removed)
    smaller = adapter.rebuild(model, new_widths)
    sliced = slice_state(state, layout, removed)
    expected = smaller.state_dict()
    for name, tensor in expected.items():
        if name not in sliced:
            raise GroupDeclarationError(f"the rebuilt model has {name}, the source has not")
        if tuple(sliced[name].shape) != tuple(tensor.shape):
            raise GroupDeclarationError(
                f"{name}: after removal the shape is {tuple(sliced[name].shape)} but the model rebuilt from the "
                f"new widths expects {tuple(tensor.shape)}; a unit group misses a producer or consumer")
    smaller.load_state_dict({k: v.to(expected[k].dtype) for k, v in sliced.items()}, strict=True)
    return smaller.eval()


def _widths_for(widths, groups: Sequence[UnitGroup]):
    """``widths`` set to the sizes the groups declare (the snapshot's widths)."""
    return with_widths(widths, {g.width_field: g.size for g in groups})


def masked_copy(model: nn.Module, removed: Mapping[str, Sequence[int]], adapter: TrimAdapter) -> nn.Module:
    """A copy of ``model`` in which the ``removed`` units are masked, not removed.

    Masking zeroes every consumer slice, so nothing downstream reads the unit; the unit
    itself still computes. This is the reference the removal must match exactly.
    """
    masked = copy.deepcopy(model)
    groups = {g.name: g for g in adapter.groups(model)}
    state = masked.state_dict()
    with torch.no_grad():
        for name, units in removed.items():
            group = groups[name]
            for part in group.consumers:
                index = torch.tensor(part.indices(units, group.size), dtype=torch.long)
                state[part.param].index_fill_(part.dim, index, 0.0)
    return masked.eval()


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
