"""Per-round records (JSON and CSV) and the plots that compare trimming runs.

A record (one per round, round 0 = dense parent) holds: ``params``, ``bytes`` (the exported
weights file), ``macs_per_second`` (multiply-accumulates per second of audio),
``realtime_factor`` (single thread, 48 kHz, 128-sample blocks), ``test_loss`` (spectral),
``error_multiplier`` (test loss / the dense parent's), ``params_removed_pct``, ``speedup``,
``distil`` (the weight of the parent's renders while retraining), and for percussion models
``sound``: the figures of ``neurorack eval`` on test sounds (``SOUND_FIGURES`` below).

A round's sound is *kept* when no figure is worse than the dense parent's by more than its
tolerance: 5 % of the parent's figure, but at least the figure's floor (a parent whose 1V/oct
error reads 0.0004 cents is not beaten by 0.0005: both are exact to the ear), and 0.05 for
timbre identity top-1.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path

from neurorack.atomic import atomic_open, atomic_write_text
from neurorack.errors import NeurorackError

COLUMNS = ("round", "criterion", "scope", "rewind", "params", "params_removed_pct", "bytes", "macs_per_second",
           "realtime_factor", "speedup", "test_loss", "error_multiplier", "seconds")


SOUND_FIGURES = {
    # key in a record's "sound": (column title, higher is better, tolerance floor)
    "time_to_peak_error_ms": ("time-to-peak err (ms)", False, 0.1),
    "log_mel_vs_vocoder": ("log-mel / vocoder", False, 0.02),
    "identity_top1": ("identity top-1", True, 0.05),
    "pitch_error_cents": ("1V/oct err (cents)", False, 1.0),
}
RELATIVE_TOLERANCE = 0.05


def sound_losses(record: dict, parent: dict) -> list[str]:
    """The sound figures on which ``record`` is worse than ``parent`` beyond the tolerance
    (see the module docstring), or unmeasured where the parent's was measured; empty when
    the sound is kept or the parent has no figures."""
    mine, theirs = record.get("sound") or {}, parent.get("sound") or {}
    worse = []
    for key, (title, higher_better, floor) in SOUND_FIGURES.items():
        if theirs.get(key) is None:
            continue
        if mine.get(key) is None:  # the parent's could be measured, this round's could not
            worse.append(title)
            continue
        tolerance = floor if higher_better else max(RELATIVE_TOLERANCE * abs(theirs[key]), floor)
        change = (theirs[key] - mine[key]) if higher_better else (mine[key] - theirs[key])
        if change > tolerance:
            worse.append(title)
    return worse


def write_records(out: Path, records: Sequence[dict]) -> None:
    """``records.json`` and ``records.csv`` in ``out``, written atomically."""
    atomic_write_text(out / "records.json", json.dumps(list(records), indent=1))
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    atomic_write_text(out / "records.csv", text.getvalue())


def read_records(run: str | Path) -> list[dict]:
    """The records of a run folder.

    Raises:
        NeurorackError: the folder has no readable ``records.json``.
    """
    path = Path(run) / "records.json"
    try:
        records = json.loads(path.read_text())
    except FileNotFoundError:
        raise NeurorackError(f"{path}: not found; is {run} a trimming run folder (neurorack trim ... --out)?") \
            from None
    except json.JSONDecodeError as exc:
        raise NeurorackError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(records, list) or not records or not all(isinstance(r, dict) for r in records):
        raise NeurorackError(f"{path}: expected a non-empty list of round records")
    missing = [c for c in COLUMNS if c not in records[0]]
    if missing:
        raise NeurorackError(f"{path}: round records lack {', '.join(missing)}")
    return records


def run_label(records: Sequence[dict]) -> str:
    last = records[-1]
    label = f"{last['criterion']}, {last['scope']}" + {"lr-rewind": ", LR rewind", "reinit": ", re-init"}.get(
        last["rewind"], "")
    return label + (f", distil {last['distil']:g}" if last.get("distil") else "")


def _figure(value, digits: int) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def markdown_table(runs: dict[str, Sequence[dict]]) -> str:
    """One row per round of every run; with sound figures when the runs have them."""
    sound = any("sound" in r for records in runs.values() for r in records)
    head = "| run | round | params | removed | bytes | MMAC/s | real time | error x |"
    rule = "|---|---:|---:|---:|---:|---:|---:|---:|"
    if sound:
        head += "".join(f" {title} |" for title, _, _ in SOUND_FIGURES.values()) + " sound vs parent |"
        rule += "---:|" * len(SOUND_FIGURES) + "---|"
    lines = [head, rule]
    for label, records in runs.items():
        for r in records:
            line = (f"| {label} | {r['round']} | {r['params']:,} | {r['params_removed_pct']:.1f} % | "
                    f"{r['bytes']:,} | {r['macs_per_second'] / 1e6:.2f} | {r['realtime_factor']:.1f}x | "
                    f"{r['error_multiplier']:.3f} |")
            if sound:
                figures = r.get("sound") or {}
                line += "".join(f" {_figure(figures.get(key), 3 if key == 'identity_top1' else 2)} |"
                                for key in SOUND_FIGURES)
                worse = sound_losses(r, records[0])
                line += (" parent |" if r["round"] == 0 else
                         " – |" if not figures else f" {'kept' if not worse else 'worse: ' + ', '.join(worse)} |")
            lines.append(line)
    return "\n".join(lines) + "\n"


def plot_runs(runs: dict[str, Sequence[dict]], path: str | Path) -> Path:
    """A PNG with two panels against % of parameters removed: the error multiplier and the
    real-time factor, one curve per run (criterion and scope)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    sound = any("sound" in r for records in runs.values() for r in records)
    figure, axes = pyplot.subplots(2 if sound else 1, 3 if sound else 2, figsize=(15, 8.4) if sound else (11, 4.2),
                                   squeeze=False)
    error_axis, speed_axis = axes[0][0], axes[0][1]
    sound_axes = dict(zip(SOUND_FIGURES, [axes[0][2], *axes[1]] if sound else [], strict=False))
    for label, records in runs.items():
        removed = [r["params_removed_pct"] for r in records]
        error_axis.plot(removed, [r["error_multiplier"] for r in records], marker="o", label=label)
        speed_axis.plot(removed, [r["realtime_factor"] for r in records], marker="o", label=label)
        for key, axis in sound_axes.items():
            points = [(r["params_removed_pct"], (r.get("sound") or {}).get(key)) for r in records]
            points = [(x, y) for x, y in points if y is not None]
            if points:
                axis.plot(*zip(*points, strict=True), marker="o", label=label)
    for key, axis in sound_axes.items():
        title, higher_better, _ = SOUND_FIGURES[key]
        axis.set(xlabel="parameters removed (%)", ylabel=title,
                 title=f"{title} on test sounds ({'higher' if higher_better else 'lower'} is better)")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    error_axis.axhline(1.0, color="grey", linewidth=0.8, linestyle="--")
    error_axis.set(xlabel="parameters removed (%)", ylabel="test spectral error / dense parent's",
                   title="Error multiplier")
    speed_axis.axhline(30.0, color="grey", linewidth=0.8, linestyle="--")
    speed_axis.set(xlabel="parameters removed (%)", ylabel="x real time (1 thread, 48 kHz, 128-sample blocks)",
                   title="Real-time factor", yscale="log")
    for axis in (error_axis, speed_axis):
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.tight_layout()
    path = Path(path)
    with atomic_open(path, "wb") as stream:
        figure.savefig(stream, format="png", dpi=110)
    pyplot.close(figure)
    return path


def write_report(run_dirs: Sequence[str | Path], out: str | Path | None = None) -> dict:
    """Plot and tabulate one or more run folders.

    Args:
        run_dirs: run folders; the first one receives the report unless ``out`` is given.
        out: folder for ``report.png``, ``report.md`` and ``report.json``.

    Returns:
        ``{"png": ..., "markdown": ..., "json": ..., "runs": {label: records}}``.
    """
    read = [(Path(run), read_records(run)) for run in run_dirs]
    labels = [run_label(records) for _, records in read]
    runs: dict[str, list[dict]] = {}
    for (run, records), label in zip(read, labels):  # runs with the same settings: each named by its folder
        runs[f"{label} ({run.name})" if labels.count(label) > 1 else label] = records
    folder = Path(out) if out is not None else Path(run_dirs[0])
    png = plot_runs(runs, folder / "report.png")
    markdown = atomic_write_text(folder / "report.md", markdown_table(runs))
    summary = atomic_write_text(folder / "report.json", json.dumps(runs, indent=1))
    return {"png": str(png), "markdown": str(markdown), "json": str(summary), "runs": runs}
