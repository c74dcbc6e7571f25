"""An independent pitch tracker for ``neurorack eval``: PESTO (pesto-pitch, weights shipped in
its pip package, so it works offline).

It is independent of the descriptor extractor the models are conditioned on (YIN in
``neurorack.core.descriptors``), so a model cannot pass the pitch test by fooling the measure it
was trained against.

``pesto`` imports ``torchaudio`` at import time, but only uses it to load audio files, which we
never do (we hand it arrays). torchaudio cannot be installed beside our torch build, so when it
is missing an empty placeholder module is registered under that name before ``pesto`` is
imported. Nothing here needs torchaudio's code.
"""

from __future__ import annotations

import functools
import sys
import types

import numpy as np

MODEL_NAME = "mir-1k_g7"
STEP_MS = 10.0
MIN_SECONDS = 0.5


class PitchTrackerUnavailable(RuntimeError):
    """pesto (or torch) cannot be imported or its model cannot be loaded."""


def _import_pesto():
    try:
        import torchaudio  # noqa: F401
    except ImportError:
        # pesto imports torchaudio only to read audio files; we pass arrays, so an empty
        # placeholder module lets it import without the (uninstallable here) real package.
        sys.modules.setdefault("torchaudio", types.ModuleType("torchaudio"))
    import pesto

    return pesto


@functools.lru_cache(maxsize=2)
def _model(sample_rate: int):
    try:
        pesto = _import_pesto()
        return pesto.load_model(MODEL_NAME, step_size=STEP_MS, sampling_rate=sample_rate)
    except Exception as exc:  # ImportError, or anything pesto raises while loading its weights
        raise PitchTrackerUnavailable(f"pesto-pitch is not usable: {type(exc).__name__}: {exc}") from exc


def available() -> str | None:
    """None when the tracker works, else why not (one line)."""
    try:
        _model(48000)
    except PitchTrackerUnavailable as exc:
        return str(exc)
    return None


def description() -> str:
    return f"pesto-pitch {MODEL_NAME}, {STEP_MS:g} ms steps"


def track(audio: np.ndarray, sample_rate: int = 48000) -> tuple[np.ndarray, np.ndarray]:
    """Pitch of a mono signal every 10 ms.

    Signals shorter than 0.5 s are padded with silence to 0.5 s first.

    Returns:
        (midi [frames], confidence [frames]) float64; MIDI 69 is 440 Hz.

    Raises:
        PitchTrackerUnavailable: pesto cannot be imported or loaded.
    """
    import torch

    model = _model(int(sample_rate))
    audio = np.asarray(audio, dtype=np.float32)
    if len(audio) < MIN_SECONDS * sample_rate:  # pesto's filters need a long enough input
        audio = np.concatenate([audio, np.zeros(int(MIN_SECONDS * sample_rate) - len(audio), np.float32)])
    x = torch.from_numpy(np.ascontiguousarray(audio))[None]
    with torch.no_grad():
        midi, confidence, _ = model(x, sr=int(sample_rate), return_activations=False)
    return midi[0].double().numpy(), confidence[0].double().numpy()


def median_pitch(audio: np.ndarray, sample_rate: int = 48000, min_confidence: float = 0.5,
                 active_db: float = -20.0) -> float:
    """The median MIDI pitch of a sound's loud, confidently pitched frames, or NaN if none.

    Frames count when their 10 ms RMS is within ``active_db`` of the loudest frame and PESTO's
    confidence is at least ``min_confidence``.
    """
    midi, confidence = track(audio, sample_rate)
    step = round(sample_rate * STEP_MS / 1000.0)
    x = np.asarray(audio, dtype=np.float64)
    padded = np.zeros(len(midi) * step + step, dtype=np.float64)
    padded[:len(x)] = x[:len(padded)]
    # pesto's frame i is centred on sample i * step; its level is the RMS of the step around it
    centred = np.concatenate([np.zeros(step // 2), padded])[:len(midi) * step]
    level = np.sqrt(np.mean(centred.reshape(len(midi), step) ** 2, axis=1))
    if level.max() <= 0.0:
        return float("nan")
    active = level >= level.max() * 10.0 ** (active_db / 20.0)
    chosen = active & (confidence >= min_confidence)
    return float(np.median(midi[chosen])) if chosen.any() else float("nan")
