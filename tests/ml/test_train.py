"""Training: a tiny model overfits a small synthetic set; resume continues the same run."""

import json

import numpy as np
import pytest
from safetensors.numpy import load_file

from neurorack.core.architecture import TINY_CONFIG
from neurorack.core.descriptors import extract
from neurorack.ml.dataset import OneShotSet, prepare
from neurorack.ml.train import TrainingError, train
from neurorack.ml.train_options import TrainOptions

SR = 48000


def synthetic_set() -> OneShotSet:
    """Three hits with known content: a low tone, a high tone, a noise burst (all in train and valid)."""
    rng = np.random.default_rng(0)
    t = np.arange(int(0.2 * SR)) / SR
    sounds = [0.6 * np.sin(2 * np.pi * 110 * t) * np.exp(-t / 0.08),
              0.4 * np.sin(2 * np.pi * 660 * t) * np.exp(-t / 0.05),
              0.3 * rng.standard_normal(len(t)) * np.exp(-t / 0.03)]
    audio = [prepare(s, SR) for s in sounds]
    names = ["low.wav", "high.wav", "noise.wav"]
    data = OneShotSet(names * 2, audio * 2, [extract(a) for a in audio] * 2, ["train"] * 3 + ["valid"] * 3, [])
    return data


OPTIONS = TrainOptions(steps=40, batch=4, crop_frames=24, learning_rate=1e-2, rewind_step=5, checkpoint_every=20,
                       valid_crops=6, device="cpu")


def test_tiny_model_overfits_a_small_set_within_seconds(tmp_path):
    result = train(synthetic_set(), tmp_path / "run", TINY_CONFIG, OPTIONS)
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert result["steps"] == 40
    assert np.mean(history["train"][-10:]) < 0.6 * np.mean(history["train"][:5])
    assert history["valid"][-1] < history["valid"][0]
    for name in ("rewind.safetensors", "weights.safetensors", "checkpoint.pt", "losses.png", "config.yaml",
                 "data.json"):
        assert (tmp_path / "run" / name).is_file(), name
    assert (tmp_path / "run" / "losses.png").read_bytes()[:4] == b"\x89PNG"
    rewind = load_file(tmp_path / "run" / "rewind.safetensors")
    final = load_file(tmp_path / "run" / "weights.safetensors")
    assert set(rewind) == set(final)
    assert not np.array_equal(rewind["head.weight"], final["head.weight"])
    data = json.loads((tmp_path / "run" / "data.json").read_text())
    assert data["splits"]["train"] == ["low.wav", "high.wav", "noise.wav"]


def test_run_interrupted_after_a_checkpoint_resumes_to_the_same_weights(tmp_path):
    options = TrainOptions(**{**OPTIONS.__dict__, "steps": 6, "checkpoint_every": 3})
    train(synthetic_set(), tmp_path / "straight", TINY_CONFIG, options)

    def interrupt(fraction: float) -> None:
        if fraction >= 0.5:  # Ctrl-C right after the step-3 checkpoint
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(synthetic_set(), tmp_path / "split", TINY_CONFIG, options, progress=interrupt)
    assert not (tmp_path / "split" / "weights.safetensors").exists()
    train(synthetic_set(), tmp_path / "split", None, options, resume=True)
    straight = load_file(tmp_path / "straight" / "weights.safetensors")
    resumed = load_file(tmp_path / "split" / "weights.safetensors")
    for key in straight:
        assert np.allclose(straight[key], resumed[key], atol=1e-6), key


def test_an_existing_run_is_not_overwritten_and_a_missing_one_cannot_resume(tmp_path):
    options = TrainOptions(**{**OPTIONS.__dict__, "steps": 2, "checkpoint_every": 2})
    train(synthetic_set(), tmp_path / "run", TINY_CONFIG, options)
    with pytest.raises(TrainingError, match="already holds a run"):
        train(synthetic_set(), tmp_path / "run", TINY_CONFIG, options)
    with pytest.raises(TrainingError, match="no checkpoint.pt to resume from"):
        train(synthetic_set(), tmp_path / "other", TINY_CONFIG, options, resume=True)


class MarkerPayload:
    """Unpickling this creates the marker file: proof that code in the checkpoint ran."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_hostile_or_damaged_checkpoint_is_one_clear_error_and_runs_no_code(tmp_path):
    import pickle

    import torch

    options = TrainOptions(**{**OPTIONS.__dict__, "steps": 2, "checkpoint_every": 2})
    train(synthetic_set(), tmp_path / "run", TINY_CONFIG, options)
    checkpoint = tmp_path / "run" / "checkpoint.pt"
    good = checkpoint.read_bytes()
    marker = tmp_path / "marker"
    plain_tensor = tmp_path / "tensor.pt"
    torch.save(torch.zeros(3), plain_tensor)
    for content in (pickle.dumps({"model": MarkerPayload(str(marker))}), good[:len(good) // 2], b"", b"hello\n",
                    plain_tensor.read_bytes()):
        checkpoint.write_bytes(content)
        with pytest.raises(TrainingError) as info:
            train(synthetic_set(), tmp_path / "run", None, options, resume=True)
        assert str(info.value) == (f"{checkpoint} is not a checkpoint neurorack wrote (or it is damaged): "
                                   "start a new run with another --out")
        assert info.value.__cause__ is None and info.value.__suppress_context__
    assert not marker.exists()
