"""Fixed tables the synthesiser shares between torch training and the NumPy runtime.

Nothing here is learned or saved: both sides rebuild the same tables from the model config.
"""

from __future__ import annotations

import functools

import numpy as np

NOISE_LOW_HZ = 30.0


@functools.lru_cache(maxsize=4)
def noise_bands(n_bands: int, length: int, sample_rate: int, seed: int) -> np.ndarray:
    """Looping band-limited noise, one column per band.

    White Gaussian noise (``seed``) is split in the frequency domain into ``n_bands``
    log-spaced bands from 30 Hz to Nyquist with brick-wall edges, so each column loops
    seamlessly every ``length`` samples. Each column has an RMS of 1.

    Returns:
        [length, n_bands] float32, read-only.
    """
    rng = np.random.Generator(np.random.PCG64(seed))
    spectrum = np.fft.rfft(rng.standard_normal(length))
    freqs = np.fft.rfftfreq(length, 1.0 / sample_rate)
    edges = band_edges_hz(n_bands, sample_rate)
    table = np.empty((length, n_bands), dtype=np.float64)
    for band in range(n_bands):
        mask = (freqs >= edges[band]) & (freqs < edges[band + 1])
        if band == n_bands - 1:
            mask |= freqs >= edges[band]
        column = np.fft.irfft(spectrum * mask, n=length)
        rms = np.sqrt(np.mean(column ** 2))
        table[:, band] = column / max(rms, 1e-12)
    table = table.astype(np.float32)
    table.setflags(write=False)
    return table


def band_edges_hz(n_bands: int, sample_rate: int) -> np.ndarray:
    """[n_bands + 1] log-spaced band edges from 30 Hz to Nyquist."""
    return np.geomspace(NOISE_LOW_HZ, sample_rate / 2.0, n_bands + 1)
