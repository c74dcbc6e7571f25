"""The CV routing overview: each input's target, amount and offset."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from neurorack.ui.control_spec import fixed
from neurorack.ui.pages.base import InfoScreen, register_page
from neurorack.ui.render import (
    LIST_TOP,
    ROW_H,
    WIDTH,
    font,
    stamp_text,
    text_lines,
    title,
)

if TYPE_CHECKING:
    from PIL import ImageDraw

    from neurorack.ui.frame import Frame


@register_page("routing")
@dataclass(frozen=True)
class RoutingScreen(InfoScreen):
    """Where the four CVs go."""

    def redraw(self, draw: ImageDraw.ImageDraw, frame: Frame) -> None:
        title(draw, "CV routing")
        routing = frame.state.routing
        routes = [routing.cv1, routing.cv2, routing.cv3, routing.cv4]
        text_lines(draw, [f"{i + 1} {r.target:<9}" for i, r in enumerate(routes)])
        small = font(9)
        for i, route in enumerate(routes):
            text = f"{fixed(route.amount, 2, signed=True)} {fixed(route.offset, 2, signed=True)}"
            stamp_text(draw, (WIDTH - draw.textlength(text, font=small), LIST_TOP + i * ROW_H), text, font=small,
                       fill=1)
