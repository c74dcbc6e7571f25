"""CV inputs: ADC volts to jack volts (scale, offset, clamp), then a one-pole smoother."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Conditioning:
    """``jack_volts = adc_volts * scale + offset_volts``, clamped to ``[min_volts, max_volts]``."""

    scale: float
    offset_volts: float
    min_volts: float = -math.inf
    max_volts: float = math.inf

    def jack_volts(self, adc_volts: float) -> float:
        return min(max(adc_volts * self.scale + self.offset_volts, self.min_volts), self.max_volts)


def code_to_adc_volts(code: int, reference_volts: float, bits: int = 10) -> float:
    """The centre of the code's voltage interval: ``(code + 0.5) * Vref / 2**bits``.

    The MCP3008 gives ``code = floor(2**bits * Vin / Vref)``, so the centre is the
    estimate whose error is at most half an LSB.
    """
    return (code + 0.5) * reference_volts / (1 << bits)


class Smoother:
    """A one-pole low-pass with time constant ``time_constant_s``, for irregular sample times.

    The first value passes through unchanged; 0 s turns smoothing off.
    """

    def __init__(self, time_constant_s: float):
        self.time_constant_s = time_constant_s
        self.value: float | None = None
        self._last_time: float | None = None

    def update(self, value: float, time_s: float) -> float:
        """Feed a sample taken at monotonic ``time_s``; return the smoothed value."""
        if self.value is None or self.time_constant_s <= 0:
            self.value = value
        else:
            dt = max(time_s - self._last_time, 0.0)
            self.value += (value - self.value) * (1.0 - math.exp(-dt / self.time_constant_s))
        self._last_time = time_s
        return self.value


class CvInput:
    """One CV jack or pot: conditioning plus smoothing.

    Args:
        conditioning: from the board file, or from calibration.
        smoothing_s: the smoother's time constant in seconds.
        reference_volts: the ADC's Vref.
    """

    def __init__(self, conditioning: Conditioning, smoothing_s: float, reference_volts: float):
        self.conditioning = conditioning
        self.smoother = Smoother(smoothing_s)
        self.reference_volts = reference_volts

    def update(self, code: int, time_s: float) -> float:
        """Feed one 10-bit code read at ``time_s``; return smoothed jack volts."""
        adc = code_to_adc_volts(code, self.reference_volts)
        return self.smoother.update(self.conditioning.jack_volts(adc), time_s)
