"""A dialog: an error or a note, dismissed by any press."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from neurorack.ui.pages.base import Page
from neurorack.ui.render import WIDTH, font, text_lines, title, wrap

if TYPE_CHECKING:
    from PIL import ImageDraw

    from neurorack.ui.frame import Frame


@dataclass(frozen=True)
class MessageScreen(Page):
    """A dialog (an error, or a note) dismissed by any press."""

    title: str
    text: str

    def redraw(self, draw: ImageDraw.ImageDraw, frame: Frame) -> None:
        title(draw, self.title)
        text_lines(draw, wrap(self.text, font(9), WIDTH - 4)[:5])
