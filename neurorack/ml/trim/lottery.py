"""Structured lottery rounds: rank -> remove -> rewind (or re-initialise) -> retrain -> measure.

Round 0 is the dense parent as given. Round ``r`` scores the units of round ``r-1``'s
trained model, removes ``rate`` of them (see ``selection``), and builds the smaller model.
With ``rewind`` its weights are the kept slices of the *early snapshot* of the dense
parent (the lottery ticket); with ``lr-rewind`` they are the kept slices of the parent's
*trained* weights and only the learning-rate schedule starts over (learning-rate
rewinding, Renda, Frankle and Carbin, ICLR 2020); with ``reinit`` (the control) it starts
from a fresh initialisation seeded by ``seed + r``. It is then retrained and measured.

A run folder holds, per round, ``round_NNN/weights.safetensors`` and ``round_NNN/round.json``
(widths, the dense-parent ids of the kept units, the record), plus ``settings.json`` and
``records.json``/``records.csv``. A run that stops resumes from its last finished round.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import torch
from torch import nn

from neurorack.atomic import atomic_open, atomic_write_text
from neurorack.errors import NeurorackError
from neurorack.ml.trim.criteria import CRITERIA, ScoringData, score_units
from neurorack.ml.trim.groups import UnitGroup, validate_groups
from neurorack.ml.trim.report import write_records
from neurorack.ml.trim.selection import SCOPES, select_units
from neurorack.ml.trim.surgery import (
    TrimAdapter,
    count_parameters,
    remove_units,
    shapes_of,
    smaller_widths,
)

REWIND_MODES = ("rewind", "lr-rewind", "reinit")


@dataclass(frozen=True)
class TrimSettings:
    """One trimming run.

    Attributes:
        criterion: one of ``CRITERIA``.
        scope: ``global`` or ``local``.
        rate: fraction of the removable units taken per round (0..1).
        rounds: number of trimming rounds after the dense parent.
        rewind: ``rewind`` to the early snapshot, ``lr-rewind`` (keep the trained weights,
            restart the learning-rate schedule), or ``reinit`` (the control).
        retrain_steps: optimiser steps of retraining per round.
        seed: seeds scoring subsamples, re-initialisation and retraining (plus the round).
        max_samples: cap on frames used by the activation and MI criteria.
        bins: bins per variable of the MI estimator.
        distil: weight of the dense parent's renders as a second target while retraining
            (0: off; the task applies it, see ``PercussionTask``).
        floors: the fewest units a named group keeps (its own minimum still applies), to spare
            the groups that carry the sound from a global selection.
    """

    criterion: str = "magnitude"
    scope: str = "global"
    rate: float = 0.3
    rounds: int = 6
    rewind: str = "rewind"
    retrain_steps: int = 500
    seed: int = 0
    max_samples: int = 8192
    bins: int = 8
    distil: float = 0.0
    floors: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self):
        if self.criterion not in CRITERIA:
            raise NeurorackError(f"criterion expected one of {', '.join(CRITERIA)}, got {self.criterion!r}")
        if self.scope not in SCOPES:
            raise NeurorackError(f"scope expected one of {', '.join(SCOPES)}, got {self.scope!r}")
        if self.rewind not in REWIND_MODES:
            raise NeurorackError(f"rewind expected one of {', '.join(REWIND_MODES)}, got {self.rewind!r}")
        if not 0 < self.rate < 1:
            raise NeurorackError(f"rate expected a fraction between 0 and 1 (exclusive), got {self.rate}")
        if not 0.0 <= self.distil <= 1.0:
            raise NeurorackError(f"distil expected a weight from 0 to 1, got {self.distil}")
        for name, floor in self.floors.items():
            if not isinstance(floor, int) or floor < 1:
                raise NeurorackError(f"floor of group {name!r} expected a whole number of units >= 1, got {floor!r}")
        if self.rounds < 1 or self.retrain_steps < 0:
            raise NeurorackError(f"expected rounds >= 1 and retrain_steps >= 0, got {self.rounds}, "
                                 f"{self.retrain_steps}")


class TrimTask(Protocol):
    """The data and measurements of one model family (a tiny one in tests, the real one in
    ``neurorack.ml.trim.model_adapter``)."""

    def scoring_data(self, seed: int) -> ScoringData:
        """Batches, loss and target features for data-driven criteria."""

    def retrain(self, model: nn.Module, steps: int, seed: int, progress: Callable[[float], None] | None,
                checkpoint: Path | None = None, patience: int = 0, deadline: float | None = None) -> dict:
        """Train ``model`` in place for ``steps`` optimiser steps; with ``checkpoint``, save the
        state there as it goes and continue from it when it exists (tasks may ignore it); with
        ``patience``, stop early on the validation loss and keep the best weights; past
        ``deadline`` (``time.monotonic()``), stop after the step under way, checkpointed. Returns
        ``steps`` trained (and ``best_step``, ``best_valid`` when stopping early, and
        ``time_limited`` when the deadline stopped it)."""

    def test_loss(self, model: nn.Module) -> float:
        """Spectral loss on the held-out test set (lower is better)."""

    def measure(self, model: nn.Module) -> dict:
        """``{"macs_per_second": ..., "realtime_factor": ...}`` (single thread, 48 kHz, 128-sample blocks)."""

    def save_weights(self, model: nn.Module, path: Path) -> None:
        """Write the exported weights (what ships) to ``path``."""

    def load_weights(self, model: nn.Module, path: Path) -> None:
        """Load weights written by ``save_weights``."""


def with_floors(groups: Sequence[UnitGroup], floors: Mapping[str, int]) -> list[UnitGroup]:
    """``groups`` with each named group's minimum raised to its floor (never above its size)."""
    return [dataclasses.replace(g, minimum=max(g.minimum, min(floors.get(g.name, 0), g.size))) for g in groups]


def rewound_model(dense: nn.Module, early_state: Mapping[str, torch.Tensor], adapter: TrimAdapter,
                  dense_groups: Sequence[UnitGroup], kept: Mapping[str, Sequence[int]]) -> nn.Module:
    """The smaller model whose weights are the early snapshot's slices at the ``kept`` units.

    Args:
        dense: the dense parent (gives class, settings and layout).
        early_state: the dense parent's weights at the rewind point.
        dense_groups: the dense parent's groups.
        kept: group name -> dense-parent ids of the units kept.
    """
    removed = {g.name: [u for u in range(g.size) if u not in set(kept[g.name])] for g in dense_groups}
    return remove_units(dense, removed, adapter, source_state=early_state, source_groups=dense_groups)


def reinitialised_model(dense: nn.Module, adapter: TrimAdapter, dense_groups: Sequence[UnitGroup],
                        kept: Mapping[str, Sequence[int]], seed: int) -> nn.Module:
    """The control: a freshly initialised model with the kept widths."""
    removed = {g.name: [u for u in range(g.size) if u not in set(kept[g.name])] for g in dense_groups}
    torch.manual_seed(seed)
    return adapter.rebuild(dense, smaller_widths(adapter.widths(dense), dense_groups, removed))


def starting_model(rewind: str, dense: nn.Module, early_state: Mapping[str, torch.Tensor], adapter: TrimAdapter,
                   dense_groups: Sequence[UnitGroup], kept: Mapping[str, Sequence[int]], seed: int) -> nn.Module:
    """The smaller model a round retrains, by its ``rewind`` mode (see ``REWIND_MODES``)."""
    if rewind == "reinit":
        return reinitialised_model(dense, adapter, dense_groups, kept, seed)
    source = dense.state_dict() if rewind == "lr-rewind" else early_state
    return rewound_model(dense, source, adapter, dense_groups, kept)


def run_lottery(dense: nn.Module, early_state: Mapping[str, torch.Tensor], adapter: TrimAdapter, task: TrimTask,
                settings: TrimSettings, out_dir: str | Path, *, progress: Callable[[float], None] | None = None,
                log: Callable[[str], None] | None = None, extra: Mapping | None = None) -> list[dict]:
    """Run (or resume) all rounds; returns one record per round, round 0 being the dense parent.

    Args:
        dense: the trained dense parent.
        early_state: its state dict at the rewind point (same shapes).
        extra: more fields saved in ``settings.json`` (where the parent came from).
    """
    out = Path(out_dir)
    dense_groups = list(adapter.groups(dense))
    validate_groups(dense_groups, shapes_of(dense.state_dict()), adapter.widths(dense))
    unknown = sorted(set(settings.floors) - {g.name for g in dense_groups})
    if unknown:
        raise NeurorackError(f"floor names unknown unit group(s) {', '.join(unknown)}; this model's groups: "
                             f"{', '.join(g.name for g in dense_groups)}")
    if shapes_of(early_state) != shapes_of(dense.state_dict()):
        raise NeurorackError("the early snapshot's shapes differ from the dense parent's")
    settings_doc = {"settings": dataclasses.asdict(settings), **dict(extra or {})}
    check_or_write_settings(out, settings_doc)
    records, model, kept = _resume(out, dense, adapter, task, dense_groups)
    if not records:
        model = dense
        kept = {g.name: list(range(g.size)) for g in dense_groups}
        started = time.monotonic()
        records.append(record_round(0, model, kept, task, adapter, out, settings, dense=None, started=started))
        write_records(out, records)
    params_before = records[-1]["params"]
    for round_index in range(len(records), settings.rounds + 1):
        started = time.monotonic()
        seed = settings.seed + round_index
        groups = with_floors(adapter.groups(model), settings.floors)
        data = None if settings.criterion == "magnitude" else task.scoring_data(seed)
        scores = score_units(model, groups, settings.criterion, data, seed=seed,
                             max_samples=settings.max_samples, bins=settings.bins)
        removal = select_units(groups, scores, settings.rate, settings.scope)
        kept = {name: [ids[i] for i in range(len(ids)) if i not in set(removal.get(name, ()))]
                for name, ids in kept.items()}
        model = starting_model(settings.rewind, dense, early_state, adapter, dense_groups, kept, seed)
        _report(progress, round_index - 1, settings.rounds, 0.0)
        task.retrain(model, settings.retrain_steps, seed,
                     lambda f, r=round_index: _report(progress, r - 1, settings.rounds, f))
        record = record_round(round_index, model, kept, task, adapter, out, settings, dense=records[0],
                              started=started)
        if record["params"] >= params_before:
            raise NeurorackError(f"round {round_index} did not shrink the model ({record['params']} parameters)")
        params_before = record["params"]
        records.append(record)
        write_records(out, records)
        if log is not None:
            log(f"round {round_index}: {record['params']} parameters ({record['params_removed_pct']:.1f} % removed), "
                f"error x{record['error_multiplier']:.3f}, {record['realtime_factor']:.0f}x real time")
    _report(progress, settings.rounds, settings.rounds, 0.0)
    return records


def _report(progress, done_rounds: int, rounds: int, fraction: float) -> None:
    if progress is not None:
        progress((done_rounds + fraction) / rounds)


def record_round(round_index: int, model: nn.Module, kept: Mapping[str, list[int]], task: TrimTask, adapter,
                 out: Path, settings: TrimSettings, *, dense: dict | None, started: float,
                 extra: Mapping | None = None) -> dict:
    """Measure, save and describe one round in ``out/round_NNN``; ``dense`` is round 0's record
    (None for round 0); ``extra`` fields are added to the record."""
    folder = out / f"round_{round_index:03d}"
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / "weights.safetensors"
    model.eval()
    task.save_weights(model, weights)
    loss = float(task.test_loss(model))
    measured = task.measure(model)
    params = count_parameters(model)
    record = {
        "round": round_index,
        "criterion": settings.criterion,
        "scope": settings.scope,
        "rewind": settings.rewind,
        "params": params,
        "bytes": weights.stat().st_size,
        "macs_per_second": float(measured["macs_per_second"]),
        "realtime_factor": float(measured["realtime_factor"]),
        "realtime_factor_paths": dict(measured.get("realtime_factor_paths", {})),
        "test_loss": loss,
        "error_multiplier": 1.0 if dense is None else loss / dense["test_loss"],
        "params_removed_pct": 0.0 if dense is None else 100.0 * (1.0 - params / dense["params"]),
        "speedup": 1.0 if dense is None else float(measured["realtime_factor"]) / dense["realtime_factor"],
        "seconds": round(time.monotonic() - started, 3),
        "distil": settings.distil,
        **dict(extra or {}),
    }
    if "sound" in measured:
        record["sound"] = dict(measured["sound"])
    widths = dataclasses.asdict(adapter.widths(model))
    atomic_write_text(folder / "round.json", json.dumps({"record": record, "kept": kept, "widths": widths},
                                                         indent=1, default=str))
    return record


def check_or_write_settings(out: Path, document: dict) -> None:
    """Write ``out/settings.json``, or check that the one there says the same (a resumed run)."""
    path = out / "settings.json"
    if path.exists():
        saved = json.loads(path.read_text())
        if saved != json.loads(json.dumps(document)):
            raise NeurorackError(f"{path}: this run folder holds a run with other settings; choose another --out "
                                 f"or remove it")
        return
    out.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "w") as stream:
        json.dump(document, stream, indent=1)


def _resume(out: Path, dense, adapter, task, dense_groups):
    """Records and the model of the last finished round, if the run folder has any."""
    records = []
    index = 0
    while (out / f"round_{index:03d}" / "round.json").exists() and \
            (out / f"round_{index:03d}" / "weights.safetensors").exists():
        records.append(json.loads((out / f"round_{index:03d}" / "round.json").read_text()))
        index += 1
    if not records:
        return [], None, None
    last = records[-1]
    kept = {name: list(ids) for name, ids in last["kept"].items()}
    removed = {g.name: [u for u in range(g.size) if u not in set(kept[g.name])] for g in dense_groups}
    model = adapter.rebuild(dense, smaller_widths(adapter.widths(dense), dense_groups, removed)) if index > 1 \
        else dense
    task.load_weights(model, out / f"round_{index - 1:03d}" / "weights.safetensors")
    return [r["record"] for r in records], model, kept
