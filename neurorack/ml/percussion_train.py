"""How a percussion model trains: whole hits from their onsets, judged by ear for attacks.

A batch is ``batch`` sounds of the train split, each from its onset for ``crop_frames``
frames (shorter sounds padded with silence), with their timbre features and mode values
(computed once per sound); the noise table is
read from a random position per step. The loss is the multi-scale spectral distance (STFT
windows from 2048 down to 64 samples), plus ``attack_loss``: the 1 ms RMS envelope of the
first 100 ms in log scale, weighted three times over the first 30 ms, plus ``log_mel_loss``:
the mean dB distance of 64-band log-mel spectrograms (what a listener's ear resolves, with
bands fine enough below 150 Hz to hear a kick's body), divided by 10.
"""

from __future__ import annotations

import numpy as np
import torch

from neurorack.core.descriptors import HOP, SILENCE_DB
from neurorack.core.timbre import mode_values, timbre_features
from neurorack.ml.dataset import OneShotSet
from neurorack.ml.losses import multiscale_spectral_distance

ATTACK_STEP = 48        # 1 ms at 48 kHz
ATTACK_FRAMES = 100     # the first 100 ms
EARLY_FRAMES = 30       # the first 30 ms count ...
EARLY_WEIGHT = 3.0      # ... three times
ATTACK_FLOOR = 1e-4     # RMS floor of the log envelope (-80 dB)


def attack_loss(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean weighted L1 between the log 1 ms RMS envelopes of the first 100 ms: [B, samples] x2 -> []."""
    span = ATTACK_STEP * ATTACK_FRAMES
    if predicted.shape[1] < span:
        raise ValueError(f"attack_loss needs at least {span} samples, got {predicted.shape[1]}")

    def envelope(audio: torch.Tensor) -> torch.Tensor:
        frames = audio[:, :span].reshape(audio.shape[0], ATTACK_FRAMES, ATTACK_STEP)
        return torch.log(torch.sqrt(frames.pow(2).mean(-1) + ATTACK_FLOOR ** 2))

    weights = torch.ones(ATTACK_FRAMES, device=predicted.device)
    weights[:EARLY_FRAMES] = EARLY_WEIGHT
    return ((envelope(predicted) - envelope(target)).abs() * weights).sum(-1).mean() / weights.sum()


MEL_FFT = 2048
MEL_BANDS = 64
MEL_RANGE_DB = 80.0


def log_mel_loss(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean |dB difference| / 10 of log-mel spectrograms (2048-sample windows, hop 256, 64 bands
    from 30 Hz to 20 kHz), each sound's floor at its target's maximum - 80 dB."""
    from neurorack.core.timbre import mel_filterbank

    bank = torch.tensor(mel_filterbank(MEL_BANDS, MEL_FFT)).to(predicted)  # a copy: the cached bank is read-only
    window = torch.hann_window(MEL_FFT, device=predicted.device, dtype=predicted.dtype)

    def mel_db(audio: torch.Tensor) -> torch.Tensor:
        power = torch.stft(audio, MEL_FFT, HOP, window=window, return_complex=True).abs().pow(2)
        return 10.0 * torch.log10(torch.einsum("mf,bft->bmt", bank, power) + 1e-10)

    want, got = mel_db(target), mel_db(predicted)
    floor = want.amax(dim=(1, 2), keepdim=True) - MEL_RANGE_DB
    return (torch.maximum(got, floor) - torch.maximum(want, floor)).abs().mean() / 10.0


def percussion_loss(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The training objective: multi-scale spectral distance, attack envelope and log-mel losses."""
    return (multiscale_spectral_distance(predicted, target) + attack_loss(predicted, target)
            + log_mel_loss(predicted, target))


class PercussionRecipe:
    """Batches, loss and validation for ``neurorack.ml.train`` with a ``PercussionModel``."""

    def __init__(self, model, crop_frames: int):
        self.model = model
        self.crop_frames = max(crop_frames, -(-ATTACK_STEP * ATTACK_FRAMES // HOP))
        self._analysis: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _analysis_of(self, data: OneShotSet, index: int) -> tuple[np.ndarray, np.ndarray]:
        """A sound's timbre features and mode values (computed on first use)."""
        key = id(data.audio[index])
        if key not in self._analysis:
            audio = data.audio[index]
            modes = mode_values(audio, float(data.descriptors[index][0, 3]), self.model.config.n_modes)
            self._analysis[key] = (timbre_features(audio), modes)
        return self._analysis[key]

    def batch(self, data: OneShotSet, size: int, rng: np.random.Generator, device) -> tuple:
        """``size`` hits from their onsets: descriptors [B, T, 5], features [B, F], mode values
        [B, M], audio [B, T * hop], and the noise table's read position."""
        n = self.crop_frames
        silence = np.array([SILENCE_DB, 1000.0, 1.0, 100.0, 0.0], dtype=np.float32)
        descriptors = np.tile(silence, (size, n, 1))
        audio = np.zeros((size, n * HOP), dtype=np.float32)
        features, modes = [], []
        for row, index in enumerate(rng.integers(0, len(data), size=size)):
            piece = data.descriptors[index][:n]
            descriptors[row, :len(piece)] = piece
            descriptors[row, len(piece):, 3] = piece[-1, 3]
            samples = data.audio[index][:n * HOP]
            audio[row, :len(samples)] = samples
            analysis = self._analysis_of(data, index)
            features.append(analysis[0])
            modes.append(analysis[1])
        offset = int(rng.integers(0, self.model.noise_table.shape[0]))
        return (torch.from_numpy(descriptors).to(device), torch.from_numpy(np.stack(features)).to(device),
                torch.from_numpy(np.stack(modes)).to(device), torch.from_numpy(audio).to(device), offset)

    def loss(self, batch: tuple, model: torch.nn.Module | None = None) -> torch.Tensor:
        """The mean loss over the batch's rows (each term is one), rendered by ``model`` (default:
        ``self.model``; training passes its DistributedDataParallel wrapper)."""
        descriptors, features, modes, audio, offset = batch
        render = self.model if model is None else model
        return percussion_loss(render(descriptors, features, modes, offset), audio)
