"""The trimming toolbox's view of ``neurorack.ml.model.DescriptorModel``.

- ``DescriptorAdapter`` turns the model's declared ``UNIT_GROUPS`` (static, by width field)
  into sized ``UnitGroup``s and rebuilds models from a ``ModelConfig``.
- ``DescriptorTask`` supplies the data (random crops of a dataset cache), the loss (the
  multi-scale spectral distance), the retraining steps and the measurements of a round.

Target features for the MI criterion: per frame of the target audio (``hop`` samples), the
log energy in ``MI_BANDS`` bands spaced evenly in log frequency from 40 Hz to Nyquist.
"""

from __future__ import annotations

import itertools
import json
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from neurorack.atomic import atomic_write_bytes
from neurorack.errors import NeurorackError
from neurorack.ml.trim.criteria import ScoringData
from neurorack.ml.trim.groups import UnitGroup, UnitSlice

MI_BANDS = 8
SCORING_BATCHES = 4
BEST_WEIGHTS = "best.safetensors"  # beside a retraining's checkpoint: the weights of its best validation loss


class DescriptorAdapter:
    """``TrimAdapter`` for ``DescriptorModel``: widths live in ``model.config``."""

    def widths(self, model):
        return model.config

    def groups(self, model) -> list[UnitGroup]:
        from neurorack.core.architecture import UNIT_GROUPS

        kinds = {"gated_residual": "gated_residual", "gru": "gru", "linear": "linear"}
        out = []
        for group in UNIT_GROUPS:
            size = getattr(model.config, group.width_field)
            out.append(UnitGroup(
                name=group.name, kind=kinds.get(group.kind, "linear"), width_field=group.width_field, size=size,
                producers=tuple(UnitSlice(s.param, s.dim, blocks=s.blocks) for s in group.producers),
                consumers=tuple(UnitSlice(s.param, s.dim, blocks=s.blocks) for s in group.consumers),
                minimum=min(group.min_units, size)))
        return out

    def rebuild(self, model, config):
        from neurorack.ml.model import DescriptorModel

        return DescriptorModel(config).to(next(model.parameters()).device)


def checkpoints_since_best(valid: list[float]) -> int:
    """How many validation checkpoints came after the lowest loss (0: the last one is the best;
    none measured yet: 0)."""
    return len(valid) - 1 - int(np.argmin(valid)) if valid else 0


def band_log_energies(audio: torch.Tensor, hop: int, sample_rate: int, bands: int = MI_BANDS) -> torch.Tensor:
    """Per-frame log band energies of ``audio [batch, frames * hop]`` -> ``[batch, frames, bands]``."""
    frames = audio.reshape(audio.shape[0], -1, hop)
    power = torch.fft.rfft(frames * torch.hann_window(hop, device=audio.device), dim=-1).abs().pow(2)
    freqs = torch.fft.rfftfreq(hop, 1.0 / sample_rate).to(audio.device)
    edges = torch.logspace(math.log10(40.0), math.log10(sample_rate / 2), bands + 1)
    out = []
    for low, high in itertools.pairwise(edges):
        inside = (freqs >= low) & (freqs < high if high < sample_rate / 2 else freqs <= high)
        if not inside.any():  # a band narrower than one bin takes its nearest bin
            inside = freqs == freqs[(freqs - low).abs().argmin()]
        out.append(power[..., inside].sum(-1))
    return torch.log(torch.stack(out, dim=-1) + 1e-8)


class DescriptorTask:
    """Data, loss, retraining and measurements for ``DescriptorModel`` trimming.

    Args:
        data: a ``OneShotSet`` with train and test splits (``neurorack.ml.dataset``).
        crop_frames: frames per training crop.
        batch_size: crops per step.
        learning_rate: Adam's step size while retraining.
        test_crops: fixed crops (from the onset) of the test split used for ``test_loss``.
        device: where retraining runs ("cpu", "cuda").
        bench_seconds: audio rendered to measure the real-time factor.
        bench_paths: the inference paths ``neurorack bench model`` measures per round.
        data_info: the parent's ``data.json`` (files, licences); copied into every round folder
            so that ``neurorack export`` writes it into the card.
        threads: CPU threads torch uses while retraining (None: leave torch's setting). The
            measurement sets one thread, so without this retraining would run on one thread
            after the first measured round anyway.
        checkpoint_every: steps between the checkpoints of a retraining given a checkpoint file.
    """

    def __init__(self, data, *, crop_frames: int = 48, batch_size: int = 16, learning_rate: float = 2e-3,
                 test_crops: int = 64, device: str = "cpu", bench_seconds: float = 2.0,
                 data_info: dict | None = None, bench_paths: tuple[str, ...] = ("numpy", "eager"),
                 threads: int | None = None, checkpoint_every: int = 100):
        self.train = data.subset("train")
        self.test = data.subset("test")
        self.valid = data.subset("valid")
        if len(self.train) == 0 or len(self.test) == 0:
            raise NeurorackError("the dataset needs sounds in both its train and test splits")
        self.crop_frames = crop_frames
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.device = torch.device(device)
        self.bench_seconds = bench_seconds
        self.data_info = data_info
        self.bench_paths = bench_paths
        self.threads = threads
        self.checkpoint_every = checkpoint_every
        self.test_crops = test_crops
        self.test_batch = self._test_batch(self.test, test_crops)

    def _test_batch(self, test, crops: int) -> tuple:
        """The fixed crops ``test_loss`` measures (from the onset, seeded)."""
        from neurorack.ml.dataset import random_crops

        descriptors, audio = random_crops(test, max(self.crop_frames, 64), crops, np.random.default_rng(0),
                                          onset_share=1.0)
        return torch.from_numpy(descriptors), torch.from_numpy(audio)

    def _batch(self, rng):
        from neurorack.ml.dataset import random_crops

        descriptors, audio = random_crops(self.train, self.crop_frames, self.batch_size, rng)
        return torch.from_numpy(descriptors).to(self.device), torch.from_numpy(audio).to(self.device)

    @staticmethod
    def loss(model, batch) -> torch.Tensor:
        from neurorack.ml.losses import multiscale_spectral_distance

        descriptors, audio = batch
        return multiscale_spectral_distance(model(descriptors)[0], audio)

    def training_loss(self, model, batch) -> torch.Tensor:
        """What retraining minimises (here the test loss itself)."""
        return self.loss(model, batch)

    def _use_threads(self) -> None:
        if self.threads is not None:
            torch.set_num_threads(self.threads)

    def scoring_data(self, seed: int) -> ScoringData:
        self._use_threads()
        rng = np.random.default_rng(seed)
        batches = [tuple(t.cpu() for t in self._batch(rng)) for _ in range(SCORING_BATCHES)]

        def features(batch):
            from neurorack.core.descriptors import HOP, SAMPLE_RATE

            return band_log_energies(batch[1], HOP, SAMPLE_RATE)

        return ScoringData(batches, self.loss, features)

    def retrain(self, model: nn.Module, steps: int, seed: int, progress, checkpoint: Path | None = None,
                patience: int = 0, deadline: float | None = None) -> dict:
        """Train ``model`` in place for ``steps`` steps.

        With ``checkpoint``, the state (model, optimiser, schedule, random states, train losses)
        is saved there every ``checkpoint_every`` steps and at the end, with the loss curve as
        ``losses.png`` beside it, and a retraining that finds the file continues from it; the
        caller makes sure it belongs to the same retraining.

        With ``patience`` (and a checkpoint), early stopping: each checkpoint also measures the
        loss on fixed crops of the validation split (never the test split), keeps the best
        weights as ``best.safetensors`` beside the checkpoint, stops once ``patience``
        checkpoints in a row did not improve on it, and leaves the best weights in ``model``.

        Past ``deadline`` (a ``time.monotonic()`` time) it stops after the step under way, which
        gets a checkpoint (and a validation loss), so that it continues from there later.

        Returns:
            ``steps`` (the steps trained), with patience ``best_step`` and ``best_valid``, and
            ``time_limited: True`` when the deadline stopped it before ``steps``.
        """
        from neurorack.ml.train import load_checkpoint, plot_losses, save_checkpoint, save_weights

        if patience and checkpoint is None:
            raise NeurorackError("early stopping needs a checkpoint file to keep the best weights beside")
        valid_batch = self._valid_batch() if patience else None
        best_path = None if checkpoint is None else checkpoint.with_name(BEST_WEIGHTS)
        rng = np.random.default_rng(seed)
        torch.manual_seed(seed)
        self._use_threads()
        model.to(self.device).train()
        optimiser = torch.optim.Adam(model.parameters(), lr=self.learning_rate)
        # as in neurorack.ml.train: Adam, decayed to a tenth at the last step, gradient norm clipped at 1
        scheduler = torch.optim.lr_scheduler.ExponentialLR(optimiser, 0.1 ** (1.0 / max(steps, 1)))
        first, history = 0, {"step": [], "train": [], "valid_step": [], "valid": []}
        if checkpoint is not None and checkpoint.is_file():
            first, saved = load_checkpoint(checkpoint, model, optimiser, scheduler, rng, self.device)
            history.update(saved)
        step, out_of_time = first, False
        while step < steps and not out_of_time and not (patience and checkpoints_since_best(history["valid"]) >= patience):
            optimiser.zero_grad(set_to_none=True)
            loss = self.training_loss(model, self._batch(rng))
            if not torch.isfinite(loss):
                raise NeurorackError(f"retraining diverged at step {step} (loss {float(loss)})")
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            scheduler.step()
            step += 1
            history["step"].append(step)
            history["train"].append(float(loss.detach()))
            out_of_time = deadline is not None and time.monotonic() > deadline
            if checkpoint is not None and (step % self.checkpoint_every == 0 or step == steps or out_of_time):
                if valid_batch is not None:
                    history["valid_step"].append(step)
                    history["valid"].append(self._loss_on(model, valid_batch))
                    if checkpoints_since_best(history["valid"]) == 0:
                        save_weights(model, best_path)
                    model.to(self.device).train()
                save_checkpoint(checkpoint, model, optimiser, scheduler, rng, history, step)
                plot_losses(history, checkpoint.with_name("losses.png"))
            if progress is not None and (step % 10 == 0 or step == steps):
                progress(step / steps)
        model.cpu().eval()
        trained = {"steps": step, **({"time_limited": True} if out_of_time and step < steps else {})}
        if not patience:
            return trained
        best = int(np.argmin(history["valid"]))
        self.load_weights(model, best_path)
        return {**trained, "best_step": history["valid_step"][best], "best_valid": history["valid"][best]}

    def _valid_batch(self) -> tuple:
        if len(self.valid) == 0:
            raise NeurorackError("early stopping needs sounds in the dataset's validation split")
        return self._test_batch(self.valid, self.test_crops)

    def _loss_on(self, model: nn.Module, batch) -> float:
        model.cpu().eval()
        with torch.no_grad():
            return float(self.loss(model, batch))

    def test_loss(self, model: nn.Module) -> float:
        return self._loss_on(model, self.test_batch)

    def measure(self, model: nn.Module) -> dict:
        """The figures of ``neurorack bench model`` for this round: the model is exported to a
        temporary model folder and measured there (one thread, 48 kHz, 128-sample blocks; the
        fastest path counts; NumPy honours OPENBLAS_NUM_THREADS=1 set in the environment)."""
        from neurorack.ml.export import export_run
        from neurorack.ml.speed import bench_model

        with tempfile.TemporaryDirectory(prefix="neurorack-trim-") as folder:
            run = Path(folder) / "round"
            self.save_weights(model, run / "weights.safetensors")
            result = bench_model(export_run(run, Path(folder) / "model"), seconds=self.bench_seconds,
                                 block_size=128, paths=list(self.bench_paths))
        if result["rtf_1thread"] is None:
            raise NeurorackError(f"no inference path could be measured: {result['paths']}")
        return {"macs_per_second": result["macs_per_second_of_audio"], "realtime_factor": result["rtf_1thread"],
                "realtime_factor_paths": {name: row.get("rtf_1thread") for name, row in result["paths"].items()}}

    def save_weights(self, model: nn.Module, path: Path) -> None:
        """``path`` (safetensors) and ``config.yaml`` beside it: a folder ``neurorack export`` can read."""
        from safetensors.torch import save

        from neurorack.atomic import atomic_write_text
        from neurorack.runtime.loader import config_yaml

        atomic_write_text(path.parent / "config.yaml", config_yaml(model.config))
        if self.data_info is not None:
            atomic_write_text(path.parent / "data.json", json.dumps(self.data_info, indent=1) + "\n")
        atomic_write_bytes(path, save({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}))

    def load_weights(self, model: nn.Module, path: Path) -> None:
        from safetensors.torch import load_file

        model.load_state_dict(load_file(str(path)))
