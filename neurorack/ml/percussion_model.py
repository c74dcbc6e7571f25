"""The percussion model (torch, for training): drums from descriptor frames and a timbre code.

Data flow (hop = 256 samples at 48 kHz; sizes from ``PercussionConfig``)::

    one-shot -> timbre features [F] (neurorack.core.timbre) -> encoder MLP -> [Z - 1] (tanh)
                  its onset pitch -> register; its spectral peaks -> mode values [M]
                  z = [encoder's, register, mode ratios, mode levels]          [Z + 2M]
    per frame t: [invariant inputs_t (6), z] -> input (ReLU) -> GRU -> trunk (GLU)
                 -> residual block -> head:
                    partial logits [K + M], noise shape [R] (octaves around the centroid),
                    mix (partials vs noise), level correction
    at the onset: [invariant inputs_0, z] -> hit MLP -> mode detunes [M] (a quarter tone at most),
                    transient atom weights [A], attack envelope [E] (one point per 1 ms)
    synthesis at 48 kHz:
      partials: K harmonics and M modes (the sound's peak ratios to the pitch, each moved by
                at most a quarter tone by the hit network; the peaks' levels are the modes'
                starting logits, harmonics start 5 below), phases from
                the fundamental's phase (float64); amplitudes ramp per sample across frames
      noise:    Nb bands of looping noise; band gains are the noise shape read at each band's
                octave distance from the centroid, ramped per sample
      transient: the atoms mixed by the hit's weights, played at the hit's onset pitch over the
                register's (1 when a sound plays at its own pitch), times the level
      attack:   everything times the attack envelope (linear between 1 ms points, 1 after)

With ``frame_network: wavenet`` the GRU is replaced by a WaveNet-style stack over frames
(causal: frame t reads frames t and t - 2^l only, zeros before the onset)::

    input (ReLU) -> start 1x1 conv -> h [R]
    layer l = 0 .. L-1:  a = dilated conv(h_t, h_{t-2^l}) [2 G_l];  u = tanh(a[:G_l]) * sigmoid(a[G_l:])
                         skip += skip_l(u) [S];  h = h + residual_l(u)  (not after the last layer)
    ReLU(skip) -> trunk (GLU) -> residual block -> head

Why it hears the controls: the level is ``10^(loudness/20)`` times a correction within
+-13 dB; the networks read only what a transposition leaves unchanged
(``percussion_config.invariant_columns``), while partial frequencies are ratios of the pitch
descriptor, the noise shape is drawn relative to the centroid descriptor and the transient
follows the onset pitch, so the pitch CV (pitch and centroid by the same ratio) transposes
everything by exactly its interval, and the brightness CV moves the noise. ``z`` says which drum.

Why it hears attacks: a hit's first frame starts at its own values (no ramp from silence),
the attack envelope and the transient work at the sample level from the onset sample.

The NumPy runtime (``neurorack.core.percussion``) implements the same equations frame by frame.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from neurorack.core import percussion_config as pc
from neurorack.core.descriptors import DESCRIPTOR_NAMES
from neurorack.core.percussion_config import PercussionConfig
from neurorack.core.timbre import LEVEL_SCALE, MODE_SCALE
from neurorack.errors import NeurorackError
from neurorack.ml.synth import noise_table

TWO_PI = 2.0 * math.pi


class PercussionModel(nn.Module):
    """Timbre features and descriptor frames in, 48 kHz audio out.

    Args:
        config: the sizes (``PercussionConfig()`` is the shipped dense model).
    """

    def __init__(self, config: PercussionConfig | None = None):
        super().__init__()
        c = config or PercussionConfig()
        if tuple(c.descriptors) != DESCRIPTOR_NAMES:
            raise NeurorackError(f"model descriptors {c.descriptors} differ from this version's {list(DESCRIPTOR_NAMES)}")
        self.config = c
        n_in = pc.N_INPUTS + c.code_size
        self.encoder_in = nn.Linear(c.feature_size, c.encoder_width)
        self.encoder_out = nn.Linear(c.encoder_width, c.timbre_size - 1)
        self.input = nn.Linear(n_in, c.input_width)
        if c.wavenet:
            r, s, layers = c.wavenet_channels, c.wavenet_skip, len(c.wavenet_gates)
            self.wavenet_start = nn.Conv1d(c.input_width, r, 1)
            # padded by the dilation on both sides, the first T outputs are the causal ones (and the
            # layer's input, as the trimming criteria's probes read it, is the stream itself)
            self.wavenet_dilated = nn.ModuleList(nn.Conv1d(r, 2 * g, 2, dilation=d, padding=d)
                                                 for g, d in zip(c.wavenet_gates, c.wavenet_dilations))
            self.wavenet_residual = nn.ModuleList(nn.Conv1d(g, r, 1) for g in c.wavenet_gates[:layers - 1])
            self.wavenet_skip = nn.ModuleList(nn.Conv1d(g, s, 1) for g in c.wavenet_gates)
        else:
            self.gru = nn.GRU(c.input_width, c.gru_width, batch_first=True)
        self.trunk = nn.Linear(c.memory_width, 2 * c.trunk_width)
        self.residual_in = nn.Linear(c.trunk_width, c.residual_width)
        self.residual_out = nn.Linear(c.residual_width, c.trunk_width)
        self.head = nn.Linear(c.trunk_width, c.head_size)
        self.hit_in = nn.Linear(n_in, c.hit_width)
        self.hit_mid = nn.Linear(c.hit_width, c.hit_mid_width)
        self.hit_out = nn.Linear(c.hit_mid_width, c.hit_size)
        generator = torch.Generator().manual_seed(1)
        decay = torch.exp(-torch.arange(c.atom_length) / (0.15 * c.atom_length))
        self.atoms = nn.Parameter(0.02 * torch.randn(c.n_atoms, c.atom_length, generator=generator) * decay)
        with torch.no_grad():  # start near: noise and partials equally, attack envelope flat
            self.hit_out.weight.mul_(0.1)
            self.hit_out.bias.zero_()
            self.head.bias[c.n_partials + c.noise_grid] = 1.0  # partials 73 % of the power
        self.register_buffer("noise_table", noise_table(c.n_noise_bands, c.noise_table_size, c.sample_rate,
                                                        c.noise_seed), persistent=False)
        self.register_buffer("band_octaves", torch.from_numpy(pc.band_centres_octaves(c)).float(), persistent=False)
        self.register_buffer("harmonics", torch.arange(1, c.n_harmonics + 1, dtype=torch.float32), persistent=False)

    # -- networks ---------------------------------------------------------------------------

    def encode(self, features: torch.Tensor, onset_pitch_hz: torch.Tensor, modes: torch.Tensor) -> torch.Tensor:
        """Timbre features [B, F], onset pitches [B] and mode values [B, 2M] -> z [B, Z + 2M]: the
        encoder's Z - 1 values (-1..1), the register, the mode values."""
        learned = torch.tanh(self.encoder_out(torch.relu(self.encoder_in(features))))
        register = torch.log2(onset_pitch_hz.clamp(40.0, 4000.0) / pc.REGISTER_REF_HZ) / pc.REGISTER_SCALE
        return torch.cat([learned, register.unsqueeze(-1), modes], dim=-1)

    def inputs(self, descriptors: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Raw descriptors [B, T, 5] (frame 0 at the onset), z [B, Z] -> network inputs [B, T, 6 + Z]."""
        d, first = descriptors, descriptors[:, :1]
        columns = pc.invariant_columns(d[..., 0], d[..., 1], d[..., 2], d[..., 3], d[..., 4], first[..., 3],
                                       first[..., 1], torch.log, torch.clamp)
        return torch.cat([torch.stack(columns, dim=-1), z.unsqueeze(1).expand(-1, d.shape[1], -1)], dim=-1)

    def frame_network(self, inputs: torch.Tensor, hidden: torch.Tensor | None = None):
        """[B, T, 6 + Z] inputs -> head [B, T, head_size], hidden [1, B, G] (the GRU's; None for
        the WaveNet-style stack, which starts every call from silence before frame 0)."""
        x = torch.relu(self.input(inputs))
        if self.config.wavenet:
            x, hidden = self.wavenet(x), None
        else:
            x, hidden = self.gru(x, hidden)
        x = nn.functional.glu(self.trunk(x), dim=-1)
        x = x + self.residual_out(torch.relu(self.residual_in(x)))
        return self.head(x), hidden

    def wavenet(self, x: torch.Tensor) -> torch.Tensor:
        """The WaveNet-style stack: [B, T, input_width] -> ReLU of the skip sum [B, T, S]."""
        h = self.wavenet_start(x.transpose(1, 2))  # [B, R, T]
        frames = h.shape[2]
        skip = 0.0
        for layer, (conv, gates) in enumerate(zip(self.wavenet_dilated, self.config.wavenet_gates)):
            a = conv(h)[:, :, :frames]  # frame t reads frames t - 2^l (zeros before the onset) and t
            u = torch.tanh(a[:, :gates]) * torch.sigmoid(a[:, gates:])
            skip = skip + self.wavenet_skip[layer](u)
            if layer < len(self.wavenet_residual):
                h = h + self.wavenet_residual[layer](u)
        return torch.relu(skip).transpose(1, 2)

    def hit_network(self, first: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """[B, 6 + Z + M] the onset frame's inputs -> mode ratios [B, M], transient [B, atom_length],
        attack envelope points [B, E] (linear gains)."""
        c = self.config
        out = self.hit_out(torch.relu(self.hit_mid(torch.relu(self.hit_in(first)))))
        octaves = first[:, -2 * c.n_modes:-c.n_modes] * MODE_SCALE + torch.tanh(out[:, :c.n_modes]) * pc.MODE_DETUNE_OCTAVES
        ratios = torch.pow(2.0, octaves)
        transient = out[:, c.n_modes:c.n_modes + c.n_atoms] @ self.atoms
        envelope = torch.exp(pc.ENVELOPE_NEPERS * torch.tanh(out[:, c.n_modes + c.n_atoms:]))
        return ratios, transient, envelope

    # -- controls per frame ---------------------------------------------------------------------

    def amplitudes(self, head: torch.Tensor, descriptors: torch.Tensor, ratios: torch.Tensor, prior: torch.Tensor):
        """Head [B, T, H], raw descriptors [B, T, 5], partial ratios [B, P], partial priors [B, P] ->
        partial amps [B, T, P], noise amps [B, T, Nb], level [B, T], f0 [B, T] Hz."""
        c = self.config
        p, r = c.n_partials, c.noise_grid
        f0 = descriptors[..., 3].clamp(40.0, 4000.0)
        level = torch.pow(10.0, descriptors[..., 0].clamp(-90.0, 0.0) / 20.0)
        level = level * torch.exp(pc.LEVEL_NEPERS * torch.tanh(head[..., p + r + 1]))
        log_mix, log_rest = nn.functional.logsigmoid(head[..., p + r]), nn.functional.logsigmoid(-head[..., p + r])
        audible = (ratios.unsqueeze(1) * f0.unsqueeze(-1)) < 0.5 * c.sample_rate  # [B, T, P]
        logits = torch.where(audible, head[..., :p] + prior.unsqueeze(1), torch.full_like(head[..., :p], pc.MASKED_LOGIT))
        partial = torch.exp(0.5 * (torch.log_softmax(logits, dim=-1) + (log_mix + math.log(2.0)).unsqueeze(-1)))
        partial = partial * audible * level.unsqueeze(-1)
        shape = self.noise_shape(head[..., p:p + r], descriptors[..., 1])
        noise = torch.exp(0.5 * (torch.log_softmax(shape, dim=-1) + log_rest.unsqueeze(-1)))
        return partial, noise * level.unsqueeze(-1), level, f0

    def noise_shape(self, grid: torch.Tensor, centroid_hz: torch.Tensor) -> torch.Tensor:
        """The noise shape [B, T, R] read at each band's distance from the centroid: [B, T, Nb]."""
        c = self.config
        offset = self.band_octaves - torch.log2(centroid_hz.clamp(20.0, 20000.0)).unsqueeze(-1)  # [B, T, Nb]
        position = ((offset + pc.NOISE_GRID_OCTAVES) * ((c.noise_grid - 1) / (2 * pc.NOISE_GRID_OCTAVES)))
        position = position.clamp(0.0, c.noise_grid - 1.0)
        below = position.floor().clamp(max=c.noise_grid - 2).long()
        fraction = position - below
        return torch.gather(grid, -1, below) * (1.0 - fraction) + torch.gather(grid, -1, below + 1) * fraction

    # -- the whole model -----------------------------------------------------------------------

    def forward(self, descriptors: torch.Tensor, features: torch.Tensor, modes: torch.Tensor,
                noise_offset: int | None = None) -> torch.Tensor:
        """Render hits from their onsets.

        Args:
            descriptors: [B, T, 5] raw descriptors, frame 0 at the onset.
            features: [B, F] timbre features of each sound.
            modes: [B, 2M] its mode values (``neurorack.core.timbre.mode_values``).
            noise_offset: the read position in the noise table (default 0), the same for every row.

        Returns:
            audio [B, T * hop].
        """
        return self.render(descriptors, self.encode(features, descriptors[:, 0, 3], modes), noise_offset)

    def render(self, descriptors: torch.Tensor, z: torch.Tensor, noise_offset: int | None = None) -> torch.Tensor:
        """Render hits from their onsets with given timbre codes z [B, Z + M]: audio [B, T * hop]."""
        c = self.config
        batch, n_frames, _ = descriptors.shape
        hop = c.hop
        inputs = self.inputs(descriptors, z)
        head, _ = self.frame_network(inputs)
        mode_ratios, transient, envelope = self.hit_network(inputs[:, 0])
        register = z[:, c.timbre_size - 1]
        rate = descriptors[:, 0, 3].clamp(40.0, 4000.0) / (pc.REGISTER_REF_HZ * torch.pow(2.0, pc.REGISTER_SCALE * register))
        transient = self.transposed(transient, rate.clamp(1.0 / pc.MAX_TRANSPOSE, pc.MAX_TRANSPOSE))
        ratios = torch.cat([self.harmonics.expand(batch, -1), mode_ratios], dim=-1)  # [B, P]
        prior = torch.cat([torch.full_like(self.harmonics, pc.HARMONIC_PRIOR).expand(batch, -1),
                           z[:, -c.n_modes:] * LEVEL_SCALE], dim=-1)
        partial, noise, level, f0 = self.amplitudes(head, descriptors, ratios, prior)
        ramp = torch.arange(1, hop + 1, device=descriptors.device, dtype=torch.float32) / hop  # [hop]

        def ramped_sum(waves, amps, equation="bthc,btc->bth"):  # amps [B, T, C] -> [B, T, hop]
            # amplitudes ramp per sample from the previous frame's (frame 0: its own) to the frame's
            previous = torch.cat([amps[:, :1], amps[:, :-1]], dim=1)
            return torch.einsum(equation, waves, previous) + torch.einsum(equation, waves, amps - previous) * ramp

        # partials: the fundamental's phase in float64, each partial's phase from it
        w = f0.double() * (TWO_PI / c.sample_rate)
        w_prev = torch.cat([w[:, :1], w[:, :-1]], dim=1)
        n = torch.arange(1, hop + 1, device=descriptors.device, dtype=torch.float64)
        within = n * w_prev.unsqueeze(-1) + (w - w_prev).unsqueeze(-1) * (n * (n + 1) / (2 * hop))  # [B, T, hop]
        increment = within[..., -1]
        start = torch.cumsum(increment, dim=1) - increment  # [B, T]
        start_phase = torch.remainder(start.unsqueeze(-1) * ratios.double().unsqueeze(1), TWO_PI).float()  # [B, T, P]
        phase = start_phase.unsqueeze(2) + within.float().unsqueeze(-1) * ratios[:, None, None, :]
        tone = ramped_sum(torch.sin(phase), partial)
        # noise: one read position for the whole batch
        length = self.noise_table.shape[0]
        offset = 0 if noise_offset is None else int(noise_offset)
        index = torch.remainder(offset + torch.arange(n_frames * hop, device=descriptors.device), length)
        hiss = ramped_sum(self.noise_table[index].reshape(n_frames, hop, c.n_noise_bands), noise, "thc,btc->bth")
        # transient, attack envelope
        previous_level = torch.cat([level[:, :1], level[:, :-1]], dim=1)
        levels = (previous_level.unsqueeze(-1) + (level - previous_level).unsqueeze(-1) * ramp).reshape(batch, -1)
        audio = (tone + hiss).reshape(batch, n_frames * hop)
        span = min(transient.shape[1], n_frames * hop)
        audio = torch.cat([audio[:, :span] + transient[:, :span] * levels[:, :span], audio[:, span:]], dim=1)
        return audio * self.attack_gain(envelope, n_frames * hop)

    def transposed(self, transient: torch.Tensor, rate: torch.Tensor) -> torch.Tensor:
        """Transients [B, L] played at ``rate`` [B] (linear interpolation, silence after their end):
        [B, L * MAX_TRANSPOSE]."""
        length = transient.shape[1]
        padded = torch.cat([transient, transient.new_zeros(transient.shape[0], 2)], dim=1)
        position = torch.arange(int(length * pc.MAX_TRANSPOSE), device=rate.device) * rate.unsqueeze(-1)
        below = position.floor().clamp(max=length).long()
        fraction = position - below
        return padded.gather(1, below) * (1.0 - fraction) + padded.gather(1, below + 1) * fraction

    def attack_gain(self, envelope: torch.Tensor, n_samples: int) -> torch.Tensor:
        """Envelope points [B, E] (one every ``envelope_step`` samples from the onset, then 1)
        -> per-sample gains [B, n_samples], linear between points."""
        c = self.config
        points = torch.cat([envelope, torch.ones_like(envelope[:, :1])], dim=1)  # [B, E + 1]
        position = torch.arange(c.envelope_points * c.envelope_step, device=envelope.device) / c.envelope_step
        below = position.floor().long()
        fraction = (position - below).to(envelope.dtype)
        gains = points[:, below] * (1.0 - fraction) + points[:, below + 1] * fraction
        if n_samples <= gains.shape[1]:
            return gains[:, :n_samples]
        return torch.cat([gains, torch.ones(envelope.shape[0], n_samples - gains.shape[1], device=envelope.device)],
                         dim=1)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def state_arrays(model: PercussionModel) -> dict[str, np.ndarray]:
    """The weights as float32 NumPy arrays (the safetensors content)."""
    return {key: value.detach().float().cpu().numpy() for key, value in model.state_dict().items()}
