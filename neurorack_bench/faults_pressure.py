"""Fault family "pressure": the daemon under a CPU hog on every core, and under a memory limit.

Every run is ``neurorack run --mock`` in a subprocess, playing in real time into a WAV file
through the paced WAV backend (no JACK), with its log captured and the environment the
systemd unit gives the daemon (``MALLOC_ARENA_MAX=2``).

* ``cpu_hog``: a calm run first (the baseline), then the same run with one busy-looping
  process per core. Survived: it exits 0 on time, its audio clock kept real time (callbacks
  and WAV length at least 90 % of the run), and it either had no more late renders than the
  baseline plus the late renders that raise the lookahead (``late_renders_to_raise``), or it degraded and said so (the engine's
  "CPU overloaded: lookahead ..." warning is in the log). Late renders in the engine's
  start-up (``OVERLOAD_WARMUP_S``) count for neither run: the engine rightly ignores them.
* ``memory_roomy`` / ``memory_tight`` / ``memory_starved``: the calm run's peak address
  space is measured, then the daemon runs under ``RLIMIT_AS`` at 1.5x, 0.6x and 0.4x that
  peak. At 1.5x it must run normally; below its peak it must either run or refuse with one
  "neurorack: error:" line and exit 2 (a traceback or a hang is lost).
"""

from __future__ import annotations

import os
import random
import re
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import soundfile

from neurorack.audio.schedule import late_renders_to_raise
from neurorack.config.module import AudioSettings
from neurorack_bench.cpu_hog import start_cpu_hog
from neurorack_bench.faults import FamilyResult

CASES = ("cpu_hog", "memory_roomy", "memory_tight", "memory_starved")
MEMORY_FACTORS = {"memory_roomy": 1.5, "memory_tight": 0.6, "memory_starved": 0.4}
RUN_SECONDS = 4.0
RUN_LIMIT_S = 60.0
MIN_REALTIME_RATIO = 0.9
# Point libjack at a server that does not exist, so a JACK server someone else runs is not
# picked up and the daemon plays through the paced WAV backend.
NO_JACK = {"JACK_DEFAULT_SERVER": "neurorack-faults-no-server", "JACK_NO_START_SERVER": "1"}
# As the systemd unit sets it: glibc's malloc keeps two arenas, not one reserving 64 MiB of
# address space for each thread (which an address-space limit turns into hangs and refusals).
DAEMON_ENV = {"MALLOC_ARENA_MAX": "2"}
STATUS = re.compile(r"callbacks (\d+), underflows (\d+), late renders (\d+) \((\d+) in the start-up\)")


@dataclass
class DaemonRun:
    """What one ``neurorack run --mock`` subprocess did."""

    returncode: int | None
    stderr: str
    seconds: float
    wav_seconds: float
    callbacks: int
    late_renders: int
    peak_vm_kib: int
    startup_late_renders: int = 0  # of late_renders: in the engine's start-up, where they raise nothing

    @property
    def running_late_renders(self) -> int:
        """Late renders after the start-up: the ones the engine answers by degrading."""
        return self.late_renders - self.startup_late_renders

    @property
    def degraded(self) -> bool:
        return "CPU overloaded: lookahead" in self.stderr

    @property
    def traceback(self) -> bool:
        return "Traceback" in self.stderr


def _peak_vm_kib(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(r"VmPeak:\s+(\d+) kB", text)
    return int(match.group(1)) if match else 0


def run_daemon(workdir: Path, name: str, seconds: float = RUN_SECONDS, address_space_bytes: int | None = None
               ) -> DaemonRun:
    """Run the mock daemon for ``seconds`` (optionally under ``RLIMIT_AS``) and read its log and WAV."""
    wav = workdir / f"{name}.wav"
    config = workdir / "config.yaml"
    config.write_text(f"state_dir: {workdir / 'state'}\n", encoding="utf-8")

    def limit() -> None:
        if address_space_bytes is not None:
            resource.setrlimit(resource.RLIMIT_AS, (address_space_bytes, address_space_bytes))

    command = [sys.executable, "-m", "neurorack", "--config", str(config), "run", "--mock",
               "--seconds", str(seconds), "--wav", str(wav)]
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", **NO_JACK, **DAEMON_ENV)
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True, preexec_fn=limit)  # noqa: PLW1509 - only setrlimit, before exec
    peak = 0
    while process.poll() is None and time.monotonic() - started < RUN_LIMIT_S:
        peak = max(peak, _peak_vm_kib(process.pid))
        time.sleep(0.05)
    if process.poll() is None:
        process.kill()
    stderr = process.communicate()[1]
    elapsed = time.monotonic() - started
    statuses = STATUS.findall(stderr)
    callbacks, _, late, startup_late = (int(v) for v in statuses[-1]) if statuses else (0, 0, 0, 0)
    wav_seconds = 0.0
    if wav.is_file():
        try:
            wav_seconds = soundfile.info(str(wav)).duration
        except (RuntimeError, OSError):  # LibsndfileError is a RuntimeError: not (yet) a whole WAV
            wav_seconds = 0.0
    return DaemonRun(process.returncode, stderr, elapsed, wav_seconds, callbacks, late, peak, startup_late)


def _kept_real_time(run: DaemonRun, seconds: float = RUN_SECONDS) -> str | None:
    if run.returncode is None:
        return f"stalled: still running after {RUN_LIMIT_S:g} s"
    if run.returncode != 0 or run.traceback:
        return f"exit {run.returncode}: {run.stderr.strip()[-200:]!r}"
    expected = seconds * 48000 / 128
    if run.callbacks < MIN_REALTIME_RATIO * expected or run.wav_seconds < MIN_REALTIME_RATIO * seconds:
        return f"audio fell behind: {run.callbacks} callbacks, {run.wav_seconds:.2f} s of WAV in {seconds:g} s"
    return None


class CpuHogs:
    """One busy-looping process per core; a context manager that stops exactly those."""

    def __init__(self, count: int | None = None):
        self.count = count or os.cpu_count() or 1
        self.processes: list[subprocess.Popen] = []

    def __enter__(self) -> CpuHogs:  # noqa: PYI034 - the started hogs
        for _ in range(self.count):
            self.processes.append(start_cpu_hog())
        return self

    def __exit__(self, *exc) -> None:
        for process in self.processes:
            process.kill()
            process.wait()


def cpu_hog_case(workdir: Path, calm: DaemonRun) -> tuple[bool, str, dict]:
    """The daemon with a hog on every core; see the module doc."""
    with CpuHogs() as hogs:
        loaded = run_daemon(workdir, "hog", seconds=RUN_SECONDS)
    notes = {"hogs": hogs.count, "late_renders_calm": calm.running_late_renders,
             "late_renders_hog": loaded.running_late_renders, "startup_late_renders_hog": loaded.startup_late_renders,
             "degraded": loaded.degraded}
    problem = _kept_real_time(loaded, RUN_SECONDS)
    if problem:
        return False, problem, notes
    allowed = late_renders_to_raise(AudioSettings())  # the daemon runs the default config
    if loaded.running_late_renders > calm.running_late_renders + allowed and not loaded.degraded:
        return (False, f"{loaded.running_late_renders} late renders after the start-up and no degradation in the log",
                notes)
    said = "degraded: " + re.search(r"CPU overloaded: [^\n]+", loaded.stderr).group(0) if loaded.degraded else \
        "kept up without degrading"
    return True, (f"{said}; {loaded.running_late_renders} late renders after the start-up "
                  f"(calm: {calm.running_late_renders})"), notes


def memory_case(workdir: Path, calm: DaemonRun, factor: float) -> tuple[bool, str, dict]:
    """The daemon under ``RLIMIT_AS`` at ``factor`` times its measured peak; see the module doc."""
    peak = calm.peak_vm_kib * 1024
    if peak == 0:
        return False, "could not measure the daemon's address space", {}
    limited = run_daemon(workdir, f"memory-{factor:g}", seconds=2.0, address_space_bytes=int(factor * peak))
    notes = {"peak_vm_mib": round(peak / 2**20), "limit_mib": round(factor * peak / 2**20),
             "exit": limited.returncode}
    at = f"at {factor:g}x its peak address space ({notes['limit_mib']} MiB)"
    if factor >= 1.0:
        problem = _kept_real_time(limited, 2.0)
        return (problem is None), f"{at}: {problem or 'ran normally'}", notes
    if limited.returncode is None:
        return False, f"{at}: hung", notes
    if limited.traceback:
        last = limited.stderr.strip().splitlines()[-1]
        return False, f"{at}: a traceback ({last[:120]})", notes
    errors = [line for line in limited.stderr.splitlines() if line.startswith("neurorack: error: ")]
    if limited.returncode == 0:
        problem = _kept_real_time(limited, 2.0)
        return (problem is None), f"{at}: {problem or 'ran normally'}", notes
    if limited.returncode != 2 or len(errors) != 1:
        return False, f"{at}: exit {limited.returncode} without one clear error line", notes
    return True, f"{at}: {errors[0]}", notes


def run(trials: int, rng: random.Random, workdir: Path, progress: Callable[[int, int], None]) -> FamilyResult:
    """A calm baseline run, then ``trials`` cases cycling through ``CASES``."""
    result = FamilyResult("pressure")
    calm = run_daemon(workdir, "calm")
    problem = _kept_real_time(calm)
    if problem:
        result.record("calm baseline", False, problem)
        return result
    for index in range(trials):
        case = CASES[index % len(CASES)]
        folder = workdir / f"case{index:03d}"
        folder.mkdir()
        if case == "cpu_hog":
            ok, why, notes = cpu_hog_case(folder, calm)
        else:
            ok, why, notes = memory_case(folder, calm, MEMORY_FACTORS[case])
        result.notes[case] = notes
        result.record(case, ok, why)
        progress(index + 1, trials)
    return result
