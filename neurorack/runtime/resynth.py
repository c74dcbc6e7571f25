"""Resynthesis: analyse a one-shot into what a model plays, and render it back.

A ``SoundCode`` is everything a model needs to play one sound: its descriptor frames (the
controls a musician patches) and, for models with a timbre encoder, its timbre code ``z``
(which drum it is). ``Resynthesizer`` wraps a model folder for the toolbox (``neurorack
resynth``, ``neurorack eval``) and for ``neurorack sound extract``; no torch is needed.

The control edits (``transpose``, ``brighten``, ``louder``) are the ones the module's CVs
apply (``neurorack.instrument.routing``): the pitch CV transposes, moving the pitch and the
spectral centroid by the same ratio; the brightness CV moves the centroid alone.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from neurorack.core.descriptors import DESCRIPTOR_RANGES, extract

LOUDNESS, CENTROID, FLATNESS, PITCH, CONFIDENCE = range(5)


@dataclass(frozen=True)
class SoundCode:
    """What a model plays for one sound.

    Attributes:
        frames: [T, 5] raw descriptors (``DESCRIPTOR_NAMES`` order and units), frame 0 at the onset.
        z: [Z] float32 timbre code, or None for models without one.
    """

    frames: np.ndarray
    z: np.ndarray | None = None

    def with_frames(self, frames: np.ndarray) -> SoundCode:
        return replace(self, frames=np.asarray(frames, dtype=np.float32))


def _clip_column(frames: np.ndarray, column: int) -> None:
    frames[:, column] = np.clip(frames[:, column], DESCRIPTOR_RANGES[column].low, DESCRIPTOR_RANGES[column].high)


def transpose(code: SoundCode, volts: float) -> SoundCode:
    """The pitch CV: ``volts`` octaves up (down if negative); pitch and centroid move together."""
    frames = np.array(code.frames, dtype=np.float32)
    ratio = 2.0 ** float(volts)
    for column in (PITCH, CENTROID):
        frames[:, column] *= ratio
        _clip_column(frames, column)
    return code.with_frames(frames)


def brighten(code: SoundCode, octaves: float) -> SoundCode:
    """The brightness CV: the centroid alone moves by ``octaves``."""
    frames = np.array(code.frames, dtype=np.float32)
    frames[:, CENTROID] *= 2.0 ** float(octaves)
    _clip_column(frames, CENTROID)
    return code.with_frames(frames)


def louder(code: SoundCode, db: float) -> SoundCode:
    """The loudness CV: every frame's loudness plus ``db``."""
    frames = np.array(code.frames, dtype=np.float32)
    frames[:, LOUDNESS] += float(db)
    _clip_column(frames, LOUDNESS)
    return code.with_frames(frames)


class Resynthesizer:
    """A model folder, ready to analyse and render one-shots offline.

    Args:
        model_dir: an exported model folder (checked by ``load_model``).

    Attributes:
        sample_rate: the model's rate (48000).
        name: the model's name.
        has_timbre: whether the model takes a timbre code ``z``.
    """

    def __init__(self, model_dir: str | Path):
        from neurorack.runtime.loader import load_model
        from neurorack.runtime.numpy_model import streaming_model

        self.loaded = load_model(model_dir)
        self.model = streaming_model(self.loaded)
        self.sample_rate = self.model.sample_rate
        self.name = self.loaded.name
        self.has_timbre = getattr(self.model, "timbre_size", 0) > 0

    def analyse(self, audio: np.ndarray) -> SoundCode:
        """A one-shot (mono float at the model's rate, onset at its start) -> its ``SoundCode``."""
        audio = np.asarray(audio, dtype=np.float64)
        z = self.model.encode(audio) if self.has_timbre else None
        return SoundCode(extract(audio, self.sample_rate, self.model.hop), z)

    def render(self, code: SoundCode) -> np.ndarray:
        """The model playing ``code`` from silence: [T * hop] float32."""
        return self.model.render(code.frames, z=code.z)


def resynthesise(model: Resynthesizer, audio: np.ndarray) -> np.ndarray:
    """Analyse and render one one-shot: the model's imitation of it (same length as ``audio``
    rounded up to whole frames)."""
    return model.render(model.analyse(audio))

