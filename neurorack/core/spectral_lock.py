"""The spectral lock: the output's centroid and harmonic/noise balance follow two descriptors by
construction, not only as far as the network learned to follow them.

A model with ``ModelConfig.spectral_lock`` reads its head as amplitude logits of the harmonics
and of the noise bands, as without the lock, so twice them are power logits. Per frame:

1. **Balance.** The harmonic part gets the fraction ``h`` of the frame's power, from the
   requested ``pitch_confidence`` ``c``: ``h = clip((c - FLOOR) / (1 - FLOOR), 0, 1) ** (1 / EXPONENT)``.
   This inverts what the extractor's YIN reads from this synthesiser: noise alone reads about
   ``FLOOR`` (0.42) and harmonics with the power fraction ``h`` read about
   ``FLOOR + (1 - FLOOR) * h ** EXPONENT`` (measured at 60, 200 and 800 Hz, flat and 1/f shares).
2. **Tilt.** Both share vectors are tilted by ``f ** beta`` (``f``: each harmonic's frequency,
   each noise band's mean frequency) and renormalised, with one ``beta`` per frame chosen by
   ``ITERATIONS`` Newton steps on ``log`` centroid, so the power-weighted mean frequency
   ``h * sum(p_k f_k) + (1 - h) * sum(q_j f_j)`` equals the requested ``centroid_hz``.
   The centroid rises monotonically with ``beta`` (its derivative is a covariance of ``f`` and
   ``log f``), so each step also narrows a bracket around the answer, starting at
   ``+-MAX_TILT``, and a Newton step that would leave the bracket is replaced by bisection.
3. **Yielding to flatness.** A flat spectrum is noise and has its centroid near 12 kHz, so
   neither a strong tilt nor a large harmonic share can go with a high flatness. The requested
   flatness ``s`` releases both: with ``r = clip(1 - s / FLATNESS_RELEASE, 0, 1)`` (1 for tonal
   frames, 0 at about white noise's flatness), the frame uses ``r * beta`` and ``r * h``.
4. **Noise shape.** The requested flatness also decides how much of the network's noise
   shape is kept, on a log scale: all of it at ``FLATNESS_TONAL`` (0.001) and below, none at
   ``FLATNESS_RELEASE`` (0.5, about white noise), where the noise bands get white noise's
   shares (each band's power in proportion to its width). Power logits of the noise are
   ``k * 2 * head + (1 - k) * log(width)`` with ``k = shape_kept(s)``; the tilt is solved on them.
5. **A harmonic envelope.** ``ENVELOPE_SHARE`` (half) of the harmonic power follows the tilt
   alone over every audible harmonic (``f ** beta``, the network's shape left out), the rest
   the network's tilted shape; the centroid is solved for the mix. A network shape that piles
   the power on one or two high partials (a bell, an agogo) would otherwise read as that
   partial's pitch: YIN takes the first period whose difference is small, and a lone partial
   k has one at ``1 / (k f0)``. Many consecutive harmonics keep the true period the first.
6. **Level.** The frame's mean square is ``level ** 2`` (the loudness descriptor with the
   learned correction): harmonic amplitudes ``level * sqrt(2 h p_k)``, noise ``level * sqrt((1 - h) q_j)``
   (each noise band has an RMS of 1).

Harmonics at or above Nyquist get no share. Nothing depends on other frames, so streaming and
offline rendering stay identical. The torch version is ``DescriptorModel.lock_controls``; this
module holds the constants and the NumPy version the runtime uses.
"""

from __future__ import annotations

import math

import numpy as np

FLOOR = 0.42
EXPONENT = 1.4
ITERATIONS = 6
MAX_TILT = 8.0
MIN_FRACTION = 1e-3
MASKED_LOGIT = -1e4
FLATNESS_RELEASE = 0.5
FLATNESS_TONAL = 1e-3
ENVELOPE_SHARE = 0.5


def harmonic_fraction(confidence: float, flatness: float = 0.0) -> float:
    """The harmonic share of the power for a requested pitch confidence and flatness."""
    share = min(max((confidence - FLOOR) / (1.0 - FLOOR), 0.0), 1.0) ** (1.0 / EXPONENT)
    return min(max(share * release(flatness), MIN_FRACTION), 1.0 - MIN_FRACTION)


def release(flatness: float) -> float:
    """How much of the tilt and of the harmonic share a frame with this requested flatness keeps (0..1)."""
    return min(max(1.0 - flatness / FLATNESS_RELEASE, 0.0), 1.0)


def shape_kept(flatness: float) -> float:
    """How much of the network's noise shape a frame with this requested flatness keeps (0..1, log scale)."""
    kept = math.log(FLATNESS_RELEASE / max(flatness, 1e-12)) / math.log(FLATNESS_RELEASE / FLATNESS_TONAL)
    return min(max(kept, 0.0), 1.0)


def noise_logits(head_noise: np.ndarray, log_widths: np.ndarray, flatness: float) -> np.ndarray:
    """The noise bands' power logits [Nb] from the head's noise outputs, for a requested flatness."""
    kept = shape_kept(flatness)
    return kept * 2.0 * head_noise + (1.0 - kept) * log_widths


def noise_log_widths(edges_hz: np.ndarray) -> np.ndarray:
    """Natural log of each noise band's width: white noise's power logits over the bands, [Nb]."""
    return np.log(np.diff(edges_hz))


def noise_log_frequencies(edges_hz: np.ndarray) -> np.ndarray:
    """Natural log of each noise band's mean frequency (the middle of its edges): [Nb]."""
    return np.log(0.5 * (edges_hz[:-1] + edges_hz[1:]))


def lock_frame(harmonic_logits: np.ndarray, noise_logits: np.ndarray, log_f_harmonic: np.ndarray,
               log_f_noise: np.ndarray, fraction: float, centroid_hz: float,
               strength: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """One frame's power shares: [K] and [Nb] logits (inaudible harmonics at ``MASKED_LOGIT``) ->
    harmonic shares [K] and noise shares [Nb] (each summing to 1), tilted to the centroid
    (``strength`` times the tilt that reaches it: ``release``). ``ENVELOPE_SHARE`` of the
    harmonic shares follow the tilt alone over the audible harmonics (see the module's notes).

    The runtime calls this every frame, so each Newton step is one exponential and one
    vector-matrix product over the three parts at once (float64): the network's harmonics, the
    envelope and the noise; the columns of ``sums`` give each part's sum of weights, and of
    weights times f, log f, and f log f.
    """
    k = len(harmonic_logits)
    envelope = np.where(harmonic_logits > MASKED_LOGIT / 2, 0.0, MASKED_LOGIT)
    logits = np.concatenate([harmonic_logits, envelope, noise_logits]).astype(np.float64)
    log_f = np.concatenate([log_f_harmonic, log_f_harmonic, log_f_noise]).astype(np.float64)
    parts = (slice(0, k), slice(k, 2 * k), slice(2 * k, None))
    weights_of_parts = np.array([(1.0 - ENVELOPE_SHARE) * fraction, ENVELOPE_SHARE * fraction, 1.0 - fraction])
    base = np.concatenate([np.exp(logits[rows] - logits[rows].max()) for rows in parts])
    f = np.exp(log_f)
    sums = np.zeros((len(logits), 12))
    for part, rows in enumerate(parts):
        sums[rows, part] = 1.0
        sums[rows, 3 + part] = f[rows]
        sums[rows, 6 + part] = log_f[rows]
        sums[rows, 9 + part] = f[rows] * log_f[rows]
    target = math.log(min(max(centroid_hz, 20.0), 20000.0))
    beta, low, high = 0.0, -MAX_TILT, MAX_TILT
    for _ in range(ITERATIONS):
        s, sf, sl, sfl = (base * np.exp(beta * log_f) @ sums).reshape(4, 3)
        means = sf / s
        centroid = float(weights_of_parts @ means)
        slope = float(weights_of_parts @ ((sfl - means * sl) / s))
        error = target - math.log(centroid)
        if error > 0.0:
            low = beta
        else:
            high = beta
        newton = beta + error * centroid / max(slope, 1e-9)
        beta = newton if low <= newton <= high else 0.5 * (low + high)
    weights = base * np.exp(strength * beta * log_f)
    network, tilt_only, noise = (weights[rows] / weights[rows].sum() for rows in parts)
    return (1.0 - ENVELOPE_SHARE) * network + ENVELOPE_SHARE * tilt_only, noise
