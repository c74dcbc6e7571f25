"""A menu list: the cursor stops at both ends; a press enters the item under it."""

from __future__ import annotations

from neurorack.ui.pages import ChoiceScreen, ConfirmScreen, MenuScreen, SliderScreen, SystemScreen
from tests.ui.pages.conftest import item


def test_cursor_is_clamped(ui):
    page = MenuScreen(ui.menu.root)
    ui.push(page)
    page.enc(ui, -2)
    assert ui.screen.cursor == 0
    ui.screen.enc(ui, 99)
    assert ui.screen.cursor == len(ui.menu.root.items) - 1


def test_a_press_enters_each_kind_of_item(ui):
    settings = item("Settings")
    ui.push(MenuScreen(settings))
    labels = [i.label for i in settings.items]
    for label, kind in [("Output level", SliderScreen), ("Block size", ChoiceScreen)]:
        ui.replace(MenuScreen(settings, labels.index(label)))
        ui.screen.key(ui, "short")
        assert isinstance(ui.screen, kind), label
        ui.screen.key(ui, "long")
    ui.replace(MenuScreen(settings, labels.index("Reverse encoder")))
    ui.screen.key(ui, "short")  # a toggle flips in place
    assert ui.state.encoder.reversed and isinstance(ui.screen, MenuScreen)
    system = item("System")
    ui.replace(MenuScreen(system, 0, ("System",)))
    ui.screen.key(ui, "short")
    assert isinstance(ui.screen, SystemScreen) and ui.screen.item.page == "system"
    ui.screen.key(ui, "short")
    ui.replace(MenuScreen(system, 2, ("System",)))
    ui.screen.key(ui, "short")
    assert isinstance(ui.screen, ConfirmScreen) and ui.screen.item.action == "reboot"


def test_a_submenu_remembers_the_way_and_long_press_goes_back(ui):
    ui.push(MenuScreen(ui.menu.root, [i.label for i in ui.menu.root.items].index("Settings")))
    ui.screen.key(ui, "short")
    assert ui.screen.path == ("Settings",) and ui.depth == 3
    ui.screen.key(ui, "long")
    assert ui.depth == 2
