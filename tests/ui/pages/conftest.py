"""A navigator over the mock facade, for driving one page at a time."""

from __future__ import annotations

import pytest

from neurorack.config.state import ModuleState
from neurorack.ui.menu_file import load_menu
from neurorack.ui.mock_facade import MockFacade
from neurorack.ui.navigation import Navigator
from tests.ui.conftest import Clock

MENU = load_menu()


def item(*labels):
    """The shipped menu's item at a path of labels."""
    node = MENU.root
    for label in labels:
        node = next(i for i in node.items if i.label == label)
    return node


@pytest.fixture
def ui():
    """A navigator on the home page, over a mock facade; ``ui.saved`` collects saved states."""
    saved = []
    navigator = Navigator(MENU, MockFacade(Clock()), ModuleState(sound="Kick 808", model="drums-trimmed"),
                          on_state=saved.append)
    navigator.saved = saved
    return navigator
