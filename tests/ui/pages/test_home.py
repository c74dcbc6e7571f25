"""The home page: turning steps through the sounds (wrapping), a press opens the menu."""

from __future__ import annotations

from neurorack.config.state import ModuleState
from neurorack.ui.frame import Frame
from neurorack.ui.pages import HomeScreen, MenuScreen
from neurorack.ui.pages.base import CPU, INPUTS, WARNINGS
from neurorack.ui.render import render


def test_turning_selects_the_next_sound_and_wraps_without_saving(ui):
    HomeScreen().enc(ui, -1)  # Kick 808 is the first: back to the last
    assert ui.state.sound == "Crash dark"
    assert ui.facade.calls == [("select_sound", "Crash dark")]
    HomeScreen().enc(ui, 2)
    assert ui.state.sound == "Snare tight" and ui.saved  # the sound is saved, the facade not told twice
    assert ("apply_setting", "sound", "Snare tight") not in ui.facade.calls


def test_a_refused_sound_is_not_recorded(ui):
    def refuse(name):
        raise RuntimeError("voice crashed")

    ui.facade.select_sound = refuse
    HomeScreen().enc(ui, 1)
    assert ui.state.sound == "Kick 808" and ui.screen.title == "Error"


def test_short_press_opens_the_top_menu_long_press_stays(ui):
    HomeScreen().key(ui, "long")
    assert ui.depth == 1
    HomeScreen().key(ui, "short")
    assert isinstance(ui.screen, MenuScreen) and ui.screen.menu == ui.menu.root


def test_it_asks_for_the_panel_the_load_and_the_warnings():
    assert {INPUTS, CPU, WARNINGS} <= HomeScreen.needs


def test_redraw_shows_the_sound_and_model():
    with_model = render(Frame(HomeScreen(), ModuleState(sound="Kick 808", model="drums-trimmed")))
    without = render(Frame(HomeScreen(), ModuleState(sound="Kick 808")))
    assert with_model.crop((0, 16, 128, 26)).tobytes() != without.crop((0, 16, 128, 26)).tobytes()
    assert with_model.crop((0, 0, 128, 16)).tobytes() == without.crop((0, 0, 128, 16)).tobytes()
