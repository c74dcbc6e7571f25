"""The percussion model's inference in NumPy: the equations of ``neurorack.ml.percussion_model``,
one frame (``hop`` samples) at a time, with explicit state, and no torch.

A hit starts from ``initial_state(z)``: its first frame runs the hit network once (mode
ratios, the transient's waveform, played at the hit's pitch over the sound's register, and
the attack envelope, all fixed for the hit) and starts every amplitude at its own value, so
the attack begins on the hit's first sample. Each frame then runs the frame network once on
the transposition-invariant view of the descriptors (the timbre code's share of the input
layer is computed once per hit) and renders ``hop`` samples. The frame network's memory is a
GRU, or a WaveNet-style stack whose layer l reads its input of ``2^l`` frames ago from a ring
buffer (``PercussionState.history``, zeros at the onset as torch's causal padding):

- partials: ``sin`` of [hop, P] phases (each partial's phase at the frame start from the
  fundamental's float64 phase, plus its ramped increment), then two matrix-vector products
  for the ramped amplitudes: ``S @ previous + ramp * (S @ (current - previous))``;
- noise: the same two products over ``hop`` rows of the looping band-noise table;
- the transient (times the level) and the attack envelope, sliced at the hit's sample index.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from neurorack.core import percussion_config as pc
from neurorack.core.compiled_frame import CompiledFrame, CompiledFrameUnavailable, CompiledHit
from neurorack.core.descriptors import extract
from neurorack.core.percussion_config import PercussionConfig
from neurorack.core.synth_tables import noise_bands
from neurorack.core.timbre import LEVEL_SCALE, MODE_SCALE, mode_values, timbre_features

TWO_PI = 2.0 * math.pi


def gru_step(weights: dict[str, np.ndarray], x: np.ndarray, hidden: np.ndarray, width: int) -> np.ndarray:
    """One step of torch's single-layer GRU (gate order reset, update, new): the new hidden state."""
    gi = weights["gru.weight_ih_l0"] @ x + weights["gru.bias_ih_l0"]
    gh = weights["gru.weight_hh_l0"] @ hidden + weights["gru.bias_hh_l0"]
    reset_update = 1.0 / (1.0 + np.exp(-(gi[:2 * width] + gh[:2 * width])))
    new = np.tanh(gi[2 * width:] + reset_update[:width] * gh[2 * width:])
    update = reset_update[width:]
    return (1.0 - update) * new + update * hidden


@dataclass
class PercussionState:
    """Everything one hit carries from frame to frame.

    Attributes:
        z: [Z + M] the sound's code; ``z_input``: its share of the input layer (plus the bias).
        hidden: [G] the GRU state, or for the WaveNet-style stack the ReLU of its last skip sum [S].
        history: WaveNet-style stack only: [sum of dilations, R] each layer's inputs of the last
            ``2^l`` frames (layer l's rows start at ``2^l - 1``; frame t's input at row
            ``2^l - 1 + t mod 2^l``).
        first_pitch, first_centroid: the hit's first frame's (set by the first frame).
        frame: frames rendered since the onset (0: the hit has not started).
        sample: samples rendered since the onset.
        ratios: [P] partial frequencies over the pitch (``ratios64``: as float64; ``ceiling``: the
            pitch above which each is muted at Nyquist); prior: [P] their starting logits (all
            set by the first frame).
        transient: [atom_length] the hit's transient; ``envelope``: [E * step] its attack gains.
        partial_amps [P], noise_amps [Nb], level: the last frame's values.
        omega: the last frame's fundamental in radians per sample.
        phase: the fundamental's phase since the onset (float64, not wrapped).
        noise_pos: read position in the noise table.
        compiled: the compiled frame's state of this hit, which then holds everything above but
            ``z``, ``frame``, ``sample`` and the first frame's values (None: the NumPy frame plays).
    """

    z: np.ndarray
    z_input: np.ndarray | None
    hidden: np.ndarray | None
    history: np.ndarray | None = None
    frame: int = 0
    sample: int = 0
    first_pitch: float = 0.0
    first_centroid: float = 0.0
    ratios: np.ndarray | None = None
    ratios64: np.ndarray | None = None
    ceiling: np.ndarray | None = None
    prior: np.ndarray | None = None
    transient: np.ndarray | None = None
    envelope: np.ndarray | None = None
    partial_amps: np.ndarray | None = None
    noise_amps: np.ndarray | None = None
    level: float = 0.0
    omega: float = 0.0
    phase: float = 0.0
    noise_pos: int = 0
    compiled: CompiledHit | None = None


def _clip(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


class PercussionRuntime:
    """Streams a loaded percussion model frame by frame.

    Args:
        model: a ``LoadedModel`` whose config is a ``PercussionConfig``.
        compiled: render with the compiled frame (``compiled_frame.c``) when it is built and covers
            the model; False: always the NumPy frame (the reference). ``frame_kind`` says which.
    """

    profile = None
    """A ``RenderProfile`` told where a frame's network ends and its synthesis begins (benchmarks)."""

    def __init__(self, model, compiled: bool = True):
        c: PercussionConfig = model.config
        w = {key: np.ascontiguousarray(value, dtype=np.float32) for key, value in model.weights.items()}
        self.config = c
        self.name = model.name
        self.hop = c.hop
        self.sample_rate = c.sample_rate
        self.timbre_size = c.code_size  # the length of a sound's code z (bank entries hold it)
        self._w = w
        n_in = pc.N_INPUTS
        self._input_desc = np.ascontiguousarray(w["input.weight"][:, :n_in])
        self._input_z = np.ascontiguousarray(w["input.weight"][:, n_in:])
        self._hit_desc = np.ascontiguousarray(w["hit_in.weight"][:, :n_in])
        self._hit_z = np.ascontiguousarray(w["hit_in.weight"][:, n_in:])
        self._x = np.zeros(n_in, np.float32)
        self._neutral: np.ndarray | None = None
        self._waves = np.zeros((c.hop, c.n_partials), np.float32)
        self._table = noise_bands(c.n_noise_bands, c.noise_table_size, c.sample_rate, c.noise_seed)
        n = np.arange(1, c.hop + 1, dtype=np.float64)
        self._n = n
        self._n_quad = n * (n + 1) / (2 * c.hop)
        self._ramp = (n / c.hop).astype(np.float32)
        self._harmonics = np.arange(1, c.n_harmonics + 1, dtype=np.float32)
        self._band_octaves = pc.band_centres_octaves(c)
        self._grid_octaves = pc.noise_grid_octaves(c)
        self._p, self._r = c.n_partials, c.noise_grid
        if c.wavenet:
            self._wavenet_weights(w)
        self._memory_step = self._wavenet_step if c.wavenet else self._gru_step  # chosen once, not per frame
        position = np.arange(c.envelope_points * c.envelope_step) / c.envelope_step
        self._env_below = np.floor(position).astype(np.int64)
        self._env_fraction = (position - self._env_below).astype(np.float32)
        self._compiled: CompiledFrame | None = None
        self.frame_kind = "numpy (asked for)"
        """Which frame renders: ``compiled``, or ``numpy (why)``."""
        if compiled:
            try:
                self._compiled = CompiledFrame(self)
                self.frame_kind = "compiled"
            except CompiledFrameUnavailable as exc:
                self.frame_kind = f"numpy ({exc})"
        if self._compiled is None:  # (the compiled frame keeps its own copy, a band per row)
            self._wrapped = np.concatenate([self._table, self._table[:c.hop]])  # reads never wrap mid-frame

    def _wavenet_weights(self, w: dict[str, np.ndarray]) -> None:
        """The WaveNet-style stack as matrices: per layer (ring rows, past tap, current tap, bias,
        residual weight and bias or None, its gated units' slice of ``_gated``), and every layer's
        skip weights side by side, so one product sums the skips."""
        c = self.config
        self._start = np.ascontiguousarray(w["wavenet_start.weight"][:, :, 0])
        self._start_bias = w["wavenet_start.bias"]
        self._layers = []
        begin = 0
        for layer, (gates, dilation) in enumerate(zip(c.wavenet_gates, c.wavenet_dilations)):
            conv = w[f"wavenet_dilated.{layer}.weight"]
            residual = (np.ascontiguousarray(w[f"wavenet_residual.{layer}.weight"][:, :, 0]),
                        w[f"wavenet_residual.{layer}.bias"]) if layer < len(c.wavenet_gates) - 1 else None
            # layer l's ring rows start at 1 + 2 + ... + 2^(l-1) = 2^l - 1; t mod 2^l = t & (2^l - 1)
            self._layers.append((dilation - 1, dilation - 1, np.ascontiguousarray(conv[:, :, 0]),
                                 np.ascontiguousarray(conv[:, :, 1]), w[f"wavenet_dilated.{layer}.bias"], residual,
                                 slice(begin, begin + gates), gates))
            begin += gates
        self._skip = np.ascontiguousarray(np.concatenate([w[f"wavenet_skip.{layer}.weight"][:, :, 0]
                                                          for layer in range(len(c.wavenet_gates))], axis=1))
        self._skip_bias = np.sum([w[f"wavenet_skip.{layer}.bias"] for layer in range(len(c.wavenet_gates))],
                                 axis=0).astype(np.float32)
        self._gated = np.zeros(begin, np.float32)

    # -- per sound ----------------------------------------------------------------------------

    def encode(self, audio: np.ndarray) -> np.ndarray:
        """The timbre code of a one-shot (mono, 48 kHz, onset at its start): [Z + M] float32, the
        encoder's values, the register (from the pitch descriptor of its first frame) and the
        mode values (its spectral peaks)."""
        w = self._w
        features = timbre_features(audio, self.sample_rate)
        hidden = np.maximum(w["encoder_in.weight"] @ features + w["encoder_in.bias"], 0.0)
        learned = np.tanh(w["encoder_out.weight"] @ hidden + w["encoder_out.bias"])
        onset_pitch = float(extract(np.asarray(audio[:4096], dtype=np.float64), self.sample_rate, self.hop)[0, 3])
        modes = mode_values(audio, onset_pitch, self.config.n_modes, self.sample_rate)
        return np.concatenate([learned, [pc.register(onset_pitch)], modes]).astype(np.float32)

    def neutral_code(self) -> np.ndarray:
        """The code of no sound in particular, for sounds drawn as curves: the encoder's values
        at 0, the register at 200 Hz, the modes on a log grid from 1/2 to 16 times the pitch,
        quiet (``MISSING_LEVEL``), so the harmonics lead. Computed once; a copy each call."""
        if self._neutral is None:
            modes = mode_values(np.zeros(1), pc.REGISTER_REF_HZ, self.config.n_modes, self.sample_rate)
            self._neutral = np.concatenate([np.zeros(self.config.timbre_size), modes]).astype(np.float32)
        return self._neutral.copy()

    def initial_state(self, z: np.ndarray | None = None, noise_offset: int = 0) -> PercussionState:
        """A hit about to start, with timbre ``z`` (None: ``neutral_code()``).

        Raises:
            ValueError: ``z`` has the wrong size.
        """
        if z is None:
            z = self.neutral_code()
        z = np.asarray(z, dtype=np.float32)
        if z.shape != (self.timbre_size,):
            raise ValueError(f"model {self.name} takes a timbre code of {self.timbre_size} values, got shape {z.shape}")
        c = self.config
        noise_pos = int(noise_offset) % self._table.shape[0]
        if self._compiled is not None:
            return PercussionState(z=z, z_input=None, hidden=None, noise_pos=noise_pos,
                                   compiled=self._compiled.new_hit(z, noise_pos))
        history = np.zeros((sum(c.wavenet_dilations), c.wavenet_channels), np.float32) if c.wavenet else None
        return PercussionState(z=z, z_input=self._input_z @ z + self._w["input.bias"],
                               hidden=np.zeros(c.memory_width, np.float32), history=history,
                               noise_pos=noise_pos)

    # -- per frame ----------------------------------------------------------------------------

    def _inputs(self, values: list[float], state: PercussionState) -> np.ndarray:
        """[5] raw descriptors (as plain floats: faster than array calls for six values) -> the
        network's 6 transposition-invariant inputs, in ``_x``."""
        loudness, centroid, flatness, pitch, confidence = values
        if state.frame == 0:
            state.first_pitch, state.first_centroid = pitch, centroid
        self._x[:] = pc.invariant_columns(loudness, centroid, flatness, pitch, confidence, state.first_pitch,
                                          state.first_centroid, math.log, _clip)
        return self._x

    def _start_hit(self, x: np.ndarray, state: PercussionState) -> None:
        """The hit network, once per hit: ratios, transient, attack envelope."""
        w, c = self._w, self.config
        h = np.maximum(self._hit_desc @ x + self._hit_z @ state.z + w["hit_in.bias"], 0.0)
        h = np.maximum(w["hit_mid.weight"] @ h + w["hit_mid.bias"], 0.0)
        out = w["hit_out.weight"] @ h + w["hit_out.bias"]
        m, a = c.n_modes, c.n_atoms
        octaves = state.z[-2 * m:-m] * MODE_SCALE + np.tanh(out[:m]) * pc.MODE_DETUNE_OCTAVES
        modes = np.power(2.0, octaves).astype(np.float32)
        state.prior = np.concatenate([np.full(c.n_harmonics, pc.HARMONIC_PRIOR), state.z[-m:] * LEVEL_SCALE])
        state.prior = state.prior.astype(np.float32)
        state.ratios = np.concatenate([self._harmonics, modes]).astype(np.float32)
        state.ratios64 = state.ratios.astype(np.float64)
        state.ceiling = (0.5 * self.sample_rate / state.ratios).astype(np.float32)  # audible below this pitch
        transient = np.append(out[m:m + a] @ w["atoms"], (0.0, 0.0))
        rate = pc.transient_rate(min(max(state.first_pitch, 40.0), 4000.0), float(state.z[c.timbre_size - 1]))
        position = np.arange(int(np.ceil((len(transient) - 1) / rate))) * rate
        state.transient = np.interp(position, np.arange(len(transient)), transient).astype(np.float32)
        points = np.exp(pc.ENVELOPE_NEPERS * np.tanh(out[m + a:]))
        points = np.append(points, 1.0).astype(np.float32)
        state.envelope = (points[self._env_below] * (1.0 - self._env_fraction)
                          + points[self._env_below + 1] * self._env_fraction).astype(np.float32)

    def _frame_network(self, x: np.ndarray, state: PercussionState) -> np.ndarray:
        w, t = self._w, self.config.trunk_width
        inputs = np.maximum(self._input_desc @ x + state.z_input, 0.0)
        self._memory_step(inputs, state)
        trunk = w["trunk.weight"] @ state.hidden + w["trunk.bias"]
        y = trunk[:t] / (1.0 + np.exp(-trunk[t:]))
        inner = np.maximum(w["residual_in.weight"] @ y + w["residual_in.bias"], 0.0)
        y = y + w["residual_out.weight"] @ inner + w["residual_out.bias"]
        return w["head.weight"] @ y + w["head.bias"]

    def _gru_step(self, inputs: np.ndarray, state: PercussionState) -> None:
        """One frame of the GRU: ``state.hidden`` = its new state."""
        state.hidden = gru_step(self._w, inputs, state.hidden, self.config.gru_width)

    def _wavenet_step(self, inputs: np.ndarray, state: PercussionState) -> None:
        """One frame of the WaveNet-style stack: ``state.hidden`` = ReLU of the skip sum."""
        h = self._start @ inputs + self._start_bias
        gated, history, frame = self._gated, state.history, state.frame
        for first_row, mask, past, now, bias, residual, units, gates in self._layers:
            row = history[first_row + (frame & mask)]  # this layer's input 2^l frames ago (zeros before the onset)
            a = past @ row + now @ h + bias
            row[:] = h  # ... and, 2^l frames from now, this one
            u = gated[units]
            np.tanh(a[:gates], out=u)
            u /= 1.0 + np.exp(-a[gates:])
            if residual is not None:
                h = h + residual[0] @ u + residual[1]
        np.maximum(self._skip @ gated + self._skip_bias, 0.0, out=state.hidden)

    def _amplitudes(self, head: np.ndarray, descriptors: np.ndarray, state: PercussionState, f0: float):
        """Partial amps [P], noise amps [Nb], level."""
        p, r = self._p, self._r
        level = 10.0 ** (min(max(float(descriptors[0]), -90.0), 0.0) / 20.0)
        level *= math.exp(pc.LEVEL_NEPERS * math.tanh(float(head[p + r + 1])))
        mix_logit = float(head[p + r])
        log_mix = -math.log1p(math.exp(-mix_logit)) if mix_logit > -30 else mix_logit
        log_rest = -math.log1p(math.exp(mix_logit)) if mix_logit < 30 else -mix_logit
        # sqrt(softmax(x)) * g = exp((x - max) / 2) * g / sqrt(sum(exp(x - max))): one exp per vector
        audible = state.ceiling > f0
        logits = np.where(audible, head[:p] + state.prior, np.float32(pc.MASKED_LOGIT))
        half = np.exp(0.5 * (logits - logits.max()))
        partial = half * (level * math.exp(0.5 * (log_mix + math.log(2.0))) / math.sqrt(float(half @ half)))
        partial *= audible
        centroid = min(max(float(descriptors[1]), 20.0), 20000.0)
        shape = np.interp(self._band_octaves - math.log2(centroid), self._grid_octaves, head[p:p + r])
        half = np.exp(0.5 * (shape - shape.max())).astype(np.float32)
        noise = half * (level * math.exp(0.5 * log_rest) / math.sqrt(float(half @ half)))
        return partial, noise, level

    def render_frame(self, descriptors: np.ndarray, state: PercussionState, out: np.ndarray) -> None:
        """Render one frame into ``out`` ([hop] float, overwritten) and advance ``state``.

        Args:
            descriptors: [5] raw descriptors (``DESCRIPTOR_NAMES`` order and units).
        """
        with np.errstate(all="ignore"):  # as NumpyModel.decode: OpenBLAS flags; the output stage guards NaN
            self._render_frame(descriptors, state, out)

    def _render_frame(self, descriptors: np.ndarray, state: PercussionState, out: np.ndarray) -> None:
        values = descriptors.tolist()
        x = self._inputs(values, state)
        if state.compiled is not None:
            self._compiled.controls(state.compiled, values[0], values[1], values[3], state.first_pitch,
                                    state.frame == 0)
            if self.profile is not None:
                self.profile.enter(self.profile.SYNTHESIS)
            self._compiled.samples(state.compiled, state.sample, out)
            state.frame += 1
            state.sample += self.hop
            return
        if state.frame == 0:
            self._start_hit(x, state)
        head = self._frame_network(x, state)
        f0 = _clip(float(descriptors[3]), 40.0, 4000.0)
        partial, noise, level = self._amplitudes(head, descriptors, state, f0)
        if self.profile is not None:  # benchmarks: the network's part ends, the synthesis' begins
            self.profile.enter(self.profile.SYNTHESIS)
        omega = f0 * TWO_PI / self.sample_rate
        if state.frame == 0:
            state.partial_amps, state.noise_amps, state.level, state.omega = partial, noise, level, omega
        hop, ramp = self.hop, self._ramp
        within = self._n * state.omega + (omega - state.omega) * self._n_quad  # [hop] float64
        start = np.remainder(state.phase * state.ratios64, TWO_PI).astype(np.float32)
        waves = np.multiply.outer(within.astype(np.float32), state.ratios, out=self._waves)  # [hop, P]
        waves += start
        np.sin(waves, out=waves)
        previous = state.partial_amps
        signal = waves @ previous + ramp * (waves @ (partial - previous))
        bands = self._wrapped[state.noise_pos:state.noise_pos + hop]
        signal += bands @ state.noise_amps + ramp * (bands @ (noise - state.noise_amps))
        s = state.sample
        if s < len(state.transient):
            take = min(hop, len(state.transient) - s)
            levels = state.level + (level - state.level) * ramp[:take]
            signal[:take] += state.transient[s:s + take] * levels
        if s < len(state.envelope):
            take = min(hop, len(state.envelope) - s)
            signal[:take] *= state.envelope[s:s + take]
        out[:] = signal
        state.phase += float(within[-1])
        state.noise_pos = (state.noise_pos + hop) % self._table.shape[0]
        state.partial_amps, state.noise_amps, state.level, state.omega = partial, noise, level, omega
        state.frame += 1
        state.sample += hop

    def render(self, descriptors: np.ndarray, state: PercussionState | None = None,
               z: np.ndarray | None = None) -> np.ndarray:
        """Render frames [T, 5] -> audio [T * hop] float32: a hit from its onset with timbre ``z``
        (unless ``state`` continues one)."""
        state = state or self.initial_state(z)
        out = np.empty(len(descriptors) * self.hop, dtype=np.float32)
        for index, frame in enumerate(np.asarray(descriptors, dtype=np.float32)):
            self.render_frame(frame, state, out[index * self.hop:(index + 1) * self.hop])
        return out
