"""``neurorack bench faults``: registered on the ``bench`` subcommand (see ``neurorack.cli``)."""

from __future__ import annotations

import argparse
import json
import sys

from neurorack.bench.faults import FAMILIES


def register(commands, benches) -> None:
    """Add ``neurorack bench faults``."""
    families = "\n".join(f"  {name:<9} {text} (default {count} cases)"
                         for name, (_, count, text) in FAMILIES.items())
    faults = benches.add_parser(
        "faults", help="inject faults (bad files, crashes, kills, pressure) and count what survives",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Inject faults into the real code paths, family by family, and print per family how many "
                    "cases were tried, survived and lost, with the first failures. Exits 1 if any case was "
                    "lost. Families:\n" + families)
    faults.add_argument("--family", action="append", choices=tuple(FAMILIES), metavar="NAME",
                        help="run only this family; repeat for several (default: all, in the order above)")
    faults.add_argument("--trials", type=int, metavar="N",
                        help="cases per family (default: each family's own, listed above)")
    faults.add_argument("--seed", type=int, default=0, help="seed of every random choice (default: %(default)s)")
    faults.add_argument("--json", action="store_true", help="print the result as JSON")
    faults.set_defaults(handler=run_faults_command)


def run_faults_command(args: argparse.Namespace, config) -> int:
    """Run the families; exit 0 when nothing was lost, 1 otherwise."""
    from neurorack.bench.faults import run_faults, summary_table
    from neurorack.progress import progress_bar

    bars: dict = {}

    def progress(family: str, done: int, total: int) -> None:
        if family not in bars:
            if any(bars.values()):
                print(file=sys.stderr)
            bars[family] = progress_bar(f"faults: {family:<9}")
        if bars[family] is not None:
            bars[family](done / max(total, 1))

    report = run_faults(args.family, args.trials, args.seed, progress=progress)
    if any(bars.values()):
        print(file=sys.stderr)
    print(json.dumps(report, indent=2) if args.json else summary_table(report))
    return 0 if report["totals"]["lost"] == 0 else 1
