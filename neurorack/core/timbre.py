"""The timbre features a percussion model's encoder reads: what makes this drum this drum.

NumPy only, computed once per sound (``neurorack sound extract``, ``neurorack resynth``, and
training), never in the audio path. From the first ``FEATURE_SECONDS`` of a one-shot at 48 kHz
(onset at its start):

- a log-mel spectrogram (``N_MELS`` bands, ``N_FFT``-sample Hann windows every ``FEATURE_HOP``
  samples), in dB relative to the sound's loudest bin, floored at ``FLOOR_DB``, so the
  features do not depend on the sound's level (loudness is a descriptor, not timbre);
- its mean and standard deviation over time (the body's spectrum and how much it moves);
- its first ``ATTACK_FRAMES`` frames, pooled to ``ATTACK_MELS`` bands (the attack's spectrum);
- the envelope: 1 ms RMS over the first ``ENVELOPE_MS`` ms, in dB relative to its peak
  (flams and claps are several bursts here).

All in dB divided by ``DB_SCALE``: ``FEATURE_SIZE`` values, about -1.5..0.
"""

from __future__ import annotations

import functools

import numpy as np

SAMPLE_RATE = 48000
FEATURE_SECONDS = 0.5
N_FFT = 1024
FEATURE_HOP = 256
N_MELS = 40
MEL_LOW_HZ = 30.0
MEL_HIGH_HZ = 20000.0
ATTACK_FRAMES = 8
ATTACK_MELS = 20
ENVELOPE_MS = 60
FLOOR_DB = -80.0
DB_SCALE = 40.0
FEATURE_SIZE = 2 * N_MELS + ATTACK_FRAMES * ATTACK_MELS + ENVELOPE_MS


def hz_to_mel(hz):
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def mel_to_hz(mel):
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


@functools.lru_cache(maxsize=8)
def mel_filterbank(n_mels: int = N_MELS, n_fft: int = N_FFT, sample_rate: int = SAMPLE_RATE,
                   low_hz: float = MEL_LOW_HZ, high_hz: float = MEL_HIGH_HZ) -> np.ndarray:
    """[n_mels, n_fft // 2 + 1] triangular filters, equally spaced in mel, each summing to 1.
    Filters narrower than a bin still take the nearest bin, so no band is empty."""
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    edges = mel_to_hz(np.linspace(hz_to_mel(low_hz), hz_to_mel(high_hz), n_mels + 2))
    bank = np.zeros((n_mels, len(freqs)))
    for band in range(n_mels):
        low, centre, high = edges[band:band + 3]
        rising = (freqs - low) / (centre - low)
        falling = (high - freqs) / (high - centre)
        weights = np.maximum(0.0, np.minimum(rising, falling))
        if weights.sum() == 0.0:
            weights[np.argmin(np.abs(freqs - centre))] = 1.0
        bank[band] = weights / weights.sum()
    bank.setflags(write=False)
    return bank


def log_mel(audio: np.ndarray, n_frames: int, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """[n_frames, N_MELS] mel power in dB (not normalised) of ``audio`` from its start,
    zero-padded; frame ``t`` is the window starting at ``t * FEATURE_HOP``."""
    padded = np.zeros(n_frames * FEATURE_HOP + N_FFT)
    take = min(len(audio), len(padded))
    padded[:take] = audio[:take]
    windows = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::FEATURE_HOP][:n_frames]
    power = np.abs(np.fft.rfft(windows * np.hanning(N_FFT), axis=1)) ** 2
    return 10.0 * np.log10(power @ mel_filterbank(sample_rate=sample_rate).T + 1e-12)


def timbre_features(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """[FEATURE_SIZE] float32 timbre features of a one-shot (see the module docstring).

    Raises:
        ValueError: not mono, or not at 48 kHz.
    """
    audio = np.asarray(audio, dtype=np.float64)
    if audio.ndim != 1:
        raise ValueError(f"expected mono audio [samples], got shape {audio.shape}")
    if sample_rate != SAMPLE_RATE:
        raise ValueError(f"timbre features are defined at {SAMPLE_RATE} Hz, got {sample_rate}")
    n_frames = int(FEATURE_SECONDS * sample_rate) // FEATURE_HOP
    mel = log_mel(audio, n_frames, sample_rate)
    mel = np.maximum(mel - mel.max(), FLOOR_DB)
    attack = mel[:ATTACK_FRAMES].reshape(ATTACK_FRAMES, ATTACK_MELS, N_MELS // ATTACK_MELS).mean(axis=2)
    step = sample_rate // 1000
    head = np.zeros(ENVELOPE_MS * step)
    head[:min(len(audio), len(head))] = audio[:len(head)]
    rms_db = 10.0 * np.log10(np.mean(head.reshape(ENVELOPE_MS, step) ** 2, axis=1) + 1e-12)
    envelope = np.maximum(rms_db - rms_db.max(), FLOOR_DB)
    features = np.concatenate([mel.mean(axis=0), mel.std(axis=0), attack.ravel(), envelope]) / DB_SCALE
    return features.astype(np.float32)


PEAK_SECONDS = 0.1      # the spectrum the modes are picked from: the first 100 ms
PEAK_FFT = 16384
PEAK_LOW_HZ = 30.0
PEAK_HIGH_HZ = 16000.0
PEAK_SPACING_OCTAVES = 1.0 / 12.0
PEAK_FLOOR = 1e-4       # peaks 80 dB below the strongest do not count
MODE_SCALE = 4.0        # a mode value is log2(frequency / onset pitch) / 4
MODE_RANGE = (-3.0, 7.0)  # octaves from the onset pitch a mode may lie
LEVEL_SCALE = 10.0      # a level value is ln(peak power / strongest peak's power) / 10
MISSING_LEVEL = -1.6    # a mode filled in from the fallback: 70 dB below the strongest


def mode_values(audio: np.ndarray, onset_pitch_hz: float, n_modes: int, sample_rate: int = SAMPLE_RATE,
                fallback: np.ndarray | None = None) -> np.ndarray:
    """Where a one-shot's modes are and how strong: the ``n_modes`` strongest spectral peaks of
    its first 100 ms (Hann window, at least a semitone apart, 30 Hz to 16 kHz, within 80 dB of
    the strongest), sorted by frequency, as ``log2(peak / onset pitch) / MODE_SCALE``, then
    their levels, ``ln(peak power / strongest peak's power) / LEVEL_SCALE``. A sound with
    fewer peaks fills the rest from ``fallback`` (ratios to the pitch; default: a log grid
    from 1/2 to 16) at ``MISSING_LEVEL``.

    Returns:
        [2 * n_modes] float32: the ratios' values, then the levels'.
    """
    segment = np.zeros(int(PEAK_SECONDS * sample_rate))
    take = min(len(audio), len(segment))
    segment[:take] = np.asarray(audio[:take], dtype=np.float64)
    magnitude = np.abs(np.fft.rfft(segment * np.hanning(len(segment)), PEAK_FFT))
    freqs = np.fft.rfftfreq(PEAK_FFT, 1.0 / sample_rate)
    inner = magnitude[1:-1]
    peak = (inner > magnitude[:-2]) & (inner >= magnitude[2:]) & (inner > PEAK_FLOOR * max(magnitude.max(), 1e-30))
    peak &= (freqs[1:-1] >= PEAK_LOW_HZ) & (freqs[1:-1] <= PEAK_HIGH_HZ)
    candidates = np.flatnonzero(peak) + 1
    chosen: list[float] = []
    levels: list[float] = []
    strongest = magnitude[candidates].max() if len(candidates) else 1.0
    for index in candidates[np.argsort(-magnitude[candidates])]:
        octave = np.log2(freqs[index])
        if all(abs(octave - other) >= PEAK_SPACING_OCTAVES for other in chosen):
            chosen.append(float(octave))
            levels.append(2.0 * float(np.log(magnitude[index] / strongest)) / LEVEL_SCALE)
            if len(chosen) == n_modes:
                break
    pitch = float(np.clip(onset_pitch_hz, 40.0, 4000.0))
    values = [octave - np.log2(pitch) for octave in chosen]
    grid = np.log2(np.geomspace(0.5, 16.0, n_modes) if fallback is None else fallback)
    levels += [MISSING_LEVEL] * (n_modes - len(values))
    values += list(grid[len(values):])
    order = np.argsort(values, kind="stable")
    ratios = np.clip(np.asarray(values)[order], *MODE_RANGE) / MODE_SCALE
    return np.concatenate([ratios, np.maximum(np.asarray(levels)[order], MISSING_LEVEL)]).astype(np.float32)
