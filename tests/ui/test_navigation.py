"""Scripted navigation by encoder and button events through the whole menu tree."""

from __future__ import annotations

import pytest

from neurorack.config.state import ModuleState
from neurorack.core.events import ButtonEvent, EncoderTurn
from neurorack.errors import NeurorackError
from neurorack.ui.menu import Action, Choice, Info, Slider, Submenu, Toggle
from neurorack.ui.menu_file import load_menu
from neurorack.ui.mock_facade import MockFacade
from neurorack.ui.navigation import Navigator
from neurorack.ui.pages import (
    CalibrateScreen,
    ChoiceScreen,
    ConfirmScreen,
    HomeScreen,
    InfoScreen,
    MenuScreen,
    MessageScreen,
    SliderScreen,
)
from tests.ui.conftest import Clock


class Player:
    """Drives a navigator like a hand on the panel, one event at a time."""

    def __init__(self, navigator: Navigator, clock: Clock):
        self.navigator = navigator
        self.clock = clock

    def turn(self, steps: int) -> None:
        self.clock.now += 0.1
        self.navigator.handle(EncoderTurn(steps, self.clock.now))

    def short(self) -> None:
        self.clock.now += 0.1
        self.navigator.handle(ButtonEvent("short", self.clock.now))

    def long(self) -> None:
        self.clock.now += 0.1
        self.navigator.handle(ButtonEvent("long", self.clock.now))

    def open(self, label: str) -> None:
        """Move the cursor to ``label`` in the current list and press."""
        screen = self.navigator.screen
        labels = [item.label for item in screen.menu.items]
        self.turn(labels.index(label) - screen.cursor)
        self.short()


@pytest.fixture
def rig():
    clock = Clock()
    facade = MockFacade(clock)
    saved = []
    navigator = Navigator(load_menu(), facade, ModuleState(sound="Kick 808", model="drums-trimmed"),
                          on_state=saved.append)
    return Player(navigator, clock), facade, saved


def test_short_press_opens_the_menu_and_long_press_goes_back_home(rig):
    player, _, _ = rig
    assert isinstance(player.navigator.screen, HomeScreen)
    player.short()
    assert isinstance(player.navigator.screen, MenuScreen)
    assert player.navigator.screen.menu.label == "Neurorack"
    player.long()
    assert isinstance(player.navigator.screen, HomeScreen)
    player.long()  # back on home stays home
    assert isinstance(player.navigator.screen, HomeScreen)


def test_cursor_stops_at_both_ends_of_a_list(rig):
    player, _, _ = rig
    player.short()
    player.turn(-3)
    assert player.navigator.screen.cursor == 0
    player.turn(100)
    assert player.navigator.screen.cursor == len(player.navigator.menu.root.items) - 1


def test_scrolling_sounds_previews_each_and_press_selects(rig):
    player, facade, saved = rig
    player.short()
    player.open("Sounds")
    screen = player.navigator.screen
    assert isinstance(screen, ChoiceScreen) and screen.options[screen.cursor] == "Kick 808"
    player.turn(1)
    player.turn(1)
    assert facade.calls == [("preview_sound", "Snare tight"), ("preview_sound", "Hat closed")]
    player.short()
    assert ("select_sound", "Hat closed") in facade.calls
    assert player.navigator.state.sound == "Hat closed"
    assert saved[-1].sound == "Hat closed"
    assert isinstance(player.navigator.screen, MenuScreen)


def test_long_press_in_a_choice_cancels_without_selecting(rig):
    player, facade, saved = rig
    player.short()
    player.open("Sounds")
    player.turn(2)
    player.long()
    assert player.navigator.state.sound == "Kick 808"
    assert not any(call[0] == "select_sound" for call in facade.calls)
    assert saved == []


def test_selecting_a_model_starts_loading_it(rig):
    player, facade, _ = rig
    player.short()
    player.open("Models")
    player.turn(1)
    assert player.navigator.screen.models[player.navigator.screen.cursor].name == "drums-dense"
    player.short()
    assert facade.calls == [("load_model", "drums-dense")]
    assert player.navigator.state.model == "drums-dense"
    assert facade.task().label == "loading drums-dense"


def test_slider_applies_each_detent_and_clamps(rig):
    player, facade, saved = rig
    player.short()
    player.open("Settings")
    player.open("Lookahead")
    assert isinstance(player.navigator.screen, SliderScreen)
    player.turn(2)
    assert player.navigator.state.audio.lookahead_blocks == 1.5
    assert facade.calls[-1] == ("apply_setting", "audio.lookahead_blocks", 1.5)
    player.turn(-100)
    assert player.navigator.state.audio.lookahead_blocks == 0.25
    player.short()
    assert isinstance(player.navigator.screen, MenuScreen)
    assert saved[-1].audio.lookahead_blocks == 0.25


def test_reversed_encoder_turns_the_other_way(rig):
    player, _, _ = rig
    player.short()
    player.open("Settings")
    player.open("Reverse encoder")  # a toggle flips in place
    assert player.navigator.state.encoder.reversed is True
    cursor = player.navigator.screen.cursor
    player.turn(1)
    assert player.navigator.screen.cursor == cursor - 1


def test_cv_routing_target_amount_and_offset(rig):
    player, _, _ = rig
    player.short()
    player.open("CV routing")
    player.open("CV 3")
    player.open("Target")
    screen = player.navigator.screen
    player.turn(screen.options.index("velocity") - screen.cursor)
    player.short()
    player.open("Amount")
    player.turn(-4)
    player.short()
    player.open("Offset")
    player.turn(3)
    player.short()
    route = player.navigator.state.routing.cv3
    assert (route.target, route.amount, route.offset) == ("velocity", 0.8, 0.15)


def test_confirm_dialog_defaults_to_no(rig):
    player, facade, _ = rig
    player.short()
    player.open("System")
    player.open("Reboot")
    assert isinstance(player.navigator.screen, ConfirmScreen)
    player.short()  # "No" is highlighted
    assert facade.calls == []
    assert isinstance(player.navigator.screen, MenuScreen)


def test_failing_action_shows_an_error_dialog_and_the_ui_carries_on(rig):
    player, facade, _ = rig
    player.short()
    player.open("System")
    player.open("Shutdown")
    player.turn(1)  # to "Yes"
    player.short()
    assert facade.calls == [("run_action", "shutdown")]
    screen = player.navigator.screen
    assert isinstance(screen, MessageScreen) and "not available in mock mode" in screen.text
    player.short()
    assert isinstance(player.navigator.screen, MenuScreen)
    player.turn(-1)
    assert player.navigator.screen.cursor == 2


def test_an_unexpected_exception_from_the_facade_is_shown_too(rig):
    player, facade, _ = rig

    def broken(name):
        raise RuntimeError("voice crashed")

    facade.select_sound = broken
    player.short()
    player.open("Sounds")
    player.short()
    assert isinstance(player.navigator.screen, MessageScreen)
    assert player.navigator.screen.text == "voice crashed"


def test_a_task_error_is_shown_once(rig):
    player, facade, _ = rig
    from neurorack.ui.facade import TaskStatus

    facade.task = lambda: TaskStatus("loading x", 0.4, error="checksum mismatch")
    player.navigator.tick(1.0)
    assert isinstance(player.navigator.screen, MessageScreen)
    assert "checksum mismatch" in player.navigator.screen.text
    player.short()
    player.navigator.tick(1.1)
    assert isinstance(player.navigator.screen, HomeScreen)


def test_idle_timeout_returns_home(rig):
    player, _, _ = rig
    player.short()
    player.open("Settings")
    player.navigator.tick(player.clock.now + 29.0)
    assert isinstance(player.navigator.screen, MenuScreen)
    player.navigator.tick(player.clock.now + 30.0)
    assert isinstance(player.navigator.screen, HomeScreen)


def test_info_pages_open_and_close(rig):
    player, _, _ = rig
    player.short()
    player.open("Calibration")
    player.open("Status")
    assert isinstance(player.navigator.screen, InfoScreen)
    assert player.navigator.screen.item.page == "calibration"
    player.short()
    assert isinstance(player.navigator.screen, MenuScreen)


def test_every_item_of_the_shipped_menu_can_be_entered_and_left(rig):
    """Walk the whole tree: enter each item, turn once, leave with a long press."""
    player, facade, _ = rig
    facade.run_action = lambda action: None  # shutdown/reboot would otherwise say "mock mode"
    visited = []

    def walk(menu: Submenu, depth: int) -> None:
        for index, item in enumerate(menu.items):
            screen = player.navigator.screen
            assert isinstance(screen, MenuScreen) and screen.menu == menu
            player.turn(index - screen.cursor)
            before = player.navigator.depth
            player.short()
            visited.append(item.label)
            if isinstance(item, Submenu):
                walk(item, depth + 1)
                player.long()
            elif isinstance(item, Toggle):
                assert player.navigator.depth == before
                player.short()  # flip back
            else:
                expected = {Slider: SliderScreen, Choice: ChoiceScreen, Info: InfoScreen, Action: ConfirmScreen}
                if isinstance(item, Action) and item.action == "calibrate":
                    expected[Action] = CalibrateScreen  # the guided routine, no question first
                assert isinstance(player.navigator.screen, expected[type(item)]), item.label
                player.turn(1)
                player.long()
            assert player.navigator.depth == before, item.label

    player.short()
    walk(player.navigator.menu.root, 1)
    def labels(menu: Submenu) -> list:
        out = []
        for item in menu.items:
            out += [item.label] + (labels(item) if isinstance(item, Submenu) else [])
        return out

    assert visited == labels(player.navigator.menu.root) and len(visited) == 37
    player.long()
    assert isinstance(player.navigator.screen, HomeScreen)


def test_choice_with_an_empty_source_says_so():
    clock = Clock()
    facade = MockFacade(clock, sounds=())
    navigator = Navigator(load_menu(), facade, ModuleState())
    player = Player(navigator, clock)
    player.short()
    player.open("Sounds")
    assert isinstance(navigator.screen, MessageScreen)
    assert navigator.screen.text == "no sounds installed"


def test_mock_facade_refuses_an_unknown_model():
    facade = MockFacade(Clock())
    with pytest.raises(NeurorackError, match="not installed"):
        facade.load_model("nope")
