"""The read-only pages a menu item opens by name: System, Calibration, CV routing; any
press leaves them, turning does nothing."""

from __future__ import annotations

import pytest

from neurorack.ui.frame import Frame, capture_frame
from neurorack.ui.pages import CalibrationScreen, MenuScreen, RoutingScreen, SystemScreen, page_class
from neurorack.ui.render import render
from tests.ui.pages.conftest import item

PAGES = [("system", SystemScreen, ("System", "Status")),
         ("calibration", CalibrationScreen, ("Calibration", "Status")),
         ("routing", RoutingScreen, ("CV routing", "Overview"))]


@pytest.mark.parametrize(("name", "cls", "labels"), PAGES)
def test_each_opens_by_its_name_and_any_press_leaves(ui, name, cls, labels):
    assert page_class(name) is cls
    ui.push(MenuScreen(ui.menu.root))
    page = cls.open(ui, item(*labels))
    ui.push(page)
    page.enc(ui, 3)
    assert ui.screen == page
    page.key(ui, "short")
    assert isinstance(ui.screen, MenuScreen)


def test_the_system_page_is_given_the_figures_and_the_dropouts(ui):
    ui.push(SystemScreen(item("System", "Status")))
    ui.facade.stats["underflows"] = 3
    frame = capture_frame(ui, ui.facade)
    assert frame.system == ui.facade.system and frame.underflows == 3 and frame.status.cv_volts == (0.0,) * 4
    assert frame.cpu_percent is None and frame.warnings == ()


def test_the_calibration_page_is_given_the_calibration_in_use(ui):
    ui.push(CalibrationScreen(item("Calibration", "Status")))
    frame = capture_frame(ui, ui.facade)
    assert frame.calibration == ui.facade.calibration() and frame.calibrating is None and frame.system is None


def test_the_routing_page_follows_the_state(ui):
    page = RoutingScreen(item("CV routing", "Overview"))
    before = render(Frame(page, ui.state))
    after = render(Frame(page, ui.state.with_value("routing.cv2.target", "pitch")))
    assert before.crop((0, 22, 128, 32)).tobytes() != after.crop((0, 22, 128, 32)).tobytes()
