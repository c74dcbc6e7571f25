"""Fault family "power": kill -9 during real settings saves."""

from __future__ import annotations

import random

import pytest

from neurorack import atomic
from neurorack.config.state import StateStore
from neurorack_bench import faults_power
from neurorack_bench.faults_power import CRASH_CHECKS, crash_check


def test_states_are_distinct():
    states = faults_power.saved_states()
    assert len({s.to_yaml() for s in states}) == len(states)


def test_state_survives_kill_nine_at_random_moments_of_saving(tmp_path):
    result = faults_power.run(25, random.Random(3), tmp_path, lambda done, total: None)
    assert (result.tried, result.lost) == (25, 0), result.failures
    assert result.notes["kills_inside_a_save"] >= 1  # some kills really landed inside a save


def test_a_torn_write_would_be_counted_as_lost(tmp_path, monkeypatch):
    """The check can fail: a save that writes in place (no temp file, no rename) loses."""
    def save_in_place(self, state):
        with open(self.path, "w", encoding="utf-8") as handle:
            text = state.to_yaml()
            for start in range(0, len(text), 16):
                handle.write(text[start:start + 16])
                handle.flush()

    monkeypatch.setattr(StateStore, "save", save_in_place)
    monkeypatch.setattr(faults_power, "MAX_DELAY_S", 0.002)
    result = faults_power.run(20, random.Random(0), tmp_path, lambda done, total: None)
    assert result.lost >= 1
    assert any("never saved" in f or "corrupt" in f for f in result.failures)


@pytest.mark.parametrize("kind", CRASH_CHECKS)
def test_every_state_a_power_cut_could_leave_loads_old_or_new(tmp_path, kind):
    ok, why = crash_check(kind, tmp_path)
    assert ok, why


@pytest.mark.parametrize("kind", CRASH_CHECKS)
def test_saves_without_the_folder_fsync_are_caught(tmp_path, monkeypatch, kind):
    """The check can fail: a rename that never reaches the disk loses a save that had returned."""
    monkeypatch.setattr(atomic, "_fsync_folder", lambda folder: None)
    ok, why = crash_check(kind, tmp_path)
    assert not ok and "the save had returned, but the new state was not there" in why


def test_family_run_mixes_kills_and_crash_state_checks(tmp_path, monkeypatch):
    monkeypatch.setattr(faults_power, "CHECK_EVERY", 3)
    result = faults_power.run(12, random.Random(1), tmp_path, lambda done, total: None)
    assert (result.tried, result.lost) == (12, 0), result.failures
    assert result.notes["crash_state_checks"] == len(CRASH_CHECKS)
