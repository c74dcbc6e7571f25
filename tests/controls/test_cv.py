"""neurorack.controls.cv: conditioning, code centres and smoothing."""

from __future__ import annotations

import math

import pytest

from neurorack.controls.cv import Conditioning, CvInput, Smoother, code_to_adc_volts


def test_conditioning_maps_adc_volts_to_jack_volts_and_clamps():
    cond = Conditioning(scale=10 / 3.3, offset_volts=-5.0, min_volts=-5.0, max_volts=5.0)
    assert cond.jack_volts(1.65) == pytest.approx(0.0)
    assert cond.jack_volts(3.3) == pytest.approx(5.0)
    assert cond.jack_volts(5.0) == 5.0 and cond.jack_volts(-1.0) == -5.0


def test_a_code_stands_for_the_centre_of_its_interval():
    assert code_to_adc_volts(0, 3.3) == pytest.approx(3.3 / 2048)
    assert code_to_adc_volts(1023, 3.3) == pytest.approx(3.3 - 3.3 / 2048)


def test_the_smoother_reaches_63_percent_after_one_time_constant_at_any_sample_rate():
    for rate_hz in (500, 2000):
        smoother = Smoother(0.01)
        smoother.update(0.0, 0.0)
        t = 0.0
        while t < 0.01 - 1e-12:
            t += 1.0 / rate_hz
            value = smoother.update(1.0, t)
        assert value == pytest.approx(1 - math.exp(-1), abs=1e-9)


def test_no_smoothing_passes_values_through():
    smoother = Smoother(0.0)
    assert [smoother.update(v, i * 1e-3) for i, v in enumerate([1.0, -2.0, 3.5])] == [1.0, -2.0, 3.5]


def test_cv_input_turns_codes_into_smoothed_jack_volts():
    cv = CvInput(Conditioning(10 / 3.3, -5.0, -5.0, 5.0), 0.0, 3.3)
    assert cv.update(512, 0.0) == pytest.approx((512.5 / 1024 * 3.3) * 10 / 3.3 - 5.0)
