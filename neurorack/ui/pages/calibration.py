"""The Calibration status page: each CV input's scale and offset, and which of them are
still the board file's values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from neurorack.ui.control_spec import fixed
from neurorack.ui.pages.base import CALIBRATION, InfoScreen, register_page
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


@register_page("calibration")
@dataclass(frozen=True)
class CalibrationScreen(InfoScreen):
    """The CV calibration in use."""

    needs = frozenset({CALIBRATION})

    def redraw(self, draw: ImageDraw.ImageDraw, frame: Frame) -> None:
        info = frame.calibration
        inputs = info.inputs if info is not None else ()
        title(draw, "Calibration" + ("" if any(i.calibrated for i in inputs) else ": none"))
        if not inputs:
            text_lines(draw, ["not available"])
            return
        lines = [f"CV{cv_number(i.name)} x{i.scale:.4f} {fixed(i.offset_volts, 3, signed=True)} V"
                 for i in inputs[:4]]
        if not all(i.calibrated for i in inputs):
            lines.append("* board file's values")
        text_lines(draw, lines)
        small = font(9)
        for index, entry in enumerate(inputs[:4]):
            if not entry.calibrated:  # the board file's nominal values
                stamp_text(draw, (WIDTH - draw.textlength("*", font=small) - 1, LIST_TOP + index * ROW_H - 1), "*",
                           font=small, fill=1)


def cv_number(name: str) -> str:
    """``cv3`` -> ``3``."""
    return name.removeprefix("cv")
