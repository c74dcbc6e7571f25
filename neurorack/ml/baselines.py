"""The filtered-noise imitation every sound metric is reported against: noise shaped by the
same descriptor frames the model plays from, so a metric that it passes cannot tell a model
from filtered noise."""

from __future__ import annotations

import numpy as np

from neurorack.core.descriptors import HOP, SAMPLE_RATE
from neurorack.core.synth_tables import band_edges_hz, noise_bands


def noise_baseline(descriptors: np.ndarray, n_bands: int = 32, table_size: int = 65536) -> np.ndarray:
    """Descriptor-matched filtered noise: [T, 5] -> [T * hop] float32.

    Per frame, band amplitudes form a Gaussian bump on a log-frequency axis centred at the
    centroid, with a width of 0.5 + 4 * flatness (in natural-log units of frequency), scaled so
    the RMS follows the loudness; amplitudes ramp across each frame like the model's.
    """
    table = noise_bands(n_bands, table_size, SAMPLE_RATE, 1)
    edges = band_edges_hz(n_bands, SAMPLE_RATE)
    centres = np.log(np.sqrt(edges[:-1] * edges[1:]))
    width = 0.5 + 4.0 * np.clip(descriptors[:, 2:3], 0.0, 1.0)
    bump = np.exp(-0.5 * ((centres[None] - np.log(descriptors[:, 1:2])) / width) ** 2)
    bump /= np.sqrt((bump ** 2).sum(axis=1, keepdims=True))
    amps = bump * 10.0 ** (np.clip(descriptors[:, 0:1], -90.0, 0.0) / 20.0)
    previous = np.concatenate([np.zeros((1, n_bands)), amps[:-1]])
    ramp = np.arange(1, HOP + 1) / HOP
    out = np.empty(len(descriptors) * HOP, dtype=np.float32)
    for t in range(len(descriptors)):
        index = np.arange(t * HOP, (t + 1) * HOP) % table_size
        frame_amps = previous[t] + (amps[t] - previous[t]) * ramp[:, None]
        out[t * HOP:(t + 1) * HOP] = (table[index] * frame_amps).sum(axis=1)
    return out
