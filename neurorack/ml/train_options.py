"""Training options (torch-free, so ``neurorack --help`` can show their defaults)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TrainOptions:
    """How to train.

    Attributes:
        steps: optimiser steps in total (a resumed run continues up to this).
        batch: crops per step.
        crop_frames: frames per crop (hop 256: 48 frames = 0.26 s).
        learning_rate: Adam's, decayed exponentially to a tenth at the last step.
        seed: seeds torch and NumPy; the same seed, data and device give the same run.
        rewind_step: when the early weights (the lottery rewind point) are saved.
        checkpoint_every: steps between checkpoints (and validation).
        valid_crops: crops in the fixed validation batch.
        device: "auto" (CUDA when there is one), "cpu" or "cuda".
        max_minutes: stop early (checkpoint and weights saved) after this long; None: no limit.
    """

    steps: int = 3000
    batch: int = 16
    crop_frames: int = 48
    learning_rate: float = 2e-3
    seed: int = 0
    rewind_step: int = 100
    checkpoint_every: int = 250
    valid_crops: int = 32
    device: str = "auto"
    max_minutes: float | None = None


PERCUSSION_DEFAULTS = {"steps": 3600, "batch": 12, "crop_frames": 96}
"""What ``neurorack train --family percussion`` (the default) uses where the command line is
silent: whole hits of 0.51 s from their onsets, as the shipped drums-v2 was trained."""
