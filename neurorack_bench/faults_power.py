"""Fault family "power": kill -9 at random moments while the module saves its settings.

Each case forks a child that saves settings in a loop through the real
``StateStore.save`` (temporary file, fsync, rename), alternating between distinct
states. After a random delay the parent sends SIGKILL, then loads the folder with the
real ``StateStore.load``, as the module does at the next boot.

Survived: the state loads without a warning and equals one of the states the child was
saving (the old one or the new one). Lost: a warning (corrupt file), or a state that was
never saved.

A kill only shows what the kernel already holds, so every ``CHECK_EVERY``-th case instead
runs the crash-state check (``neurorack_bench.crash_states``: every state a power cut could
leave on the disk, missing fsyncs included) of, in turn, a settings save, a calibration save,
a model install and a first settings save into a new state folder. Survived: every state
loads as the old one or the new one, and as the new one once the save has returned.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Callable
from pathlib import Path

from neurorack.config.state import ModuleState, StateStore
from neurorack_bench.faults import FamilyResult

MAX_DELAY_S = 0.03
STATES = 8
CHECK_EVERY = 51  # every 51st case is a crash-state check, not a kill
CRASH_CHECKS = ("settings_save", "calibration_save", "model_install", "first_settings_save")


def saved_states(count: int = STATES) -> list[ModuleState]:
    """Distinct states that differ in several keys (and in file length)."""
    base = ModuleState()
    states = []
    for index in range(count):
        state = base.with_value("levels.gain_db", -1.5 * index)
        state = state.with_value("sound", f"sound {index} " + "x" * (index * 37))
        state = state.with_value("routing.cv2.amount", round(index / count, 3))
        states.append(state)
    return states


def _save_forever(state_dir: Path, states: list[ModuleState], ready_fd: int) -> None:
    """The child: save the states in turn until killed."""
    store = StateStore(state_dir)
    os.write(ready_fd, b"1")
    index = 1
    while True:
        store.save(states[index % len(states)])
        index += 1


def kill_during_saves(state_dir: Path, states: list[ModuleState], delay_s: float) -> bool:
    """Fork a saving child, SIGKILL it after ``delay_s``; True if a temporary file was left
    behind (the kill landed inside a save)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns
        try:
            os.close(read_fd)
            _save_forever(state_dir, states, write_fd)
        finally:
            os._exit(1)
    os.close(write_fd)
    try:
        os.read(read_fd, 1)
        time.sleep(delay_s)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    finally:
        os.close(read_fd)
    return any(state_dir.glob(".*.tmp"))


def load_settings(folder: Path) -> ModuleState:
    """The settings as the module loads them at boot; raises on a warning (a corrupt file)."""
    store = StateStore(folder)
    state = store.load()
    if store.warning is not None:
        raise ValueError(store.warning)
    return state


def load_models(folder: Path) -> list[tuple[str, str]]:
    """What the Models list offers: each installed model, loaded, by folder and training run."""
    from neurorack.app.facade import installed_models
    from neurorack.runtime.loader import load_model

    return sorted((path.name, load_model(path).card["training"]["run"]) for _, path in installed_models(folder))


def crash_check(kind: str, workdir: Path) -> tuple[bool, str]:
    """The crash-state check of one save (``CRASH_CHECKS``) in ``workdir``."""
    from neurorack_bench.crash_states import check

    root = workdir / "root"
    root.mkdir(parents=True)
    states = saved_states()
    if kind == "settings_save":
        StateStore(root).save(states[0])
        report = check(root, lambda: StateStore(root).save(states[-1]), load_settings)
    elif kind == "first_settings_save":  # the folders it creates must survive too
        (root / "var").mkdir()
        report = check(root, lambda: StateStore(root / "var" / "neurorack").save(states[-1]),
                       lambda folder: load_settings(folder / "var" / "neurorack"))
    elif kind == "calibration_save":
        from neurorack.config.board import load_board
        from neurorack.controls.calibration import (
            CalibrationResult,
            load_calibration,
            save_calibration,
        )

        board = load_board("mock")
        save_calibration(root, board, {})
        measured = {"cv1": CalibrationResult("cv1", 3.1, -4.9, 0.0, 0.0, 0.0)}
        report = check(root, lambda: save_calibration(root, board, measured),
                       lambda folder: load_calibration(folder, board))
    else:
        import numpy as np

        from neurorack.ml.export import export_run
        from neurorack_bench.faults_model import write_model

        run = write_model(workdir / "run", np.random.default_rng(0))
        report = check(root, lambda: export_run(run, root / "tiny"), load_models)
    if report.failures:
        return False, f"{len(report.failures)} crash states load wrong; first {report.failures[0][:200]}"
    return True, f"{report.cuts} power-cut points, {report.states} states: each the old or the new"


def run(trials: int, rng: random.Random, workdir: Path, progress: Callable[[int, int], None]) -> FamilyResult:
    """``trials`` kills, each at a random moment of a stream of saves."""
    result = FamilyResult("power")
    states = saved_states()
    mid_write = checks = 0
    for index in range(trials):
        if index % CHECK_EVERY == CHECK_EVERY - 1:
            kind = CRASH_CHECKS[checks % len(CRASH_CHECKS)]
            result.record(f"crash states: {kind}", *crash_check(kind, workdir / f"case{index:04d}"))
            checks += 1
            progress(index + 1, trials)
            continue
        state_dir = workdir / f"case{index:04d}"
        state_dir.mkdir()
        StateStore(state_dir).save(states[0])  # what the module had before
        mid_write += kill_during_saves(state_dir, states, rng.uniform(0.0, MAX_DELAY_S))
        store = StateStore(state_dir)
        loaded = store.load()
        if store.warning is not None:
            result.record("kill during save", False, f"corrupt after the kill: {store.warning}")
        elif loaded not in states:
            result.record("kill during save", False, "loaded a state that was never saved")
        else:
            result.record("kill during save", True)
        progress(index + 1, trials)
    result.notes["kills_inside_a_save"] = mid_write
    result.notes["crash_state_checks"] = checks
    return result
