"""Opening the board's ADC: the real MCP3008 driver over the real bus or a simulated one."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from neurorack.config.board import BoardConfig
from neurorack.hardware.opened_adc import OpenedAdc
from neurorack.hardware.scenario import Scenario, default_scenario, pin_voltages
from neurorack.hardware.spi_sim import (
    SimulatedChipSelect,
    SimulatedMcp3008,
    SimulatedSpiBus,
)

# Input-referred noise of the simulated chip, in LSB RMS (the datasheet's typical transition noise).
SIMULATED_NOISE_LSB = 0.3


def open_simulated_adc(board: BoardConfig, scenario: Scenario | None = None, noise_lsb: float = SIMULATED_NOISE_LSB,
                       scales: Mapping[str, tuple[float, float]] | None = None, seed: int | None = None,
                       clock: Callable[[], float] = time.monotonic) -> OpenedAdc:
    """The real ``MCP3008`` driver over a simulated bus whose chip converts ``scenario``.

    Args:
        board: channels, conditioning, Vref, SPI clock.
        scenario: what is patched (default: ``default_scenario()``); its t = 0 is now.
        noise_lsb: the chip's noise in LSB RMS.
        scales: simulated hardware whose conditioning differs from the board file.
        seed: for the chip's noise.
        clock: monotonic seconds.
    """
    from adafruit_mcp3xxx.mcp3008 import MCP3008

    scenario = scenario or default_scenario()
    start = clock()
    chip = SimulatedMcp3008(pin_voltages(board, scenario, start, scales), board.adc.reference_volts,
                            board.adc.supply_volts, noise_lsb=noise_lsb, seed=seed, clock=clock)
    chip_select = SimulatedChipSelect()
    bus = SimulatedSpiBus(chip, chip_select)
    driver = MCP3008(bus, chip_select, ref_voltage=board.adc.reference_volts, baudrate=board.adc.clock_hz)
    return OpenedAdc(driver, lambda: None, f"simulated MCP3008 on a simulated SPI bus at {board.adc.clock_hz} Hz",
                     chip, start)


def open_adc(board: BoardConfig, scenario: Scenario | None = None) -> OpenedAdc:
    """The board's ADC: simulated for ``adc.backend: simulated``, else the real chip.

    Raises:
        NeurorackError: the SPI device is missing or not accessible (naming what to enable or join).
    """
    if board.adc.backend == "simulated":
        return open_simulated_adc(board, scenario)
    from neurorack.hardware.real import open_spidev_adc

    return open_spidev_adc(board)
