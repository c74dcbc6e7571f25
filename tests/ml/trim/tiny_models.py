"""Tiny models, one per unit-group kind, that declare their own groups.

Each maps descriptor-like frames ``[batch, frames, 4]`` to ``[batch, frames, 3]``, has a
frozen ``widths`` dataclass and is rebuilt by ``type(model)(widths)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from neurorack.ml.trim.groups import (
    UnitGroup,
    UnitSlice,
    gru_slices,
    input_slice,
    linear_slices,
)

IN, OUT = 4, 3


@dataclass(frozen=True)
class ChainWidths:
    first: int = 12
    second: int = 10


class LinearChain(nn.Module):
    """Linear -> ReLU -> Linear -> tanh -> Linear: two plain linear groups."""

    def __init__(self, widths: ChainWidths = ChainWidths()):
        super().__init__()
        self.widths = widths
        self.a = nn.Linear(IN, widths.first)
        self.b = nn.Linear(widths.first, widths.second)
        self.c = nn.Linear(widths.second, OUT)

    def forward(self, x):
        return self.c(torch.tanh(self.b(torch.relu(self.a(x)))))

    def unit_groups(self):
        w = self.widths
        return [UnitGroup("first", "linear", "first", w.first, linear_slices("a"), (input_slice("b"),), minimum=2),
                UnitGroup("second", "linear", "second", w.second, linear_slices("b"), (input_slice("c"),), minimum=3)]


@dataclass(frozen=True)
class ConvWidths:
    channels: int = 10


class ConvNet(nn.Module):
    """Conv1d(k=3) -> ReLU -> Conv1d(k=1) over frames: a conv channel group."""

    def __init__(self, widths: ConvWidths = ConvWidths()):
        super().__init__()
        self.widths = widths
        self.a = nn.Conv1d(IN, widths.channels, 3, padding=1)
        self.b = nn.Conv1d(widths.channels, OUT, 1)

    def forward(self, x):
        return self.b(torch.relu(self.a(x.transpose(1, 2)))).transpose(1, 2)

    def unit_groups(self):
        return [UnitGroup("channels", "conv", "channels", self.widths.channels, linear_slices("a"),
                          (input_slice("b"),), minimum=2)]


@dataclass(frozen=True)
class GatedWidths:
    gated: int = 9


class GatedNet(nn.Module):
    """Linear to 2H -> a * sigmoid(b) -> Linear: a gated pair."""

    def __init__(self, widths: GatedWidths = GatedWidths()):
        super().__init__()
        self.widths = widths
        self.a = nn.Linear(IN, 2 * widths.gated)
        self.b = nn.Linear(widths.gated, OUT)

    def forward(self, x):
        value, gate = self.a(x).chunk(2, dim=-1)
        return self.b(value * torch.sigmoid(gate))

    def unit_groups(self):
        return [UnitGroup("gated", "gated", "gated", self.widths.gated, linear_slices("a", blocks=2),
                          (input_slice("b"),), minimum=2)]


@dataclass(frozen=True)
class ResidualWidths:
    stream: int = 8
    hidden: int = 11


class ResidualNet(nn.Module):
    """x = in(x); x = x + l2(relu(l1(x))); out(x): a residual coupling and a hidden group."""

    def __init__(self, widths: ResidualWidths = ResidualWidths()):
        super().__init__()
        self.widths = widths
        self.inp = nn.Linear(IN, widths.stream)
        self.l1 = nn.Linear(widths.stream, widths.hidden)
        self.l2 = nn.Linear(widths.hidden, widths.stream)
        self.out = nn.Linear(widths.stream, OUT)

    def forward(self, x):
        x = self.inp(x)
        x = x + self.l2(torch.relu(self.l1(x)))
        return self.out(x)

    def unit_groups(self):
        w = self.widths
        return [UnitGroup("stream", "residual", "stream", w.stream, linear_slices("inp") + linear_slices("l2"),
                          (input_slice("l1"), input_slice("out")), minimum=2),
                UnitGroup("hidden", "linear", "hidden", w.hidden, linear_slices("l1"), (input_slice("l2"),))]


@dataclass(frozen=True)
class GruWidths:
    hidden: int = 7


class GruNet(nn.Module):
    """GRU -> Linear: GRU hidden units with their three gate blocks."""

    def __init__(self, widths: GruWidths = GruWidths()):
        super().__init__()
        self.widths = widths
        self.gru = nn.GRU(IN, widths.hidden, batch_first=True)
        self.out = nn.Linear(widths.hidden, OUT)

    def forward(self, x):
        return self.out(self.gru(x)[0])

    def unit_groups(self):
        producers, recurrent = gru_slices("gru")
        return [UnitGroup("hidden", "gru", "hidden", self.widths.hidden, producers,
                          recurrent + (input_slice("out"),), minimum=2)]


@dataclass(frozen=True)
class SynthWidths:
    embed: int = 16
    hidden: int = 16
    gated: int = 12
    stream: int = 10


class TinySynth(nn.Module):
    """All kinds at once: Linear -> GRU -> concat(GRU, x) gated pair -> residual -> head.

    The gated layer reads ``[gru output, input frames]``, so the GRU group's consumer
    there is a concatenated input at offset 0.
    """

    def __init__(self, widths: SynthWidths = SynthWidths()):
        super().__init__()
        self.widths = widths
        self.embed = nn.Linear(IN, widths.embed)
        self.gru = nn.GRU(widths.embed, widths.hidden, batch_first=True)
        self.gate = nn.Linear(widths.hidden + IN, 2 * widths.gated)
        self.inp = nn.Linear(widths.gated, widths.stream)
        self.res = nn.Conv1d(widths.stream, widths.stream, 3, padding=2)
        self.out = nn.Linear(widths.stream, OUT)

    def forward(self, x):
        frames = x.shape[1]
        h = self.gru(torch.relu(self.embed(x)))[0]
        value, gate = self.gate(torch.cat([h, x], dim=-1)).chunk(2, dim=-1)
        s = self.inp(value * torch.sigmoid(gate))
        s = s + self.res(torch.tanh(s).transpose(1, 2))[..., :frames].transpose(1, 2)
        return self.out(s)

    def unit_groups(self):
        w = self.widths
        producers, recurrent = gru_slices("gru")
        return [
            UnitGroup("embed", "linear", "embed", w.embed, linear_slices("embed"), (UnitSlice("gru.weight_ih_l0", 1),),
                      minimum=2),
            UnitGroup("hidden", "gru", "hidden", w.hidden, producers, recurrent + (input_slice("gate"),), minimum=2),
            UnitGroup("gated", "gated", "gated", w.gated, linear_slices("gate", blocks=2), (input_slice("inp"),),
                      minimum=2),
            UnitGroup("stream", "residual", "stream", w.stream, linear_slices("inp") + linear_slices("res"),
                      (input_slice("res"), input_slice("out")), minimum=2),
        ]


ALL_KINDS = {"linear": LinearChain, "conv": ConvNet, "gated": GatedNet, "residual": ResidualNet, "gru": GruNet,
             "all": TinySynth}


def frames(batch: int = 3, length: int = 20, seed: int = 0) -> torch.Tensor:
    """Random input frames ``[batch, length, 4]``."""
    return torch.randn(batch, length, IN, generator=torch.Generator().manual_seed(seed))
