"""Fault family "runtime": NaN, Inf, overflowing samples and exceptions from a voice while the engine renders."""

from __future__ import annotations

import random

import numpy as np
import pytest

from neurorack.audio import schedule
from neurorack.audio.engine import Engine
from neurorack.audio.output_stage import OutputStage
from neurorack_bench import faults_runtime
from neurorack_bench.faults_runtime import (
    FAULTS,
    repeated_fault,
    single_fault,
    stall_once,
)


@pytest.mark.parametrize("fault", FAULTS)
def test_a_single_fault_mutes_one_block_resets_the_voice_and_playing_goes_on(fault):
    for seed in range(3):
        ok, why = single_fault(fault, random.Random(seed))
        assert ok, why


@pytest.mark.parametrize("fault", FAULTS)
def test_a_voice_that_keeps_failing_falls_back_to_the_test_voice(fault):
    ok, why = repeated_fault(fault)
    assert ok, why
    assert why == "faulty voice failed 3x: playing test voice"


def test_without_the_fallback_repeated_failure_is_counted_as_lost(monkeypatch):
    monkeypatch.setattr(faults_runtime, "Engine", lambda voice: Engine(voice, fallback=None))
    ok, why = repeated_fault("nan")
    assert not ok and why.startswith("no fallback")


def test_an_output_guard_that_lets_nan_through_is_counted_as_lost(monkeypatch):
    def unguarded(self, block):
        return True

    monkeypatch.setattr(OutputStage, "process", unguarded)
    ok, why = single_fault("nan", random.Random(0))
    assert (ok, why) == (False, "NaN or Inf reached the output")


def test_an_output_stage_that_only_catches_nan_loses_the_overflow_case(monkeypatch):
    def nan_guard_only(self, block):  # the guard as it was: NaN and Inf on the way in, nothing after
        if not np.isfinite(block).all():
            block[:] = 0.0
            return False
        self.dc_blocker.process(block)
        self.limiter.process(block)
        self.fader.process(block)
        return True

    monkeypatch.setattr(OutputStage, "process", nan_guard_only)
    with np.errstate(over="ignore", invalid="ignore"):
        ok, why = single_fault("overflow", random.Random(0))
    assert (ok, why) == (False, "NaN or Inf reached the output")


def test_after_a_stall_the_lookahead_is_back_at_the_configured_one_in_time():
    for seed in range(5):
        ok, why = stall_once(random.Random(seed))
        assert ok, why
        assert "lookahead raised 1x, back 5.0 s after it" in why


def test_an_engine_that_keeps_a_raised_lookahead_for_a_minute_is_caught(monkeypatch):
    """The check can fail: the engine before the fix waited 60 s of calm before coming back down."""
    monkeypatch.setattr(schedule, "CALM_S", 60.0)
    ok, why = stall_once(random.Random(0))
    assert not ok and why.endswith("lookahead still 2 blocks at the end; promised back within 6 s")


def test_family_run_with_the_real_render_thread(tmp_path):
    result = faults_runtime.run(21, random.Random(0), tmp_path, lambda done, total: None)
    assert (result.tried, result.lost) == (21, 0), result.failures  # the 21st: a stall
