"""What the controls layer hands to the UI, the instrument and the audio engine.

The controls (over real or simulated hardware) produce these; the UI, the instrument and the
engine consume them. Times are ``time.monotonic()`` seconds, the clock of the engine's schedule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional, Tuple, Union


@dataclass(frozen=True)
class EncoderTurn:
    """The encoder moved ``steps`` detents (positive: clockwise), after acceleration."""

    steps: int
    time: float


ButtonKind = Literal["press", "release", "short", "long"]


@dataclass(frozen=True)
class ButtonEvent:
    """The push switch: ``press`` and ``release`` as they happen; ``short`` on a release
    before the long-press time; ``long`` once the switch has been held that long."""

    kind: ButtonKind
    time: float


ControlEvent = Union[EncoderTurn, ButtonEvent]


@dataclass(frozen=True)
class InputStatus:
    """A snapshot of the panel inputs, for display.

    Attributes:
        cv_volts: the four CV inputs in jack volts (calibrated, smoothed).
        pots: the two spare panel pots, 0..1.
        gates: whether each gate input is high.
        fault: a short message when the ADC is failing (None when all is well).
    """

    cv_volts: Tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    pots: Tuple[float, float] = (0.0, 0.0)
    gates: Tuple[bool, bool] = (False, False)
    fault: Optional[str] = None


@dataclass(frozen=True)
class GateEdge:
    """A gate edge: ``time_s`` is monotonic seconds when it was seen."""

    time_s: float
    gate: int = 0
    rising: bool = True
    velocity: float = 1.0
