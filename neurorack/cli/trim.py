"""``neurorack trim RUN ...``, ``trim report RUN [RUN ...]``, ``trim retrain ROUND`` and ``trim card ROUND``.

Nothing heavy is imported here at module level: ``neurorack --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from neurorack.argtypes import fraction, group_floor, non_negative_int, positive_float, positive_int, weight
from neurorack.errors import NeurorackError

TRIM_DESCRIPTION = """\
Structured lottery trimming of a trained dense model (Esling, Devis et al., DAFx 2020).

  neurorack trim RUN --criterion mi --scope global --rate 0.3 --rounds 6 --out runs/NAME
  neurorack trim report runs/NAME [runs/OTHER ...]
  neurorack trim retrain runs/NAME/round_NNN --out runs/NAME-long
  neurorack trim card runs/NAME/round_NNN --out models/MODEL

RUN is the dense parent: a 'neurorack train' run folder holding config.yaml (its
architecture), weights.safetensors and rewind.safetensors (the early snapshot it rewinds to), or
an exported model folder that has them (models/drums-v2; its card gives the training batch,
crop length and steps). Each round ranks
units, physically removes --rate of the removable ones, rewinds the kept weights to the
early snapshot (or re-initialises them: --rewind reinit, the control), retrains and measures.
An interrupted run resumes from its last finished round when started again with the same
options. Every round folder (OUT/round_NNN) holds config.yaml and weights.safetensors.

'report' writes report.png (error multiplier and real-time factor against % of parameters
removed, one curve per run), report.md (a table) and report.json into the first run folder
(or --out).

'retrain' gives one finished round's ticket the training its dense parent had: its kept
units are rewound to the parent's early snapshot (--rewind lr-rewind: taken from the
parent's trained weights, only the learning-rate schedule starts over; --rewind reinit:
re-initialised, the control) and trained --steps (default: the parent's training steps minus its rewind step,
from the parent's data.json, so the ticket and the parent compare at equal steps; the batch
and crop length default to the parent's too), with a checkpoint every --checkpoint-every
steps: started again with the same options, it continues. The parent is found as in the
run's settings (a sibling of the run folder; else --parent RUN), the data cache with --data
as for trimming. OUT is a run folder like the lottery's: OUT/round_NNN (config.yaml,
weights.safetensors, round.json with the record and 'retrain_steps'), the earlier rounds'
round.json and records.json (the source's rounds 0..N-1, then the retrained round), so that
'neurorack export', 'trim report' and 'trim card' take OUT/round_NNN like any round.

'card' adds a round's trimming lineage to the model folder exported from it: first
'neurorack export runs/NAME/round_NNN --out models/MODEL', then 'neurorack bench model
models/MODEL --write' (the real-time factor), then 'neurorack trim card'. It writes the
parent, settings, widths and per-round summary under 'trimming' in model.yaml, the error
multiplier and real-time factor under 'metrics', and copies the run's records (and the
report in --report DIR, default: the run folder) into models/MODEL/trimming/."""


BATCH = 16
CROP_FRAMES = 48


def register(commands) -> None:
    trim = commands.add_parser("trim", help="structured lottery trimming of a trained model, and its report",
                               description=TRIM_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    trim.add_argument("run", metavar="RUN", help="the dense parent's folder, 'report' followed by run folders, or "
                                                 "'retrain' or 'card' followed by a round folder")
    trim.add_argument("reports", nargs="*", metavar="RUNS", help=argparse.SUPPRESS)
    trim.add_argument("--criterion", choices=("magnitude", "activation", "gradient", "mi"), default="magnitude",
                      help="how units are ranked; mi: mutual information between a unit and the target "
                           "(default: %(default)s)")
    trim.add_argument("--scope", choices=("global", "local"), default="global",
                      help="global: all layers compete on per-layer normalised scores; local: each layer loses "
                           "the same share (default: %(default)s)")
    trim.add_argument("--rate", type=fraction, default=0.3,
                      help="share of the removable units taken per round (default: %(default)s)")
    trim.add_argument("--rounds", type=positive_int, default=6, help="trimming rounds (default: %(default)s)")
    trim.add_argument("--rewind", choices=("rewind", "lr-rewind", "reinit"), default="rewind",
                      help="start each round from the early snapshot's kept weights (the lottery ticket); "
                           "lr-rewind: from the parent's trained kept weights, with the learning-rate schedule "
                           "started over (Renda et al. 2020); reinit: re-initialised (the control) "
                           "(default: %(default)s)")
    trim.add_argument("--retrain-steps", type=non_negative_int, default=500, metavar="N",
                      help="optimiser steps of retraining per round (default: %(default)s)")
    trim.add_argument("--steps", type=positive_int, metavar="N",
                      help="retrain: optimiser steps (default: the parent's training steps minus its rewind step)")
    trim.add_argument("--parent", metavar="RUN",
                      help="retrain: the dense parent's run folder (default: the one the round's run names, beside "
                           "the run folder)")
    trim.add_argument("--checkpoint-every", type=positive_int, default=100, metavar="N",
                      help="retrain: steps between checkpoints (default: %(default)s)")
    trim.add_argument("--patience", type=non_negative_int, default=0, metavar="N",
                      help="retrain: early stopping: each checkpoint also measures the validation split; stop after "
                           "N checkpoints without a lower validation loss and keep the best weights (default: "
                           "%(default)s, off: train all --steps)")
    trim.add_argument("--max-minutes", type=positive_float, metavar="M",
                      help="retrain: stop after about M minutes and write the round as it stands (the best weights "
                           "so far with --patience, else the last), marked time_limited in its record, so that it "
                           "exports; the same command again continues it from its checkpoint (default: no limit)")
    trim.add_argument("--data", metavar="CACHE",
                      help="the dataset cache (.npz) the parent was trained on, with the same splits "
                           "(default: RUN/dataset.npz)")
    trim.add_argument("--weights", metavar="FILE",
                      help="the dense parent's trained weights (default: RUN/weights.safetensors)")
    trim.add_argument("--early", metavar="FILE",
                      help="the early snapshot to rewind to (default: RUN/rewind.safetensors, written by neurorack train)")
    trim.add_argument("--batch", type=positive_int,
                      help=f"crops per retraining step (default: the parent's training batch, else {BATCH})")
    trim.add_argument("--crop-frames", type=positive_int, metavar="N",
                      help=f"frames per retraining crop, hop 256 (default: the parent's, else {CROP_FRAMES})")
    trim.add_argument("--test-crops", type=positive_int, default=64, metavar="N",
                      help="crops of the test split (from each onset) for the test spectral loss (default: %(default)s)")
    trim.add_argument("--bench-seconds", type=float, default=2.0, metavar="S",
                      help="audio streamed to measure each round's real-time factor (default: %(default)s)")
    trim.add_argument("--bench-paths", default="numpy,eager", metavar="PATHS",
                      help="inference paths measured per round, as 'neurorack bench model' does; the fastest "
                           "counts (default: %(default)s)")
    trim.add_argument("--device", default="auto", help="where retraining runs: auto (a GPU when there is one), "
                                                       "cpu, cuda (default: %(default)s)")
    trim.add_argument("--threads", type=positive_int, default=None, metavar="N",
                      help="CPU threads torch uses for scoring and retraining (default: one per core; set 1 to run "
                           "two trims side by side; measurements always use one thread)")
    trim.add_argument("--seed", type=int, default=0, help="seeds scoring, re-initialisation, retraining "
                                                          "(default: %(default)s)")
    trim.add_argument("--max-samples", type=positive_int, default=8192, metavar="N",
                      help="frames drawn for the activation and mi criteria (default: %(default)s)")
    trim.add_argument("--bins", type=positive_int, default=8,
                      help="equal-count bins per variable of the MI estimator (default: %(default)s)")
    trim.add_argument("--distil", type=weight, default=0.0, metavar="W",
                      help="percussion models: while retraining, learn from the dense parent's render of each hit "
                           "with weight W (0..1) as well as from the recording with weight 1 - W (default: "
                           "%(default)s, off)")
    trim.add_argument("--floor", type=group_floor, action="append", default=[], metavar="GROUP=N",
                      help="keep at least N units of unit group GROUP (repeat for more groups; the groups are listed "
                           "in the error for an unknown name), e.g. --floor gru=40 --floor atoms=4: spares the "
                           "groups that carry the sound from a global selection")
    trim.add_argument("--no-sound-figures", action="store_true",
                      help="percussion models: skip the per-round 'neurorack eval' figures on the test split "
                           "(time-to-peak error, log-mel ratio to the vocoder, identity top-1, 1V/oct error, on 24 "
                           "test sounds; about 20 s per round)")
    trim.add_argument("--out", metavar="DIR", help="the run folder to write (trimming, retrain: required; report: "
                                                   "default: the first run folder; card: the model folder)")
    trim.add_argument("--report", metavar="DIR", help="card: the folder holding report.md and report.json "
                                                      "(default: the round's run folder)")
    trim.add_argument("--json", action="store_true", help="print the records (or the report) as JSON")
    trim.set_defaults(handler=trim_command)


def trim_command(args, config) -> int:
    if args.run == "report":
        return _report(args)
    if args.run == "card":
        return _card(args)
    if args.run == "retrain":
        return _retrain(args)
    if args.reports:
        raise NeurorackError(f"unexpected arguments after {args.run}: {' '.join(args.reports)}")
    if not args.out:
        raise NeurorackError("trim: --out DIR is required (the run folder to write)")
    return _trim(args)


def _report(args) -> int:
    from neurorack.ml.trim.report import write_report

    if not args.reports:
        raise NeurorackError("trim report: name at least one run folder")
    result = write_report(args.reports, args.out)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(Path(result["markdown"]).read_text(), end="")
        print(f"wrote {result['png']}, {result['markdown']}, {result['json']}")
    return 0


def _card(args) -> int:
    from neurorack.ml.trim.card import annotate_card

    if len(args.reports) != 1 or not args.out:
        raise NeurorackError("trim card: expected one round folder and --out MODEL_DIR (the model exported from it)")
    card = annotate_card(args.out, args.reports[0], args.report)
    if args.json:
        print(json.dumps({"trimming": card["trimming"], "metrics": card["metrics"]}, indent=2))
    else:
        metrics = card["metrics"]
        print(f"{args.out}: round {card['trimming']['round']} of {card['trimming']['run']}, "
              f"{metrics['params_removed_pct']:.1f} % of the parameters removed, error x{metrics['error_multiplier']:.3f}, "
              f"{metrics['realtime_factor']:.1f}x real time; lineage in model.yaml, records in "
              f"{Path(args.out) / 'trimming'}")
    return 0


def _trim(args) -> int:
    from neurorack.ml.trim.lottery import TrimSettings, run_lottery
    from neurorack.ml.trim.parent import load_parent, training_options
    from neurorack.progress import progress_bar

    settings = TrimSettings(criterion=args.criterion, scope=args.scope, rate=args.rate, rounds=args.rounds,
                            rewind=args.rewind, retrain_steps=args.retrain_steps, seed=args.seed,
                            max_samples=args.max_samples, bins=args.bins, distil=args.distil,
                            floors=dict(args.floor))
    options = training_options(args.run)
    batch = args.batch or options.get("batch") or BATCH
    crop_frames = args.crop_frames or options.get("crop_frames") or CROP_FRAMES
    parent = load_parent(args.run, weights=args.weights, early=args.early, data=args.data, device=args.device,
                         task_options=_task_options(args, batch, crop_frames))
    progress = None if args.json else progress_bar("trimming")

    def log(line: str) -> None:
        if not args.json:
            print(("\n" if progress is not None else "") + line, file=sys.stderr)

    records = run_lottery(parent.dense, parent.early, parent.adapter, parent.task, settings, args.out,
                          progress=progress, log=log, extra={"parent": parent.description})
    if progress is not None:
        progress.close()
    if args.json:
        print(json.dumps(records, indent=2))
    else:
        last = records[-1]
        print(f"{args.out}: {len(records) - 1} rounds; last: {last['params']} parameters "
              f"({last['params_removed_pct']:.1f} % removed), error x{last['error_multiplier']:.3f}, "
              f"{last['realtime_factor']:.0f}x real time; 'neurorack trim report {args.out}' plots it")
    return 0


def _task_options(args, batch: int, crop_frames: int) -> dict:
    return {"batch_size": batch, "crop_frames": crop_frames, "test_crops": args.test_crops,
            "bench_seconds": args.bench_seconds, "threads": args.threads, "checkpoint_every": args.checkpoint_every,
            "bench_paths": tuple(p.strip() for p in args.bench_paths.split(",") if p.strip()),
            "distil": args.distil, "sound_figures": not args.no_sound_figures}


def _retrain(args) -> int:
    from neurorack.ml.trim.parent import load_parent, training_options
    from neurorack.ml.trim.retrain import (
        RetrainSettings,
        default_steps,
        read_source,
        retrain_round,
    )
    from neurorack.progress import progress_bar

    if len(args.reports) != 1 or not args.out:
        raise NeurorackError("trim retrain: expected one round folder and --out DIR (the run folder to write)")
    source = read_source(args.reports[0])
    named = source.settings.get("parent", {})
    if args.parent:
        parent_dir = Path(args.parent)
    elif named.get("run"):
        parent_dir = source.run.parent / named["run"]
    else:
        raise NeurorackError(f"{source.run / 'settings.json'} names no parent run; give it with --parent RUN")
    options = training_options(parent_dir)
    steps = args.steps or default_steps(options)
    if steps is None or steps < 1:
        raise NeurorackError(f"{parent_dir}: neither data.json nor model.yaml gives the training steps and rewind "
                             "step to start from; give --steps N")
    batch = args.batch or options.get("batch") or BATCH
    crop_frames = args.crop_frames or options.get("crop_frames") or CROP_FRAMES
    parent = load_parent(parent_dir, data=args.data, device=args.device,
                         weights=args.weights or (str(parent_dir / named["weights"]) if named.get("weights") else None),
                         early=args.early or (str(parent_dir / named["early"]) if named.get("early") else None),
                         task_options=_task_options(args, batch, crop_frames))
    settings = RetrainSettings(steps=steps, rewind=args.rewind, seed=args.seed, distil=args.distil,
                               patience=args.patience)
    schedule = {"parent_steps": options.get("steps"), "rewind_step": options.get("rewind_step"), "batch": batch,
                "crop_frames": crop_frames}
    if not args.json:
        print(f"{source.name}: {args.rewind} {sum(map(len, source.document['kept'].values()))} kept units, train "
              f"{steps} steps (the parent: {options.get('steps', '?')} steps, rewind point at step "
              f"{options.get('rewind_step', '?')}), batch {batch}", file=sys.stderr)
    progress = None if args.json else progress_bar("retraining")
    deadline = None if args.max_minutes is None else time.monotonic() + 60.0 * args.max_minutes
    records = retrain_round(source, parent.dense, parent.early, parent.adapter, parent.task, settings, args.out,
                            progress=progress, extra=schedule, deadline=deadline)
    if progress is not None:
        progress.close()
    last = records[-1]
    if args.json:
        print(json.dumps(last, indent=2))
    else:
        folder = Path(args.out) / f"round_{last['round']:03d}"
        print(f"{folder}: {last['params']} parameters, "
              f"{last['retrain_steps']} steps: error x{last['error_multiplier']:.3f} (x{last['source_error_multiplier']:.3f} "
              f"after {last['source_retrain_steps']} in {source.run.name}), {last['realtime_factor']:.0f}x real time"
              + (f"; the best validation loss was at step {last['best_step']}, its weights kept"
                 if "best_step" in last else "")
              + (f"; stopped by --max-minutes before step {steps}: run the same command again to continue"
                 if last.get("time_limited") else ""))
    return 0
