"""What a menu action does: calibrate opens the routine, reset_calibration forgets the saved
one and says so, any other goes to the facade."""

from __future__ import annotations

from neurorack.ui.menu import Action
from neurorack.ui.pages import CalibrateScreen, MenuScreen, MessageScreen
from neurorack.ui.pages.actions import run_action


def test_calibrate_opens_the_routine_without_asking_the_facade(ui):
    run_action(ui, Action("Calibrate CVs", "calibrate"))
    assert isinstance(ui.screen, CalibrateScreen) and ui.facade.calls == []


def test_reset_calibration_says_what_happened_or_why_not(ui):
    ui.push(MenuScreen(ui.menu.root))
    run_action(ui, Action("Reset to board", "reset_calibration"))
    assert isinstance(ui.screen, MessageScreen) and "panel's ADC" in ui.screen.text  # no calibrator here
    ui.pop()
    forgotten = []
    ui.facade.reset_calibration = lambda: forgotten.append(True)
    run_action(ui, Action("Reset to board", "reset_calibration"))
    assert forgotten
    assert ui.screen == MessageScreen("Reset to board", "The CV inputs use the board file's values again.")


def test_other_actions_go_to_the_facade(ui):
    run_action(ui, Action("Restart audio", "restart_audio"))
    assert ui.facade.calls == [("run_action", "restart_audio")] and ui.depth == 1
