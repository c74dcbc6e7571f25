"""The always-on output stage: gain, DC blocker, soft limiter, fades, each behind a guard.

Every rendered block passes through it before the FIFO, so nothing the voices do can
reach the jack as a burst, a DC offset or a NaN.
"""

from __future__ import annotations

import math

import numpy as np

MAX_LEVEL = 1e4  # +80 dBFS: beyond any voice at any gain, and far from overflowing anything


class DcBlocker:
    """One-pole high-pass ``y[n] = x[n] - x[n-1] + r * y[n-1]``, run in exact closed form.

    The recursion is unrolled over chunks of ``chunk`` samples as a matrix product
    (a lower-triangular matrix of powers of ``r``), which gives the same numbers as the
    sample loop without a Python loop per sample.
    """

    def __init__(self, sample_rate: int, corner_hz: float, chunk: int = 64):
        self.r = 1.0 - 2.0 * math.pi * corner_hz / sample_rate
        exponents = np.arange(chunk)[:, None] - np.arange(chunk)[None, :]
        self._matrix = np.tril(self.r ** np.maximum(exponents, 0))
        self._carry = self.r ** np.arange(1, chunk + 1)
        self._diff = np.zeros(chunk)
        self._chunk = chunk
        self.reset()

    def reset(self) -> None:
        """Forget the past (after a mute)."""
        self._last_in = 0.0
        self._last_out = 0.0

    def process(self, block: np.ndarray) -> None:
        """Filter ``block`` ([frames], float) in place."""
        for start in range(0, len(block), self._chunk):
            x = block[start:start + self._chunk]
            n = len(x)
            diff = self._diff[:n]
            diff[0] = x[0] - self._last_in
            np.subtract(x[1:], x[:-1], out=diff[1:])
            self._last_in = float(x[-1])
            y = self._matrix[:n, :n] @ diff + self._carry[:n] * self._last_out
            self._last_out = float(y[-1])
            x[:] = y


class SoftLimiter:
    """Transparent below ``knee``, then bends smoothly (tanh) towards ``ceiling``.

    The output never exceeds the ceiling in magnitude, whatever the input.
    """

    def __init__(self, ceiling: float, knee_ratio: float = 0.5):
        self.ceiling = float(ceiling)
        self.knee = self.ceiling * knee_ratio
        self._span = self.ceiling - self.knee

    def process(self, block: np.ndarray) -> None:
        """Limit ``block`` in place."""
        magnitude = np.abs(block)
        if magnitude.max(initial=0.0) <= self.knee:
            return
        over = magnitude > self.knee
        bent = self.knee + self._span * np.tanh((magnitude[over] - self.knee) / self._span)
        block[over] = np.copysign(np.minimum(bent, self.ceiling), block[over])


class Fader:
    """A linear gain ramp between silence (0) and full level (1)."""

    def __init__(self, fade_frames: int, max_block: int):
        self.fade_frames = max(1, int(fade_frames))
        self.gain = 0.0
        self.target = 0.0
        self._steps = np.arange(1, max_block + 1, dtype=np.float64) / self.fade_frames

    @property
    def is_silent(self) -> bool:
        """True once a fade-out has reached zero."""
        return self.gain == 0.0 and self.target == 0.0

    def fade_in(self) -> None:
        self.target = 1.0

    def fade_out(self) -> None:
        self.target = 0.0

    def process(self, block: np.ndarray) -> None:
        """Apply the current ramp to ``block`` in place."""
        if self.gain == self.target:
            if self.gain == 0.0:
                block[:] = 0.0
            return
        direction = 1.0 if self.target > self.gain else -1.0
        ramp = np.clip(self.gain + direction * self._steps[:len(block)], 0.0, 1.0)
        block *= ramp
        self.gain = float(ramp[-1])


class OutputStage:
    """Gain → DC blocker → soft limiter → fade, in place, per block, with a guard after
    each of the first three (after the limiter only when it had work: below its knee it
    leaves the block as the guard before it passed it).

    A guard trips on NaN or Inf, and on a level no voice makes (``MAX_LEVEL``): finite
    samples near the float limit overflow in the gain or the DC blocker, and even short of
    that the DC blocker would remember them for minutes. A trip mutes the block and resets
    the DC blocker, so the next good block plays as if nothing happened.

    Args:
        sample_rate: Hz.
        max_block: the largest block ``process`` will see.
        gain_db: gain before the limiter.
        ceiling_db: the limiter's ceiling in dBFS.
        dc_block_hz: the DC blocker's corner.
        fade_ms: length of the start/stop fades.
    """

    def __init__(self, sample_rate: int, max_block: int, gain_db: float = 0.0, ceiling_db: float = -1.0,
                 dc_block_hz: float = 5.0, fade_ms: float = 20.0):
        self.gain = 10.0 ** (gain_db / 20.0)
        self.dc_blocker = DcBlocker(sample_rate, dc_block_hz)
        self.limiter = SoftLimiter(10.0 ** (ceiling_db / 20.0))
        self.fader = Fader(round(fade_ms * sample_rate / 1000.0), max_block)
        self.trips = {"gain": 0, "dc blocker": 0, "limiter": 0}  # guard trips after each stage

    def process(self, block: np.ndarray) -> bool:
        """Process one block of float64 samples in place.

        Returns:
            False if a guard tripped: the block is replaced by silence and the DC blocker
            is reset; the caller resets the voice.
        """
        if self.gain != 1.0:
            with np.errstate(over="ignore"):  # an overflow to Inf is the guard's to catch
                block *= self.gain
        if not _peak(block) <= MAX_LEVEL:  # False for NaN
            return self._trip(block, "gain")
        self.dc_blocker.process(block)
        peak = _peak(block)
        if not peak <= MAX_LEVEL:
            return self._trip(block, "dc blocker")
        if peak > self.limiter.knee:  # below the knee the limiter leaves the block as it is
            self.limiter.process(block)
            if not _peak(block) <= MAX_LEVEL:
                return self._trip(block, "limiter")
        self.fader.process(block)
        return True

    def _trip(self, block: np.ndarray, stage: str) -> bool:
        """``stage`` left ``block`` out of range: mute it and forget the DC blocker's past."""
        block[:] = 0.0
        self.dc_blocker.reset()
        self.trips[stage] += 1
        return False


def _peak(block: np.ndarray) -> float:
    """The largest magnitude in ``block``; NaN if it holds a NaN (0 for an empty block).

    Two reductions, not ``abs`` then one: no temporary array in the render thread."""
    if len(block) == 0:
        return 0.0
    low, high = float(block.min()), float(block.max())  # both NaN if a sample is
    return high if high >= -low else -low
