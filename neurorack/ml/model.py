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

import math
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from neurorack.core import spectral_lock
from neurorack.core.architecture import (  # noqa: F401 (re-exported: the model's contract lives here too)
    GATED_RESIDUAL,
    GRU,
    LINEAR,
    TINY_CONFIG,
    UNIT_GROUPS,
    ModelConfig,
    TensorSlice,
    UnitGroup,
    macs_per_frame,
    macs_per_second,
)
from neurorack.core.descriptors import (
    DESCRIPTOR_NAMES,
    DESCRIPTOR_RANGES,
)
from neurorack.core.synth_tables import band_edges_hz
from neurorack.errors import NeurorackError
from neurorack.ml.synth import SynthState, initial_synth_state, noise_table, synthesize

MAX_GAIN_NEPERS = 1.5  # the learned level correction stays within exp(+-1.5), about +-13 dB


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
        config: the sizes; None or ``ModelConfig()`` is the shipped dense model, ``TINY_CONFIG`` for tests.
    """

    def __init__(self, config: ModelConfig | None = None):
        super().__init__()
        config = config or ModelConfig()
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
        edges = band_edges_hz(config.n_noise_bands, config.sample_rate)
        self.register_buffer("noise_log_f", torch.from_numpy(spectral_lock.noise_log_frequencies(edges)).float(),
                             persistent=False)
        self.register_buffer("noise_log_width", torch.from_numpy(spectral_lock.noise_log_widths(edges)).float(),
                             persistent=False)

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
        f0 = descriptors[..., 3].clamp(float(self.range_low[3]), float(self.range_high[3]))
        if self.config.spectral_lock:
            harmonic_amps, noise_amps = self.lock_controls(head, descriptors, f0, level)
            return harmonic_amps, noise_amps, f0
        mix = torch.sigmoid(head[..., k + nb])
        harmonic_amps = torch.softmax(head[..., :k], dim=-1) * (level * mix * 2.0 ** 0.5).unsqueeze(-1)
        noise_amps = torch.softmax(head[..., k:k + nb], dim=-1) * (level * (1.0 - mix)).unsqueeze(-1)
        return harmonic_amps, noise_amps, f0

    def lock_controls(self, head: torch.Tensor, descriptors: torch.Tensor, f0: torch.Tensor,
                      level: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The spectral lock (``neurorack.core.spectral_lock``) for [B, T] frames: amps [B, T, K] and [B, T, Nb]."""
        lock = spectral_lock
        k, nb = self.config.n_harmonics, self.config.n_noise_bands
        harmonic_numbers = torch.arange(1, k + 1, device=head.device, dtype=head.dtype)
        log_f_h = torch.log(harmonic_numbers) + torch.log(f0).unsqueeze(-1)  # [B, T, K]
        audible = harmonic_numbers * f0.unsqueeze(-1) < 0.5 * self.config.sample_rate
        logits_h = torch.where(audible, 2.0 * head[..., :k], torch.full_like(log_f_h, lock.MASKED_LOGIT))
        flatness = descriptors[..., 2]
        kept = (torch.log(lock.FLATNESS_RELEASE / flatness.clamp_min(1e-12))
                / math.log(lock.FLATNESS_RELEASE / lock.FLATNESS_TONAL)).clamp(0.0, 1.0).unsqueeze(-1)
        logits_n = kept * 2.0 * head[..., k:k + nb] + (1.0 - kept) * self.noise_log_width
        log_f_n = self.noise_log_f
        confidence = descriptors[..., 4]
        released = (1.0 - flatness / lock.FLATNESS_RELEASE).clamp(0.0, 1.0)
        fraction = ((confidence - lock.FLOOR) / (1.0 - lock.FLOOR)).clamp(0.0, 1.0) ** (1.0 / lock.EXPONENT)
        fraction = (fraction * released).clamp(lock.MIN_FRACTION, 1.0 - lock.MIN_FRACTION)
        target = torch.log(descriptors[..., 1].clamp(20.0, 20000.0))
        beta = torch.zeros_like(f0)
        low, high = torch.full_like(f0, -lock.MAX_TILT), torch.full_like(f0, lock.MAX_TILT)
        f_h, f_n = torch.exp(log_f_h), torch.exp(log_f_n)
        envelope = torch.where(audible, torch.zeros_like(log_f_h), torch.full_like(log_f_h, lock.MASKED_LOGIT))
        parts = ((logits_h, log_f_h, f_h, (1.0 - lock.ENVELOPE_SHARE) * fraction),
                 (envelope, log_f_h, f_h, lock.ENVELOPE_SHARE * fraction),
                 (logits_n, log_f_n, f_n, 1.0 - fraction))
        for _ in range(lock.ITERATIONS):
            centroid, slope = torch.zeros_like(f0), torch.zeros_like(f0)
            for logits, log_f, f, weight in parts:
                share = torch.softmax(logits + beta.unsqueeze(-1) * log_f, dim=-1)
                mean = (share * f).sum(-1)
                centroid = centroid + weight * mean
                slope = slope + weight * ((share * f * log_f).sum(-1) - mean * (share * log_f).sum(-1))
            error = target - torch.log(centroid)
            low, high = torch.where(error > 0, beta, low), torch.where(error > 0, high, beta)
            newton = beta + error * centroid / slope.clamp_min(1e-9)
            beta = torch.where((newton >= low) & (newton <= high), newton, 0.5 * (low + high))
        tilt = (beta * released).unsqueeze(-1)
        p = ((1.0 - lock.ENVELOPE_SHARE) * torch.softmax(logits_h + tilt * log_f_h, dim=-1)
             + lock.ENVELOPE_SHARE * torch.softmax(envelope + tilt * log_f_h, dim=-1))
        log_p = torch.log(p.clamp_min(1e-30))
        log_q = torch.log_softmax(logits_n + tilt * log_f_n, dim=-1)
        harmonic_amps = torch.exp(0.5 * (log_p + torch.log(2.0 * fraction).unsqueeze(-1))) * level.unsqueeze(-1)
        noise_amps = torch.exp(0.5 * (log_q + torch.log(1.0 - fraction).unsqueeze(-1))) * level.unsqueeze(-1)
        return harmonic_amps, noise_amps

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
