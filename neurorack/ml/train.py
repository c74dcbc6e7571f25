"""Training: crops of one-shots reconstructed from their own descriptors.

A run folder (``neurorack train ... --out runs/NAME``) holds::

    config.yaml          the architecture (ModelConfig)
    data.json            the files used per split, their folders' licences, the options
    checkpoint.pt        model, optimiser, step, RNG states, loss history (resume from it)
    rewind.safetensors   the weights at ``rewind_step``: the lottery-ticket rewind point
    weights.safetensors  the final weights
    history.json         train and valid losses per step
    losses.png           the loss curves

Under torchrun (``neurorack.ml.distributed``) every process draws the same global batch and
trains on its own rows of it through DistributedDataParallel; the main process alone writes
the run folder, validates and reports progress.

Checkpoints are read back with ``torch.load(weights_only=True)``; weights are safetensors.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import torch

from neurorack.atomic import atomic_open, atomic_write_bytes, atomic_write_text
from neurorack.core.architecture import ModelConfig
from neurorack.core.percussion_config import PercussionConfig
from neurorack.errors import NeurorackError
from neurorack.ml import distributed
from neurorack.ml.dataset import OneShotSet, random_crops
from neurorack.ml.losses import multiscale_spectral_distance
from neurorack.ml.model import DescriptorModel
from neurorack.ml.train_options import TrainOptions
from neurorack.runtime.loader import config_yaml, load_config

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"
REWIND = "rewind.safetensors"
WEIGHTS = "weights.safetensors"


class TrainingError(NeurorackError):
    """A run folder that cannot be started or resumed."""


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise TrainingError("--device cuda: no CUDA device is available here")
    return torch.device(name)


def save_weights(model: torch.nn.Module, path: str | Path) -> Path:
    """The model's parameters as safetensors (contiguous CPU float32 copies)."""
    from safetensors.torch import save

    tensors = {name: value.detach().float().cpu().contiguous() for name, value in model.state_dict().items()}
    return atomic_write_bytes(path, save(tensors))


class DescriptorRecipe:
    """Batches and loss for a ``DescriptorModel``: random crops (half from the onset), the
    multi-scale spectral distance."""

    def __init__(self, model: DescriptorModel, crop_frames: int):
        self.model = model
        self.crop_frames = crop_frames

    def batch(self, data: OneShotSet, size: int, rng: np.random.Generator, device) -> tuple:
        descriptors, audio = random_crops(data, self.crop_frames, size, rng)
        return torch.from_numpy(descriptors).to(device), torch.from_numpy(audio).to(device)

    def loss(self, batch: tuple, model: torch.nn.Module | None = None) -> torch.Tensor:
        """The mean loss over the batch's rows, rendered by ``model`` (default: ``self.model``;
        training passes its DistributedDataParallel wrapper)."""
        descriptors, audio = batch
        render = self.model if model is None else model
        return multiscale_spectral_distance(render(descriptors)[0], audio)


def recipe_for(config: ModelConfig | PercussionConfig, crop_frames: int):
    """The model a config describes, with how it trains (a ``DescriptorRecipe`` or ``PercussionRecipe``)."""
    if isinstance(config, PercussionConfig):
        from neurorack.ml.percussion_model import PercussionModel
        from neurorack.ml.percussion_train import PercussionRecipe

        return PercussionRecipe(PercussionModel(config), crop_frames)
    return DescriptorRecipe(DescriptorModel(config), crop_frames)


def train(data: OneShotSet, out_dir: str | Path, config: ModelConfig | PercussionConfig | None = None,
          options: TrainOptions | None = None, resume: bool = False, data_info: dict | None = None,
          progress: Callable[[float], None] | None = None, init_weights: Mapping[str, np.ndarray] | None = None) -> dict:
    """Train (or resume) a run in ``out_dir``.

    Args:
        data: prepared one-shots with splits; trains on "train", validates on "valid".
        config: the architecture: a ``ModelConfig`` (descriptor model) or a ``PercussionConfig``
            (default: the descriptor model's ``ModelConfig()``); ignored on resume.
        resume: continue from ``out_dir/checkpoint.pt``; without it ``out_dir`` must hold no run.
        options: ``batch`` is the global batch: under torchrun each process trains on its share.
        data_info: written to ``data.json`` (file lists, licences).
        init_weights: fine-tuning: start from these weights (a state dict of ``config``'s shapes)
            instead of random ones; ignored on resume.

    Returns:
        A summary: steps, final train and valid loss (None outside the main process, which
        alone validates), seconds, device, processes.
    """
    options = options or TrainOptions()
    rows = distributed.rows(options.batch)  # this process's rows of each batch (all of them, alone)
    main = distributed.is_main()
    out_dir = Path(out_dir)
    checkpoint_path = out_dir / CHECKPOINT
    if resume and not checkpoint_path.is_file():
        raise TrainingError(f"{out_dir}: no {CHECKPOINT} to resume from")
    if not resume and checkpoint_path.exists():
        raise TrainingError(f"{out_dir} already holds a run; resume it with --resume or pick another --out")
    train_set, valid_set = data.subset("train"), data.subset("valid")
    if len(train_set) == 0:
        raise TrainingError("no sounds in the train split")
    if len(valid_set) == 0:
        valid_set = train_set
    device = distributed.device_for(pick_device(options.device))
    distributed.start(device)
    distributed.barrier()  # every process has looked at out_dir before the main one writes there
    if resume:
        config = load_config(out_dir / "config.yaml")
    config = config or ModelConfig()
    torch.manual_seed(options.seed)
    recipe = recipe_for(config, options.crop_frames)
    model = recipe.model.to(device)
    if init_weights is not None and not resume:
        model.load_state_dict({key: torch.as_tensor(np.asarray(value)) for key, value in init_weights.items()})
    optimiser = torch.optim.Adam(model.parameters(), lr=options.learning_rate)
    decay = 0.1 ** (1.0 / max(options.steps, 1))
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimiser, decay)
    rng = np.random.default_rng(options.seed)
    history: dict[str, list] = {"step": [], "train": [], "valid_step": [], "valid": []}
    step = 0
    if resume:
        step, history = load_checkpoint(checkpoint_path, model, optimiser, scheduler, rng, device)
        if main:
            log.info("resuming %s at step %d", out_dir, step)
            _note_resume(out_dir / "data.json", step, (data_info or {}).get("command"))
    elif main:
        out_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out_dir / "config.yaml", config_yaml(config))
        info = dict(data_info or {})
        info["resumed_with"] = []
        info["splits"] = {split: [n for n, s in zip(data.names, data.splits) if s == split]
                          for split in ("train", "valid", "test")}
        info["skipped"] = [f"{name}: {why}" for name, why in data.skipped]
        info["options"] = {**dataclasses.asdict(options), "processes": distributed.world_size(),
                           "batch_per_process": rows.stop - rows.start}
        atomic_write_text(out_dir / "data.json", json.dumps(info, indent=1) + "\n")
    network = distributed.wrap(model)  # what training calls: gradients averaged over the processes
    valid_batch = None  # the main process alone validates, on the whole fixed batch
    if main:
        valid_batch = recipe.batch(valid_set, options.valid_crops, np.random.default_rng(options.seed + 1), device)
    started = time.perf_counter()
    first_step = step
    if main and step == 0 and options.rewind_step == 0:
        save_weights(model, out_dir / REWIND)
    deadline = None if options.max_minutes is None else started + 60.0 * options.max_minutes
    while step < options.steps:
        if deadline is not None and distributed.main_decides(time.perf_counter() > deadline):
            if main:  # every process stops at this step: the main one decided for all
                log.info("time limit reached at step %d", step)
                save_checkpoint(checkpoint_path, model, optimiser, scheduler, rng, history, step)
            break
        batch = own_rows(recipe.batch(train_set, options.batch, rng, device), rows)
        network.train()
        loss = recipe.loss(batch, network)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        scheduler.step()
        step += 1
        history["step"].append(step)
        history["train"].append(distributed.mean(loss))  # the global batch's loss
        if main and step == options.rewind_step:
            save_weights(model, out_dir / REWIND)
        if main and (step % options.checkpoint_every == 0 or step == options.steps):
            history["valid_step"].append(step)
            history["valid"].append(validation_loss(recipe, valid_batch))
            save_checkpoint(checkpoint_path, model, optimiser, scheduler, rng, history, step)
            if step < options.steps:  # the last plot is drawn once, below
                plot_losses(history, out_dir / "losses.png")
            log.info("step %d: train %.4f, valid %.4f", step, history["train"][-1], history["valid"][-1])
        if main and progress is not None:
            progress(step / options.steps)
    if main:
        save_weights(model, out_dir / WEIGHTS)
        atomic_write_text(out_dir / "history.json", json.dumps(history) + "\n")
        plot_losses(history, out_dir / "losses.png")
    distributed.barrier()  # every process returns once the run folder is complete
    seconds = time.perf_counter() - started
    return {"run": str(out_dir), "steps": step, "steps_this_session": step - first_step,
            "train_loss": history["train"][-1] if history["train"] else None,
            "valid_loss": history["valid"][-1] if history["valid"] else None,
            "seconds": seconds, "device": str(device), "processes": distributed.world_size()}


def own_rows(batch: tuple, rows: slice) -> tuple:
    """This process's rows of a global batch: tensors cut along their first axis; the rest
    (the noise table's read position, one per batch) the same in every process."""
    return tuple(item[rows] if isinstance(item, torch.Tensor) else item for item in batch)


def _note_resume(path: Path, step: int, command: str | None) -> None:
    """Record in data.json that (and how, on how many processes) the run was resumed."""
    if not path.is_file():
        return
    info = json.loads(path.read_text())
    info.setdefault("resumed_with", []).append({"step": step, "command": command,
                                                "processes": distributed.world_size()})
    atomic_write_text(path, json.dumps(info, indent=1) + "\n")


def validation_loss(recipe, batch: tuple) -> float:
    recipe.model.eval()
    with torch.no_grad():
        return float(recipe.loss(batch))


def save_checkpoint(path: Path, model, optimiser, scheduler, rng, history, step: int) -> None:
    """Everything a run needs to continue at ``step``: model, optimiser and scheduler states,
    the NumPy and torch random states, and the loss ``history`` (a JSON-able dict)."""
    state = {"model": model.state_dict(), "optimiser": optimiser.state_dict(), "scheduler": scheduler.state_dict(),
             "numpy_rng": json.dumps(rng.bit_generator.state), "torch_rng": torch.get_rng_state(),
             "history": json.dumps(history), "step": step}
    with atomic_open(path, "wb") as stream:
        torch.save(state, stream)


def load_checkpoint(path: Path, model, optimiser, scheduler, rng, device) -> tuple[int, dict]:
    """Restore what ``save_checkpoint`` wrote into the given objects (in place).

    Returns:
        the step it was written at, and the loss history.

    Raises:
        TrainingError: the file is not one ``save_checkpoint`` wrote, or it is damaged (never
            unpickled beyond tensors and plain values).
    """
    try:
        with warnings.catch_warnings():  # torch's remarks on a foreign pickle say nothing useful here
            warnings.simplefilter("ignore", UserWarning)
            state = torch.load(path, map_location=device, weights_only=True)
        if not isinstance(state, dict):
            raise TypeError(f"a {type(state).__name__}, not a dict")
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        scheduler.load_state_dict(state["scheduler"])
        rng.bit_generator.state = json.loads(state["numpy_rng"])
        torch.set_rng_state(state["torch_rng"])
        return int(state["step"]), json.loads(state["history"])
    except Exception:  # noqa: BLE001 - whatever is wrong inside, the file is not a checkpoint to resume from
        raise TrainingError(f"{path} is not a checkpoint neurorack wrote (or it is damaged): start a new run "
                            "with another --out") from None


def plot_losses(history: dict, path: str | Path) -> None:
    """Train loss (raw and smoothed) and validation loss against the step, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 4), dpi=100)
    axes = figure.add_subplot()
    steps, losses = np.array(history["step"]), np.array(history["train"])
    if len(losses):
        axes.plot(steps, losses, color="0.8", linewidth=0.6, label="train (each step)")
        width = max(1, len(losses) // 50)
        smooth = np.convolve(losses, np.ones(width) / width, mode="valid")
        axes.plot(steps[width - 1:], smooth, color="C0", label=f"train (mean of {width})")
    if history["valid"]:
        axes.plot(history["valid_step"], history["valid"], "o-", color="C1", label="valid")
    axes.set_xlabel("step")
    axes.set_ylabel("training loss")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    with atomic_open(path, "wb") as stream:
        figure.savefig(stream, format="png")
