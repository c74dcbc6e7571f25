"""A dialog: any press dismisses it; its text wraps."""

from __future__ import annotations

import pytest

from neurorack.config.state import ModuleState
from neurorack.ui.frame import Frame
from neurorack.ui.pages import MenuScreen, MessageScreen
from neurorack.ui.render import render


@pytest.mark.parametrize("press", ["short", "long"])
def test_any_press_dismisses_it(ui, press):
    ui.push(MenuScreen(ui.menu.root))
    ui.push(MessageScreen("Error", "boom"))
    ui.screen.key(ui, press)
    assert isinstance(ui.screen, MenuScreen)


def test_a_long_text_wraps_onto_more_lines():
    short = render(Frame(MessageScreen("Note", "one line"), ModuleState()))
    long = render(Frame(MessageScreen("Note", "one line " * 8), ModuleState()))
    assert short.crop((0, 22, 128, 64)).getbbox() is None
    assert long.crop((0, 22, 128, 64)).getbbox() is not None
