"""Fault family "power": kill -9 at random moments while the module saves its settings.

Each case forks a child that saves settings in a loop through the real
``StateStore.save`` (temporary file, fsync, rename), alternating between distinct
states. After a random delay the parent sends SIGKILL, then loads the folder with the
real ``StateStore.load``, as the module does at the next boot.

Survived: the state loads without a warning and equals one of the states the child was
saving (the old one or the new one). Lost: a warning (corrupt file), or a state that was
never saved.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Callable
from pathlib import Path

from neurorack.bench.faults import FamilyResult
from neurorack.state import ModuleState, StateStore

MAX_DELAY_S = 0.03
STATES = 8


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


def run(trials: int, rng: random.Random, workdir: Path, progress: Callable[[int, int], None]) -> FamilyResult:
    """``trials`` kills, each at a random moment of a stream of saves."""
    result = FamilyResult("power")
    states = saved_states()
    mid_write = 0
    for index in range(trials):
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
    return result
