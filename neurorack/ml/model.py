"""The descriptor-conditioned streaming model: a small causal decoder plus DDSP-style synthesis.

Data flow per frame (hop = 256 samples at 48 kHz, 5.3 ms)::

    descriptors [B, T, 5] (raw units, DESCRIPTOR_NAMES)
      -> normalise (fixed ranges)                                   [B, T, 5]
      -> input:    Linear(5 -> input_width), ReLU                    [B, T, input_width]
      -> gru:      GRU(input_width -> gru_width)                     [B, T, gru_width]
      -> trunk:    Linear(gru_width -> 2 * trunk_width), GLU         [B, T, trunk_width]
      -> residual: trunk += Linear(residual_width -> trunk_width)(ReLU(Linear(trunk_width -> residual_width)(trunk)))
      -> head:     Linear(trunk_width -> K + Nb + 2)                 [B, T, K + Nb + 2]
      -> controls: harmonic amps [B, T, K], noise amps [B, T, Nb], f0 = pitch_hz [B, T]
      -> synth (neurorack.ml.synth)                                  audio [B, T * hop]

The overall level follows the loudness descriptor directly (amplitude = 10^(dB/20) times a
learned correction within +-13 dB) and the harmonic bank plays the pitch descriptor, so both
stay controllable; the network shapes the spectrum (harmonic/noise balance and distributions).

Trimming contract: ``ModelConfig`` holds every width, so a trimmed model of the same class is
rebuilt from its config; ``UNIT_GROUPS`` declares which tensor slices make and use each unit;
``shrink_state`` physically removes units from a state dict and returns the smaller config.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from neurorack.config.schema import between, setting
from neurorack.errors import NeurorackError
from neurorack.ml.descriptors import (
    DESCRIPTOR_NAMES,
    DESCRIPTOR_RANGES,
    HOP,
    SAMPLE_RATE,
)
from neurorack.ml.synth import SynthState, initial_synth_state, noise_table, synthesize

MAX_GAIN_NEPERS = 1.5  # the learned level correction stays within exp(+-1.5), about +-13 dB


def _positive(value: int) -> str | None:
    return None if value >= 1 else f"expected a whole number of at least 1, got {value!r}"


@dataclass(frozen=True)
class ModelConfig:
    """Every size of the model. Saved as ``config.yaml`` beside the weights.

    Widths are the number of units in each prunable group (see ``UNIT_GROUPS``).
    """

    sample_rate: int = setting(SAMPLE_RATE, "Audio sample rate in Hz.", choices=(SAMPLE_RATE,))
    hop: int = setting(HOP, "Samples per descriptor frame.", choices=(HOP,))
    descriptors: list[str] = setting(  # noqa: RUF009 (setting() returns a dataclasses.field)
        default_factory=lambda: list(DESCRIPTOR_NAMES), help="Descriptor names, in input order.")
    input_width: int = setting(64, "Units of the input layer.", check=_positive)
    gru_width: int = setting(256, "Hidden units of the GRU.", check=_positive)
    trunk_width: int = setting(256, "Units of the gated trunk (GLU output, residual stream).", check=_positive)
    residual_width: int = setting(256, "Inner units of the residual block.", check=_positive)
    n_harmonics: int = setting(48, "Harmonics in the harmonic bank.", check=between(1, 256))
    n_noise_bands: int = setting(32, "Bands of filtered noise.", check=between(1, 128))
    noise_table_size: int = setting(65536, "Length of the looping noise table in samples.",
                                    check=between(1024, 1 << 20))
    noise_seed: int = setting(0, "Seed of the noise table.")

    def widths(self) -> dict[str, int]:
        """Units per prunable group: ``{group name: width}``."""
        return {group.name: getattr(self, group.width_field) for group in UNIT_GROUPS}

    def with_widths(self, widths: dict[str, int]) -> ModelConfig:
        """The same config with some group widths replaced (``{group name: width}``)."""
        fields = {group.name: group.width_field for group in UNIT_GROUPS}
        return dataclasses.replace(self, **{fields[name]: int(width) for name, width in widths.items()})

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


TINY_CONFIG = ModelConfig(input_width=8, gru_width=16, trunk_width=16, residual_width=8, n_harmonics=8,
                          n_noise_bands=8, noise_table_size=4096)
"""A model small enough for unit tests (about 3k parameters)."""


# ---- prunable unit groups -------------------------------------------------------------------

LINEAR = "linear"
"""Plain units: each unit is one output row of its producers and one input column of its consumers."""
GRU = "gru"
"""GRU hidden units: each unit owns one row in each of the 3 gate blocks (reset, update, new) of
``weight_ih``/``weight_hh``/biases, and one input column of ``weight_hh`` (the recurrence)."""
GATED_RESIDUAL = "gated_residual"
"""A residual stream made by a GLU: each unit owns a pair of rows (value, gate; 2 blocks) in the
GLU layer, one output row of the residual block's last layer (the residual coupling: both add
into the same unit) and one input column of every consumer of the stream."""


@dataclass(frozen=True)
class TensorSlice:
    """Where a unit lives in one parameter tensor.

    Attributes:
        param: the state-dict key.
        dim: the dimension indexed by the unit.
        blocks: how many equal blocks that dimension holds (3 for GRU gates, 2 for a GLU
            pair, else 1); unit ``i`` is index ``b * width + i`` in every block ``b``.
    """

    param: str
    dim: int
    blocks: int = 1

    def indices(self, keep: np.ndarray, width: int) -> np.ndarray:
        """Indices along ``dim`` to keep when the group keeps units ``keep`` of ``width``."""
        return np.concatenate([block * width + np.asarray(keep) for block in range(self.blocks)])


@dataclass(frozen=True)
class UnitGroup:
    """A set of units removed together, and every tensor slice they touch.

    Attributes:
        name: the group's name (also the key of ``ModelConfig.widths()``).
        kind: LINEAR, GRU or GATED_RESIDUAL.
        width_field: the ``ModelConfig`` field holding the group's width.
        producers: slices that compute each unit (rows; biases).
        consumers: slices that read each unit (input columns).
        min_units: never keep fewer units than this.
    """

    name: str
    kind: str
    width_field: str
    producers: tuple[TensorSlice, ...]
    consumers: tuple[TensorSlice, ...]
    min_units: int


UNIT_GROUPS: tuple[UnitGroup, ...] = (
    UnitGroup("input", LINEAR, "input_width",
              producers=(TensorSlice("input.weight", 0), TensorSlice("input.bias", 0)),
              consumers=(TensorSlice("gru.weight_ih_l0", 1),), min_units=2),
    UnitGroup("gru", GRU, "gru_width",
              producers=(TensorSlice("gru.weight_ih_l0", 0, 3), TensorSlice("gru.weight_hh_l0", 0, 3),
                         TensorSlice("gru.bias_ih_l0", 0, 3), TensorSlice("gru.bias_hh_l0", 0, 3)),
              consumers=(TensorSlice("gru.weight_hh_l0", 1), TensorSlice("trunk.weight", 1)), min_units=4),
    UnitGroup("trunk", GATED_RESIDUAL, "trunk_width",
              producers=(TensorSlice("trunk.weight", 0, 2), TensorSlice("trunk.bias", 0, 2),
                         TensorSlice("residual_out.weight", 0), TensorSlice("residual_out.bias", 0)),
              consumers=(TensorSlice("residual_in.weight", 1), TensorSlice("head.weight", 1)), min_units=4),
    UnitGroup("residual", LINEAR, "residual_width",
              producers=(TensorSlice("residual_in.weight", 0), TensorSlice("residual_in.bias", 0)),
              consumers=(TensorSlice("residual_out.weight", 1),), min_units=2),
)


def shrink_state(state: dict[str, torch.Tensor], config: ModelConfig,
                 keep: dict[str, np.ndarray]) -> tuple[dict[str, torch.Tensor], ModelConfig]:
    """Physically remove units: smaller tensors, not masks.

    Args:
        state: a state dict of a ``DescriptorModel`` built from ``config``.
        keep: ``{group name: sorted indices of the units to keep}``; absent groups keep all.

    Returns:
        The smaller state dict and the config it loads into.
    """
    widths = config.widths()
    out = {name: tensor.clone() for name, tensor in state.items()}
    for group in UNIT_GROUPS:
        if group.name not in keep:
            continue
        kept = np.unique(np.asarray(keep[group.name], dtype=np.int64))
        width = widths[group.name]
        if len(kept) < group.min_units or (len(kept) and (kept[0] < 0 or kept[-1] >= width)):
            raise ValueError(f"group {group.name}: keep {len(kept)} units within 0..{width - 1}, "
                             f"at least {group.min_units}")
        for piece in group.producers + group.consumers:
            index = torch.from_numpy(piece.indices(kept, width))
            out[piece.param] = out[piece.param].index_select(piece.dim, index.to(out[piece.param].device))
        widths[group.name] = len(kept)
    return out, config.with_widths(widths)


# ---- the model --------------------------------------------------------------------------------

class ModelState(NamedTuple):
    """Streaming state of the whole model: the GRU hidden state [1, B, gru_width] and the synth's."""

    hidden: torch.Tensor
    synth: SynthState


class DescriptorModel(nn.Module):
    """Descriptor frames in, 48 kHz audio out, causally and with explicit state.

    Args:
        config: the sizes; ``ModelConfig()`` is the shipped dense model, ``TINY_CONFIG`` for tests.
    """

    def __init__(self, config: ModelConfig = ModelConfig()):
        super().__init__()
        if tuple(config.descriptors) != DESCRIPTOR_NAMES:
            raise NeurorackError(f"model descriptors {config.descriptors} differ from this version's "
                                 f"{list(DESCRIPTOR_NAMES)}")
        self.config = config
        n_in = len(DESCRIPTOR_NAMES)
        self.input = nn.Linear(n_in, config.input_width)
        self.gru = nn.GRU(config.input_width, config.gru_width, batch_first=True)
        self.trunk = nn.Linear(config.gru_width, 2 * config.trunk_width)
        self.residual_in = nn.Linear(config.trunk_width, config.residual_width)
        self.residual_out = nn.Linear(config.residual_width, config.trunk_width)
        self.head = nn.Linear(config.trunk_width, config.n_harmonics + config.n_noise_bands + 2)
        ranges = DESCRIPTOR_RANGES
        self.register_buffer("range_low", torch.tensor([r.low for r in ranges]), persistent=False)
        self.register_buffer("range_high", torch.tensor([r.high for r in ranges]), persistent=False)
        self.register_buffer("range_log", torch.tensor([r.log for r in ranges]), persistent=False)
        self.register_buffer("noise_table", noise_table(config.n_noise_bands, config.noise_table_size,
                                                        config.sample_rate, config.noise_seed), persistent=False)

    def initial_state(self, batch: int = 1) -> ModelState:
        """Silence and a zero GRU state."""
        device = self.head.weight.device
        return ModelState(torch.zeros(1, batch, self.config.gru_width, device=device),
                          initial_synth_state(batch, self.config.n_harmonics, self.config.n_noise_bands, device))

    def normalise(self, descriptors: torch.Tensor) -> torch.Tensor:
        """Raw descriptors [B, T, 5] -> about -1..1 each (log scale for frequencies)."""
        clipped = torch.minimum(torch.maximum(descriptors, self.range_low), self.range_high)
        log = self.range_log.bool()
        values = torch.where(log, torch.log(clipped.clamp_min(1e-12)), clipped)
        low = torch.where(log, torch.log(self.range_low.clamp_min(1e-12)), self.range_low)
        high = torch.where(log, torch.log(self.range_high), self.range_high)
        return 2.0 * (values - low) / (high - low) - 1.0

    def decode(self, descriptors: torch.Tensor, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The network: raw descriptors [B, T, 5], hidden [1, B, G] -> head outputs [B, T, K + Nb + 2], hidden."""
        x = torch.relu(self.input(self.normalise(descriptors)))
        x, hidden = self.gru(x, hidden)
        x = nn.functional.glu(self.trunk(x), dim=-1)
        x = x + self.residual_out(torch.relu(self.residual_in(x)))
        return self.head(x), hidden

    def controls(self, head: torch.Tensor, descriptors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Head outputs [B, T, K + Nb + 2] -> harmonic amps [B, T, K], noise amps [B, T, Nb], f0 [B, T] Hz."""
        k, nb = self.config.n_harmonics, self.config.n_noise_bands
        level = torch.pow(10.0, descriptors[..., 0].clamp(-90.0, 0.0) / 20.0)
        level = level * torch.exp(MAX_GAIN_NEPERS * torch.tanh(head[..., k + nb + 1]))
        mix = torch.sigmoid(head[..., k + nb])
        harmonic_amps = torch.softmax(head[..., :k], dim=-1) * (level * mix * 2.0 ** 0.5).unsqueeze(-1)
        noise_amps = torch.softmax(head[..., k:k + nb], dim=-1) * (level * (1.0 - mix)).unsqueeze(-1)
        f0 = descriptors[..., 3].clamp(float(self.range_low[3]), float(self.range_high[3]))
        return harmonic_amps, noise_amps, f0

    def forward(self, descriptors: torch.Tensor, state: ModelState | None = None) -> tuple[torch.Tensor, ModelState]:
        """Render descriptor frames.

        Args:
            descriptors: [B, T, 5] raw descriptors (``DESCRIPTOR_NAMES`` order and units).
            state: from the previous call; None starts from silence.

        Returns:
            audio [B, T * hop] at ``sample_rate``, and the state for the next call.
        """
        if state is None:
            state = self.initial_state(descriptors.shape[0])
        head, hidden = self.decode(descriptors, state.hidden)
        harmonic_amps, noise_amps, f0 = self.controls(head, descriptors)
        audio, synth_state = synthesize(harmonic_amps, noise_amps, f0, state.synth, self.noise_table,
                                        self.config.hop, self.config.sample_rate)
        return audio, ModelState(hidden, synth_state)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def macs_per_frame(config: ModelConfig) -> int:
    """Multiply-accumulates of the network for one frame."""
    n_in, g = len(DESCRIPTOR_NAMES), config.gru_width
    return (n_in * config.input_width + 3 * g * (config.input_width + g) + g * 2 * config.trunk_width
            + 2 * config.trunk_width * config.residual_width
            + config.trunk_width * (config.n_harmonics + config.n_noise_bands + 2))


def macs_per_second(config: ModelConfig) -> float:
    """Multiply-accumulates per second of audio: the network at frame rate, plus synthesis
    (per sample: a ramp and a product-sum per harmonic and per noise band)."""
    frames_per_second = config.sample_rate / config.hop
    synth_per_sample = 2 * (config.n_harmonics + config.n_noise_bands)
    return frames_per_second * macs_per_frame(config) + config.sample_rate * synth_per_sample
