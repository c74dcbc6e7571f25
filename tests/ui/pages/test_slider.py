"""Adjusting a number: each detent applies at once; a press is done."""

from __future__ import annotations

import pytest

from neurorack.ui.frame import Frame
from neurorack.ui.pages import MenuScreen, SliderScreen
from neurorack.ui.render import render
from tests.ui.pages.conftest import item


def test_turning_nudges_and_applies_the_value(ui):
    page = SliderScreen(item("CV routing", "CV 1", "Amount"))
    ui.push(MenuScreen(ui.menu.root))
    ui.push(page)
    assert ui.state.routing.cv1.amount == 1.0
    page.enc(ui, -3)
    assert ui.state.routing.cv1.amount == pytest.approx(0.85)
    assert ui.facade.calls[-1] == ("apply_setting", "routing.cv1.amount", pytest.approx(0.85))
    page.enc(ui, -100)
    assert ui.state.routing.cv1.amount == -1
    page.key(ui, "short")
    assert isinstance(ui.screen, MenuScreen)


def test_the_bar_follows_the_value(ui):
    page = SliderScreen(item("Settings", "Brightness"))
    low = render(Frame(page, ui.state.with_value("screen.brightness", 0.1)))
    high = render(Frame(page, ui.state.with_value("screen.brightness", 0.9)))
    assert low.crop((0, 34, 128, 43)).tobytes() != high.crop((0, 34, 128, 43)).tobytes()
