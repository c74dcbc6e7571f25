"""Adjusting a number: each detent nudges the setting, which applies at once; a short press
is done."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from neurorack.ui.menu import Slider
from neurorack.ui.pages.base import Page
from neurorack.ui.render import WIDTH, bipolar_bar, font, footer, stamp_text, title

if TYPE_CHECKING:
    from PIL import ImageDraw

    from neurorack.ui.frame import Frame
    from neurorack.ui.navigation import Navigator


@dataclass(frozen=True)
class SliderScreen(Page):
    """Adjusting a number."""

    item: Slider

    def enc(self, ui: Navigator, steps: int) -> None:
        item = self.item
        ui.set(item.setting, item.spec.nudge(ui.state.get(item.setting), steps))

    def redraw(self, draw: ImageDraw.ImageDraw, frame: Frame) -> None:
        item = self.item
        title(draw, item.label)
        value = frame.state.get(item.setting)
        text = item.spec.format(value)
        big = font(15, True)
        width = draw.textlength(text, font=big)
        stamp_text(draw, ((WIDTH - width) // 2, 13), text, font=big, fill=1)
        position = item.spec.unmap(value)
        draw.rectangle((4, 34, WIDTH - 5, 42), outline=1)
        if item.spec.minimum == -item.spec.maximum:
            bipolar_bar(draw, 4, 34, WIDTH - 5, 42, 2 * position - 1)
        else:
            filled = 6 + round(position * (WIDTH - 12))
            if filled > 6:
                draw.rectangle((6, 36, filled - 1, 40), fill=1)
        if item.note:
            footer(draw, item.note)
