"""Control specs: warps, steps, clamping and formatting of menu sliders."""

from __future__ import annotations

import pytest

from neurorack.ui.control_spec import ControlSpec, fixed


def test_linear_maps_ends_and_middle():
    spec = ControlSpec(-1, 1, 0.05)
    assert (spec.map(0), spec.map(0.5), spec.map(1)) == (-1, 0, 1)
    assert spec.unmap(0.5) == pytest.approx(0.75)


def test_exp_warp_has_even_ratios():
    spec = ControlSpec(20, 20000, warp="exp")
    assert spec.map(0.5) == pytest.approx(632.456, rel=1e-4)
    assert spec.unmap(spec.map(0.3)) == pytest.approx(0.3)


def test_db_warp_is_even_in_amplitude_and_bottoms_out_at_silence():
    spec = ControlSpec(-60, 12, 0.5, "dB", "db")
    assert spec.map(0) == -60 and spec.format(-60) == "-inf dB"
    assert spec.map(1) == 12
    assert spec.unmap(0.0) == pytest.approx(1 / 10 ** (12 / 20))


def test_nudge_steps_and_clamps():
    spec = ControlSpec(0.25, 8, 0.25, "blocks")
    assert spec.nudge(1.0, 3) == 1.75
    assert spec.nudge(1.0, -100) == 0.25
    assert spec.format(1.75) == "1.75 blocks"


def test_nudge_on_a_warped_range_always_moves():
    spec = ControlSpec(-60, 12, 0.5, "dB", "db")
    assert spec.nudge(-59.5, -1) < -59.5
    assert spec.nudge(11.5, 1) == 12


def test_fixed_never_writes_minus_zero():
    assert fixed(-0.001, 2, signed=True) == "+0.00"
    assert fixed(-0.004, 2) == "0.00"
    assert fixed(-0.006, 2, signed=True) == "-0.01"
    assert fixed(1.5, 1, signed=True) == "+1.5"


def test_a_menu_file_may_name_exactly_the_warps_a_control_spec_implements():
    from neurorack.config.menu import WARPS as MENU_WARPS
    from neurorack.ui.control_spec import WARPS

    assert MENU_WARPS == WARPS
    for warp in WARPS:
        spec = ControlSpec(1.0, 10.0, warp=warp)
        assert spec.map(0.0) == pytest.approx(1.0) and spec.map(1.0) == pytest.approx(10.0)
