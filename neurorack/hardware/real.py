"""Real hardware: the MCP3008 on /dev/spidev and the GPIO libraries of each board.

Hardware libraries (Adafruit_PureIO, RPi.GPIO, Jetson.GPIO) are imported only inside
these functions. Missing devices and permissions become ``HardwareUnavailable`` errors
that say which interface to enable or which group to join.
"""

from __future__ import annotations

import grp
import os
from pathlib import Path

from neurorack.config.board import BoardConfig
from neurorack.errors import NeurorackError


class HardwareUnavailable(NeurorackError):
    """A bus or device the board file names cannot be used: missing, or no permission."""


def _enable_hint(interface: str, board: BoardConfig) -> str:
    if board.gpio.backend == "jetson-gpio":
        return f"enable {interface} on the 40-pin header with 'sudo /opt/nvidia/jetson-io/jetson-io.py', then reboot"
    return f"enable {interface} with 'sudo raspi-config' (Interface Options > {interface}), then reboot"


def _group_hint(path: Path, fallback: str) -> str:
    try:
        group = grp.getgrgid(path.stat().st_gid).gr_name
    except (KeyError, OSError):
        group = fallback
    return f"join the '{group}' group ('sudo usermod -aG {group} $USER', then log in again)"


def check_device(path: Path, interface: str, group: str, board: BoardConfig) -> None:
    """Raise ``HardwareUnavailable`` unless ``path`` exists and is readable and writable."""
    if not path.exists():
        raise HardwareUnavailable(f"{path} not found: {interface} is not enabled; {_enable_hint(interface, board)}")
    if not os.access(path, os.R_OK | os.W_OK):
        raise HardwareUnavailable(f"no permission to use {path}: {_group_hint(path, group)}")


def spi_device_path(board: BoardConfig) -> Path:
    return Path(f"/dev/spidev{board.adc.spi_bus}.{board.adc.chip_select}")


class KernelSpiBus:
    """The ``busio.SPI`` subset the Adafruit driver uses, over a kernel spidev device.

    The kernel drives the chip-select line of ``/dev/spidev<bus>.<cs>`` itself, so the
    driver is given no CS pin; any bus and CE line works.
    """

    def __init__(self, bus: int, chip_select: int):
        import threading

        from Adafruit_PureIO.spi import SPI  # installed with adafruit-blinka

        self._spi = SPI(device=(bus, chip_select))
        self._lock = threading.Lock()

    def try_lock(self) -> bool:
        return self._lock.acquire(blocking=False)

    def unlock(self) -> None:
        self._lock.release()

    def configure(self, baudrate: int = 100_000, polarity: int = 0, phase: int = 0, bits: int = 8) -> None:
        self._spi.max_speed_hz = baudrate
        self._spi.mode = (polarity << 1) | phase
        self._spi.bits_per_word = bits

    def write_readinto(self, buffer_out, buffer_in, out_start=0, out_end=None, in_start=0, in_end=None) -> None:
        out_end = len(buffer_out) if out_end is None else out_end
        in_end = len(buffer_in) if in_end is None else in_end
        reply = self._spi.transfer(list(buffer_out[out_start:out_end]))
        buffer_in[in_start:in_end] = bytes(reply)

    def deinit(self) -> None:
        self._spi.close()


def open_spidev_adc(board: BoardConfig):
    """The real MCP3008 on ``/dev/spidev<bus>.<cs>``.

    Raises:
        HardwareUnavailable: SPI not enabled, or no permission.
    """
    from neurorack.hardware.opened_adc import OpenedAdc

    path = spi_device_path(board)
    check_device(path, "SPI", "spi", board)
    from adafruit_mcp3xxx.mcp3008 import MCP3008

    try:
        bus = KernelSpiBus(board.adc.spi_bus, board.adc.chip_select)
    except OSError as exc:
        raise HardwareUnavailable(f"cannot open {path}: {exc.strerror}; {_group_hint(path, 'spi')}") from None
    driver = MCP3008(bus, None, ref_voltage=board.adc.reference_volts, baudrate=board.adc.clock_hz)
    return OpenedAdc(driver, bus.deinit, f"MCP3008 on {path} at {board.adc.clock_hz} Hz")


def import_gpio(board: BoardConfig):
    """The board's RPi.GPIO-API module (RPi.GPIO, rpi-lgpio's RPi.GPIO, or Jetson.GPIO).

    Raises:
        HardwareUnavailable: the library is missing, refuses this machine, or GPIO is not accessible.
    """
    backend = board.gpio.backend
    extra = {"rpi-gpio": "pi", "rpi-lgpio": "pi5", "jetson-gpio": "jetson"}[backend]
    chips = sorted(Path("/dev").glob("gpiochip*")) + [Path("/dev/gpiomem")]
    present = [chip for chip in chips if chip.exists()]
    if not present:
        raise HardwareUnavailable(f"no GPIO device (/dev/gpiochip*, /dev/gpiomem) on this machine: the board file "
                                  f"says {backend}; run on the module, or use 'board: mock'")
    if not any(os.access(chip, os.R_OK | os.W_OK) for chip in present):
        raise HardwareUnavailable(f"no permission to use {present[0]}: {_group_hint(present[0], 'gpio')}")
    try:
        if backend == "jetson-gpio":
            from Jetson import GPIO
        else:
            from RPi import GPIO  # rpi-lgpio provides the same module name on a Pi 5
    except ImportError:
        raise HardwareUnavailable(f"the GPIO library for {backend} is not installed: "
                                  f"pip install 'neurorack[{extra}]'") from None
    except RuntimeError as exc:  # RPi.GPIO: "This module can only be run on a Raspberry Pi!"
        raise HardwareUnavailable(f"{backend}: {exc}; use the board file that matches this machine") from None
    return GPIO
