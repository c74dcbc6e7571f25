"""Page rendering: a ``Frame`` becomes a 1-bit 128x64 PIL image.

Pixels are 1 (lit) or 0 (dark). The fonts are shipped with the package (DejaVu Sans),
so the same frame gives the same pixels everywhere the same FreeType renders it.
"""

from __future__ import annotations

from functools import cache, lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from neurorack.ui.control_spec import fixed
from neurorack.ui.frame import Frame
from neurorack.ui.menu import format_value, value_text
from neurorack.ui.navigation import (
    CalibrateScreen,
    ChoiceScreen,
    ConfirmScreen,
    HomeScreen,
    InfoScreen,
    MenuScreen,
    MessageScreen,
    SliderScreen,
    model_info,
)

WIDTH, HEIGHT = 128, 64
FONT_DIR = Path(__file__).resolve().parent / "fonts"
TITLE_H = 11  # the inverted title bar
ROW_H = 10  # one list row
LIST_TOP = 12
CV_RANGE_V = 5.0  # CV bars span -5..+5 V


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
    screen = frame.screen
    if isinstance(screen, HomeScreen):
        _home(draw, frame)
    elif isinstance(screen, MenuScreen):
        _menu(draw, screen, frame)
    elif isinstance(screen, ChoiceScreen):
        _choice(draw, screen, frame)
    elif isinstance(screen, SliderScreen):
        _slider(draw, screen, frame)
    elif isinstance(screen, InfoScreen):
        {"system": _system, "calibration": _calibration, "routing": _routing}[screen.item.page](draw, frame)
    elif isinstance(screen, ConfirmScreen):
        _confirm(draw, screen)
    elif isinstance(screen, CalibrateScreen):
        _calibrate(draw, screen, frame)
    elif isinstance(screen, MessageScreen):
        _message(draw, screen)
    if frame.task is not None:
        _task(draw, frame)
    return image


# -- pages ----------------------------------------------------------------------------------


def _home(draw: ImageDraw.ImageDraw, frame: Frame) -> None:
    state = frame.state
    stamp_text(draw, (0, -2), fit(state.sound or "no sound", font(15, True), WIDTH), font=font(15, True), fill=1)
    badge_font = font(9)
    if frame.underflows:
        badge = f"DROP {frame.underflows}"
    elif frame.cpu_percent is not None:
        badge = f"CPU {frame.cpu_percent:.0f}%"
    else:
        badge = ""
    badge_w = int(draw.textlength(badge, font=badge_font)) + 4 if badge else 0
    if badge:
        x = WIDTH - badge_w
        if frame.underflows:
            draw.rectangle((x, 16, WIDTH - 1, 25), fill=1)
        else:
            draw.rectangle((x, 16, WIDTH - 1, 25), outline=1)
        stamp_text(draw, (x + 2, 16), badge, font=badge_font, fill=0 if frame.underflows else 1)
    model = state.model or "no model"
    stamp_text(draw, (0, 16), fit(model, badge_font, WIDTH - badge_w - 3), font=badge_font, fill=1)
    small = font(8)
    for index, volts in enumerate(frame.status.cv_volts):
        y = 28 + index * 7
        stamp_text(draw, (0, y - 1), str(index + 1), font=small, fill=1)
        _bipolar_bar(draw, 8, y, 88, y + 4, volts / CV_RANGE_V)
        stamp_text(draw, (92, y - 1), fixed(volts, 2, signed=True), font=small, fill=1)
    for index, high in enumerate(frame.status.gates):
        x = index * 17
        draw.rectangle((x, 56, x + 15, 63), fill=1 if high else 0, outline=1)
        stamp_text(draw, (x + 3, 55), f"G{index + 1}", font=small, fill=0 if high else 1)
    if frame.warnings:
        text = fit("! " + " | ".join(frame.warnings), small, WIDTH - 36)
        draw.rectangle((35, 56, WIDTH - 1, 63), fill=1)
        stamp_text(draw, (37, 55), text, font=small, fill=0)


def _menu(draw: ImageDraw.ImageDraw, screen: MenuScreen, frame: Frame) -> None:
    _title(draw, screen.menu.label)
    rows = [(item.label, value_text(item, frame.state)) for item in screen.menu.items]
    _list(draw, rows, screen.cursor)


def _choice(draw: ImageDraw.ImageDraw, screen: ChoiceScreen, frame: Frame) -> None:
    _title(draw, screen.item.label)
    current = frame.state.get(screen.item.setting)
    rows = [(("* " if option == current else "  ") + format_value(option), "") for option in screen.options]
    card = model_info(screen)
    if card is None:
        _list(draw, rows, screen.cursor, visible=4 if screen.item.note else 5)
        if screen.item.note:
            _footer(draw, screen.item.note)
        return
    _list(draw, rows, screen.cursor, visible=3)
    if card.error:
        _footer(draw, "! model.yaml is wrong")
        return
    rtf = f"{card.realtime_factor:.0f}x RT" if card.realtime_factor is not None else "RT ?"
    _footer(draw, f"{_count(card.parameters)} par  {_bytes(card.size_bytes)}  {rtf}")


def _slider(draw: ImageDraw.ImageDraw, screen: SliderScreen, frame: Frame) -> None:
    item = screen.item
    _title(draw, item.label)
    value = frame.state.get(item.setting)
    text = item.spec.format(value)
    big = font(15, True)
    width = draw.textlength(text, font=big)
    stamp_text(draw, ((WIDTH - width) // 2, 13), text, font=big, fill=1)
    position = item.spec.unmap(value)
    draw.rectangle((4, 34, WIDTH - 5, 42), outline=1)
    if item.spec.minimum == -item.spec.maximum:
        _bipolar_bar(draw, 4, 34, WIDTH - 5, 42, 2 * position - 1)
    else:
        filled = 6 + round(position * (WIDTH - 12))
        if filled > 6:
            draw.rectangle((6, 36, filled - 1, 40), fill=1)
    if item.note:
        _footer(draw, item.note)


def _system(draw: ImageDraw.ImageDraw, frame: Frame) -> None:
    _title(draw, "System")
    info = frame.system
    if info is None:
        _lines(draw, ["no figures"])
        return
    cpu = f"CPU {info.cpu_percent:.0f}%" if info.cpu_percent is not None else "CPU ?"
    temperature = f"{info.temperature_c:.1f} C" if info.temperature_c is not None else "? C"
    memory = (f"Mem {info.memory_used_mb:.0f}/{info.memory_total_mb:.0f} MB"
              if info.memory_used_mb is not None and info.memory_total_mb is not None else "Mem ?")
    _lines(draw, [
        f"IP {info.ip_address or 'none'}",
        f"{cpu}   {temperature}",
        memory,
        f"Dropouts {frame.underflows}   up {_duration(info.uptime_s)}",
        f"Version {info.version}",
    ])


def _calibration(draw: ImageDraw.ImageDraw, frame: Frame) -> None:
    info = frame.calibration
    inputs = info.inputs if info is not None else ()
    _title(draw, "Calibration" + ("" if any(i.calibrated for i in inputs) else ": none"))
    if not inputs:
        _lines(draw, ["not available"])
        return
    lines = [f"CV{_number(i.name)} x{i.scale:.4f} {fixed(i.offset_volts, 3, signed=True)} V" for i in inputs[:4]]
    if not all(i.calibrated for i in inputs):
        lines.append("* board file's values")
    _lines(draw, lines)
    small = font(9)
    for index, entry in enumerate(inputs[:4]):
        if not entry.calibrated:  # the board file's nominal values
            stamp_text(draw, (WIDTH - draw.textlength("*", font=small) - 1, LIST_TOP + index * ROW_H - 1), "*",
                      font=small, fill=1)


def _calibrate(draw: ImageDraw.ImageDraw, screen: CalibrateScreen, frame: Frame) -> None:
    """The guided calibration: pick an input, patch two voltages, see and save the result."""
    progress = frame.calibrating
    if screen.name is None or progress is None:
        _title(draw, "Calibrate which CV?")
        known = {i.name: i for i in frame.calibration.inputs} if frame.calibration is not None else {}
        rows = [(f"CV {_number(name)}", "calibrated" if name in known and known[name].calibrated else "board")
                for name in screen.inputs]
        _list(draw, rows, screen.cursor, visible=4)
        _footer(draw, "press: start  hold: back")
        return
    if progress.scale is not None and not progress.saved:  # the result: Cancel / Save
        _title(draw, f"Save CV {_number(progress.name)} calibration?")
        _lines(draw, [f"scale x{progress.scale:.4f}", f"offset {fixed(progress.offset_volts, 3, signed=True)} V",
                      f"1V/oct was {progress.before_cents:+.1f} cents",
                      f"now within {progress.uncertainty_cents:.2f} cents"])
        _answers(draw, ("Cancel", "Save"), 1 if screen.save else 0)
        return
    _title(draw, f"Calibrate CV {_number(progress.name)}")
    if progress.saved:
        lines = ["Saved and applied:", f"x{progress.scale:.4f} {fixed(progress.offset_volts, 3, signed=True)} V", "", "press: done"]
    elif progress.reading:
        lines = [f"Reading {fixed(progress.volts, 3)} V ...", "keep the cable in"]
    else:
        step = f"{progress.readings_done + 1}/2"
        lines = [f"{step} Patch {fixed(progress.volts, 3)} V", f"into CV {_number(progress.name)}, then press.",
                 progress.error or "", "", "hold: cancel"]
    _lines(draw, lines)


def _number(name: str) -> str:
    """``cv3`` -> ``3``."""
    return name.removeprefix("cv")


def _routing(draw: ImageDraw.ImageDraw, frame: Frame) -> None:
    _title(draw, "CV routing")
    routing = frame.state.routing
    routes = [routing.cv1, routing.cv2, routing.cv3, routing.cv4]
    _lines(draw, [f"{i + 1} {r.target:<9}" for i, r in enumerate(routes)])
    small = font(9)
    for i, route in enumerate(routes):
        text = f"{fixed(route.amount, 2, signed=True)} {fixed(route.offset, 2, signed=True)}"
        stamp_text(draw, (WIDTH - draw.textlength(text, font=small), LIST_TOP + i * ROW_H), text, font=small, fill=1)


def _confirm(draw: ImageDraw.ImageDraw, screen: ConfirmScreen) -> None:
    _title(draw, screen.item.label)
    _lines(draw, wrap(screen.item.confirm or "", font(9), WIDTH - 4)[:3])
    _answers(draw, ("No", "Yes"), 1 if screen.yes else 0)


def _answers(draw: ImageDraw.ImageDraw, labels: tuple, chosen: int) -> None:
    """Two answer boxes along the bottom, the chosen one inverted."""
    for index, label in enumerate(labels):
        x = 20 + index * 56
        box = (x, 52, x + 32, 63)
        draw.rectangle(box, fill=1 if index == chosen else 0, outline=1)
        width = draw.textlength(label, font=font(9))
        stamp_text(draw, (x + (33 - width) // 2, 52), label, font=font(9), fill=0 if index == chosen else 1)


def _message(draw: ImageDraw.ImageDraw, screen: MessageScreen) -> None:
    _title(draw, screen.title)
    _lines(draw, wrap(screen.text, font(9), WIDTH - 4)[:5])


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


def _title(draw: ImageDraw.ImageDraw, text: str) -> None:
    draw.rectangle((0, 0, WIDTH - 1, TITLE_H - 1), fill=1)
    stamp_text(draw, (2, -1), fit(text, font(9, True), WIDTH - 4), font=font(9, True), fill=0)


def _list(draw: ImageDraw.ImageDraw, rows: list, cursor: int, visible: int = 5) -> None:
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


def _lines(draw: ImageDraw.ImageDraw, lines: list) -> None:
    small = font(9)
    for index, line in enumerate(lines[:5]):
        stamp_text(draw, (2, LIST_TOP + index * ROW_H - 1), fit(line, small, WIDTH - 4), font=small, fill=1)


def _footer(draw: ImageDraw.ImageDraw, text: str) -> None:
    draw.line((0, 52, WIDTH - 1, 52), fill=1)
    stamp_text(draw, (2, 53), fit(text, font(9), WIDTH - 4), font=font(9), fill=1)


def _bipolar_bar(draw: ImageDraw.ImageDraw, left: int, top: int, right: int, bottom: int, amount: float) -> None:
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


def _count(parameters: int) -> str:
    if parameters >= 1_000_000:
        return f"{parameters / 1e6:.1f}M"
    if parameters >= 1_000:
        return f"{parameters / 1e3:.0f}k"
    return str(parameters)


def _bytes(size: int) -> str:
    if size >= 1 << 20:
        return f"{size / (1 << 20):.1f}MB"
    return f"{size / 1024:.0f}kB"


def _duration(seconds) -> str:
    if seconds is None:
        return "?"
    seconds = int(seconds)
    if seconds >= 86400:
        return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
