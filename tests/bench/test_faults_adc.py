"""Fault family "adc": ADC failures mid-performance, real driver on the simulated bus."""

from __future__ import annotations

import random

import pytest

from neurorack_bench import faults_adc
from neurorack_bench.faults_adc import FAULTS, adc_case


@pytest.mark.parametrize("fault", FAULTS)
def test_audio_goes_on_the_fault_shows_and_clears_by_itself(fault, tmp_path):
    ok, why = adc_case(fault, tmp_path, 0)
    assert ok, why


def test_a_fault_that_never_goes_away_is_counted_as_lost(tmp_path, monkeypatch):
    inject = faults_adc._inject
    monkeypatch.setattr(faults_adc, "_inject", lambda chip, fault, on: inject(chip, fault, True))
    monkeypatch.setattr(faults_adc, "RECOVERY_LIMIT_S", 0.2)
    ok, why = adc_case("rail_high", tmp_path, 0)
    assert not ok and why.startswith("no automatic recovery")


def test_family_run_counts_cases(tmp_path):
    result = faults_adc.run(2, random.Random(0), tmp_path, lambda done, total: None)
    assert (result.tried, result.lost) == (2, 0), result.failures
