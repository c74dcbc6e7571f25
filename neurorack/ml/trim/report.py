"""Per-round records (JSON and CSV) and the plots that compare trimming runs.

A record (one per round, round 0 = dense parent) holds: ``params``, ``bytes`` (the exported
weights file), ``macs_per_second`` (multiply-accumulates per second of audio),
``realtime_factor`` (single thread, 48 kHz, 128-sample blocks), ``test_loss`` (spectral),
``error_multiplier`` (test loss / the dense parent's), ``params_removed_pct``, ``speedup``.
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
    return f"{last['criterion']}, {last['scope']}" + {"lr-rewind": ", LR rewind", "reinit": ", re-init"}.get(last["rewind"], "")


def markdown_table(runs: dict[str, Sequence[dict]]) -> str:
    """One row per round of every run, for the README."""
    lines = ["| run | round | params | removed | bytes | MMAC/s | real time | error x |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for label, records in runs.items():
        for r in records:
            lines.append(f"| {label} | {r['round']} | {r['params']:,} | {r['params_removed_pct']:.1f} % | "
                         f"{r['bytes']:,} | {r['macs_per_second'] / 1e6:.2f} | {r['realtime_factor']:.0f}x | "
                         f"{r['error_multiplier']:.3f} |")
    return "\n".join(lines) + "\n"


def plot_runs(runs: dict[str, Sequence[dict]], path: str | Path) -> Path:
    """A PNG with two panels against % of parameters removed: the error multiplier and the
    real-time factor, one curve per run (criterion and scope)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, (error_axis, speed_axis) = pyplot.subplots(1, 2, figsize=(11, 4.2))
    for label, records in runs.items():
        removed = [r["params_removed_pct"] for r in records]
        error_axis.plot(removed, [r["error_multiplier"] for r in records], marker="o", label=label)
        speed_axis.plot(removed, [r["realtime_factor"] for r in records], marker="o", label=label)
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
    runs: dict[str, list[dict]] = {}
    for run in run_dirs:
        records = read_records(run)
        label = run_label(records)
        if label in runs:
            label = f"{label} ({Path(run).name})"
        runs[label] = records
    folder = Path(out) if out is not None else Path(run_dirs[0])
    png = plot_runs(runs, folder / "report.png")
    markdown = atomic_write_text(folder / "report.md", markdown_table(runs))
    summary = atomic_write_text(folder / "report.json", json.dumps(runs, indent=1))
    return {"png": str(png), "markdown": str(markdown), "json": str(summary), "runs": runs}
