"""neurorack.hardware.spi_sim: the real adafruit MCP3008 driver over the simulated bus."""

from __future__ import annotations

import math

import pytest
from adafruit_mcp3xxx.analog_in import AnalogIn
from adafruit_mcp3xxx.mcp3008 import MCP3008

from neurorack.hardware.spi_sim import (
    SimulatedChipSelect,
    SimulatedMcp3008,
    SimulatedSpiBus,
    mcp3008_max_clock_hz,
)

VREF = 3.3
LSB = VREF / 1024


def make(volts: list[float], baudrate: int = 1_000_000, supply_volts: float = 3.3, seed: int = 1):
    chip = SimulatedMcp3008(lambda channel, t: volts[channel], VREF, supply_volts, seed=seed)
    cs = SimulatedChipSelect()
    bus = SimulatedSpiBus(chip, cs)
    return MCP3008(bus, cs, ref_voltage=VREF, baudrate=baudrate), chip, bus, cs


def test_single_ended_codes_are_exact_to_the_lsb_on_every_channel():
    volts = [0.0, LSB * 0.999, LSB * 1.0001, 1.0, 1.65, 2.5, VREF - LSB * 0.5, VREF + 0.2]
    driver, chip, _, _ = make(volts)
    for _ in range(5):  # the undefined bits are random each time; the code must not be
        for channel, v in enumerate(volts):
            expected = min(math.floor(1024 * v / VREF), 1023)
            assert driver.read(channel) == expected, (channel, v)
    assert [driver.read(c) for c in range(8)] == [0, 0, 1, 310, 512, 775, 1023, 1023]
    assert chip.conversions == 6 * 8


def test_analog_in_voltage_is_within_one_lsb_on_every_channel():
    volts = [0.1 + 0.4 * c for c in range(8)]
    driver, _, _, _ = make(volts)
    for channel, v in enumerate(volts):
        assert abs(AnalogIn(driver, channel).voltage - v) < LSB


def test_differential_pairs_read_the_difference_and_clip_at_zero():
    volts = [2.0, 0.5, 1.0, 3.0, 1.2, 1.2, 3.2, 0.0]
    driver, _, _, _ = make(volts)
    assert AnalogIn(driver, 0, 1).value >> 6 == math.floor(1024 * 1.5 / VREF)
    assert driver.read(1, is_differential=True) == 0           # CH1 - CH0 < 0
    assert driver.read(3, is_differential=True) == math.floor(1024 * 2.0 / VREF)
    assert driver.read(4, is_differential=True) == 0
    assert driver.read(6, is_differential=True) == 992 == math.floor(1024 * 3.2 / VREF)


def test_undefined_bits_are_random_so_an_unmasked_reply_would_be_wrong():
    volts = [1.0] * 8
    chip = SimulatedMcp3008(lambda c, t: volts[c], VREF, seed=3)
    first_bytes = {chip.transfer(bytes([0x01, 0x80, 0x00]), 1e6)[0] for _ in range(50)}
    assert len(first_bytes) > 10
    replies = {bytes(chip.transfer(bytes([0x01, 0x80, 0x00]), 1e6))[1] & 0x07 for _ in range(50)}
    assert replies == {(310 >> 8) & 0x03}  # null bit 0, then B9 B8


def test_a_longer_frame_clocks_the_code_out_again_lsb_first_then_zeros():
    chip = SimulatedMcp3008(lambda c, t: 2.0, VREF, seed=4)
    code = math.floor(1024 * 2.0 / VREF)  # 620 = 0b1001101100
    reply = chip.transfer(bytes([0x01, 0x80, 0x00, 0x00, 0x00]), 1e6)
    bits = "".join(f"{b:08b}" for b in reply)
    assert bits[13] == "0" and bits[14:24] == f"{code:010b}"
    assert bits[24:33] == f"{code:010b}"[-2::-1]
    assert set(bits[33:]) == {"0"}


def test_a_chip_that_is_not_selected_leaves_miso_floating():
    volts = [1.0] * 8
    _, chip, bus, cs = make(volts)
    cs.switch_to_output(True)  # deselected
    buf_in = bytearray(3)
    bus.try_lock()
    bus.write_readinto(bytes([0x01, 0x80, 0x00]), buf_in)
    bus.unlock()
    assert chip.conversions == 0


def test_the_clock_limit_depends_on_the_supply_and_overclocking_corrupts_codes():
    assert mcp3008_max_clock_hz(5.0) == pytest.approx(3.6e6)
    assert mcp3008_max_clock_hz(2.7) == pytest.approx(1.35e6)
    volts = [1.0] * 8
    driver, chip, _, _ = make(volts, baudrate=3_000_000, supply_volts=3.3)
    codes = {driver.read(0) for _ in range(40)}
    assert chip.bad_clock_conversions == 40 and codes != {310}
    good, chip5, _, _ = make(volts, baudrate=3_000_000, supply_volts=5.0)
    assert {good.read(0) for _ in range(40)} == {310} and chip5.bad_clock_conversions == 0


def test_a_transfer_needs_the_bus_lock():
    chip = SimulatedMcp3008(lambda c, t: 1.0, VREF)
    bus = SimulatedSpiBus(chip)
    with pytest.raises(RuntimeError, match="locked"):
        bus.write_readinto(bytes(3), bytearray(3))


def test_noise_is_centred_so_averaging_recovers_sub_lsb_voltages():
    v = 1.0 + 0.37 * LSB
    chip = SimulatedMcp3008(lambda c, t: v, VREF, noise_lsb=0.5, seed=5)
    codes = [chip.code_for(True, 0, 0.0) for _ in range(4000)]
    mean_volts = (sum(codes) / len(codes) + 0.5) * LSB
    assert abs(mean_volts - v) < 0.05 * LSB
