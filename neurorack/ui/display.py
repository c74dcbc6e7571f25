"""Display backends: where the UI's 1-bit 128x64 images go.

- ``LumaDisplay``: any luma device; ``open_oled`` builds an SSD1306 or SH1106 on I2C or SPI
  (the only place that imports luma's serial interfaces).
- ``PngFrames``: every shown frame as a numbered PNG (mock mode).
- ``GifRecorder``: frames with their times, written as an animated GIF on ``close``.
- ``TerminalView``: a live view in a terminal, two pixel rows per character.

Every backend has ``show(image)``, ``set_brightness(level)`` and ``close()`` and is a
context manager.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, ClassVar, Protocol

from PIL import Image

from neurorack.atomic import atomic_open
from neurorack.errors import NeurorackError

CONTROLLERS = ("ssd1306", "sh1106")
BUSES = ("i2c", "spi")


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


class LumaDisplay(_Closing):
    """A luma.oled device (or any luma device with ``display``/``contrast``/``cleanup``)."""

    def __init__(self, device):
        self.device = device

    def show(self, image: Image.Image) -> None:
        self.device.display(image)

    def set_brightness(self, level: float) -> None:
        self.device.contrast(round(min(max(level, 0.0), 1.0) * 255))

    def close(self) -> None:
        self.device.cleanup()


def open_oled(controller: str = "ssd1306", bus: str = "i2c", port: int = 1, address: int = 0x3C,
              spi_device: int = 0, gpio_dc: int = 24, gpio_reset: int = 25, rotate: int = 0) -> LumaDisplay:
    """The module's OLED.

    Args:
        controller: ``ssd1306`` or ``sh1106``.
        bus: ``i2c`` (``port``, ``address``) or ``spi`` (``port``, ``spi_device``, and the
            data/command and reset GPIO pins, BCM numbers).
        rotate: 0..3 quarter turns.

    Raises:
        NeurorackError: an unknown controller or bus, or the bus cannot be opened.
    """
    if controller not in CONTROLLERS:
        raise NeurorackError(f"screen controller: expected one of {', '.join(CONTROLLERS)}, got {controller!r}")
    if bus not in BUSES:
        raise NeurorackError(f"screen bus: expected one of {', '.join(BUSES)}, got {bus!r}")
    from luma.core.interface import serial
    from luma.oled import device as oled

    try:
        if bus == "i2c":
            interface = serial.i2c(port=port, address=address)
        else:
            interface = serial.spi(port=port, device=spi_device, gpio_DC=gpio_dc, gpio_RST=gpio_reset)
    except Exception as exc:  # noqa: BLE001 - luma raises several kinds for a missing bus
        raise NeurorackError(f"cannot open the OLED on {bus} port {port}: {exc}") from None
    return LumaDisplay(getattr(oled, controller)(interface, width=128, height=64, rotate=rotate))


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
    """A live view in a terminal: each character shows two pixel rows (upper/lower half blocks).

    The cursor goes home before each frame, so the picture redraws in place.
    """

    BLOCKS: ClassVar[dict] = {(0, 0): " ", (1, 0): "\u2580", (0, 1): "\u2584", (1, 1): "\u2588"}

    def __init__(self, stream: IO[str] | None = None):
        self.stream = stream or sys.stdout

    def show(self, image: Image.Image) -> None:
        self.stream.write("\x1b[H" + terminal_text(image) + "\n")
        self.stream.flush()


def terminal_text(image: Image.Image) -> str:
    """``image`` as lines of half-block characters, 2 pixel rows per line."""
    pixels = image.convert("1").load()
    width, height = image.size
    lines = []
    for y in range(0, height, 2):
        lines.append("".join(TerminalView.BLOCKS[(int(pixels[x, y] > 0),
                                                  int(y + 1 < height and pixels[x, y + 1] > 0))]
                             for x in range(width)))
    return "\n".join(lines)


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
