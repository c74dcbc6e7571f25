"""Prunable unit groups: which tensor slices produce a unit and which consume it.

A *unit* is one neuron, channel or GRU hidden unit. Removing it means deleting every
slice that computes it (the *producers*: weight rows, biases, gate blocks) and every
slice that reads it (the *consumers*: the input columns of the layers after it, the
recurrent columns of a GRU). A model declares its groups as data; the trimming code
never knows the architecture.

Layouts a slice can describe (``size`` is the group's width ``H``)::

    plain rows/columns     units u at  offset + u                     (blocks=1)
    gated pair a*sigmoid(b) units u at offset + u and offset + H + u  (blocks=2, a GLU)
    GRU gate blocks r,z,n   units u at offset + k*H + u, k = 0,1,2    (blocks=3)
    concatenated input     units u at offset + u, offset = width of what comes before

A group's ``width_field`` names a field of the model's widths config: a whole number
(``"gru_width"``), or one element of a list or tuple field (``"wavenet_gates[2]"``: per-layer
widths of a stack whose layers are trimmed each on its own); ``width_of`` reads it and
``with_widths`` replaces it.

A *residual coupling* is one group whose producers are every layer that writes into the
residual stream and whose consumers are every layer that reads it: its channels can only
go all together.

Depthwise or grouped convolutions and normalisations across the unit dimension are not
describable this way; declare such widths as not prunable (no group).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace

from neurorack.errors import NeurorackError

GROUP_KINDS = ("linear", "conv", "gated", "gru", "residual", "gated_residual")


class GroupDeclarationError(NeurorackError):
    """A model's unit-group declaration does not match its parameters."""


_INDEXED = re.compile(r"(\w+)\[(\d+)\]")


def _split_field(width_field: str) -> tuple[str, int | None]:
    """``"gates[2]"`` -> ``("gates", 2)``; ``"gru_width"`` -> ``("gru_width", None)``."""
    match = _INDEXED.fullmatch(width_field)
    return (match.group(1), int(match.group(2))) if match else (width_field, None)


def has_width(widths, width_field: str) -> bool:
    """Whether ``width_field`` names a field of ``widths`` (an indexed one: an element of its list)."""
    name, index = _split_field(width_field)
    if name not in {f.name for f in fields(widths)}:
        return False
    if index is None:
        return True
    value = getattr(widths, name)
    return isinstance(value, (list, tuple)) and index < len(value)


def width_of(widths, width_field: str) -> int:
    """The value of ``width_field`` in ``widths`` (an element of a list field when indexed)."""
    name, index = _split_field(width_field)
    value = getattr(widths, name)
    return value if index is None else value[index]


def with_widths(widths, changes: Mapping[str, int]):
    """``widths`` with each ``width_field`` of ``changes`` set; list and tuple fields get a new
    list or tuple with the indexed elements replaced (the others kept)."""
    plain, lists = {}, {}
    for width_field, value in changes.items():
        name, index = _split_field(width_field)
        if index is None:
            plain[name] = value
        else:
            lists.setdefault(name, list(getattr(widths, name)))[index] = value
    for name, values in lists.items():
        plain[name] = type(getattr(widths, name))(values)
    return replace(widths, **plain)


@dataclass(frozen=True)
class UnitSlice:
    """Where the units of a group sit in one parameter.

    Attributes:
        param: the parameter's ``state_dict`` key, e.g. ``"decoder.0.weight"``.
        dim: the tensor dimension that indexes units (0: output rows, 1: input columns).
        offset: index of unit 0 of block 0 in that dimension.
        blocks: how many copies of the units lie side by side (2 for a gated pair,
            3 for GRU gates).
        block_stride: distance between blocks; ``None`` means the group's width.
    """

    param: str
    dim: int
    offset: int = 0
    blocks: int = 1
    block_stride: int | None = None

    def indices(self, units: Iterable[int], size: int) -> list[int]:
        """Indices along ``dim`` of ``units`` (ids in ``0..size-1``) in every block, sorted."""
        stride = size if self.block_stride is None else self.block_stride
        units = list(units)
        return sorted(self.offset + block * stride + unit for block in range(self.blocks) for unit in units)


@dataclass(frozen=True)
class UnitGroup:
    """A set of units removed together, with everything that produces and consumes them.

    Attributes:
        name: stable across widths (rounds refer to groups by name).
        kind: one of ``GROUP_KINDS``; documents the structure, the code treats all alike.
        width_field: the field of the model's widths config that holds ``size``.
        size: current number of units ``H``.
        producers: slices that compute each unit.
        consumers: slices that read each unit.
        minimum: fewest units trimming may leave.
    """

    name: str
    kind: str
    width_field: str
    size: int
    producers: tuple[UnitSlice, ...]
    consumers: tuple[UnitSlice, ...]
    minimum: int = 1

    def __post_init__(self):
        if self.kind not in GROUP_KINDS:
            raise GroupDeclarationError(f"group {self.name}: kind expected one of {', '.join(GROUP_KINDS)}, "
                                        f"got {self.kind!r}")
        if not 1 <= self.minimum <= self.size:
            raise GroupDeclarationError(f"group {self.name}: minimum expected 1..{self.size}, got {self.minimum}")
        if not self.producers or not self.consumers:
            raise GroupDeclarationError(f"group {self.name}: needs at least one producer and one consumer")

    @property
    def slices(self) -> tuple[UnitSlice, ...]:
        return self.producers + self.consumers


def linear_slices(prefix: str, *, bias: bool = True, blocks: int = 1) -> tuple[UnitSlice, ...]:
    """Producer slices of ``nn.Linear``/``nn.Conv1d`` ``prefix`` (its output rows)."""
    out = [UnitSlice(f"{prefix}.weight", 0, blocks=blocks)]
    if bias:
        out.append(UnitSlice(f"{prefix}.bias", 0, blocks=blocks))
    return tuple(out)


def input_slice(prefix: str, offset: int = 0) -> UnitSlice:
    """Consumer slice: the input columns of ``nn.Linear``/``nn.Conv1d`` ``prefix``."""
    return UnitSlice(f"{prefix}.weight", 1, offset=offset)


def gru_slices(prefix: str, *, bias: bool = True, layer: int = 0) -> tuple[tuple[UnitSlice, ...], tuple[UnitSlice, ...]]:
    """``(producers, own consumers)`` of the hidden units of ``nn.GRU`` ``prefix`` (one layer).

    Producers: the r, z, n rows of ``weight_ih``, ``weight_hh`` and both biases.
    Own consumers: the columns of ``weight_hh`` (the recurrence reads the hidden state).
    Add the layers after the GRU as further consumers.
    """
    suffix = f"_l{layer}"
    producers = [UnitSlice(f"{prefix}.weight_ih{suffix}", 0, blocks=3),
                 UnitSlice(f"{prefix}.weight_hh{suffix}", 0, blocks=3)]
    if bias:
        producers += [UnitSlice(f"{prefix}.bias_ih{suffix}", 0, blocks=3),
                      UnitSlice(f"{prefix}.bias_hh{suffix}", 0, blocks=3)]
    return tuple(producers), (UnitSlice(f"{prefix}.weight_hh{suffix}", 1),)


def validate_groups(groups: Sequence[UnitGroup], shapes: Mapping[str, Sequence[int]], widths=None) -> None:
    """Check a declaration against parameter shapes (and the widths config, if given).

    Raises:
        GroupDeclarationError: naming the group and parameter: an unknown parameter, an
            index out of range, two groups claiming one index, a duplicate name, or a size
            that differs from the widths config.
    """
    claimed: dict[tuple[str, int, int], str] = {}
    names = set()
    for group in groups:
        if group.name in names:
            raise GroupDeclarationError(f"two groups are named {group.name}")
        names.add(group.name)
        if widths is not None:
            if not has_width(widths, group.width_field):
                raise GroupDeclarationError(f"group {group.name}: width_field {group.width_field!r} is not a field "
                                            f"of {type(widths).__name__}")
            if width_of(widths, group.width_field) != group.size:
                raise GroupDeclarationError(f"group {group.name}: size {group.size} but "
                                            f"{group.width_field} = {width_of(widths, group.width_field)}")
        for part in group.slices:
            if part.param not in shapes:
                raise GroupDeclarationError(f"group {group.name}: no parameter named {part.param}")
            shape = shapes[part.param]
            if not 0 <= part.dim < len(shape):
                raise GroupDeclarationError(f"group {group.name}: {part.param} has no dimension {part.dim}")
            for index in part.indices(range(group.size), group.size):
                if not 0 <= index < shape[part.dim]:
                    raise GroupDeclarationError(f"group {group.name}: index {index} is outside {part.param} "
                                                f"dimension {part.dim} (size {shape[part.dim]})")
                key = (part.param, part.dim, index)
                if key in claimed and claimed[key] != group.name:
                    raise GroupDeclarationError(f"{part.param} dimension {part.dim} index {index} is claimed by "
                                                f"groups {claimed[key]} and {group.name}")
                claimed[key] = group.name


def kept_indices(groups: Sequence[UnitGroup], removed: Mapping[str, Iterable[int]],
                 shapes: Mapping[str, Sequence[int]]) -> dict[tuple[str, int], list[int]]:
    """For every ``(param, dim)`` that loses indices, the indices that stay (sorted).

    Args:
        groups: the declaration of the model the shapes belong to.
        removed: group name -> unit ids (in that model) to remove.
        shapes: parameter name -> shape.
    """
    drop: dict[tuple[str, int], set[int]] = {}
    by_name = {g.name: g for g in groups}
    for name, units in removed.items():
        units = sorted(set(units))
        if not units:
            continue
        if name not in by_name:
            raise GroupDeclarationError(f"no unit group named {name}")
        group = by_name[name]
        for part in group.slices:
            drop.setdefault((part.param, part.dim), set()).update(part.indices(units, group.size))
    return {key: [i for i in range(shapes[key[0]][key[1]]) if i not in gone] for key, gone in drop.items()}
