"""An opened ADC: the real MCP3008 driver, what closes it, and its simulated chip when there is one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class OpenedAdc:
    """The driver, what closes it, and (when simulated) the simulated chip for inspection."""

    driver: Any  # adafruit_mcp3xxx.mcp3008.MCP3008
    close: Callable[[], None]
    description: str
    chip: Any = None  # the SimulatedMcp3008, for inspection
    scenario_start: float | None = None  # monotonic time of the scenario's t = 0
