"""Picking a value: sounds preview while scrolling; models show their card; a refused pick
is not recorded."""

from __future__ import annotations

from neurorack.ui.frame import Frame
from neurorack.ui.mock_facade import DEMO_MODELS
from neurorack.ui.pages import ChoiceScreen, MenuScreen
from neurorack.ui.render import render
from tests.ui.pages.conftest import item


def open_choice(ui, *labels):
    ui.push(MenuScreen(ui.menu.root))
    ChoiceScreen.open_choice(ui, item(*labels))
    return ui.screen


def test_it_opens_on_the_current_value(ui):
    page = open_choice(ui, "Models")
    assert page.options[page.cursor] == "drums-trimmed" and page.model == DEMO_MODELS[0]


def test_scrolling_sounds_previews_only_when_the_cursor_moves(ui):
    page = open_choice(ui, "Sounds")
    page.enc(ui, -1)  # already at the top
    ui.screen.enc(ui, 1)
    assert ui.facade.calls == [("preview_sound", "Snare tight")]


def test_a_fixed_list_applies_the_pick_and_tells_the_facade(ui):
    page = open_choice(ui, "Settings", "Block size")
    page.enc(ui, 1)
    ui.screen.key(ui, "short")
    assert ui.state.audio.block_size == page.options[page.cursor + 1]
    assert ui.facade.calls == [("apply_setting", "audio.block_size", ui.state.audio.block_size)]
    assert isinstance(ui.screen, MenuScreen)


def test_a_model_the_facade_refuses_is_not_recorded(ui):
    page = open_choice(ui, "Models")
    ui.replace(ChoiceScreen(page.item, (*page.options, "gone"), len(page.options)))
    ui.screen.key(ui, "short")
    assert ui.state.model == "drums-trimmed" and "gone" in ui.screen.text


def test_long_press_leaves_without_picking(ui):
    page = open_choice(ui, "Sounds")
    page.enc(ui, 3)
    ui.screen.key(ui, "long")
    assert ui.state.sound == "Kick 808" and isinstance(ui.screen, MenuScreen)


def test_the_model_card_footer_follows_the_cursor(ui):
    page = open_choice(ui, "Models")
    first = render(Frame(page, ui.state))
    page.enc(ui, 1)
    second = render(Frame(ui.screen, ui.state))
    assert first.crop((0, 53, 128, 64)).tobytes() != second.crop((0, 53, 128, 64)).tobytes()
