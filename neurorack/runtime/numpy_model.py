"""The model's inference in NumPy: the same equations as ``neurorack.ml.model`` and
``neurorack.ml.synth``, one frame at a time, with explicit state, and no torch.

Per frame (hop samples): the network runs once on one descriptor vector (a few small
matrix-vector products), then synthesis renders the hop as two matrix-vector products per
processor: with ramped amplitudes ``a_n = p + (c - p) * (n + 1) / hop``,
``sum_k a_nk * s_nk = S @ p + r * (S @ (c - p))``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from neurorack.core import spectral_lock
from neurorack.core.descriptors import DESCRIPTOR_RANGES
from neurorack.core.percussion import gru_step
from neurorack.core.synth_tables import band_edges_hz, noise_bands
from neurorack.runtime.loader import LoadedModel

TWO_PI = 2.0 * math.pi
MAX_GAIN_NEPERS = 1.5  # as neurorack.ml.model


@dataclass
class NumpyState:
    """Everything carried between frames (one voice).

    Attributes:
        hidden: [gru_width] GRU state.
        harmonic_amps: [K], noise_amps: [Nb]: the last frame's amplitudes.
        f0_hz: the last frame's fundamental (< 0: none yet).
        phase: the fundamental's phase in radians (float64, 0..2pi).
        noise_pos: read position in the noise table.
    """

    hidden: np.ndarray
    harmonic_amps: np.ndarray
    noise_amps: np.ndarray
    f0_hz: float
    phase: float
    noise_pos: int


class NumpyModel:
    """Streams a loaded model frame by frame.

    Args:
        model: from ``load_model``.
    """

    profile = None
    """A ``RenderProfile`` told where a frame's network ends and its synthesis begins (benchmarks)."""
    frame_kind = "numpy"
    """Which frame renders (as ``PercussionRuntime.frame_kind``; this family has no compiled one)."""

    def __init__(self, model: LoadedModel):
        c = model.config
        w = {key: np.ascontiguousarray(value, dtype=np.float32) for key, value in model.weights.items()}
        self.config = c
        self.name = model.name
        self.hop = c.hop
        self.sample_rate = c.sample_rate
        self._w = w
        self._g = c.gru_width
        self._t = c.trunk_width
        self._k = c.n_harmonics
        self._nb = c.n_noise_bands
        self._low = np.array([r.low for r in DESCRIPTOR_RANGES], dtype=np.float64)
        self._high = np.array([r.high for r in DESCRIPTOR_RANGES], dtype=np.float64)
        self._log = np.array([r.log for r in DESCRIPTOR_RANGES])
        self._low_scaled = np.where(self._log, np.log(np.maximum(self._low, 1e-12)), self._low)
        self._high_scaled = np.where(self._log, np.log(np.maximum(self._high, 1e-12)), self._high)
        self._table = noise_bands(c.n_noise_bands, c.noise_table_size, c.sample_rate, c.noise_seed)
        self._wrapped = np.concatenate([self._table, self._table[:c.hop]])  # reads never wrap mid-frame
        n = np.arange(1, c.hop + 1, dtype=np.float64)
        self._ramp = (n / c.hop).astype(np.float32)
        self._n = n
        self._n_quad = n * (n + 1) / (2 * c.hop)
        self._k_range = np.arange(1, c.n_harmonics + 1, dtype=np.float32)
        self._log_k = np.log(self._k_range)
        edges = band_edges_hz(c.n_noise_bands, c.sample_rate)
        self._noise_log_f = spectral_lock.noise_log_frequencies(edges)
        self._noise_log_width = spectral_lock.noise_log_widths(edges)

    def initial_state(self, z: np.ndarray | None = None) -> NumpyState:
        """A voice's state before its first frame. ``z`` is the timbre code of the common runtime
        interface: this family takes none (``timbre_size`` 0), so it must be None (or empty).

        Raises:
            ValueError: a non-empty ``z``.
        """
        if z is not None and np.size(z) > 0:
            raise ValueError(f"model {self.name} takes no timbre code, got {np.size(z)} values")
        return NumpyState(np.zeros(self._g, np.float32), np.zeros(self._k, np.float32),
                          np.zeros(self._nb, np.float32), -1.0, 0.0, 0)

    def decode(self, descriptors: np.ndarray, state: NumpyState) -> np.ndarray:
        """One frame of the network: raw descriptors [5] -> head outputs [K + Nb + 2]; updates the GRU state.

        Floating-point flags are not reported: OpenBLAS's small matrix-vector kernels sometimes
        leave the "invalid" flag set on finite inputs and outputs (16 of 16703 frames of a
        20-second demo), which NumPy would print as a warning from the audio path. A real NaN
        or Inf still comes out in the returned values, and the engine's output stage mutes it.
        """
        with np.errstate(all="ignore"):
            return self._decode(descriptors, state)

    def _decode(self, descriptors: np.ndarray, state: NumpyState) -> np.ndarray:
        w, g = self._w, self._g
        values = np.minimum(np.maximum(descriptors.astype(np.float64), self._low), self._high)
        values = np.where(self._log, np.log(np.maximum(values, 1e-12)), values)
        x = (2.0 * (values - self._low_scaled) / (self._high_scaled - self._low_scaled) - 1.0).astype(np.float32)
        x = np.maximum(w["input.weight"] @ x + w["input.bias"], 0.0)
        state.hidden = gru_step(w, x, state.hidden, g)
        trunk = w["trunk.weight"] @ state.hidden + w["trunk.bias"]
        y = trunk[:self._t] / (1.0 + np.exp(-trunk[self._t:]))
        inner = np.maximum(w["residual_in.weight"] @ y + w["residual_in.bias"], 0.0)
        y = y + w["residual_out.weight"] @ inner + w["residual_out.bias"]
        return w["head.weight"] @ y + w["head.bias"]

    def controls(self, head: np.ndarray, descriptors: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """Head outputs -> harmonic amps [K], noise amps [Nb], f0 (Hz)."""
        k, nb = self._k, self._nb
        level = 10.0 ** (min(max(float(descriptors[0]), -90.0), 0.0) / 20.0)
        level *= math.exp(MAX_GAIN_NEPERS * math.tanh(float(head[k + nb + 1])))
        f0 = min(max(float(descriptors[3]), self._low[3]), self._high[3])
        if self.config.spectral_lock:
            flatness = float(descriptors[2])
            fraction = spectral_lock.harmonic_fraction(float(descriptors[4]), flatness)
            log_f_h = self._log_k + math.log(f0)
            logits_h = np.where(self._k_range * f0 < 0.5 * self.sample_rate, 2.0 * head[:k], spectral_lock.MASKED_LOGIT)
            logits_n = spectral_lock.noise_logits(head[k:k + nb], self._noise_log_width, flatness)
            p, q = spectral_lock.lock_frame(logits_h, logits_n, log_f_h, self._noise_log_f,
                                            fraction, float(descriptors[1]),
                                            spectral_lock.release(flatness))
            harmonic = np.sqrt(2.0 * fraction * p) * level
            noise = np.sqrt((1.0 - fraction) * q) * level
            return harmonic.astype(np.float32), noise.astype(np.float32), f0
        mix = 1.0 / (1.0 + math.exp(-float(head[k + nb])))
        harmonic = np.exp(head[:k] - head[:k].max())
        harmonic *= (level * mix * math.sqrt(2.0)) / harmonic.sum()
        noise = np.exp(head[k:k + nb] - head[k:k + nb].max())
        noise *= (level * (1.0 - mix)) / noise.sum()
        return harmonic.astype(np.float32), noise.astype(np.float32), f0

    def render_frame(self, descriptors: np.ndarray, state: NumpyState, out: np.ndarray) -> None:
        """Render one frame into ``out`` ([hop] float, overwritten) and advance ``state``.

        Args:
            descriptors: [5] raw descriptors (``DESCRIPTOR_NAMES`` order and units).
        """
        head = self.decode(descriptors, state)
        harmonic_amps, noise_amps, f0 = self.controls(head, descriptors)
        if self.profile is not None:  # benchmarks: the network's part ends, the synthesis' begins
            self.profile.enter(self.profile.SYNTHESIS)
        hop = self.hop
        prev_f0 = f0 if state.f0_hz < 0 else state.f0_hz
        w_prev, w_cur = prev_f0 * TWO_PI / self.sample_rate, f0 * TWO_PI / self.sample_rate
        slope = w_cur - w_prev
        phase = np.remainder(state.phase + self._n * w_prev + slope * self._n_quad, TWO_PI).astype(np.float32)
        waves = np.sin(phase[:, None] * self._k_range)  # [hop, K]
        if self._k * max(w_prev, w_cur) >= math.pi:  # some harmonics cross Nyquist: mute them per sample
            omega = (np.float32(w_prev) + np.float32(slope) * self._ramp).astype(np.float32)
            waves *= (omega[:, None] * self._k_range) < math.pi
        previous = state.harmonic_amps
        tone = waves @ previous + self._ramp * (waves @ (harmonic_amps - previous))
        position = state.noise_pos
        bands = self._wrapped[position:position + hop]
        hiss = bands @ state.noise_amps + self._ramp * (bands @ (noise_amps - state.noise_amps))
        out[:] = tone + hiss
        state.phase = float(np.remainder(state.phase + hop * w_prev + slope * ((hop + 1) / 2), TWO_PI))
        state.noise_pos = (position + hop) % self._table.shape[0]
        state.harmonic_amps, state.noise_amps, state.f0_hz = harmonic_amps, noise_amps, f0

    timbre_size = 0
    """This model family takes no timbre code."""

    def render(self, descriptors: np.ndarray, state: NumpyState | None = None, z: np.ndarray | None = None) -> np.ndarray:
        """Render frames [T, 5] -> audio [T * hop] float32 (from silence unless ``state`` is given).
        ``z`` is accepted for the common interface and must be None."""
        if z is not None:
            raise ValueError(f"model {self.name} takes no timbre code")
        state = state or self.initial_state()
        out = np.empty(len(descriptors) * self.hop, dtype=np.float32)
        for index, frame in enumerate(descriptors):
            self.render_frame(frame, state, out[index * self.hop:(index + 1) * self.hop])
        return out


def streaming_model(model: LoadedModel, compiled: bool = True):
    """The NumPy runtime for a loaded model, whatever its family: a ``PercussionRuntime`` (with
    its compiled frame where built, unless ``compiled`` is False) or a ``NumpyModel``."""
    from neurorack.core.percussion_config import PercussionConfig

    if isinstance(model.config, PercussionConfig):
        from neurorack.core.percussion import PercussionRuntime

        return PercussionRuntime(model, compiled=compiled)
    return NumpyModel(model)
