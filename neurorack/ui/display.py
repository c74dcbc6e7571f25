"""Display backends: where the UI's 1-bit 128x64 images go.

- the OLED itself: ``neurorack.hardware.oled`` (the hardware backend, over luma).
- ``PngFrames``: every shown frame as a numbered PNG (mock mode).
- ``GifRecorder``: frames with their times, written as an animated GIF on ``close``.
- ``TerminalView``: a live view in a terminal, fitted to its size, with the log below it.

Every backend has ``show(image)``, ``set_brightness(level)`` and ``close()`` and is a
context manager.
"""

from __future__ import annotations

import itertools
import logging
import os
import shutil
import sys
import textwrap
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import IO, Protocol

import numpy as np
from PIL import Image

from neurorack.atomic import atomic_open


class Display(Protocol):
    def show(self, image: Image.Image) -> None:
        """Put a mode "1" 128x64 image on the screen."""

    def set_brightness(self, level: float) -> None:
        """Screen brightness 0..1."""

    def close(self) -> None:
        """Release the screen (blank it, free the bus)."""


class _Closing:
    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def set_brightness(self, level: float) -> None:
        pass

    def close(self) -> None:
        pass


class PngFrames(_Closing):
    """Writes each shown frame to ``folder/frame-00001.png``, ``frame-00002.png``, ...

    ``scale`` enlarges the pixels (nearest neighbour) for viewing.
    """

    def __init__(self, folder: str | Path, scale: int = 1):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.scale = scale
        self.count = 0

    def show(self, image: Image.Image) -> None:
        self.count += 1
        save_png(image, self.folder / f"frame-{self.count:05d}.png", self.scale)


class GifRecorder(_Closing):
    """Collects frames with the time they were shown and writes an animated GIF on ``close``.

    Args:
        path: the GIF to write.
        clock: the time in seconds (a real or a virtual clock).
        scale: pixel enlargement. The last frame lasts until ``close``.
    """

    def __init__(self, path: str | Path, clock: Callable[[], float], scale: int = 2):
        self.path = Path(path)
        self.clock = clock
        self.scale = scale
        self.frames: list[tuple[float, Image.Image]] = []

    def show(self, image: Image.Image) -> None:
        self.frames.append((self.clock(), image.copy()))

    def close(self) -> None:
        if not self.frames:
            return
        end = self.clock()
        times = [t for t, _ in self.frames] + [max(end, self.frames[-1][0] + 0.1)]
        durations = [max(20, round((b - a) * 1000)) for a, b in itertools.pairwise(times)]
        images = [_scaled(image, self.scale).convert("P") for _, image in self.frames]
        with atomic_open(self.path, "wb") as stream:
            images[0].save(stream, format="GIF", save_all=True, append_images=images[1:], duration=durations,
                           loop=0, optimize=False, disposal=1)
        self.frames = []


class TerminalView(_Closing):
    """A live view in a terminal, fitted to its size, with the log below the picture.

    - ``FULL_SIZE`` characters or more: each character shows two pixel rows (half blocks);
    - ``SMALL_SIZE`` or more: each character shows 2x4 pixels (braille dots);
    - smaller: a line saying which size is needed.

    The rows below the picture show the latest log lines (``capture_log``). Every line is
    drawn at its own row, and only the lines that changed, so a frame costs little and
    nothing scrolls; a resized terminal is cleared and redrawn.

    Args:
        stream: the terminal (default: stdout).
        size: returns the terminal's ``os.terminal_size`` (default: the stream's own size, as
            it is now, not ``$COLUMNS``/``$LINES``).
    """

    FULL_SIZE = (128, 33)
    SMALL_SIZE = (64, 17)
    max_fps = 10.0  # the UI redraws it at most this often: text drawing competes with the render thread
    LOG_LINES = 200

    def __init__(self, stream: IO[str] | None = None, size: Callable[[], os.terminal_size] | None = None):
        self.stream = stream or sys.stdout
        self.size = size or self._stream_size
        self.log_lines: deque[str] = deque(maxlen=self.LOG_LINES)
        self._lock = threading.Lock()
        self._drawn: dict[int, str] = {}  # row -> text on screen
        self._screen: tuple[int, int] | None = None  # (columns, rows) drawn for
        self._picture_rows = 0
        self._set_aside: tuple | None = None

    def _stream_size(self) -> os.terminal_size:
        try:
            size = os.get_terminal_size(self.stream.fileno())
        except (AttributeError, OSError, ValueError):
            return shutil.get_terminal_size()
        return size if size.columns > 0 and size.lines > 0 else shutil.get_terminal_size()

    def show(self, image: Image.Image) -> None:
        with self._lock:
            columns, rows = self.size()
            prefix = ""
            if self._screen != (columns, rows):
                prefix = "\x1b[?25l\x1b[2J"  # hide the cursor, clear
                self._screen, self._drawn = (columns, rows), {}
            picture = fitted_text(image, columns, rows)
            self._picture_rows = len(picture)
            self._write(prefix, picture + self._log_rows(), 1)

    def log(self, text: str) -> None:
        """Add a log record's text to the log area (any thread)."""
        with self._lock:
            self.log_lines.extend(text.splitlines() or [""])
            if self._screen is not None:
                self._write("", self._log_rows(), self._picture_rows + 1)

    def capture_log(self, logger: logging.Logger | None = None) -> TerminalView:
        """Send the lines of ``logger`` (default: the root logger) to the log area: its handlers
        that write to a terminal are set aside until ``close``, so no line lands on the picture."""
        logger = logger or logging.getLogger()
        moved = [h for h in logger.handlers if _writes_to_terminal(h)]
        if moved:
            area = _LogArea(self)
            area.setFormatter(moved[0].formatter)
            for handler in moved:
                logger.removeHandler(handler)
            logger.addHandler(area)
            self._set_aside = (logger, moved, area)
        return self

    def close(self) -> None:
        with self._lock:
            if self._screen is not None:  # the cursor back, below everything drawn
                self.stream.write(f"\x1b[{self._screen[1]};1H\n\x1b[?25h")
                self.stream.flush()
                self._screen = None
        if self._set_aside is not None:
            logger, moved, area = self._set_aside
            logger.removeHandler(area)
            for handler in moved:
                logger.addHandler(handler)
            self._set_aside = None

    def _log_rows(self) -> list[str]:
        columns, rows = self._screen
        room = rows - self._picture_rows
        if room <= 0 or columns <= 0:
            return []
        wrapped = [part for line in list(self.log_lines)[-room:]
                   for part in textwrap.wrap(line, columns, drop_whitespace=False) or [""]]
        return wrapped[-room:] + [""] * (room - len(wrapped))

    def _write(self, prefix: str, lines: list[str], first_row: int) -> None:
        """Draw ``lines`` from row ``first_row`` down, leaving those already on screen."""
        parts = [prefix]
        for row, line in enumerate(lines, first_row):
            if self._drawn.get(row) != line:
                self._drawn[row] = line
                parts.append(f"\x1b[{row};1H{line}\x1b[K")
        self.stream.write("".join(parts))
        self.stream.flush()


class _LogArea(logging.Handler):
    """A logging handler that writes into a ``TerminalView``'s log area."""

    def __init__(self, view: TerminalView):
        super().__init__()
        self.view = view

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.view.log(self.format(record))
        except Exception:  # noqa: BLE001 - logging must not raise
            self.handleError(record)


def _writes_to_terminal(handler: logging.Handler) -> bool:
    stream = getattr(handler, "stream", None)
    try:
        return not isinstance(handler, logging.FileHandler) and bool(stream and stream.isatty())
    except (AttributeError, ValueError):
        return False


def fitted_text(image: Image.Image, columns: int, rows: int) -> list[str]:
    """The lines that show ``image`` in a ``columns`` x ``rows`` terminal, leaving at least
    one row for the log (see ``TerminalView``)."""
    if columns >= TerminalView.FULL_SIZE[0] and rows >= TerminalView.FULL_SIZE[1]:
        return terminal_text(image).split("\n")
    if columns >= TerminalView.SMALL_SIZE[0] and rows >= TerminalView.SMALL_SIZE[1]:
        return braille_text(image).split("\n")
    (small_columns, small_rows), (full_columns, full_rows) = TerminalView.SMALL_SIZE, TerminalView.FULL_SIZE
    message = (f"the screen needs a terminal of {small_columns}x{small_rows} characters "
               f"({full_columns}x{full_rows} for full size); this one is {columns}x{rows}")
    return textwrap.wrap(message, max(columns, 1))[:max(rows - 1, 1)] if columns > 0 and rows > 0 else []


HALF_BLOCKS = str.maketrans({0: " ", 1: "\u2580", 2: "\u2584", 3: "\u2588"})
BRAILLE = str.maketrans({0: " ", **{code: chr(0x2800 + code) for code in range(1, 256)}})
BRAILLE_DOTS = ((0, 0, 0x01), (0, 1, 0x02), (0, 2, 0x04), (1, 0, 0x08), (1, 1, 0x10), (1, 2, 0x20),
                (0, 3, 0x40), (1, 3, 0x80))  # (x, y, bit) in a 2x4 cell


def terminal_text(image: Image.Image) -> str:
    """``image`` as lines of half-block characters, 2 pixel rows per line."""
    pixels = _padded_pixels(image, 1, 2)
    return _text(pixels[0::2] | pixels[1::2] << 1, HALF_BLOCKS)


def braille_text(image: Image.Image) -> str:
    """``image`` as lines of braille characters, 2x4 pixels per character."""
    pixels = _padded_pixels(image, 2, 4)
    codes = np.zeros((pixels.shape[0] // 4, pixels.shape[1] // 2), dtype=np.uint8)
    for x, y, bit in BRAILLE_DOTS:
        codes |= pixels[y::4, x::2] * np.uint8(bit)
    return _text(codes, BRAILLE)


def _padded_pixels(image: Image.Image, cell_width: int, cell_height: int) -> np.ndarray:
    """The image's pixels as a 0/1 array, padded with 0 to whole cells."""
    pixels = np.asarray(image.convert("1"), dtype=np.uint8)
    height, width = pixels.shape
    return np.pad(pixels, ((0, -height % cell_height), (0, -width % cell_width)))


def _text(codes: np.ndarray, table: dict) -> str:
    return "\n".join(row.tobytes().decode("latin-1").translate(table) for row in codes)


class Tee(_Closing):
    """Shows each frame on several displays."""

    def __init__(self, *displays: Display):
        self.displays = displays

    def show(self, image: Image.Image) -> None:
        for display in self.displays:
            display.show(image)

    def set_brightness(self, level: float) -> None:
        for display in self.displays:
            display.set_brightness(level)

    def close(self) -> None:
        for display in self.displays:
            display.close()


def save_png(image: Image.Image, path: str | Path, scale: int = 1) -> Path:
    """Write ``image`` (enlarged ``scale`` times) as a PNG, atomically."""
    with atomic_open(path, "wb") as stream:
        _scaled(image, scale).save(stream, format="PNG")
    return Path(path)


def _scaled(image: Image.Image, scale: int) -> Image.Image:
    if scale == 1:
        return image
    return image.resize((image.width * scale, image.height * scale), Image.NEAREST)
