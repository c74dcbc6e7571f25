"""``neurorack train``, ``eval`` and ``export``.

Nothing heavy is imported here at module level: ``neurorack --help`` stays fast and works
without torch. Each handler imports what it needs.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import sys
from pathlib import Path

from neurorack.argtypes import command_line
from neurorack.errors import NeurorackError

DEFAULT_CACHE_DIR = Path("runs") / "cache"


def register(commands) -> None:
    """Add the model toolbox's subcommands to the ``neurorack`` parser."""
    from neurorack.ml.train_options import PERCUSSION_DEFAULTS, TrainOptions

    d = TrainOptions()
    both = {key: f"{PERCUSSION_DEFAULTS[key]} for percussion, {getattr(d, key)} for descriptor"
            for key in PERCUSSION_DEFAULTS}

    train = commands.add_parser(
        "train", help="train a model on folders of one-shots",
        description="Train a descriptor-conditioned model on one-shots (WAV/FLAC/AIFF, any rate and channel "
                    "count). Sounds are converted to 48 kHz mono, trimmed, described and cached; a hash of each "
                    "file's name puts it in train/valid/test. The run folder gets checkpoints (resume with "
                    "--resume), the early-weights rewind snapshot, final weights and losses.png. Uses the GPU "
                    "when there is one. To train on several processes (one per GPU, or CPU cores shared among "
                    "them): 'torchrun --nproc_per_node=N -m neurorack train ...'; --batch stays the global batch, "
                    "split evenly across the processes, so the run matches one process with the same --batch.")
    train.add_argument("data", nargs="*", metavar="DATA_DIR",
                       help="folders of one-shots (searched recursively; default: the training and held-out kits of "
                            "Debian's hydrogen-drumkits package; a held-out kit's files are the 'heldout' split, "
                            "never trained on)")
    train.add_argument("--out", required=True, metavar="RUN_DIR", help="run folder, e.g. runs/dense")
    train.add_argument("--cache", metavar="FILE",
                       help="dataset cache (.npz); built from DATA_DIR when missing (default: a file under "
                            f"{DEFAULT_CACHE_DIR} named by a hash of the folders and options)")
    train.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    train.add_argument("--steps", type=int, default=None, help=f"optimiser steps in total (default: {both['steps']})")
    train.add_argument("--batch", type=int, default=None,
                       help=f"crops per step, across all processes under torchrun (default: {both['batch']})")
    train.add_argument("--crop-frames", type=int, default=None,
                       help=f"frames per crop, 256 samples each (default: {both['crop_frames']})")
    train.add_argument("--lr", type=float, default=d.learning_rate, help="learning rate (default: %(default)s)")
    train.add_argument("--seed", type=int, default=d.seed, help="random seed (default: %(default)s)")
    train.add_argument("--rewind-step", type=int, default=d.rewind_step,
                       help="step whose weights are saved as the lottery rewind point (default: %(default)s)")
    train.add_argument("--checkpoint-every", type=int, default=d.checkpoint_every,
                       help="steps between checkpoints and validation (default: %(default)s)")
    train.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                       help="auto: CUDA when available, else CPU (default: %(default)s)")
    train.add_argument("--threads", type=int, default=None,
                       help="CPU threads torch may use (default: one per core; under torchrun on the CPU, each "
                            "process gets cores / processes, at least 1; on a busy machine 1 is often much faster)")
    train.add_argument("--max-minutes", type=float, default=None,
                       help="stop after this many minutes, saving a checkpoint and weights (default: no limit)")
    train.add_argument("--max-seconds", type=float, default=1.0,
                       help="cut each one-shot after this long, in seconds (default: %(default)s)")
    train.add_argument("--normalise-db", type=float, default=None,
                       help="normalise each one-shot's peak to this dBFS (default: keep levels)")
    train.add_argument("--family", choices=("percussion", "descriptor"), default="percussion",
                       help="percussion: the drum model (timbre code, partials and modes, noise, transient, attack "
                            "envelope; crops of at least 0.53 s from each onset); descriptor: the first model "
                            "(harmonics and noise only) (default: %(default)s)")
    train.add_argument("--tiny", action="store_true", help="the tiny test architecture instead of the dense one")
    train.add_argument("--frame-network", choices=("gru", "wavenet"), default="gru",
                       help="percussion: the frame network's memory: gru (the shipped models) or wavenet (a "
                            "WaveNet-style stack: dilated causal convolutions over frames, gated tanh x sigmoid "
                            "units, residual and skip 1x1 convolutions; docs/wavenet-family.md) (default: %(default)s)")
    train.add_argument("--init", metavar="MODEL_DIR",
                       help="fine-tune: start from an exported model's weights and architecture (dense or trimmed) "
                            "instead of random weights")
    train.add_argument("--spectral-lock", action="store_true",
                       help="pin the output's spectral centroid and harmonic/noise balance to the centroid_hz and "
                            "pitch_confidence descriptors (see neurorack.core.spectral_lock)")
    train.set_defaults(handler=train_command)

    evaluate = commands.add_parser(
        "eval", help="measure a model's sounds and controls against two noise imitations",
        description="Analyse and re-render every one-shot of a split and measure, for the model, the descriptor-"
                    "matched filtered-noise baseline, each original's own 32-band noise vocoder and the original "
                    "itself (a sanity row): time-to-peak and 10-90 % rise errors, log-mel distance over the first "
                    "500 ms (and its ratio to the vocoder's), low-band (<150 Hz) energy over the first 30 ms, "
                    "burst count on claps and flams, and timbre identity (is a render's nearest original its "
                    "source?). With each sound's timbre fixed, the controls: 1 V/octave measured by an "
                    "independent pitch tracker (pesto-pitch), the centroid of noisy sounds under the pitch CV, a "
                    "brightness sweep and loudness steps. Prints one markdown table per split, with the targets "
                    "of DESIGN.md and pass/fail. Definitions: neurorack/ml/sound_metrics.py and sound_eval.py.")
    evaluate.add_argument("model", metavar="MODEL_DIR", help="an exported model folder")
    evaluate.add_argument("data", nargs="*", metavar="DATA_DIR",
                          help="folders of one-shots (default: the training and held-out kits of Debian's "
                               "hydrogen-drumkits package)")
    evaluate.add_argument("--cache", metavar="FILE", help="dataset cache instead of (or built from) DATA_DIR")
    evaluate.add_argument("--split", default="all", choices=("train", "valid", "test", "heldout", "all"),
                          help="which split: 'heldout' is the held-out kits, 'all' is test and heldout, each "
                               "reported on its own (default: %(default)s)")
    evaluate.add_argument("--limit", type=int, default=None,
                          help="at most this many sounds per split, chosen by a hash of their names "
                               "(default: the whole split)")
    evaluate.add_argument("--control-sounds", type=int, default=8,
                          help="at most this many sounds per control test (default: %(default)s)")
    evaluate.add_argument("--write", action="store_true",
                          help="also save evaluation.json in the model folder and its metrics in model.yaml")
    evaluate.add_argument("--before", metavar="MODEL_DIR",
                          help="also evaluate this model on the same sounds and print the two side by side "
                               "(e.g. the model yours replaces); --write still writes MODEL_DIR's figures only")
    evaluate.add_argument("--json", action="store_true", help="print JSON")
    evaluate.set_defaults(handler=eval_command)

    export = commands.add_parser(
        "export", help="export a trained run as a model folder",
        description="Write weights (safetensors), config.yaml, a model.yaml card (rates, descriptors and ranges, "
                    "parameters, bytes, training files and licences) and SHA256SUMS.")
    export.add_argument("run", metavar="RUN_DIR", help="a run folder written by 'neurorack train'")
    export.add_argument("--out", required=True, metavar="MODEL_DIR", help="model folder to write, e.g. models/dense")
    export.add_argument("--name", help="model name in the card (default: the folder's name)")
    export.add_argument("--weights", default="weights.safetensors",
                        help="which weights of the run to export (default: %(default)s)")
    export.set_defaults(handler=export_command)


def dataset_for(args, folders: list[str]):
    """The prepared dataset: from ``--cache`` if it exists, else built from ``folders`` (and cached).
    Neither folders nor ``--cache``: the training and held-out Hydrogen kits
    (``dataset.kit_folders("all")``), cached under ``DEFAULT_CACHE_DIR``. Under torchrun the main
    process builds a missing cache while the others wait, then every process reads it."""
    from neurorack.ml import distributed
    from neurorack.ml.dataset import (
        CACHE_VERSION,
        PrepareOptions,
        build_set,
        kit_folders,
        load_cache,
        save_cache,
    )
    from neurorack.progress import progress_bar

    options = PrepareOptions(max_seconds=getattr(args, "max_seconds", 1.0),
                             normalise_db=getattr(args, "normalise_db", None))
    cache = Path(args.cache) if args.cache else None
    if cache is None:
        folders = folders or kit_folders("all")
        key = json.dumps([[str(Path(f).resolve()) for f in folders], repr(options), CACHE_VERSION])
        cache = DEFAULT_CACHE_DIR / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz"
    if cache.is_file():
        return load_cache(cache)
    if not folders:
        raise NeurorackError(f"{cache}: no such cache; give DATA_DIR folders to build it (or leave out --cache "
                             "to use the Hydrogen kits)")
    distributed.barrier()  # under torchrun: every process has looked for the cache before it is written
    if distributed.is_main():
        progress = progress_bar("reading one-shots")
        data = build_set(folders, options, progress=progress)
        if progress is not None:
            progress.close()
        save_cache(data, cache)
        print(f"{len(data)} sounds ({len(data.skipped)} skipped), cached in {cache}", file=sys.stderr)
        if not distributed.active():
            return data
    distributed.barrier()  # the main process has written it: every process reads the same (int16) sounds
    return load_cache(cache)


def train_command(args: argparse.Namespace, config) -> int:
    """Train. Under torchrun (``neurorack.ml.distributed``) every process runs this; the main
    one alone shows progress and prints the summary."""
    from neurorack.core.architecture import TINY_CONFIG, ModelConfig
    from neurorack.ml import distributed
    from neurorack.ml.train import TrainOptions, pick_device, train
    from neurorack.ml.train_options import PERCUSSION_DEFAULTS
    from neurorack.progress import progress_bar

    for name, value in PERCUSSION_DEFAULTS.items():
        if getattr(args, name) is None:
            setattr(args, name, value if args.family == "percussion" else getattr(TrainOptions(), name))
    for name in ("steps", "batch", "crop_frames", "checkpoint_every"):
        if getattr(args, name) < 1:
            raise NeurorackError(f"--{name.replace('_', '-')}: expected a whole number of at least 1, "
                                 f"got {getattr(args, name)}")
    distributed.rows(args.batch)  # under torchrun: the batch splits evenly over the processes
    device = distributed.device_for(pick_device(args.device))
    threads = args.threads
    if threads is None and distributed.active() and device.type == "cpu":
        threads = max(1, (os.cpu_count() or 1) // distributed.world_size())  # the processes share the cores
    if threads is not None:
        if threads < 1:
            raise NeurorackError(f"--threads: expected a whole number of at least 1, got {threads}")
        import torch

        torch.set_num_threads(threads)
    if args.init and (args.tiny or args.resume):
        raise NeurorackError("--init starts a new run from a model's weights: leave out --tiny and --resume")
    if args.family == "percussion":
        from neurorack.core.percussion_config import (
            DENSE_WAVENET,
            TINY_PERCUSSION,
            TINY_WAVENET,
            PercussionConfig,
        )

        if args.frame_network == "wavenet":
            architecture = TINY_WAVENET if args.tiny else DENSE_WAVENET
        else:
            architecture = TINY_PERCUSSION if args.tiny else PercussionConfig()
    else:
        if args.frame_network != "gru":
            raise NeurorackError("--frame-network applies to --family percussion only")
        architecture = TINY_CONFIG if args.tiny else ModelConfig()
    init_weights = None
    if args.init:
        from neurorack.runtime.loader import load_model

        initial = load_model(args.init)
        architecture, init_weights = initial.config, initial.weights
    if args.spectral_lock:
        if args.family != "descriptor":
            raise NeurorackError("--spectral-lock applies to --family descriptor only")
        architecture = dataclasses.replace(architecture, spectral_lock=True)
    options = TrainOptions(steps=args.steps, batch=args.batch, crop_frames=args.crop_frames, learning_rate=args.lr,
                           seed=args.seed, rewind_step=args.rewind_step, checkpoint_every=args.checkpoint_every,
                           device=args.device, max_minutes=args.max_minutes)
    distributed.start(device)
    try:
        data = dataset_for(args, args.data)
        progress = progress_bar("training") if distributed.is_main() else None
        info = {**data.info, "command": command_line(args)}
        if args.init:
            info["initialised_from"] = {"model": str(args.init), "name": initial.name}
        result = train(data, args.out, architecture, options, resume=args.resume, data_info=info,
                       progress=progress, init_weights=init_weights)
    finally:
        distributed.finish()
    if progress is not None:
        progress.close()
    if distributed.is_main():
        print(json.dumps(result, indent=2))
    return 0


def eval_command(args: argparse.Namespace, config) -> int:
    from neurorack.ml.evaluate import write_evaluation
    from neurorack.ml.sound_eval import (
        ALL_SPLITS,
        evaluate_sounds,
        format_comparison,
        format_table,
        unmeasured_figures,
    )
    from neurorack.progress import progress_bar
    from neurorack.runtime.resynth import Resynthesizer

    for name in ("limit", "control_sounds"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise NeurorackError(f"--{name.replace('_', '-')}: expected a whole number of at least 1, got {value}")
    data = dataset_for(args, args.data)
    resynth = Resynthesizer(args.model)
    splits = ALL_SPLITS if args.split == "all" else (args.split,)
    progress = progress_bar("evaluating")
    result = evaluate_sounds(resynth, data, splits, limit=args.limit, control_limit=args.control_sounds,
                             progress=progress)
    before = None
    if args.before:
        progress = progress_bar(f"evaluating {Path(args.before).name}")
        before = evaluate_sounds(Resynthesizer(args.before), data, splits, limit=args.limit,
                                 control_limit=args.control_sounds, progress=progress)
    if progress is not None:
        progress.close()
    unmeasured = [(folder, unmeasured_figures(figures)) for folder, figures in ((args.model, result),
                                                                                  (args.before, before))
                  if figures is not None]
    unmeasured = [(folder, keys) for folder, keys in unmeasured if keys]
    if args.write and not unmeasured:
        write_evaluation(args.model, result, command_line(args), before=before)
    if args.json:
        print(json.dumps(result if before is None else {"before": before, "after": result}, indent=2))
    else:
        print(format_table(result) if before is None else format_comparison(before, result))
    if unmeasured:
        said = "; ".join(f"{folder}: {', '.join(keys)}" for folder, keys in unmeasured)
        raise NeurorackError(f"figures are NaN for the model where the noise baseline measures them ({said}); "
                             "is the model silent, or does it render NaN?"
                             + (" Nothing was written." if args.write else ""))
    return 0


def export_command(args: argparse.Namespace, config) -> int:
    from neurorack.ml.export import export_run

    path = export_run(args.run, args.out, name=args.name, weights=args.weights,
                      extra_command=command_line(args))
    print(f"exported {args.run} to {path}")
    return 0
