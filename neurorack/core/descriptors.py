"""Audio descriptors: the model's control inputs, and the measure of control accuracy.

One extractor, NumPy only (the runtime can use it without torch). Frames are on a fixed hop:
frame ``t`` describes the samples ``[t * hop, (t + 1) * hop)``, analysed through a window
centred on that span. A signal of ``n`` samples has ``ceil(n / hop)`` frames.

Descriptors (in this order, ``DESCRIPTOR_NAMES``):

- ``loudness_db``: mean-square level over the window in dB (a full-scale sine reads -3.01 dB);
  silence reads ``SILENCE_DB``.
- ``centroid_hz``: the power-weighted mean frequency of the spectrum.
- ``flatness``: spectral flatness (geometric / arithmetic mean of the power spectrum), 0..1:
  near 0 for a tone, about 0.56 for white noise (the periodogram of noise is exponential).
- ``pitch_hz``: fundamental frequency from the YIN difference function; on frames without a
  clear period (confidence < 0.5) it holds the last confident value (before the first
  confident frame, that frame's value; the centroid when no frame is confident).
- ``pitch_confidence``: 1 - the YIN dip depth, 0..1; low on noise, silence and most cymbals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 48000
HOP = 256
WINDOW = 2048
SILENCE_DB = -90.0
PITCH_MIN_HZ = 40.0
PITCH_MAX_HZ = 4000.0
YIN_THRESHOLD = 0.2

DESCRIPTOR_NAMES = ("loudness_db", "centroid_hz", "flatness", "pitch_hz", "pitch_confidence")


@dataclass(frozen=True)
class DescriptorRange:
    """The range a descriptor takes and how it is scaled into the network (log or linear)."""

    name: str
    unit: str
    low: float
    high: float
    log: bool

    def normalise(self, values: np.ndarray) -> np.ndarray:
        """Map ``values`` to about -1..1 (log-scaled for frequencies), clipped to the range."""
        values = np.clip(values, self.low, self.high)
        if self.log:
            low, high, values = np.log(self.low), np.log(self.high), np.log(values)
        else:
            low, high = self.low, self.high
        return 2.0 * (values - low) / (high - low) - 1.0


DESCRIPTOR_RANGES = (
    DescriptorRange("loudness_db", "dB", SILENCE_DB, 0.0, False),
    DescriptorRange("centroid_hz", "Hz", 20.0, 20000.0, True),
    DescriptorRange("flatness", "", 1e-6, 1.0, True),
    DescriptorRange("pitch_hz", "Hz", PITCH_MIN_HZ, PITCH_MAX_HZ, True),
    DescriptorRange("pitch_confidence", "", 0.0, 1.0, False),
)


def frame_count(n_samples: int, hop: int = HOP) -> int:
    """Frames covering ``n_samples``: ``ceil(n_samples / hop)``."""
    return -(-n_samples // hop)


def frames(audio: np.ndarray, hop: int = HOP, window: int = WINDOW) -> np.ndarray:
    """Windows of ``audio`` ([samples]) centred on each hop span: [frames, window]."""
    n_frames = frame_count(len(audio), hop)
    left = (window - hop) // 2
    padded = np.zeros(left + n_frames * hop + window, dtype=np.float64)
    padded[left:left + len(audio)] = audio
    starts = np.arange(n_frames) * hop
    return np.lib.stride_tricks.sliding_window_view(padded, window)[starts]


def extract(audio: np.ndarray, sample_rate: int = SAMPLE_RATE, hop: int = HOP,
            window: int = WINDOW) -> np.ndarray:
    """Descriptors of a mono signal.

    Args:
        audio: [samples], float, -1..1, at ``sample_rate``.

    Returns:
        [frames, 5] float32 in ``DESCRIPTOR_NAMES`` order, ``frames = ceil(samples / hop)``.
    """
    audio = np.asarray(audio, dtype=np.float64)
    if audio.ndim != 1:
        raise ValueError(f"expected mono audio [samples], got shape {audio.shape}")
    windowed = frames(audio, hop, window)
    if len(windowed) == 0:
        return np.zeros((0, len(DESCRIPTOR_NAMES)), dtype=np.float32)
    mean_square = np.mean(windowed ** 2, axis=1)
    loudness = 10.0 * np.log10(np.maximum(mean_square, 10.0 ** (SILENCE_DB / 10.0)))
    power = np.abs(np.fft.rfft(windowed * np.hanning(window), axis=1)) ** 2
    freqs = np.fft.rfftfreq(window, 1.0 / sample_rate)
    total = power.sum(axis=1)
    silent = total < 1e-12
    centroid = np.where(silent, 1000.0, (power * freqs).sum(axis=1) / np.maximum(total, 1e-30))
    centroid = np.clip(centroid, 20.0, 20000.0)
    band = power[:, 1:] + 1e-20
    flatness = np.exp(np.mean(np.log(band), axis=1)) / np.mean(band, axis=1)
    flatness = np.where(silent, 1.0, np.clip(flatness, 1e-6, 1.0))
    pitch, confidence = _yin(windowed, sample_rate)
    confidence = np.where(mean_square < 10.0 ** (-70.0 / 10.0), 0.0, confidence)
    pitch = _hold_unconfident(pitch, confidence, centroid)
    out = np.stack([loudness, centroid, flatness, pitch, confidence], axis=1)
    return out.astype(np.float32)


def normalise(descriptors: np.ndarray) -> np.ndarray:
    """Scale raw descriptors ([..., 5]) to the network's input range (about -1..1 each)."""
    columns = [r.normalise(descriptors[..., i]) for i, r in enumerate(DESCRIPTOR_RANGES)]
    return np.stack(columns, axis=-1).astype(np.float32)


def _yin(windowed: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """YIN on each frame: (pitch_hz [frames], confidence [frames])."""
    window = windowed.shape[1]
    half = window // 2
    max_lag = min(int(sample_rate / PITCH_MIN_HZ), half)
    min_lag = max(int(sample_rate / PITCH_MAX_HZ), 2)
    x = windowed - windowed.mean(axis=1, keepdims=True)
    spectrum = np.fft.rfft(x, n=2 * window, axis=1)
    autocorr = np.fft.irfft(np.abs(spectrum) ** 2, axis=1)[:, :max_lag + 1]
    energy = np.cumsum(x ** 2, axis=1)
    # d(lag) = sum_{j < W-lag} (x_j - x_{j+lag})^2, with the energies of both overlapping parts.
    lags = np.arange(max_lag + 1)
    head = energy[:, window - 1 - lags]  # energy of x[0 : W - lag]
    tail = energy[:, -1:] - np.concatenate([np.zeros((len(x), 1)), energy[:, :max_lag]], axis=1)
    difference = np.maximum(head + tail - 2.0 * autocorr, 0.0)
    cumulative = np.cumsum(difference[:, 1:], axis=1) / lags[1:]
    normalised = np.ones_like(difference)
    normalised[:, 1:] = difference[:, 1:] / np.maximum(cumulative, 1e-20)
    search = normalised[:, min_lag:max_lag]
    below = search < YIN_THRESHOLD
    # The first dip under the threshold (then its local minimum), else the global minimum.
    first = np.where(below.any(axis=1), below.argmax(axis=1), search.argmin(axis=1))
    rows = np.arange(len(search))
    lag = first.copy()
    for _ in range(search.shape[1]):
        step = (lag + 1 < search.shape[1]) & (search[rows, np.minimum(lag + 1, search.shape[1] - 1)] < search[rows, lag])
        step &= below.any(axis=1)
        if not step.any():
            break
        lag = lag + step
    depth = search[rows, lag]
    absolute = lag + min_lag
    left = normalised[rows, absolute - 1]
    right = normalised[rows, np.minimum(absolute + 1, max_lag)]
    curvature = left - 2.0 * depth + right
    offset = np.where(np.abs(curvature) > 1e-12, 0.5 * (left - right) / np.where(curvature == 0, 1, curvature), 0.0)
    refined = absolute + np.clip(offset, -1.0, 1.0)
    pitch = sample_rate / refined
    confidence = np.clip(1.0 - depth, 0.0, 1.0)
    return np.clip(pitch, PITCH_MIN_HZ, PITCH_MAX_HZ), confidence


def _hold_unconfident(pitch: np.ndarray, confidence: np.ndarray, centroid: np.ndarray) -> np.ndarray:
    """Where confidence < 0.5, hold the last confident pitch (see the module docstring)."""
    confident = confidence >= 0.5
    if not confident.any():
        return np.clip(centroid, PITCH_MIN_HZ, PITCH_MAX_HZ)
    last = np.where(confident, np.arange(len(pitch)), -1)
    last = np.maximum.accumulate(last)
    first_confident = int(np.argmax(confident))
    return np.where(last >= 0, pitch[np.maximum(last, 0)], pitch[first_confident])
