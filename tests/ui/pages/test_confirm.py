"""A yes/no question: No first; only a press on Yes runs the action."""

from __future__ import annotations

from neurorack.ui.pages import ConfirmScreen, MenuScreen, MessageScreen
from tests.ui.pages.conftest import item


def test_turning_picks_yes_or_no(ui):
    page = ConfirmScreen(item("System", "Reboot"))
    ui.push(page)
    page.enc(ui, 1)
    assert ui.screen.yes
    ui.screen.enc(ui, -1)
    assert not ui.screen.yes


def test_no_leaves_without_running(ui):
    ui.push(MenuScreen(ui.menu.root))
    ui.push(ConfirmScreen(item("System", "Restart audio")))
    ui.screen.key(ui, "short")
    assert ui.facade.calls == [] and isinstance(ui.screen, MenuScreen)


def test_yes_runs_the_action_and_a_failure_is_a_dialog(ui):
    ui.push(MenuScreen(ui.menu.root))
    ui.push(ConfirmScreen(item("System", "Reboot"), yes=True))
    ui.screen.key(ui, "short")
    assert ui.facade.calls == [("run_action", "reboot")]
    assert isinstance(ui.screen, MessageScreen) and "mock mode" in ui.screen.text


def test_long_press_leaves_without_running(ui):
    ui.push(MenuScreen(ui.menu.root))
    ui.push(ConfirmScreen(item("System", "Reboot"), yes=True))
    ui.screen.key(ui, "long")
    assert ui.facade.calls == [] and isinstance(ui.screen, MenuScreen)
