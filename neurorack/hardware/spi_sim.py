"""A simulated SPI bus with an MCP3008 on it, for the real ``adafruit_mcp3xxx`` driver.

The bus implements the subset of ``busio.SPI`` that ``adafruit_bus_device.SPIDevice``
uses (``try_lock``, ``unlock``, ``configure``, ``write_readinto``, ``write``,
``readinto``), and the chip-select line the subset of ``digitalio.DigitalInOut``
(``switch_to_output``, ``value``). The chip answers bit by bit, as the datasheet draws it:

    CS   ‾‾\\________________________________________________/‾‾
    DIN     0 ... 0 1 SGL D2 D1 D0  x   x  ...                     (start bit, then 4 config bits)
    DOUT    ?  ?  ?  ?  ?  ?  ?  ?  ? NULL B9 B8 ... B0 B1 ... B9 0  (? = high impedance)
                                   '-- sample --'

After the start bit and the four configuration bits the chip samples for one and a half
clocks, sends a null bit (0), then the 10-bit code MSB first, then the code again LSB
first, then zeros. Bits while DOUT is high impedance read back as random values, so a
driver that does not mask them fails. The code is ``floor(1024 * Vin / Vref)``, clipped to
0..1023; a differential pair reads ``IN+ - IN-`` and clips at 0.

The chip's clock limit is enforced: above ``max_clock_hz`` (3.6 MHz at 5 V, 1.35 MHz at
2.7 V) the sample capacitor does not settle and the low bits come back wrong; below
10 kHz it droops. Such conversions are counted in ``bad_clock_conversions``.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable

CHANNELS = 8
MIN_CLOCK_HZ = 10_000


def mcp3008_max_clock_hz(supply_volts: float) -> float:
    """The datasheet's clock limit, interpolated between 2.7 V (1.35 MHz) and 5 V (3.6 MHz)."""
    fraction = min(max((supply_volts - 2.7) / (5.0 - 2.7), 0.0), 1.0)
    return 1_350_000 + fraction * (3_600_000 - 1_350_000)


# A source of pin voltages: ``volts(channel, time_s) -> volts at that ADC pin``.
PinVoltages = Callable[[int, float], float]


class SimulatedChipSelect:
    """An output pin, as ``digitalio.DigitalInOut`` is used by ``SPIDevice``: active low."""

    def __init__(self) -> None:
        self.value = True
        self.is_output = False

    def switch_to_output(self, value: bool = False, drive_mode=None) -> None:
        self.is_output = True
        self.value = bool(value)

    def deinit(self) -> None:
        self.is_output = False


class SimulatedMcp3008:
    """The chip: converts pin voltages into codes, bit by bit on its data-out line.

    Args:
        voltages: the voltage on each input pin at a given monotonic time.
        reference_volts: VREF.
        supply_volts: VDD; sets the clock limit.
        noise_lsb: RMS input-referred noise in LSBs (the real chip has about 0.5); 0 is ideal.
        seed: for the noise and the undefined bits.
        clock: the time source (``time.monotonic`` by default).
    """

    def __init__(self, voltages: PinVoltages, reference_volts: float = 3.3, supply_volts: float = 3.3,
                 noise_lsb: float = 0.0, seed: int | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.voltages = voltages
        self.reference_volts = reference_volts
        self.max_clock_hz = mcp3008_max_clock_hz(supply_volts)
        self.noise_lsb = noise_lsb
        self.clock = clock
        self._bits = random.Random(seed)
        self.conversions = 0
        self.bad_clock_conversions = 0
        self.unplugged: bool | None = None  # None: wired; True/False: DOUT floats high/low
        self.fail_next = 0  # transfers that raise OSError (as a failing spidev ioctl would)

    def code_for(self, single_ended: bool, channel_bits: int, time_s: float) -> int:
        """The conversion result for one frame's configuration, at ``time_s``."""
        if single_ended:
            volts = self.voltages(channel_bits, time_s)
        else:
            positive = channel_bits
            negative = channel_bits ^ 1  # pairs (0,1), (1,0), (2,3), ...
            volts = self.voltages(positive, time_s) - self.voltages(negative, time_s)
        exact = 1024.0 * volts / self.reference_volts
        if self.noise_lsb:
            exact += self._bits.gauss(0.0, self.noise_lsb)
        return int(min(max(math.floor(exact), 0), 1023))

    def transfer(self, mosi: bytes, clock_hz: float) -> bytearray:
        """Clock ``mosi`` in and return what DOUT drove during those clocks (one CS frame).

        Bits are numbered from the first clock (the MSB of the first byte) as index 0.
        """
        if self.fail_next > 0:
            self.fail_next -= 1
            raise OSError(5, "Input/output error")
        n_bits = 8 * len(mosi)
        if self.unplugged is not None:
            return bytearray((b"\xff" if self.unplugged else b"\x00") * len(mosi))
        floating = self._bits.getrandbits(n_bits) if n_bits else 0  # high impedance until the null bit
        word_in = int.from_bytes(mosi, "big")
        start = n_bits - word_in.bit_length()  # index of the start bit
        if word_in == 0 or start + 5 > n_bits:
            return bytearray(floating.to_bytes(len(mosi), "big"))
        config = (word_in >> (n_bits - start - 5)) & 0xF
        single_ended = bool(config & 0x8)
        code = self.code_for(single_ended, config & 0x7, self.clock())
        self.conversions += 1
        if not MIN_CLOCK_HZ <= clock_hz <= self.max_clock_hz:
            self.bad_clock_conversions += 1
            code ^= self._bits.randint(1, 63)  # the sample capacitor did not settle
        null_at = start + 6  # sampling spans the 1.5 clocks after D0
        # null bit, B9..B0 (MSB first), then B1..B9 (LSB first): 20 bits, then zeros
        stream = (code << 9) | _REVERSED_9[code >> 1]
        tail = n_bits - null_at
        if tail <= 0:
            return bytearray(floating.to_bytes(len(mosi), "big"))
        word_out = (floating >> tail) << tail
        word_out |= stream << (tail - 20) if tail >= 20 else stream >> (20 - tail)
        return bytearray(word_out.to_bytes(len(mosi), "big"))


_REVERSED_9 = [int(f"{value:09b}"[::-1], 2) for value in range(512)]  # B1..B9 as an LSB-first run


class SimulatedSpiBus:
    """The ``busio.SPI`` subset ``SPIDevice`` needs, with one chip behind one chip-select.

    MISO floats (random bytes) when the chip is not selected, and a transfer in an SPI
    mode the MCP3008 does not speak (it speaks modes 0 and 3) returns garbage, as on a wire.
    """

    def __init__(self, chip: SimulatedMcp3008, chip_select: SimulatedChipSelect | None = None):
        self.chip = chip
        self.chip_select = chip_select
        self._lock = threading.Lock()
        self.baudrate = 100_000
        self.polarity = 0
        self.phase = 0
        self.transfers = 0
        self._random = random.Random()

    def try_lock(self) -> bool:
        return self._lock.acquire(blocking=False)

    def unlock(self) -> None:
        self._lock.release()

    def configure(self, baudrate: int = 100_000, polarity: int = 0, phase: int = 0, bits: int = 8) -> None:
        if bits != 8:
            raise ValueError("the simulated bus moves 8-bit words")
        self.baudrate, self.polarity, self.phase = baudrate, polarity, phase

    def write_readinto(self, buffer_out, buffer_in, out_start: int = 0, out_end: int | None = None,
                       in_start: int = 0, in_end: int | None = None) -> None:
        out_end = len(buffer_out) if out_end is None else out_end
        in_end = len(buffer_in) if in_end is None else in_end
        if out_end - out_start != in_end - in_start:
            raise ValueError("buffer slices must be of equal length")
        reply = self._exchange(bytes(buffer_out[out_start:out_end]))
        buffer_in[in_start:in_end] = reply

    def write(self, buffer, start: int = 0, end: int | None = None) -> None:
        self._exchange(bytes(buffer[start:end]))

    def readinto(self, buffer, start: int = 0, end: int | None = None, write_value: int = 0) -> None:
        end = len(buffer) if end is None else end
        buffer[start:end] = self._exchange(bytes([write_value]) * (end - start))

    def _exchange(self, mosi: bytes) -> bytearray:
        if not self._lock.locked():
            raise RuntimeError("the SPI bus must be locked (try_lock) before a transfer")
        self.transfers += 1
        selected = self.chip_select is None or (self.chip_select.is_output and not self.chip_select.value)
        if not selected or self.polarity != self.phase:
            return bytearray(self._random.getrandbits(8 * len(mosi)).to_bytes(len(mosi), "big"))
        return self.chip.transfer(mosi, self.baudrate)

    def deinit(self) -> None:
        pass
