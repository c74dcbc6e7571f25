"""A yes/no question before a menu action runs; No is highlighted first."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from neurorack.ui.menu import Action
from neurorack.ui.pages.actions import run_action
from neurorack.ui.pages.base import Page
from neurorack.ui.render import WIDTH, answers, font, text_lines, title, wrap

if TYPE_CHECKING:
    from PIL import ImageDraw

    from neurorack.ui.frame import Frame
    from neurorack.ui.navigation import Navigator


@dataclass(frozen=True)
class ConfirmScreen(Page):
    """A yes/no question before ``item`` runs; ``yes`` is the highlighted answer (No first)."""

    item: Action
    yes: bool = False

    def enc(self, ui: Navigator, steps: int) -> None:
        ui.replace(replace(self, yes=steps > 0))

    def key(self, ui: Navigator, press: str) -> None:
        if press == "short":
            ui.pop()
            if self.yes:
                run_action(ui, self.item)
        else:
            ui.back()

    def redraw(self, draw: ImageDraw.ImageDraw, frame: Frame) -> None:
        title(draw, self.item.label)
        text_lines(draw, wrap(self.item.confirm or "", font(9), WIDTH - 4)[:3])
        answers(draw, ("No", "Yes"), 1 if self.yes else 0)
