"""Voices: what the engine plays when a gate fires.

A voice renders mono float64 blocks and keeps its own state between them. The engine
splits blocks at onsets, so ``trigger`` always lands on the exact sample.

``TestVoice`` is a plain DSP drum hit (decaying tone plus a noise burst). It is the
fallback when no model can play, and the voice of hardware checks.
"""

from __future__ import annotations

import time
from typing import Protocol

import numpy as np


class Voice(Protocol):
    """What the engine needs from a voice."""

    name: str

    def trigger(self, velocity: float) -> None:
        """Start a new hit at the next rendered sample. ``velocity`` is 0..1."""

    def render(self, out: np.ndarray) -> None:
        """Overwrite ``out`` ([frames], float64, -1..1) with the next samples."""

    def reset(self) -> None:
        """Return to silence, forgetting all state (after a NaN or an error)."""

    # Optional: ``on_gate(edge: GateEdge) -> None``. A voice that has it receives every edge
    # (either gate, rising or falling) at its onset sample instead of ``trigger``.


class TestVoice:
    """A decaying sine plus a short noise burst: the built-in test and fallback voice.

    Args:
        sample_rate: Hz.
        frequency_hz: pitch of the tone.
        decay_s: time for the tone to fall by 60 dB.
        noise_decay_s: time for the noise burst to fall by 60 dB.
        seed: noise seed; the same seed renders the same samples.
    """

    name = "test voice"
    __test__ = False  # not a pytest test class

    def __init__(self, sample_rate: int, frequency_hz: float = 110.0, decay_s: float = 0.6,
                 noise_decay_s: float = 0.05, seed: int = 0, max_block: int = 4096):
        self.sample_rate = sample_rate
        self._phase_step = 2.0 * np.pi * frequency_hz / sample_rate
        self._tone_ratio = 10.0 ** (-3.0 / (decay_s * sample_rate))
        self._noise_ratio = 10.0 ** (-3.0 / (noise_decay_s * sample_rate))
        steps = np.arange(max_block, dtype=np.float64)
        self._tone_powers = self._tone_ratio ** steps
        self._noise_powers = self._noise_ratio ** steps
        self._phases = self._phase_step * steps
        self._noise = np.zeros(max_block)
        self._seed = seed
        self.reset()

    def reset(self) -> None:
        self._rng = np.random.default_rng(self._seed)
        self._phase = 0.0
        self._tone_level = 0.0
        self._noise_level = 0.0

    def trigger(self, velocity: float = 1.0) -> None:
        velocity = min(max(float(velocity), 0.0), 1.0)
        self._phase = 0.0
        self._tone_level = 0.6 * velocity  # tone + noise peaks stay below 1
        self._noise_level = 0.35 * velocity

    def render(self, out: np.ndarray) -> None:
        n = len(out)
        if n == 0:
            return
        if self._tone_level < 1e-6 and self._noise_level < 1e-6:
            out[:] = 0.0
            return
        np.sin(self._phases[:n] + self._phase, out=out)
        out *= self._tone_powers[:n]
        out *= self._tone_level
        noise = self._noise[:n]
        self._rng.random(out=noise)
        noise -= 0.5
        noise *= 2.0 * self._noise_powers[:n]
        noise *= self._noise_level
        out += noise
        self._phase = (self._phase + n * self._phase_step) % (2.0 * np.pi)
        self._tone_level *= self._tone_ratio ** n
        self._noise_level *= self._noise_ratio ** n


class BusyVoice(TestVoice):
    """A deliberately overloaded voice: the test voice plus ``busy_ms`` of pure-Python work
    per block, holding the interpreter lock like a model that is too slow would.

    It exists to prove that dropouts are detected and counted (``bench realtime --voice busy``).
    """

    name = "overloaded test voice"

    def __init__(self, sample_rate: int, busy_ms: float = 8.0, **kwargs):
        super().__init__(sample_rate, **kwargs)
        self.busy_s = busy_ms / 1000.0

    def render(self, out: np.ndarray) -> None:
        deadline = time.perf_counter() + self.busy_s
        spins = 0
        while time.perf_counter() < deadline:
            spins += 1
        super().render(out)
