"""``neurorack bench faults``: inject faults family by family and count what survives.

Each family (config fuzz, model files, ADC faults, runtime faults, power loss, resource
pressure, security) tries cases against the real code paths and classifies each one:

* survived: the module did what it promises (a clear one-line error, audio went on, the
  state loaded, ...);
* lost: anything else (a traceback, a hang, corrupt state, silence, code executed).

A family lives in its own module, ``neurorack_bench.faults_<family>``, with a function
``run(trials, rng, workdir, progress) -> FamilyResult``. Nothing here imports torch or
hardware libraries.
"""

from __future__ import annotations

import importlib
import random
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from neurorack.errors import NeurorackError

FAILURES_KEPT = 5

# name -> (module, default number of cases, one-line description)
FAMILIES: dict[str, tuple[str, int, str]] = {
    "config": ("neurorack_bench.faults_config", 252,
               ("mutated module configs, board files, menus, sound banks and model cards (numbers in quotes "
                "among them), and files over their size cap, through the real loaders")),
    "model": ("neurorack_bench.faults_model", 42,
              ("truncated, bit-flipped, mis-shaped, NaN and pickled model folders while a model plays, and "
               "neurorack eval of a model that renders NaN")),
    "adc": ("neurorack_bench.faults_adc", 12,
            "ADC exceptions, rails and a disconnected bus while the engine renders"),
    "runtime": ("neurorack_bench.faults_runtime", 63,
                "NaN, Inf and exceptions from the voice in the render path, and a voice that stalls once"),
    "power": ("neurorack_bench.faults_power", 204,
              ("kill -9 at random moments during settings saves, and the crash states of settings, "
               "calibration and model saves")),
    "pressure": ("neurorack_bench.faults_pressure", 4,
                 "a CPU hog on every core, and memory limits, on the real-time paced daemon"),
    "security": ("neurorack_bench.faults_security", 16,
                 ("pickled code in model files and checkpoints, the systemd unit's privileges, files written "
                  "by the daemon, model folders naming FIFOs, devices or files outside them, saved models "
                  "that are paths")),
}


class FaultsError(NeurorackError):
    """A bad ``neurorack bench faults`` request (an unknown family, ...)."""


class CaseTimeout(Exception):
    """A case ran past its time limit: a hang."""


@dataclass
class FamilyResult:
    """What one family tried.

    Attributes:
        family: its name.
        tried, survived, lost: case counts (tried = survived + lost).
        failures: the first ``FAILURES_KEPT`` lost cases, as "case: what went wrong".
        notes: facts worth printing (e.g. how many kills landed mid-write).
        seconds: wall time of the family.
    """

    family: str
    tried: int = 0
    survived: int = 0
    lost: int = 0
    failures: list[str] = field(default_factory=list)
    notes: dict = field(default_factory=dict)
    seconds: float = 0.0

    def record(self, case: str, ok: bool, why: str = "") -> None:
        """Count one case; keep the message of the first few that were lost."""
        self.tried += 1
        if ok:
            self.survived += 1
            return
        self.lost += 1
        if len(self.failures) < FAILURES_KEPT:
            self.failures.append(f"{case}: {why}" if why else case)

    def to_dict(self) -> dict:
        return {"tried": self.tried, "survived": self.survived, "lost": self.lost,
                "failures": list(self.failures), "notes": dict(self.notes), "seconds": round(self.seconds, 2)}


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise ``CaseTimeout`` in the main thread if the body runs longer than ``seconds``."""
    def expire(signum, frame):
        raise CaseTimeout(f"still running after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_faults(families: list[str] | None = None, trials: int | None = None, seed: int = 0,
               progress: Callable[[str, int, int], None] | None = None) -> dict:
    """Run fault families.

    Args:
        families: names from ``FAMILIES`` (None: all, in order).
        trials: cases per family (None: each family's default).
        seed: seeds every random choice, so a run can be repeated.
        progress: called as ``progress(family, done, total)``.

    Returns:
        ``{"seed", "families": {name: FamilyResult.to_dict()}, "totals": {tried, survived, lost},
        "audio_callback"}``.

    Raises:
        FaultsError: an unknown family or a trial count below 1.
    """
    from neurorack.audio.backends.native_callback import installed_callback

    names = list(FAMILIES) if not families else families
    unknown = [n for n in names if n not in FAMILIES]
    if unknown:
        raise FaultsError(f"unknown fault family '{unknown[0]}'; expected one of {', '.join(FAMILIES)}")
    if trials is not None and trials < 1:
        raise FaultsError(f"--trials: expected at least 1, got {trials}")
    results = {}
    with tempfile.TemporaryDirectory(prefix="neurorack-faults-") as scratch:
        for name in names:
            module_name, default_trials, _ = FAMILIES[name]
            module = importlib.import_module(module_name)
            workdir = Path(scratch) / name
            workdir.mkdir()
            count = trials if trials is not None else default_trials

            def step(done: int, total: int, name: str = name) -> None:
                if progress is not None:
                    progress(name, done, total)

            started = time.monotonic()
            try:
                result = module.run(count, random.Random(f"{seed}:{name}"), workdir, step)
            except Exception as exc:  # noqa: BLE001 - a crashing family is a lost case, not a crashed bench
                result = FamilyResult(name)
                result.record("the family itself", False, f"crashed: {type(exc).__name__}: {exc}")
            result.seconds = time.monotonic() - started
            results[name] = result.to_dict()
    totals = {key: sum(r[key] for r in results.values()) for key in ("tried", "survived", "lost")}
    return {"seed": seed, "families": results, "totals": totals, "audio_callback": installed_callback()}


def summary_table(report: dict) -> str:
    """The per-family table, as plain text, with the first failures under each family."""
    lines = [f"{'family':<10} {'tried':>6} {'survived':>9} {'lost':>5}"]
    for name, result in report["families"].items():
        lines.append(f"{name:<10} {result['tried']:>6} {result['survived']:>9} {result['lost']:>5}")
        lines += [f"    lost: {failure}" for failure in result["failures"]]
    totals = report["totals"]
    lines.append(f"{'total':<10} {totals['tried']:>6} {totals['survived']:>9} {totals['lost']:>5}")
    return "\n".join(lines)
