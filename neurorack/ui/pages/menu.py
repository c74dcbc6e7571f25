"""A menu list: turning moves the cursor, a short press enters the item under it (a submenu,
a value to pick or adjust, a page, an action), a long press goes back."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from neurorack.ui.menu import (
    Action,
    Choice,
    Info,
    MenuItem,
    Slider,
    Submenu,
    Toggle,
    value_text,
)
from neurorack.ui.pages.actions import run_action
from neurorack.ui.pages.base import Page, clamp, page_class
from neurorack.ui.pages.choice import ChoiceScreen
from neurorack.ui.pages.confirm import ConfirmScreen
from neurorack.ui.pages.slider import SliderScreen
from neurorack.ui.render import list_rows, title

if TYPE_CHECKING:
    from PIL import ImageDraw

    from neurorack.ui.frame import Frame
    from neurorack.ui.navigation import Navigator


@dataclass(frozen=True)
class MenuScreen(Page):
    """A list of items with the cursor on ``cursor``; ``path`` names the way here."""

    menu: Submenu
    cursor: int = 0
    path: tuple = ()

    def enc(self, ui: Navigator, steps: int) -> None:
        ui.replace(replace(self, cursor=clamp(self.cursor + steps, len(self.menu.items))))

    def key(self, ui: Navigator, press: str) -> None:
        if press == "short":
            if self.menu.items:
                self._enter(ui, self.menu.items[self.cursor])
        else:
            ui.back()

    def _enter(self, ui: Navigator, item: MenuItem) -> None:
        if isinstance(item, Submenu):
            ui.push(MenuScreen(item, 0, (*self.path, item.label)))
        elif isinstance(item, Toggle):
            ui.set(item.setting, not ui.state.get(item.setting))
        elif isinstance(item, Slider):
            ui.push(SliderScreen(item))
        elif isinstance(item, Info):
            ui.push(page_class(item.page).open(ui, item))
        elif isinstance(item, Action):
            if item.confirm:
                ui.push(ConfirmScreen(item))
            else:
                run_action(ui, item)
        elif isinstance(item, Choice):
            ChoiceScreen.open_choice(ui, item)

    def redraw(self, draw: ImageDraw.ImageDraw, frame: Frame) -> None:
        title(draw, self.menu.label)
        rows = [(item.label, value_text(item, frame.state)) for item in self.menu.items]
        list_rows(draw, rows, self.cursor)
