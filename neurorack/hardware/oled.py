"""The module's OLED: an SSD1306 or SH1106 on I2C or SPI, through luma.oled (the only place
that imports luma), shown as a UI display."""

from __future__ import annotations

import warnings

from PIL import Image

from neurorack.errors import NeurorackError

CONTROLLERS = ("ssd1306", "sh1106")
BUSES = ("i2c", "spi")

# luma.oled 3.16 (the latest release) still calls Image.getdata, which Pillow 13 deprecates.
# The call is luma's, not ours, so its warning is silenced here, where luma is used, for
# luma's modules only; our own code never calls getdata (the suite fails if it does).
warnings.filterwarnings("ignore", message=r"Image\.Image\.getdata is deprecated", category=DeprecationWarning,
                        module=r"luma\.")


class LumaDisplay:
    """A luma.oled device (or any luma device with ``display``/``contrast``/``cleanup``), as a
    UI display (``neurorack.ui.display.Display``)."""

    def __init__(self, device):
        self.device = device

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

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
