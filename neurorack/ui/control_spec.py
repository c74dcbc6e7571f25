"""A control spec maps a 0..1 position to a value with a warp, a step and a unit, in the
manner of norns' ``controlspec``. Menu sliders use it; CV mapping can use the same idea.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

WARPS = ("lin", "exp", "db")
SILENCE_DB = -60.0  # the bottom of a dB slider reads as this


@dataclass(frozen=True)
class ControlSpec:
    """A value range.

    Attributes:
        minimum: the value at position 0.
        maximum: the value at position 1.
        step: values snap to multiples of this (0: no snapping).
        unit: shown after the value ("dB", "s", "blocks").
        warp: ``lin`` (even), ``exp`` (even ratios; both ends must have the same sign and
            not be 0) or ``db`` (even in amplitude, for levels in dB).
    """

    minimum: float
    maximum: float
    step: float = 0.0
    unit: str = ""
    warp: str = "lin"

    def map(self, position: float) -> float:
        """Position 0..1 -> value (clamped, snapped to ``step``)."""
        position = min(max(position, 0.0), 1.0)
        if self.warp == "exp":
            value = self.minimum * (self.maximum / self.minimum) ** position
        elif self.warp == "db":
            low, high = _db_to_amplitude(self.minimum), _db_to_amplitude(self.maximum)
            value = _amplitude_to_db(low + (high - low) * position)
        else:
            value = self.minimum + (self.maximum - self.minimum) * position
        return self.clamp(self.snap(value))

    def unmap(self, value: float) -> float:
        """Value -> position 0..1 (the inverse of ``map`` before snapping)."""
        value = self.clamp(value)
        if self.maximum == self.minimum:
            return 0.0
        if self.warp == "exp":
            return math.log(value / self.minimum) / math.log(self.maximum / self.minimum)
        if self.warp == "db":
            low, high = _db_to_amplitude(self.minimum), _db_to_amplitude(self.maximum)
            return (_db_to_amplitude(value) - low) / (high - low)
        return (value - self.minimum) / (self.maximum - self.minimum)

    def nudge(self, value: float, steps: int, positions_per_step: float = 0.01) -> float:
        """The value ``steps`` encoder detents away: one ``step`` per detent when there is a
        step, else ``positions_per_step`` of the warped range per detent."""
        if self.step > 0 and self.warp == "lin":
            return self.clamp(self.snap(value + steps * self.step))
        moved = self.map(self.unmap(value) + steps * positions_per_step)
        if moved == self.clamp(value) and steps:  # snapping swallowed a small move: force one step
            moved = self.clamp(self.snap(value + math.copysign(self.step or 0.0, steps)))
        return moved

    def snap(self, value: float) -> float:
        if self.step <= 0:
            return value
        return round(round(value / self.step) * self.step, 10)

    def clamp(self, value: float) -> float:
        low, high = sorted((self.minimum, self.maximum))
        return min(max(value, low), high)

    def format(self, value: float) -> str:
        """``-6.0 dB``, ``250 ms``, ``0.50``: as many decimals as the step needs."""
        if self.warp == "db" and value <= SILENCE_DB:
            return "-inf dB"
        text = fixed(value, _decimals(self.step) if self.step > 0 else 2)
        return f"{text} {self.unit}" if self.unit else text


def fixed(value: float, decimals: int, signed: bool = False) -> str:
    """``value`` with ``decimals`` decimals (and a + or - sign when ``signed``), never ``-0.00``:
    a value that rounds to zero reads as zero."""
    rounded = round(value, decimals) + 0.0  # -0.0 + 0.0 is +0.0
    return f"{rounded:+.{decimals}f}" if signed else f"{rounded:.{decimals}f}"


def _decimals(step: float) -> int:
    decimals = 0
    while decimals < 4 and abs(step * 10 ** decimals - round(step * 10 ** decimals)) > 1e-9:
        decimals += 1
    return decimals


def _db_to_amplitude(gain_db: float) -> float:
    return 0.0 if gain_db <= SILENCE_DB else 10 ** (gain_db / 20)


def _amplitude_to_db(amplitude: float) -> float:
    return SILENCE_DB if amplitude <= 10 ** (SILENCE_DB / 20) else 20 * math.log10(amplitude)
