"""Page rendering: a ``Frame`` becomes a 1-bit 128x64 PIL image. Each page draws itself
(``Page.redraw``, in ``neurorack.ui.pages``) with the pieces here; a task in progress is drawn
over any page.

Pixels are 1 (lit) or 0 (dark). The fonts are shipped with the package (DejaVu Sans),
so the same frame gives the same pixels everywhere the same FreeType renders it.
"""

from __future__ import annotations

from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageDraw, ImageFont

if TYPE_CHECKING:
    from neurorack.ui.frame import Frame

WIDTH, HEIGHT = 128, 64
FONT_DIR = Path(__file__).resolve().parent / "fonts"
TITLE_H = 11  # the inverted title bar
ROW_H = 10  # one list row
LIST_TOP = 12


@cache
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """The shipped DejaVu Sans at ``size`` pixels."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(str(FONT_DIR / name), size)


def stamp_text(draw: ImageDraw.ImageDraw, xy: tuple, text: str, font: ImageFont.FreeTypeFont, fill: int) -> None:
    """``draw.text`` in 1-bit, the same pixels, but each string is rasterised only once.

    FreeType's rasterising is most of a frame's time, and it holds the interpreter lock
    that the render thread needs; the home page redraws the same strings 20 times a
    second. At a fractional position the glyphs differ, so those go to ``draw.text``.
    """
    x, y = xy
    if x != int(x) or y != int(y):
        draw.text(xy, text, font=font, fill=fill)
        return
    stamp, left, top = _rasterised(text, font)
    draw.bitmap((int(x) + left, int(y) + top), stamp, fill=fill)


@lru_cache(maxsize=2048)
def _rasterised(text: str, typeface: ImageFont.FreeTypeFont) -> tuple[Image.Image, int, int]:
    """``text`` drawn at the origin, cut to its box: the 1-bit stamp and where its corner lies."""
    left, top, right, bottom = typeface.getbbox(text, mode="1")
    stamp = Image.new("1", (max(1, right - left), max(1, bottom - top)), 0)
    draw = ImageDraw.Draw(stamp)
    draw.fontmode = "1"
    draw.text((-left, -top), text, font=typeface, fill=1)
    return stamp, left, top


def render(frame: Frame) -> Image.Image:
    """Draw ``frame``.

    Returns:
        A mode "1" image of 128x64 pixels.
    """
    image = Image.new("1", (WIDTH, HEIGHT), 0)
    if frame.asleep:
        return image
    draw = ImageDraw.Draw(image)
    draw.fontmode = "1"  # no anti-aliasing: pixels are on or off
    frame.screen.redraw(draw, frame)
    if frame.task is not None:
        _task(draw, frame)
    return image


# -- over every page ------------------------------------------------------------------------


def _task(draw: ImageDraw.ImageDraw, frame: Frame) -> None:
    task = frame.task
    draw.rectangle((0, 41, WIDTH - 1, HEIGHT - 1), fill=0, outline=1)
    text = task.prompt or task.label
    stamp_text(draw, (3, 42), fit(text, font(9), WIDTH - 6), font=font(9), fill=1)
    draw.rectangle((3, 54, WIDTH - 4, 60), outline=1)
    filled = round(min(max(task.fraction, 0.0), 1.0) * (WIDTH - 10))
    if filled:
        draw.rectangle((5, 56, 4 + filled, 58), fill=1)


# -- pieces ---------------------------------------------------------------------------------


def title(draw: ImageDraw.ImageDraw, text: str) -> None:
    """The inverted title bar."""
    draw.rectangle((0, 0, WIDTH - 1, TITLE_H - 1), fill=1)
    stamp_text(draw, (2, -1), fit(text, font(9, True), WIDTH - 4), font=font(9, True), fill=0)


def list_rows(draw: ImageDraw.ImageDraw, rows: list, cursor: int, visible: int = 5) -> None:
    """Rows of (label, value) with the cursor row inverted and a scroll bar when needed."""
    top = min(max(cursor - visible + 1, 0), max(len(rows) - visible, 0))
    top = min(top, cursor)
    small = font(9)
    bar_w = 3 if len(rows) > visible else 0
    for line, index in enumerate(range(top, min(top + visible, len(rows)))):
        label, value = rows[index]
        y = LIST_TOP + line * ROW_H
        selected = index == cursor
        if selected:
            draw.rectangle((0, y, WIDTH - 1 - bar_w, y + ROW_H - 1), fill=1)
        value_w = int(draw.textlength(value, font=small)) if value else 0
        right = WIDTH - 2 - bar_w
        stamp_text(draw, (2, y - 1), fit(label, small, right - value_w - 6), font=small, fill=0 if selected else 1)
        if value:
            stamp_text(draw, (right - value_w, y - 1), value, font=small, fill=0 if selected else 1)
    if bar_w:
        track = visible * ROW_H
        knob = max(4, track * visible // len(rows))
        start = LIST_TOP + (track - knob) * top // max(len(rows) - visible, 1)
        draw.line((WIDTH - 2, LIST_TOP, WIDTH - 2, LIST_TOP + track - 1), fill=1)
        draw.rectangle((WIDTH - 3, start, WIDTH - 1, start + knob - 1), fill=1)


def text_lines(draw: ImageDraw.ImageDraw, lines: list) -> None:
    """Up to five lines of text under the title."""
    small = font(9)
    for index, line in enumerate(lines[:5]):
        stamp_text(draw, (2, LIST_TOP + index * ROW_H - 1), fit(line, small, WIDTH - 4), font=small, fill=1)


def answers(draw: ImageDraw.ImageDraw, labels: tuple, chosen: int) -> None:
    """Two answer boxes along the bottom, the chosen one inverted."""
    for index, label in enumerate(labels):
        x = 20 + index * 56
        box = (x, 52, x + 32, 63)
        draw.rectangle(box, fill=1 if index == chosen else 0, outline=1)
        width = draw.textlength(label, font=font(9))
        stamp_text(draw, (x + (33 - width) // 2, 52), label, font=font(9), fill=0 if index == chosen else 1)


def footer(draw: ImageDraw.ImageDraw, text: str) -> None:
    """A line of text under a rule at the bottom."""
    draw.line((0, 52, WIDTH - 1, 52), fill=1)
    stamp_text(draw, (2, 53), fit(text, font(9), WIDTH - 4), font=font(9), fill=1)


def bipolar_bar(draw: ImageDraw.ImageDraw, left: int, top: int, right: int, bottom: int, amount: float) -> None:
    """A bar growing from the middle: ``amount`` -1..1 fills to the left or right end."""
    amount = min(max(amount, -1.0), 1.0)
    middle = (left + right) // 2
    end = middle + round(amount * (right - left) / 2)
    draw.line((left, (top + bottom) // 2, right, (top + bottom) // 2), fill=1)
    draw.line((middle, top, middle, bottom), fill=1)
    if end != middle:
        draw.rectangle((min(middle, end), top + 1, max(middle, end), bottom - 1), fill=1)


def fit(text: str, typeface: ImageFont.FreeTypeFont, width: float) -> str:
    """``text`` cut with an ellipsis so it is at most ``width`` pixels wide."""
    if typeface.getlength(text) <= width:
        return text
    while text and typeface.getlength(text + "…") > width:
        text = text[:-1]
    return text + "…"


def wrap(text: str, typeface: ImageFont.FreeTypeFont, width: float) -> list:
    """Words broken into lines at most ``width`` pixels wide."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if typeface.getlength(candidate) <= width or not line:
            line = candidate
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return [fit(line, typeface, width) for line in lines]

