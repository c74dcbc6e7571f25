"""Differentiable synthesis at 48 kHz with explicit streaming state (torch).

Two processors turn per-frame controls into audio; each frame covers ``hop`` samples and
its controls ramp linearly from the previous frame's values to its own over that span, so
a frame needs nothing from the future and streaming carries only the last frame's values:

- ``harmonic``: a bank of ``K`` harmonics of ``f0`` (amplitudes per harmonic), the phase of
  the fundamental accumulated in float64 and wrapped, harmonics above Nyquist muted.
- ``noise``: ``Nb`` log-spaced bands of looping noise (``synth_tables.noise_bands``), each
  with its own amplitude; the read position is part of the state.

Rendering ``T`` frames in one call or in several calls that pass the state along gives the
same samples (to float rounding). The NumPy runtime (``neurorack.runtime.numpy_model``)
implements the same equations.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from neurorack.core.synth_tables import noise_bands

TWO_PI = 2.0 * math.pi


class SynthState(NamedTuple):
    """What synthesis carries from one call to the next (batch ``B``).

    Attributes:
        harmonic_amps: [B, K] the last frame's harmonic amplitudes (linear).
        noise_amps: [B, Nb] the last frame's noise band amplitudes (linear).
        f0_hz: [B] the last frame's fundamental; a value < 0 means "no previous frame".
        phase: [B] float64 phase of the fundamental in radians, 0..2pi.
        noise_pos: [] int64 read position in the noise table.
    """

    harmonic_amps: torch.Tensor
    noise_amps: torch.Tensor
    f0_hz: torch.Tensor
    phase: torch.Tensor
    noise_pos: torch.Tensor


def initial_synth_state(batch: int, n_harmonics: int, n_noise_bands: int,
                        device: torch.device | str = "cpu") -> SynthState:
    """Silence: zero amplitudes, no previous pitch, phase 0, noise from the table's start."""
    return SynthState(
        torch.zeros(batch, n_harmonics, device=device),
        torch.zeros(batch, n_noise_bands, device=device),
        torch.full((batch,), -1.0, device=device),
        torch.zeros(batch, dtype=torch.float64, device=device),
        torch.zeros((), dtype=torch.int64, device=device),
    )


def _with_previous(values: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
    """[B, T, ...] values shifted one frame later, ``previous`` first: [B, T, ...]."""
    return torch.cat([previous.unsqueeze(1), values[:, :-1]], dim=1)


def _ramp(previous: torch.Tensor, current: torch.Tensor, hop: int) -> torch.Tensor:
    """Per-sample linear ramps: [B, T, C] x2 -> [B, T, hop, C], reaching ``current`` at the end."""
    r = torch.arange(1, hop + 1, device=current.device, dtype=current.dtype) / hop
    return previous.unsqueeze(2) + (current - previous).unsqueeze(2) * r[:, None]


def harmonic(amps: torch.Tensor, f0_hz: torch.Tensor, state: SynthState, hop: int,
             sample_rate: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The harmonic bank.

    Args:
        amps: [B, T, K] amplitude of harmonic k+1 at the end of each frame.
        f0_hz: [B, T] fundamental at the end of each frame.
        state: the carried state (uses harmonic_amps, f0_hz, phase).

    Returns:
        audio [B, T * hop], and the phase [B] (float64) after the last frame.
    """
    batch, n_frames, n_harmonics = amps.shape
    prev_f0 = torch.where(state.f0_hz < 0, f0_hz[:, 0], state.f0_hz)
    w_cur = f0_hz.double() * (TWO_PI / sample_rate)
    w_prev = _with_previous(w_cur, prev_f0.double() * (TWO_PI / sample_rate))
    n = torch.arange(1, hop + 1, device=amps.device, dtype=torch.float64)
    slope = (w_cur - w_prev).unsqueeze(-1)
    within = n * w_prev.unsqueeze(-1) + slope * (n * (n + 1) / (2 * hop))  # [B, T, hop]
    increment = hop * w_prev + (w_cur - w_prev) * ((hop + 1) / 2)  # [B, T]
    start = state.phase.unsqueeze(1) + torch.cumsum(increment, dim=1) - increment
    phase = torch.remainder(start.unsqueeze(-1) + within, TWO_PI).float()  # [B, T, hop]
    k = torch.arange(1, n_harmonics + 1, device=amps.device, dtype=amps.dtype)
    omega = w_prev.float().unsqueeze(-1) + slope.float() * (n.float() / hop)  # [B, T, hop]
    audible = (omega.unsqueeze(-1) * k) < math.pi  # [B, T, hop, K]
    ramped = _ramp(_with_previous(amps, state.harmonic_amps), amps, hop)
    waves = torch.sin(phase.unsqueeze(-1) * k)
    audio = (ramped * waves * audible).sum(-1).reshape(batch, n_frames * hop)
    end_phase = torch.remainder(state.phase + increment.sum(1), TWO_PI)
    return audio, end_phase


def noise(amps: torch.Tensor, state: SynthState, table: torch.Tensor, hop: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The noise bands.

    Args:
        amps: [B, T, Nb] amplitude of each band at the end of each frame.
        table: [L, Nb] looping band noise (``noise_table``).

    Returns:
        audio [B, T * hop], and the noise position after the last frame ([] int64).
    """
    batch, n_frames, n_bands = amps.shape
    length = table.shape[0]
    index = torch.remainder(state.noise_pos + torch.arange(n_frames * hop, device=amps.device), length)
    bands = table[index].reshape(n_frames, hop, n_bands)
    ramped = _ramp(_with_previous(amps, state.noise_amps), amps, hop)
    audio = (ramped * bands).sum(-1).reshape(batch, n_frames * hop)
    return audio, torch.remainder(state.noise_pos + n_frames * hop, length)


def noise_table(n_bands: int, length: int, sample_rate: int, seed: int,
                device: torch.device | str = "cpu") -> torch.Tensor:
    """The shared noise table as a tensor: [length, n_bands] float32."""
    return torch.from_numpy(noise_bands(n_bands, length, sample_rate, seed).copy()).to(device)


def synthesize(harmonic_amps: torch.Tensor, noise_amps: torch.Tensor, f0_hz: torch.Tensor, state: SynthState,
               table: torch.Tensor, hop: int, sample_rate: int) -> tuple[torch.Tensor, SynthState]:
    """Harmonic bank plus noise bands: [B, T, K], [B, T, Nb], [B, T] -> audio [B, T * hop], new state."""
    tone, phase = harmonic(harmonic_amps, f0_hz, state, hop, sample_rate)
    hiss, position = noise(noise_amps, state, table, hop)
    new_state = SynthState(harmonic_amps[:, -1], noise_amps[:, -1], f0_hz[:, -1], phase, position)
    return tone + hiss, new_state
