"""Signal helpers the runtime and the toolbox share: resampling one-shots to the models'
rate and trimming the silence around them."""

from __future__ import annotations

import numpy as np
import soxr

from neurorack.core.descriptors import SAMPLE_RATE


def resample(audio: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """Mono ``audio`` [samples] at ``rate`` -> float64 at ``target``, ``round(n * target / rate)``
    samples long.

    soxr's very-high-quality linear-phase filter (its delay compensated): a sound's start never
    leaks into its end, as it would with a whole-sound FFT resampler.
    """
    if rate == target or len(audio) == 0:
        return audio
    return soxr.resample(np.ascontiguousarray(audio, dtype=np.float64), rate, target, quality="VHQ")


PRE_ROLL = 64  # samples kept before a sound first reaches the threshold (1.33 ms at 48 kHz)


def trim_silence(audio: np.ndarray, threshold_db: float = -60.0, pre_roll: int = PRE_ROLL) -> np.ndarray:
    """Cut what lies below ``threshold_db`` relative to the peak at the start and the end,
    keeping ``pre_roll`` samples before the first sample above it."""
    peak = np.max(np.abs(audio)) if len(audio) else 0.0
    if peak <= 0.0:
        return audio[:0]
    loud = np.flatnonzero(np.abs(audio) >= peak * 10.0 ** (threshold_db / 20.0))
    return audio[max(loud[0] - pre_roll, 0):loud[-1] + 1]
