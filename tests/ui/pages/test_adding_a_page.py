"""A new page is a class registered by name plus a menu entry naming it: nothing else in
the UI changes. This one is defined here and opened from a menu file written by the test."""

from __future__ import annotations

import pkgutil
import sys
import textwrap
from dataclasses import dataclass, replace

import pytest
from PIL import Image, ImageDraw

import neurorack.ui.pages
from neurorack.config.schema import ConfigError
from neurorack.config.state import ModuleState
from neurorack.core.events import ButtonEvent, EncoderTurn
from neurorack.ui.frame import capture_frame
from neurorack.ui.menu_file import load_menu
from neurorack.ui.mock_facade import MockFacade
from neurorack.ui.navigation import Navigator
from neurorack.ui.pages import MenuScreen, Page, page_class, page_names, register_page
from neurorack.ui.pages.base import INPUTS
from neurorack.ui.render import WIDTH, font, render, stamp_text, title
from tests.ui.conftest import Clock


@register_page("test-counter")
@dataclass(frozen=True)
class CounterPage(Page):
    """Counts detents; a short press sets the brightness to count/10; long press leaves."""

    count: int = 0
    needs = frozenset({INPUTS})

    def enc(self, ui, steps: int) -> None:
        ui.replace(replace(self, count=self.count + steps))

    def key(self, ui, press: str) -> None:
        if press == "short":
            ui.set("screen.brightness", self.count / 10)
        else:
            ui.back()

    def redraw(self, draw, frame) -> None:
        title(draw, f"Count {self.count}")
        stamp_text(draw, (2, 20), f"CV1 {frame.status.cv_volts[0]:.1f}", font=font(9), fill=1)


def drawn_by_hand(count: int, cv1: float) -> bytes:
    image = Image.new("1", (WIDTH, 64), 0)
    draw = ImageDraw.Draw(image)
    draw.fontmode = "1"
    title(draw, f"Count {count}")
    stamp_text(draw, (2, 20), f"CV1 {cv1:.1f}", font=font(9), fill=1)
    return image.tobytes()


def write_menu(tmp_path, page: str):
    path = tmp_path / "menu.yaml"
    path.write_text(textwrap.dedent(f"""\
        title: Test
        items:
          - {{label: Counter, kind: info, page: {page}}}
          - {{label: Level, kind: slider, setting: levels.gain_db, min: -60, max: 12}}
        """))
    return path


def test_a_page_named_in_a_menu_file_opens_and_handles_enc_key_and_redraw(tmp_path):
    clock = Clock()
    facade = MockFacade(clock)
    facade.with_status(cv_volts=(2.5, 0.0, 0.0, 0.0))
    navigator = Navigator(load_menu(write_menu(tmp_path, "test-counter")), facade, ModuleState())
    navigator.handle(ButtonEvent("short", 0.1))  # home -> the menu
    navigator.handle(ButtonEvent("short", 0.2))  # -> Counter
    assert navigator.screen == CounterPage()
    navigator.handle(EncoderTurn(3, 0.3))
    navigator.handle(EncoderTurn(-1, 0.4))
    assert navigator.screen.count == 2
    frame = capture_frame(navigator, facade)
    assert frame.status.cv_volts[0] == 2.5  # what the page needs is gathered for it
    assert render(frame).tobytes() == drawn_by_hand(2, 2.5)
    navigator.handle(ButtonEvent("short", 0.5))
    assert navigator.state.screen.brightness == pytest.approx(0.2)
    assert ("apply_setting", "screen.brightness", pytest.approx(0.2)) in facade.calls
    navigator.handle(ButtonEvent("long", 0.6))
    assert isinstance(navigator.screen, MenuScreen) and navigator.screen.menu.label == "Test"


def test_a_menu_naming_no_page_is_refused_with_the_names_there_are(tmp_path):
    path = write_menu(tmp_path, "nowhere")
    with pytest.raises(ConfigError) as caught:
        load_menu(path)
    message = str(caught.value.problems[0])
    assert message.startswith(f"{path}:3: items[1].page: expected one of ")
    assert "home" in message and "test-counter" in message and message.endswith("got 'nowhere'")


def test_a_name_cannot_be_taken_twice():
    assert page_class("test-counter") is CounterPage and "test-counter" in page_names()
    with pytest.raises(ValueError, match="taken"):
        register_page("home")(CounterPage)


def test_every_module_of_the_pages_package_is_imported_with_it():
    found = {m.name for m in pkgutil.iter_modules(neurorack.ui.pages.__path__)}
    assert {"home", "system", "calibration", "routing"} <= found
    assert all(f"neurorack.ui.pages.{name}" in sys.modules for name in found)
    assert {"home", "system", "calibration", "routing"} <= set(page_names())
