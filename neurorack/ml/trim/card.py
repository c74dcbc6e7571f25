"""The trimming lineage of an exported round: what ``neurorack trim card`` adds to a model card.

A round folder (``OUT/round_NNN`` of ``neurorack trim``) exports like a training run
(``neurorack export``), but the export knows nothing of trimming. This module adds to the
model folder's ``model.yaml``:

- ``trimming``: the method, the dense parent (run, weights, rewind snapshot, data cache,
  widths), the settings (criterion, scope, rate, rounds, rewind, retraining steps, seed), the
  round and its widths, the round's record, and a short line per round of the run; for a
  ticket retrained by ``neurorack trim retrain``, also ``retrain`` (source round, steps,
  rewind or re-init, seed, the parent's schedule);
- ``metrics``: ``realtime_factor`` (copied from the card's ``speed``, which
  ``neurorack bench model --write`` measured on this folder: one thread, 48 kHz,
  128-sample blocks), ``test_spectral_loss``, ``dense_test_spectral_loss``,
  ``error_multiplier``, ``params_removed_pct``, ``dense_parameters``;

and copies the run's records and report into ``MODEL_DIR/trimming/`` (no weights, no plot:
model folders stay small); for a retrained ticket, the records of the lottery run it came
from go to ``MODEL_DIR/trimming/lottery/``.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from neurorack.errors import NeurorackError

METHOD = "structured lottery trimming (Esling, Devis et al., DAFx 2020): rank, remove, rewind, retrain"
RUN_FILES = ("settings.json", "records.json", "records.csv")
REPORT_FILES = ("report.md", "report.json")
TRIMMING_DIR = "trimming"
LOTTERY_DIR = "lottery"  # in a 'trim retrain' run: the records of the lottery run its ticket came from
ROUND_NAME = re.compile(r"round_(\d{3,})$")


def read_json(path: Path, what: str):
    """A JSON file; a missing or broken one raises NeurorackError naming it and ``what`` it is."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise NeurorackError(f"{path}: not found ({what})") from None
    except json.JSONDecodeError as exc:
        raise NeurorackError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None


WAVENET_WIDTHS = ("wavenet_channels", "wavenet_gates", "wavenet_skip")


def trimmed_width_fields(config: dict) -> dict[str, str]:
    """Card name -> config field of every width trimming can change in a model with ``config``
    (a config.yaml as a dict): the ``*_width`` fields (named without the suffix), ``n_atoms``,
    and the frame network's memory (the GRU's, or the WaveNet-style stack's widths)."""
    wavenet = config.get("frame_network") == "wavenet"
    out = {}
    for field in config:
        if field.endswith("_width") and not (wavenet and field == "gru_width"):
            out[field.removesuffix("_width")] = field
        elif field == "n_atoms" or (wavenet and field in WAVENET_WIDTHS):
            out[field] = field
    return out


def round_lineage(round_dir: str | Path) -> dict:
    """The trimming history of one round folder, as it goes into the card.

    Raises:
        NeurorackError: ``round_dir`` is not a round of a ``neurorack trim`` run folder.
    """
    round_dir = Path(round_dir)
    if not ROUND_NAME.search(round_dir.name):
        raise NeurorackError(f"{round_dir}: expected a round folder (RUN/round_NNN) of 'neurorack trim'")
    run_dir = round_dir.parent
    this_round = read_json(round_dir / "round.json", "the round's record")
    settings = read_json(run_dir / "settings.json", "the trimming run's settings")
    records = read_json(run_dir / "records.json", "the trimming run's records")
    record = this_round.get("record") if isinstance(this_round, dict) else None
    if not isinstance(record, dict) or not isinstance(settings, dict) or not isinstance(records, list):
        raise NeurorackError(f"{round_dir}: round.json, settings.json or records.json is not what "
                             "'neurorack trim' writes")
    parent = settings.get("parent", {})
    dense_config = parent.get("config", {})
    fields = trimmed_width_fields(dense_config)
    dense_widths = {name: dense_config.get(field) for name, field in fields.items()}
    kept_widths = this_round.get("widths", {})
    return {
        "method": METHOD,
        "run": run_dir.name,
        "round": record["round"],
        "parent": {key: parent.get(key) for key in ("run", "weights", "early", "data")},
        "settings": settings.get("settings", {}),
        "dense_widths": dense_widths,
        "widths": {name: kept_widths.get(field) for name, field in fields.items()},
        "record": record,
        "rounds": [{key: r.get(key) for key in ("round", "params", "params_removed_pct", "error_multiplier",
                                                 "realtime_factor")} for r in records],
        **({"retrain": settings["retrain"]} if isinstance(settings.get("retrain"), dict) else {}),
    }


def annotate_card(model_dir: str | Path, round_dir: str | Path, report_dir: str | Path | None = None) -> dict:
    """Write the lineage and the trimming metrics into ``model_dir``'s card and copy the run's
    records (and report, if ``report_dir`` or the run folder holds one) into ``model_dir/trimming``.

    Args:
        model_dir: a model folder exported from ``round_dir`` (``neurorack export``) and measured
            with ``neurorack bench model --write``.
        round_dir: ``RUN/round_NNN``.
        report_dir: where ``neurorack trim report`` wrote report.md/report.json (default: the run
            folder, when it has them).

    Returns:
        the updated card.

    Raises:
        NeurorackError: the model folder holds other weights than the round, or was not measured.
    """
    from neurorack.atomic import atomic_write_bytes
    from neurorack.ml.export import read_card, sha256_of, write_card

    model_dir, round_dir = Path(model_dir), Path(round_dir)
    lineage = round_lineage(round_dir)
    for folder in (model_dir, round_dir):
        if not (folder / "weights.safetensors").is_file():
            raise NeurorackError(f"{folder / 'weights.safetensors'}: not found")
    if sha256_of(model_dir / "weights.safetensors") != sha256_of(round_dir / "weights.safetensors"):
        raise NeurorackError(f"{model_dir}: its weights are not those of {round_dir}; export that round first "
                             f"('neurorack export {round_dir} --out {model_dir}')")
    card = read_card(model_dir)
    speed = card.get("speed")
    if not isinstance(speed, dict) or not isinstance(speed.get("rtf_1thread"), (int, float)):
        raise NeurorackError(f"{model_dir / 'model.yaml'}: speed: expected the figures of 'neurorack bench model "
                             f"{model_dir} --write', got none; measure the model first")
    record, dense = lineage["record"], lineage["rounds"][0]
    dense_record = read_json(round_dir.parent / "round_000" / "round.json", "the dense parent's record")["record"]
    metrics = card.get("metrics") if isinstance(card.get("metrics"), dict) else {}
    metrics.update({
        "realtime_factor": round(float(speed["rtf_1thread"]), 2),
        "realtime_factor_command": speed.get("command"),
        "test_spectral_loss": round(float(record["test_loss"]), 4),
        "dense_test_spectral_loss": round(float(dense_record["test_loss"]), 4),
        "error_multiplier": round(float(record["error_multiplier"]), 4),
        "params_removed_pct": round(float(record["params_removed_pct"]), 2),
        "dense_parameters": int(dense["params"]),
        "dense_realtime_factor_in_trim_run": round(float(dense["realtime_factor"]), 2),
    })
    card["metrics"] = metrics
    card["trimming"] = lineage
    write_card(model_dir, card)

    target = model_dir / TRIMMING_DIR
    if target.exists():
        shutil.rmtree(target)
    target.mkdir()
    run_dir = round_dir.parent
    report_dir = Path(report_dir) if report_dir is not None else run_dir
    sources = [run_dir / name for name in RUN_FILES]
    sources += [report_dir / name for name in REPORT_FILES if (report_dir / name).is_file()]
    for source in sources:
        atomic_write_bytes(target / source.name, source.read_bytes())
    for folder in sorted(run_dir.glob("round_*")):
        if ROUND_NAME.search(folder.name) and (folder / "round.json").is_file():
            atomic_write_bytes(target / f"{folder.name}.json", (folder / "round.json").read_bytes())
    if (run_dir / LOTTERY_DIR).is_dir():
        (target / LOTTERY_DIR).mkdir()
        for source in sorted((run_dir / LOTTERY_DIR).glob("*.*")):
            atomic_write_bytes(target / LOTTERY_DIR / source.name, source.read_bytes())
    return card
