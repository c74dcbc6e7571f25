"""A trimming task for the tiny test models: regress a fixed teacher's frames.

The teacher is a wider random ``TinySynth``; inputs are random frames. Everything is
seeded, so runs are repeatable.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from neurorack.ml.trim.criteria import ScoringData
from neurorack.ml.trim.measure import count_macs
from tests.ml.trim.tiny_models import SynthWidths, TinySynth, frames

FRAMES_PER_SECOND = 48000 / 256


def _loss(model, batch):
    x, y = batch
    return torch.nn.functional.mse_loss(model(x), y)


def _band_features(batch):
    return batch[1]  # the teacher's frames are the target features


class TeacherTask:
    def __init__(self, seed: int = 0):
        torch.manual_seed(seed + 100)
        teacher = TinySynth(SynthWidths(embed=20, hidden=20, gated=16, stream=12)).eval()
        with torch.no_grad():
            self.train_batches = [(x, teacher(x)) for x in (frames(8, 24, seed + i) for i in range(4))]
            x_test = frames(8, 24, seed + 99)
            self.test_batch = (x_test, teacher(x_test))
        self.retrained_steps = 0

    def scoring_data(self, seed):
        return ScoringData(self.train_batches[:2], _loss, _band_features)

    def retrain(self, model, steps, seed, progress, checkpoint=None, patience=0, deadline=None):  # no checkpoints: runs are short
        torch.manual_seed(seed)
        optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
        model.train()
        for step in range(steps):
            optimiser.zero_grad()
            _loss(model, self.train_batches[step % len(self.train_batches)]).backward()
            optimiser.step()
            if progress is not None:
                progress((step + 1) / steps)
        model.eval()
        self.retrained_steps += steps
        return {"steps": steps}

    def test_loss(self, model):
        with torch.no_grad():
            return float(_loss(model, self.test_batch))

    def measure(self, model):
        second = frames(1, round(FRAMES_PER_SECOND), 7)
        started = time.perf_counter()
        with torch.no_grad():
            model(second)
        elapsed = time.perf_counter() - started
        return {"macs_per_second": count_macs(model, second), "realtime_factor": 1.0 / elapsed}

    def save_weights(self, model, path: Path):
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))

    def load_weights(self, model, path: Path):
        model.load_state_dict(load_file(str(path)))
