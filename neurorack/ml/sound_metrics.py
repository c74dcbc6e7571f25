"""Sound metrics for one-shots that an imitation made of shaped noise cannot pass.

NumPy and SciPy only. Every function takes mono float audio (any length) at ``sr`` Hz and
returns plain numbers or arrays, so each metric can be tested on small synthetic signals.

Definitions (the figures ``neurorack eval`` reports are built from these):

- **envelope** (``rms_envelope``): RMS over a 1 ms window, centred, every 0.125 ms.
- **onset**: the first time the envelope reaches the sound's envelope peak - 30 dB
  (linearly interpolated between envelope points).
- **attack peak**: the first local maximum of the envelope, after the onset, that comes within
  1 dB of the envelope's maximum over the 100 ms after the onset (so near-equal crests of a
  low mode cannot make it jump by a period).
- **time to peak**: attack peak time - onset time.
- **rise time (10-90 %)**: from the first time the envelope reaches 10 % of the attack peak
  (-20 dB) to the first time it reaches 90 % (-0.9 dB), both after the onset.
- **bursts** (``burst_count``): peaks of a 2 ms RMS envelope (in dB) of the sound above 1 kHz
  (zero-phase high-pass: the hand hits of a clap are broadband, while beating low modes of
  kicks and toms would fake bursts) within 60 ms of the onset
  that stand at least 6 dB above the dips on both sides (prominence), lie within 10 dB of the
  loudest one and at least 3 ms apart. A clap of three hand hits has three.
- **log-mel** (``log_mel``): power spectrogram (2048-point Hann window, 256-sample hop,
  centred) through 64 triangular mel filters (HTK mel scale, 30 Hz to 20 kHz, each filter's
  weights summing to 1), in dB.
- **log-mel distance** (``log_mel_distance``): mean absolute difference, in dB, of two log-mels
  over the first 500 ms, both floored at the reference's maximum - 80 dB (so what lies 80 dB
  below the sound does not count).
- **low band** (``low_band_energy``): energy below 150 Hz (4th-order Butterworth low-pass, run
  forwards and backwards so it adds no delay) in the 30 ms from a given start.
- **identity embedding** (``identity_embedding``): the log-mel over the first 500 ms relative to
  its own maximum (level does not count: loudness is a control) pooled into 32 bands; the
  mean of each band in four spans (0-20, 20-80, 80-200, 200-500 ms) and each band's standard
  deviation over the 500 ms; 160 values, compared by Euclidean distance.
- **gain copies** (``gain_copy_groups``): sounds whose waveforms over the first 500 ms correlate
  at 0.99 or more (normalised, at a lag within 1 ms) are one recording at two levels.
- **noise vocoder** (``noise_vocoder``): the sound's STFT (Hann, 1024 points, hop 256) with
  each frame's power averaged within ``n_bands`` log-spaced bands (20 Hz to Nyquist; 513 bands
  means every bin), given the phases of seeded white noise and overlap-added back. It keeps
  the short-time spectral envelope and nothing finer: the best that shaped noise does at that
  band count.
- **centroid** (``spectral_centroid``): power-weighted mean frequency (20 Hz - 20 kHz) of one
  FFT over the whole excerpt.
- **Spearman rho** (``spearman``): Pearson correlation of the ranks (ties get their mean rank).
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np
from scipy import signal, stats

ENVELOPE_WINDOW_S = 1e-3
ENVELOPE_STEP_S = 1.25e-4
ONSET_DB = -30.0
ATTACK_SEARCH_S = 0.1
PEAK_TIE_DB = 1.0
BURST_WINDOW_S = 2e-3
BURST_SPAN_S = 0.06
BURST_DIP_DB = 6.0
BURST_RANGE_DB = 10.0
BURST_MIN_GAP_S = 3e-3
BURST_HIGH_PASS_HZ = 1000.0
MEL_FFT = 2048
MEL_HOP = 256
MEL_BANDS = 64
MEL_LOW_HZ = 30.0
MEL_HIGH_HZ = 20000.0
LOG_MEL_SECONDS = 0.5
LOG_MEL_FLOOR_DB = -80.0
LOW_BAND_HZ = 150.0
LOW_BAND_SECONDS = 0.03
EMBEDDING_SPANS_S = (0.0, 0.02, 0.08, 0.2, 0.5)
EMBEDDING_BANDS = 32
GAIN_COPY_CORRELATION = 0.99
VOCODER_LOW_HZ = 20.0
VOCODER_FFT = 1024
VOCODER_HOP = 256


# ---------------------------------------------------------------- envelope and attack

def rms_envelope(x: np.ndarray, sr: int, window_s: float = ENVELOPE_WINDOW_S,
                 step_s: float = ENVELOPE_STEP_S) -> tuple[np.ndarray, np.ndarray]:
    """RMS over a centred ``window_s`` window every ``step_s``.

    Returns:
        (times in seconds [K], RMS [K]); point k is centred on sample ``round(k * step_s * sr)``.
    """
    x = np.asarray(x, dtype=np.float64)
    window = max(round(window_s * sr), 1)
    step = max(round(step_s * sr), 1)
    half = window // 2
    energy = np.concatenate([[0.0], np.cumsum(x * x)])
    centres = np.arange(0, len(x), step)
    lo = np.clip(centres - half, 0, len(x))
    hi = np.clip(centres - half + window, 0, len(x))
    rms = np.sqrt(np.maximum(energy[hi] - energy[lo], 0.0) / window)
    return centres / sr, rms


def _crossing(times: np.ndarray, env: np.ndarray, level: float, start: int) -> float:
    """The first time from index ``start`` at which ``env`` reaches ``level`` (interpolated)."""
    above = np.flatnonzero(env[start:] >= level)
    if len(above) == 0:
        return math.nan
    k = start + int(above[0])
    if k == 0 or env[k - 1] >= level:
        return float(times[k])
    frac = (level - env[k - 1]) / (env[k] - env[k - 1])
    return float(times[k - 1] + frac * (times[k] - times[k - 1]))


def attack(x: np.ndarray, sr: int) -> dict:
    """Onset, attack peak, time to peak and 10-90 % rise time of a one-shot, in seconds.

    Returns:
        ``{"onset_s", "peak_s", "time_to_peak_s", "rise_s"}``; all NaN for silence.
    """
    times, env = rms_envelope(x, sr)
    nan = {"onset_s": math.nan, "peak_s": math.nan, "time_to_peak_s": math.nan, "rise_s": math.nan}
    if len(env) == 0 or env.max() <= 0.0:
        return nan
    top = env.max()
    first = int(np.flatnonzero(env >= top * 10.0 ** (ONSET_DB / 20.0))[0])
    onset = _crossing(times, env, top * 10.0 ** (ONSET_DB / 20.0), 0)
    search = env[first:first + round(ATTACK_SEARCH_S / ENVELOPE_STEP_S) + 1]
    # the first local maximum within 1 dB of the attack maximum: near-equal crests of a low
    # mode must not make the peak jump by a period
    peak_index = first + int(np.flatnonzero(search >= search.max() * 10.0 ** (-PEAK_TIE_DB / 20.0))[0])
    while peak_index + 1 < len(env) and env[peak_index + 1] > env[peak_index]:
        peak_index += 1
    peak = env[first:peak_index + 1].max()
    t10 = _crossing(times, env, 0.1 * peak, first)
    t90 = _crossing(times, env, 0.9 * peak, first)
    return {"onset_s": onset, "peak_s": float(times[peak_index]),
            "time_to_peak_s": float(times[peak_index]) - onset, "rise_s": t90 - t10}


def burst_count(x: np.ndarray, sr: int) -> int:
    """How many separate bursts (hand hits of a clap, strokes of a flam) start the sound.

    Peaks of the 2 ms RMS envelope in dB of the sound above 1 kHz, within 60 ms of the onset, with a prominence of at
    least 6 dB, within 10 dB of the loudest peak there, at least 3 ms apart. 0 for silence.
    """
    onset = attack(x, sr)["onset_s"]
    if math.isnan(onset):
        return 0
    if BURST_HIGH_PASS_HZ:
        pad = int(0.01 * sr)
        sos = signal.butter(4, BURST_HIGH_PASS_HZ, btype="high", fs=sr, output="sos")
        x = signal.sosfiltfilt(sos, np.pad(np.asarray(x, dtype=np.float64), pad))[pad:-pad]
    times, env = rms_envelope(x, sr, window_s=BURST_WINDOW_S)
    keep = (times >= onset - BURST_WINDOW_S) & (times <= onset + BURST_SPAN_S)
    db = 20.0 * np.log10(np.maximum(env[keep], 1e-12))
    # a zero-level point after the window closes the last burst, so a peak at the end counts
    padded = np.concatenate([[db.min() - BURST_DIP_DB], db, [db.min() - BURST_DIP_DB]])
    peaks, _props = signal.find_peaks(padded, prominence=BURST_DIP_DB,
                                     distance=max(round(BURST_MIN_GAP_S / ENVELOPE_STEP_S), 1))
    if len(peaks) == 0:
        return 1
    return int(np.sum(padded[peaks] >= padded[peaks].max() - BURST_RANGE_DB))


# ---------------------------------------------------------------- log-mel

def _hz_to_mel(f):
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def _mel_to_hz(m):
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


@functools.lru_cache(maxsize=8)
def mel_filterbank(sr: int, n_fft: int = MEL_FFT, n_mels: int = MEL_BANDS, low_hz: float = MEL_LOW_HZ,
                   high_hz: float = MEL_HIGH_HZ) -> np.ndarray:
    """Triangular mel filters on the rfft bins: [n_mels, n_fft // 2 + 1], each row summing to 1.

    Filters narrower than a bin take the nearest bin whole, so no band is empty.
    """
    high_hz = min(high_hz, sr / 2.0)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(low_hz), _hz_to_mel(high_hz), n_mels + 2))
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    bank = np.zeros((n_mels, len(freqs)))
    for band in range(n_mels):
        lo, mid, hi = edges[band:band + 3]
        rising = (freqs - lo) / (mid - lo)
        falling = (hi - freqs) / (hi - mid)
        bank[band] = np.clip(np.minimum(rising, falling), 0.0, None)
        if bank[band].sum() <= 0.0:
            bank[band, int(np.argmin(np.abs(freqs - mid)))] = 1.0
        bank[band] /= bank[band].sum()
    bank.setflags(write=False)
    return bank


def mel_power(x: np.ndarray, sr: int, seconds: float = LOG_MEL_SECONDS) -> np.ndarray:
    """Mel power spectrogram of the first ``seconds`` (zero-padded if shorter): [frames, 64]."""
    n = round(seconds * sr)
    segment = np.zeros(n, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)[:n]
    segment[:len(x)] = x
    padded = np.pad(segment, MEL_FFT // 2)
    starts = np.arange(0, n, MEL_HOP)
    frames = np.lib.stride_tricks.sliding_window_view(padded, MEL_FFT)[starts]
    power = np.abs(np.fft.rfft(frames * np.hanning(MEL_FFT), axis=1)) ** 2
    return power @ mel_filterbank(sr).T


def log_mel(x: np.ndarray, sr: int, floor: float | None = None, seconds: float = LOG_MEL_SECONDS) -> np.ndarray:
    """Log-mel in dB ([frames, 64]); values below ``floor`` (a power; default: the maximum - 80
    dB) read as the floor."""
    power = mel_power(x, sr, seconds)
    if floor is None:
        floor = max(power.max(), 1e-30) * 10.0 ** (LOG_MEL_FLOOR_DB / 10.0)
    return 10.0 * np.log10(np.maximum(power, floor))


def log_mel_distance(reference: np.ndarray, other: np.ndarray, sr: int,
                     seconds: float = LOG_MEL_SECONDS) -> float:
    """Mean |dB difference| of two log-mels over the first ``seconds``, floored at the
    reference's maximum - 80 dB. 0 for identical signals; silence against a sound is large."""
    ref = mel_power(reference, sr, seconds)
    floor = max(ref.max(), 1e-30) * 10.0 ** (LOG_MEL_FLOOR_DB / 10.0)
    a = 10.0 * np.log10(np.maximum(ref, floor))
    b = 10.0 * np.log10(np.maximum(mel_power(other, sr, seconds), floor))
    return float(np.mean(np.abs(a - b)))


# ---------------------------------------------------------------- low band

@functools.lru_cache(maxsize=4)
def _low_pass(sr: int, cutoff: float):
    return signal.butter(4, cutoff, btype="low", fs=sr, output="sos")


def low_band_energy(x: np.ndarray, sr: int, start_s: float, seconds: float = LOW_BAND_SECONDS,
                    cutoff_hz: float = LOW_BAND_HZ) -> tuple[float, float]:
    """(energy below ``cutoff_hz``, total energy) in ``[start_s, start_s + seconds)``.

    The low-pass runs over the whole sound (zero-padded by 50 ms each side) forwards and
    backwards, so it neither delays nor clips the window's content.
    """
    x = np.asarray(x, dtype=np.float64)
    pad = int(0.05 * sr)
    low = signal.sosfiltfilt(_low_pass(sr, cutoff_hz), np.pad(x, pad))[pad:pad + len(x)]
    a = max(round(start_s * sr), 0)
    b = a + round(seconds * sr)
    return float(np.sum(low[a:b] ** 2)), float(np.sum(x[a:b] ** 2))


def low_band_error_db(original: np.ndarray, render: np.ndarray, sr: int, start_s: float,
                      floor_db: float = -40.0) -> float:
    """Render's low-band energy minus the original's, in dB, over the 30 ms from ``start_s``.

    Both are floored at the original's total energy in that window + ``floor_db``, so a sound
    with no low end is not scored on inaudible differences.
    """
    low_o, total_o = low_band_energy(original, sr, start_s)
    low_r, _ = low_band_energy(render, sr, start_s)
    floor = max(total_o, 1e-30) * 10.0 ** (floor_db / 10.0)
    return float(10.0 * np.log10((low_r + floor) / (low_o + floor)))


# ---------------------------------------------------------------- identity

def identity_embedding(x: np.ndarray, sr: int) -> np.ndarray:
    """A fixed, level-independent embedding of a one-shot's log-mel statistics: [160].

    The log-mel of the first 500 ms, relative to its own maximum (floor -80 dB), pooled into
    32 bands (pairs of mel bands); the mean of each band over 0-20, 20-80, 80-200 and
    200-500 ms, then each band's standard deviation over the 500 ms. Values in dB.
    """
    mel = log_mel(x, sr)
    mel = mel - mel.max()
    pooled = mel.reshape(len(mel), EMBEDDING_BANDS, -1).mean(axis=2)
    frame_times = np.arange(len(pooled)) * MEL_HOP / sr
    parts = []
    for lo, hi in itertools.pairwise(EMBEDDING_SPANS_S):
        rows = pooled[(frame_times >= lo) & (frame_times < hi)]
        parts.append(rows.mean(axis=0) if len(rows) else np.full(EMBEDDING_BANDS, LOG_MEL_FLOOR_DB))
    parts.append(pooled.std(axis=0))
    return np.concatenate(parts)


def pairwise_distances(queries: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    """Euclidean distances [Q, G] between embedding rows."""
    q, g = np.asarray(queries, dtype=np.float64), np.asarray(gallery, dtype=np.float64)
    squared = (q ** 2).sum(1)[:, None] + (g ** 2).sum(1)[None] - 2.0 * q @ g.T
    return np.sqrt(np.maximum(squared, 0.0))


def identity_ranks(distances: np.ndarray, groups: np.ndarray | None = None) -> np.ndarray:
    """The rank of each query's own source among the gallery (1 = nearest).

    ``distances[i, j]`` is from render i to original j, whose source is original i. With
    ``groups`` (one label per original; gain copies share one), the gallery is the groups, a
    group's distance being its nearest member's, and the own group must be nearer than every
    other group. Ties count in the query's favour (only strictly nearer items outrank it).
    """
    d = np.asarray(distances, dtype=np.float64)
    n = len(d)
    if groups is None:
        own = d[np.arange(n), np.arange(n)]
        return 1 + (d < own[:, None]).sum(axis=1)
    groups = np.asarray(groups)
    labels = np.unique(groups)
    by_group = np.stack([d[:, groups == label].min(axis=1) for label in labels], axis=1)
    own_column = np.searchsorted(labels, groups)
    own = by_group[np.arange(n), own_column]
    return 1 + (by_group < own[:, None]).sum(axis=1)


def top_k(ranks: np.ndarray, k: int) -> float:
    """Share of ranks at most ``k``."""
    ranks = np.asarray(ranks)
    return float(np.mean(ranks <= k)) if len(ranks) else math.nan


def gain_copy_groups(sounds: list[np.ndarray], sr: int, threshold: float = GAIN_COPY_CORRELATION,
                     seconds: float = LOG_MEL_SECONDS, max_lag_s: float = 1e-3) -> np.ndarray:
    """One label per sound; sounds that are gain-scaled copies of one recording share a label.

    Two sounds are copies when the normalised cross-correlation of their first ``seconds``
    reaches ``threshold`` at a lag within ``max_lag_s``; copies of copies join the same group.
    """
    n = round(seconds * sr)
    lag = round(max_lag_s * sr)
    size = 1 << math.ceil(math.log2(2 * n))
    spectra, norms = [], []
    for s in sounds:
        seg = np.zeros(n)
        s = np.asarray(s, dtype=np.float64)[:n]
        seg[:len(s)] = s
        spectra.append(np.fft.rfft(seg, size))
        norms.append(np.sqrt(np.sum(seg ** 2)))
    parent = list(range(len(sounds)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(sounds)):
        for j in range(i + 1, len(sounds)):
            if norms[i] <= 0.0 or norms[j] <= 0.0:
                continue
            corr = np.fft.irfft(spectra[i] * np.conj(spectra[j]), size)
            near = np.concatenate([corr[:lag + 1], corr[size - lag:]]) if lag else corr[:1]
            if near.max() / (norms[i] * norms[j]) >= threshold:
                parent[root(j)] = root(i)
    return np.array([root(i) for i in range(len(sounds))])


# ---------------------------------------------------------------- noise vocoder

def vocoder_band_of_bins(n_bands: int, sr: int, n_fft: int = VOCODER_FFT, low_hz: float = VOCODER_LOW_HZ) -> np.ndarray:
    """The band of each rfft bin: [n_fft // 2 + 1] ints.

    Bands are log-spaced from ``low_hz`` to Nyquist (the first also takes the bins below
    ``low_hz``); bands narrower than a bin hold no bin. With ``n_bands`` at least the bin
    count, every bin is its own band.
    """
    bins = n_fft // 2 + 1
    if n_bands >= bins:
        return np.arange(bins)
    edges = np.geomspace(low_hz, sr / 2.0, n_bands + 1)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    return np.clip(np.searchsorted(edges, freqs, side="right") - 1, 0, n_bands - 1)


def noise_vocoder(x: np.ndarray, sr: int, n_bands: int = 32, seed: int = 0, n_fft: int = VOCODER_FFT,
                  hop: int = VOCODER_HOP) -> np.ndarray:
    """The sound's own noise vocoder: its short-time band energies imposed on noise.

    STFT (Hann, ``n_fft``, ``hop``) of the sound; in each frame, every bin takes the mean power
    of its band (``vocoder_band_of_bins``); that magnitude is given the phases of seeded white
    noise's STFT, and the result is overlap-added back. Deterministic for a given ``seed``.

    Returns:
        float32, the length of ``x``.
    """
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    stft = functools.partial(signal.stft, fs=sr, window="hann", nperseg=n_fft, noverlap=n_fft - hop,
                             boundary="zeros", padded=True)
    _, _, spectrum = stft(x)
    _, _, noise = stft(np.random.default_rng(seed).standard_normal(n))
    band = vocoder_band_of_bins(n_bands, sr, n_fft)
    count = np.bincount(band, minlength=band.max() + 1).astype(np.float64)
    power = np.abs(spectrum) ** 2
    band_power = np.stack([np.bincount(band, weights=power[:, t], minlength=len(count))
                           for t in range(power.shape[1])], axis=1) / np.maximum(count, 1.0)[:, None]
    phases = noise / np.maximum(np.abs(noise), 1e-30)
    _, y = signal.istft(np.sqrt(band_power[band]) * phases, fs=sr, window="hann", nperseg=n_fft,
                        noverlap=n_fft - hop, boundary=True)
    out = np.zeros(n, dtype=np.float32)
    out[:min(n, len(y))] = y[:n]
    return out


# ---------------------------------------------------------------- centroid and ranks

def spectral_centroid(x: np.ndarray, sr: int, low_hz: float = 20.0, high_hz: float = 20000.0) -> float:
    """Power-weighted mean frequency of one FFT over the whole excerpt (``low_hz``-``high_hz``);
    NaN for silence."""
    x = np.asarray(x, dtype=np.float64)
    power = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1.0 / sr)
    keep = (freqs >= low_hz) & (freqs <= high_hz)
    total = power[keep].sum()
    return float((power[keep] * freqs[keep]).sum() / total) if total > 0 else math.nan


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation; NaN when either side is constant or has fewer than 3 values."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    if len(a) < 3:
        return math.nan
    ra, rb = stats.rankdata(a), stats.rankdata(b)
    if np.std(ra) == 0 or np.std(rb) == 0:
        return math.nan
    return float(np.corrcoef(ra, rb)[0, 1])
