"""Retraining one finished round's ticket for as long as its parent trained.

A lottery round rewinds the kept units to the dense parent's early snapshot and retrains a
few hundred steps (``--retrain-steps``), so that many rounds fit in an afternoon. That is
enough to rank units, but the fair comparison of the final ticket with its dense parent
trains it as long as the parent trained after the rewind point. ``retrain_round`` takes a
finished round's kept units (its ``round.json``), rewinds them to the early snapshot (or
takes them from the parent's trained weights and restarts only the learning-rate schedule,
or, the control, re-initialises them), retrains for ``steps`` and measures the result as a
lottery round is measured.

It writes a run folder of the lottery's layout, so that ``neurorack export``,
``neurorack trim report`` and ``neurorack trim card`` read it as they read a lottery run::

    OUT/settings.json          the source run's settings and parent, plus "retrain"
    OUT/round_000 .. round_{N-1}/round.json
                               the source run's rounds that led to the ticket (no weights)
    OUT/round_NNN/             the retrained ticket: config.yaml, weights.safetensors, round.json
    OUT/records.json, .csv     the source's records of rounds 0..N-1, then the retrained round N
    OUT/lottery/               the whole source run's settings, records and round_NNN.json, as
                               they were (``neurorack trim card`` copies them into the model)
    OUT/checkpoint.pt          the retraining's state: an interrupted retraining continues
                               from its last checkpoint when started again with the same options

The retrained record carries ``retrain_steps``, ``retrained_from`` and the source round's own
``source_error_multiplier`` and ``source_retrain_steps``; its ``error_multiplier`` divides by
the dense parent's test loss of the source run, which is measured again first: a different
data cache or test set stops the retraining instead of comparing unlike figures.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from neurorack.atomic import atomic_write_bytes
from neurorack.errors import NeurorackError
from neurorack.ml.trim.card import LOTTERY_DIR, ROUND_NAME, read_json
from neurorack.ml.trim.lottery import (
    REWIND_MODES,
    TrimSettings,
    TrimTask,
    check_or_write_settings,
    record_round,
    starting_model,
)
from neurorack.ml.trim.report import read_records, write_records
from neurorack.ml.trim.surgery import TrimAdapter

CHECKPOINT = "checkpoint.pt"
DENSE_LOSS_TOLERANCE = 1e-4  # relative; the same model, data and crops give the same loss to float rounding


@dataclass(frozen=True)
class RetrainSettings:
    """One retraining.

    Attributes:
        steps: optimiser steps.
        rewind: ``rewind`` to the early snapshot (the lottery ticket), ``lr-rewind`` (the
            parent's trained weights, the learning-rate schedule from its start), or ``reinit``
            (the control).
        seed: seeds re-initialisation and retraining (plus the round, as in the lottery).
        distil: weight of the dense parent's renders as a second target (see ``TrimSettings``).
        patience: early stopping: stop after this many checkpoints without a lower validation
            loss and keep the best weights (0: off, train all ``steps``).
    """

    steps: int
    rewind: str = "rewind"
    seed: int = 0
    distil: float = 0.0
    patience: int = 0

    def __post_init__(self):
        if self.rewind not in REWIND_MODES:
            raise NeurorackError(f"rewind expected one of {', '.join(REWIND_MODES)}, got {self.rewind!r}")
        if self.patience < 0:
            raise NeurorackError(f"patience expected a number of checkpoints >= 0, got {self.patience}")
        if self.steps < 1:
            raise NeurorackError(f"expected at least 1 retraining step, got {self.steps}")


@dataclass(frozen=True)
class SourceRound:
    """A finished round of a lottery run, as read from its folders."""

    folder: Path
    index: int
    document: dict  # round.json: record, kept, widths
    settings: dict  # the run's settings.json: settings, parent
    records: list[dict]  # the run's records, round 0 first

    @property
    def run(self) -> Path:
        return self.folder.parent

    @property
    def name(self) -> str:
        return f"{self.run.name}/{self.folder.name}"


def read_source(round_dir: str | Path) -> SourceRound:
    """A finished lottery round (``RUN/round_NNN``, N >= 1) and its run's settings and records.

    Raises:
        NeurorackError: not a round folder, round 0, or files that are missing or not the lottery's.
    """
    folder = Path(round_dir)
    if not ROUND_NAME.search(folder.name):
        raise NeurorackError(f"{folder}: expected a round folder (RUN/round_NNN) of 'neurorack trim'")
    document = read_json(folder / "round.json", "the round's record")
    settings = read_json(folder.parent / "settings.json", "the trimming run's settings")
    if not isinstance(document, dict) or not {"record", "kept", "widths"} <= set(document) \
            or not isinstance(settings, dict) or not isinstance(settings.get("settings"), dict):
        raise NeurorackError(f"{folder}: round.json or settings.json is not what 'neurorack trim' writes")
    index = int(document["record"]["round"])
    if index == 0:
        raise NeurorackError(f"{folder}: round 0 is the dense parent itself; name a trimmed round")
    records = read_records(folder.parent)
    if len(records) <= index or [r["round"] for r in records[:index + 1]] != list(range(index + 1)):
        raise NeurorackError(f"{folder.parent / 'records.json'}: expected the records of rounds 0 to {index}")
    return SourceRound(folder, index, document, settings, records)


def default_steps(training_options: Mapping | None) -> int | None:
    """The parent's training steps after its rewind point (None when the options are unknown)."""
    options = training_options or {}
    if not isinstance(options.get("steps"), int) or not isinstance(options.get("rewind_step"), int):
        return None
    return options["steps"] - options["rewind_step"]


def retrain_round(source: SourceRound, dense: nn.Module, early_state: Mapping, adapter: TrimAdapter,
                  task: TrimTask, settings: RetrainSettings, out_dir: str | Path, *,
                  progress: Callable[[float], None] | None = None, extra: Mapping | None = None,
                  deadline: float | None = None) -> list[dict]:
    """Retrain the ticket of ``source`` (or resume that retraining) into ``out_dir``.

    Args:
        dense: the source run's trained dense parent.
        early_state: its weights at the rewind point.
        extra: more fields for settings.json's ``retrain`` (the parent's schedule, the batch).
        deadline: a ``time.monotonic()`` time to stop at: the round is written as it stands
            (the best weights so far with patience, else the last) with ``time_limited: true``
            in its record, and a later call continues it from its checkpoint.

    Returns:
        The records of ``out_dir``: the source's rounds 0..N-1, then the retrained round N.

    Raises:
        NeurorackError: ``out_dir`` is the source run, holds another retraining, or the parent
            given is not the source run's (other widths, or another dense test loss).
    """
    out = Path(out_dir)
    if out.resolve() == source.run.resolve():
        raise NeurorackError(f"{out}: that is the source run's folder; choose another --out")
    index, round_name = source.index, f"round_{source.index:03d}"
    dense_document = read_json(source.run / "round_000" / "round.json", "the dense parent's record")
    if not _same_widths(adapter.widths(dense), dense_document.get("widths")):
        raise NeurorackError(f"the dense parent given does not have the widths of {source.run.name}'s parent")
    dense_record = source.records[0]
    dense_loss = float(task.test_loss(dense))
    if not math.isclose(dense_loss, dense_record["test_loss"], rel_tol=DENSE_LOSS_TOLERANCE):
        raise NeurorackError(f"the dense parent's test loss is {dense_loss:.6f} here but {dense_record['test_loss']:.6f} "
                             f"in {source.run.name}: use the data cache and --test-crops of that run")
    retrain = {"source": source.name, "round": index, **dataclasses.asdict(settings), **dict(extra or {})}
    check_or_write_settings(out, {**source.settings, "retrain": retrain})
    for earlier in range(index):
        name = f"round_{earlier:03d}/round.json"
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(out / name, (source.run / name).read_bytes())
    _copy_lottery(source.run, out / LOTTERY_DIR)
    if _finished(out / round_name):
        return read_records(out)

    started = time.monotonic()
    kept = {name: list(ids) for name, ids in source.document["kept"].items()}
    dense_groups = list(adapter.groups(dense))
    seed = settings.seed + index
    model = starting_model(settings.rewind, dense, early_state, adapter, dense_groups, kept, seed)
    if not _same_widths(adapter.widths(model), source.document["widths"]):
        raise NeurorackError(f"{source.folder}: its kept units do not give the widths its round.json records")
    trained = task.retrain(model, settings.steps, seed, progress, checkpoint=out / CHECKPOINT,
                           patience=settings.patience, deadline=deadline) or {"steps": settings.steps}
    lottery = TrimSettings(**source.settings["settings"])
    record = record_round(index, model, kept, task, adapter, out, dataclasses.replace(lottery, rewind=settings.rewind,
                                                                         distil=settings.distil),
                          dense=dense_record, started=started,
                          extra={"retrain_steps": trained["steps"], "retrained_from": source.name,
                                 **{key: trained[key] for key in ("best_step", "best_valid", "time_limited")
                                    if key in trained},
                                 "source_error_multiplier": source.document["record"]["error_multiplier"],
                                 "source_retrain_steps": lottery.retrain_steps})
    records = [*source.records[:index], record]
    write_records(out, records)
    return records


def _finished(folder: Path) -> bool:
    """Whether a retrained round was written and not cut short by a time limit."""
    if not (folder / "round.json").is_file() or not (folder / "weights.safetensors").is_file():
        return False
    return not read_json(folder / "round.json", "the retrained round's record")["record"].get("time_limited")


def _copy_lottery(run: Path, target: Path) -> None:
    """The lottery run's settings, records and per-round files (no weights), flat in ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    for name in ("settings.json", "records.json", "records.csv"):
        if (run / name).is_file():
            atomic_write_bytes(target / name, (run / name).read_bytes())
    for folder in sorted(run.glob("round_*")):
        if ROUND_NAME.search(folder.name) and (folder / "round.json").is_file():
            atomic_write_bytes(target / f"{folder.name}.json", (folder / "round.json").read_bytes())


def _same_widths(widths, saved) -> bool:
    """Whether a model's widths config is the one a round.json saved. Fields added to the
    config after the round was written read as their defaults."""
    if not isinstance(saved, dict) or not set(saved) <= {f.name for f in dataclasses.fields(widths)}:
        return False
    try:
        completed = type(widths)(**saved)
    except (TypeError, ValueError):
        return False
    return _plain(dataclasses.asdict(completed)) == _plain(dataclasses.asdict(widths))


def _plain(value):
    """``value`` as it reads back from JSON (tuples become lists), for comparisons with saved files."""
    return json.loads(json.dumps(value, default=str))
