"""The OLED backend: the real luma.oled ``ssd1306`` and ``sh1106`` devices drive a recording
serial interface; a small controller model decodes the bytes back into a framebuffer,
which must equal the rendered page."""

from __future__ import annotations

import pytest
from luma.oled.device import sh1106, ssd1306
from PIL import Image

from neurorack.config.state import ModuleState
from neurorack.errors import NeurorackError
from neurorack.hardware.oled import LumaDisplay, open_oled
from neurorack.ui.frame import Frame
from neurorack.ui.menu_file import load_menu
from neurorack.ui.pages import HomeScreen, MenuScreen
from neurorack.ui.render import render

# Commands of the SSD1306/SH1106 and how many argument bytes follow each.
ARGUMENT_COUNTS = {0x20: 1, 0x21: 2, 0x22: 2, 0x81: 1, 0x8D: 1, 0xA8: 1, 0xD3: 1, 0xD5: 1, 0xD9: 1,
                   0xDA: 1, 0xDB: 1, 0xAD: 1}


class RecordingSerial:
    """A luma serial interface that keeps every command and data byte, and models the
    controller's RAM: column/page address windows (horizontal addressing, SSD1306) and
    page addressing with column low/high nibbles (SH1106)."""

    def __init__(self, width: int = 128, pages: int = 8, column_offset: int = 0):
        self.commands: list[int] = []
        self.ram = [[0] * (width + 2 * column_offset) for _ in range(pages)]
        self.column_offset = column_offset
        self.column_window = (0, width - 1)
        self.page_window = (0, pages - 1)
        self.column = 0
        self.page = 0
        self.contrast = None
        self.display_on = None
        self.cleaned = False

    def command(self, *codes: int) -> None:
        codes = list(codes)
        self.commands += codes
        index = 0
        while index < len(codes):
            code = codes[index]
            count = ARGUMENT_COUNTS.get(code, 0)
            args = codes[index + 1:index + 1 + count]
            index += 1 + count
            if code == 0x21:
                self.column_window = tuple(args)
                self.column = args[0]
            elif code == 0x22:
                self.page_window = tuple(args)
                self.page = args[0]
            elif code == 0x81:
                self.contrast = args[0]
            elif code in (0xAE, 0xAF):
                self.display_on = code == 0xAF
            elif 0xB0 <= code <= 0xB7:  # SH1106 page address
                self.page = code - 0xB0
                self.page_window = None
            elif code <= 0x0F:  # SH1106 column low nibble
                self.column = (self.column & 0xF0) | code
            elif 0x10 <= code <= 0x1F:  # SH1106 column high nibble
                self.column = (self.column & 0x0F) | ((code - 0x10) << 4)

    def data(self, values) -> None:
        for value in values:
            self.ram[self.page][self.column] = value
            if self.page_window is None:  # page addressing: the column just advances
                self.column += 1
                continue
            if self.column < self.column_window[1]:
                self.column += 1
            else:
                self.column = self.column_window[0]
                self.page = self.page + 1 if self.page < self.page_window[1] else self.page_window[0]

    def cleanup(self) -> None:
        self.cleaned = True

    def framebuffer(self, width: int = 128) -> Image.Image:
        """The controller RAM as an image: each byte is 8 vertical pixels, bit 0 on top."""
        image = Image.new("1", (width, len(self.ram) * 8), 0)
        pixels = image.load()
        for page, row in enumerate(self.ram):
            for x in range(width):
                byte = row[x + self.column_offset]
                for bit in range(8):
                    pixels[x, page * 8 + bit] = 1 if byte >> bit & 1 else 0
        return image


def pages():
    menu = load_menu()
    state = ModuleState(sound="Kick 808", model="drums-trimmed")
    return [render(Frame(HomeScreen(), state)), render(Frame(MenuScreen(menu.root, 3), state))]


@pytest.mark.parametrize("page_index", [0, 1])
def test_ssd1306_byte_stream_decodes_to_the_rendered_page(page_index):
    serial = RecordingSerial()
    display = LumaDisplay(ssd1306(serial, width=128, height=64))
    assert serial.display_on is True  # luma's start-up sequence switched the panel on
    assert 0xA8 in serial.commands and serial.commands[serial.commands.index(0xA8) + 1] == 0x3F  # 64 rows
    image = pages()[page_index]
    assert image.getbbox() is not None
    display.show(image)
    assert serial.framebuffer().tobytes() == image.tobytes()


def test_ssd1306_second_frame_replaces_the_first():
    serial = RecordingSerial()
    display = LumaDisplay(ssd1306(serial))
    first, second = pages()
    display.show(first)
    display.show(second)
    assert serial.framebuffer().tobytes() == second.tobytes()


def test_sh1106_byte_stream_decodes_to_the_rendered_page():
    serial = RecordingSerial(column_offset=2)  # the SH1106 has 132 columns, the panel shows 2..129
    display = LumaDisplay(sh1106(serial, width=128, height=64))
    image = pages()[1]
    display.show(image)
    assert serial.framebuffer().tobytes() == image.tobytes()


def test_brightness_and_close_reach_the_controller():
    serial = RecordingSerial()
    display = LumaDisplay(ssd1306(serial))
    display.set_brightness(0.5)
    assert serial.contrast == 128
    display.set_brightness(3.0)
    assert serial.contrast == 255
    display.close()
    assert serial.cleaned


def test_open_oled_refuses_unknown_controller_and_bus():
    with pytest.raises(NeurorackError, match="expected one of ssd1306, sh1106, got 'ssd1309'"):
        open_oled("ssd1309")
    with pytest.raises(NeurorackError, match="expected one of i2c, spi, got 'uart'"):
        open_oled(bus="uart")


def test_open_oled_without_a_bus_is_a_clear_error():
    with pytest.raises(NeurorackError, match="cannot open the OLED on i2c port 97"):
        open_oled(port=97)
