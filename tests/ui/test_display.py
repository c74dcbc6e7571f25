"""Display backends: PNG frames, the GIF recorder, the terminal view and the tee (the OLED
itself is tested in tests/hardware/test_oled.py, whose recording serial interface the tee
test borrows)."""

from __future__ import annotations

import io
import logging
import os
import re

import pytest
from luma.oled.device import ssd1306
from PIL import Image

from neurorack.hardware.oled import LumaDisplay
from neurorack.ui.display import (
    GifRecorder,
    PngFrames,
    Tee,
    TerminalView,
    braille_text,
    terminal_text,
)
from tests.hardware.test_oled import RecordingSerial, pages
from tests.ui.conftest import Clock


def test_png_frames_are_numbered_and_lossless(tmp_path):
    with PngFrames(tmp_path, scale=1) as frames:
        for image in pages():
            frames.show(image)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["frame-00001.png", "frame-00002.png"]
    assert Image.open(tmp_path / files[1]).convert("1").tobytes() == pages()[1].tobytes()


def test_gif_keeps_frames_and_their_durations(tmp_path):
    clock = Clock()
    path = tmp_path / "ui.gif"
    recorder = GifRecorder(path, clock, scale=1)
    first, second = pages()
    recorder.show(first)
    clock.now = 0.5
    recorder.show(second)
    clock.now = 1.75
    recorder.close()
    gif = Image.open(path)
    assert gif.n_frames == 2
    durations = []
    for index in range(2):
        gif.seek(index)
        durations.append(gif.info["duration"])
        expected = (first, second)[index]
        assert gif.convert("1").tobytes() == expected.tobytes()
    assert durations == [500, 1250]


def test_terminal_view_draws_two_rows_per_character():
    image = Image.new("1", (4, 4), 0)
    image.putpixel((0, 0), 1)
    image.putpixel((1, 1), 1)
    image.putpixel((2, 0), 1)
    image.putpixel((2, 1), 1)
    assert terminal_text(image) == "\u2580\u2584\u2588 \n    "
    stream = io.StringIO()
    TerminalView(stream, size=lambda: os.terminal_size((128, 33))).show(pages()[0])
    rows = drawn_rows(stream.getvalue())
    assert sorted(rows) == list(range(1, 34))
    assert all(len(rows[row]) == 128 for row in range(1, 33)) and rows[1] == terminal_text(pages()[0]).split("\n")[0]


def test_braille_text_draws_two_by_four_pixels_per_character():
    image = Image.new("1", (4, 4), 0)
    image.putpixel((0, 0), 1)
    image.putpixel((1, 3), 1)
    image.putpixel((3, 1), 1)
    assert braille_text(image) == "\u2881\u2810"  # dots 1 and 8; dot 5


def drawn_rows(text: str) -> dict[int, str]:
    """What a terminal shows after ``text``, which places every line with a cursor move:
    row -> characters (the last text written at that row)."""
    rows = {}
    for row, line in re.findall(r"\x1b\[(\d+);1H([^\x1b]*)", text):
        rows[int(row)] = line
    return rows


@pytest.mark.parametrize(("columns", "rows", "picture_rows", "width"),
                         [(128, 33, 32, 128), (200, 60, 32, 128), (80, 24, 16, 64), (64, 17, 16, 64),
                          (127, 40, 16, 64), (60, 20, None, None), (128, 16, None, None), (20, 5, None, None)])
def test_the_terminal_view_fits_the_terminal_and_keeps_the_log_below_the_screen(columns, rows, picture_rows, width):
    stream = io.StringIO()
    view = TerminalView(stream, size=lambda: os.terminal_size((columns, rows)))
    view.log("05:45:09 INFO    neurorack: first line")
    view.show(pages()[0])
    view.log("05:45:10 WARNING neurorack: " + "a long line " * 20)
    shown = drawn_rows(stream.getvalue())
    assert all(1 <= row <= rows and len(line) <= columns for row, line in shown.items())
    assert "\n" not in stream.getvalue()  # nothing scrolls
    if picture_rows is None:
        assert "the screen needs a terminal of 64x17 characters (128x33 for full size)" in " ".join(
            shown[row] for row in sorted(shown))
        return
    assert all(len(shown[row]) == width for row in range(1, picture_rows + 1))
    log = [shown[row] for row in range(picture_rows + 1, rows + 1) if shown[row]]
    assert "a long line" in log[-1]  # the newest log line, last
    if rows - picture_rows >= 5:
        assert log[0] == "05:45:09 INFO    neurorack: first line"
    view.close()
    assert stream.getvalue().endswith(f"\x1b[{rows};1H\n\x1b[?25h")  # the cursor below it all


def test_the_terminal_view_redraws_only_changed_lines_and_all_after_a_resize():
    size = [os.terminal_size((128, 40))]
    stream = io.StringIO()
    view = TerminalView(stream, size=lambda: size[0])
    view.show(pages()[0])
    stream.seek(0)
    stream.truncate()
    view.show(pages()[0])
    assert drawn_rows(stream.getvalue()) == {}
    size[0] = os.terminal_size((80, 24))
    view.show(pages()[1])
    assert "\x1b[2J" in stream.getvalue() and sorted(drawn_rows(stream.getvalue())) == list(range(1, 25))


def test_captured_log_lines_go_to_the_log_area_until_the_view_closes():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    logger = logging.getLogger("neurorack-test-terminal")
    logger.propagate = False
    handler = logging.StreamHandler(terminal)
    logger.addHandler(handler)
    view = TerminalView(io.StringIO(), size=lambda: os.terminal_size((80, 24))).capture_log(logger)
    view.show(pages()[0])
    logger.warning("while the screen is drawn")
    assert terminal.getvalue() == "" and list(view.log_lines) == ["while the screen is drawn"]
    assert drawn_rows(view.stream.getvalue())[17] == "while the screen is drawn"
    view.close()
    logger.warning("after")
    assert logger.handlers == [handler] and terminal.getvalue() == "after\n"
    logger.removeHandler(handler)


def test_tee_shows_on_every_display():
    serials = [RecordingSerial(), RecordingSerial()]
    tee = Tee(*(LumaDisplay(ssd1306(s)) for s in serials))
    tee.show(pages()[1])
    tee.set_brightness(0.0)
    for serial in serials:
        assert serial.framebuffer().tobytes() == pages()[1].tobytes()
        assert serial.contrast == 0
