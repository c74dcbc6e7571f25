"""The multi-scale spectral loss: the training objective and the evaluation distance."""

from __future__ import annotations

import torch

FFT_SIZES = (2048, 1024, 512, 256, 128, 64)


def multiscale_spectral_distance(predicted: torch.Tensor, target: torch.Tensor,
                                 fft_sizes: tuple[int, ...] = FFT_SIZES, log_weight: float = 1.0,
                                 eps: float = 1e-5) -> torch.Tensor:
    """L1 between STFT magnitudes and log magnitudes, averaged over the FFT sizes.

    Args:
        predicted, target: [B, samples] audio (at least ``max(fft_sizes)`` samples).
        fft_sizes: one STFT per size, hop size / 4, Hann window.
        log_weight: weight of the log-magnitude term.

    Returns:
        [] the mean distance (0 for identical signals).
    """
    total = predicted.new_zeros(())
    for size in fft_sizes:
        window = torch.hann_window(size, device=predicted.device, dtype=predicted.dtype)
        spectra = [torch.stft(x, size, size // 4, window=window, return_complex=True, center=True).abs()
                   for x in (predicted, target)]
        linear = (spectra[0] - spectra[1]).abs().mean()
        log = (torch.log(spectra[0] + eps) - torch.log(spectra[1] + eps)).abs().mean()
        total = total + linear + log_weight * log
    return total / len(fft_sizes)
