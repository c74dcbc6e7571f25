"""The rotary encoder: quadrature decoding with a transition table, detents, acceleration.

With pull-ups, a detent of a 4-step encoder walks these levels of contacts A and B::

    clockwise  ->
    A  ‾‾‾‾\\_______/‾‾‾‾‾‾‾‾‾‾
    B  ‾‾‾‾‾‾‾\\_______/‾‾‾‾‾‾‾
    AB   11   01   00   10   11     (rest: 11)

Each (previous, current) pair of AB states is looked up in ``TRANSITIONS``: +1 one step
clockwise, -1 anticlockwise, 0 no move or an impossible jump (both contacts changed).
Contact bounce flips one contact back and forth between two neighbouring states, which
adds +1 and -1 in turn and cancels out. A detent is counted only when the contacts are
back at rest, if the steps since the last rest add up to at least half a detent in one
direction; a wiggle that returns where it started counts nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from neurorack.core.events import EncoderTurn

# TRANSITIONS[previous << 2 | current] for AB states (A is the high bit).
TRANSITIONS = (
    #  cur: 00  01  10  11
    0, -1, +1, 0,    # prev 00
    +1, 0, 0, -1,    # prev 01
    -1, 0, 0, +1,    # prev 10
    0, +1, -1, 0,    # prev 11
)
ACCELERATION_START_PER_S = 8.0  # detents per second where acceleration begins
MAX_MULTIPLIER = 10


class QuadratureDecoder:
    """Turns AB states into detents; pure logic, no GPIO.

    Args:
        steps_per_detent: 4 (rest at 11) or 2 (rest at 00 and 11).
    """

    def __init__(self, steps_per_detent: int = 4, state: int = 0b11):
        if steps_per_detent not in (2, 4):
            raise ValueError("steps_per_detent must be 2 or 4")
        self.rest_states = (0b11,) if steps_per_detent == 4 else (0b00, 0b11)
        self.threshold = steps_per_detent // 2
        self.state = state
        self.steps = 0
        self.invalid = 0

    def update(self, state: int) -> int:
        """Feed the current AB state; returns +1 or -1 when a detent completes, else 0."""
        if state == self.state:
            return 0
        move = TRANSITIONS[(self.state << 2) | state]
        if move == 0:
            self.invalid += 1
        self.steps += move
        self.state = state
        if state not in self.rest_states:
            return 0
        steps, self.steps = self.steps, 0
        if steps >= self.threshold:
            return 1
        if steps <= -self.threshold:
            return -1
        return 0


def accelerated(interval_s: float, acceleration: float) -> int:
    """Steps for one detent that came ``interval_s`` after the previous one.

    Below ``ACCELERATION_START_PER_S`` detents per second a detent is one step; above it,
    ``1 + acceleration * (rate - start) / start``, rounded down, at most ``MAX_MULTIPLIER``.
    """
    if acceleration <= 0 or interval_s <= 0:
        return 1
    rate = 1.0 / interval_s
    if rate <= ACCELERATION_START_PER_S:
        return 1
    extra = acceleration * (rate - ACCELERATION_START_PER_S) / ACCELERATION_START_PER_S
    return min(1 + int(extra), MAX_MULTIPLIER)


class RotaryEncoder:
    """An encoder on two GPIO inputs through the RPi.GPIO API; a context manager.

    Args:
        gpio: the RPi.GPIO module, or a ``SimulatedGPIO``.
        pin_a, pin_b: its contacts' pins (numbering already set with ``gpio.setmode``).
        when_turned: called with each ``EncoderTurn`` on the GPIO callback thread; must not block.
        pull_up: enable the internal pull-ups (contacts close to ground).
        steps_per_detent: 4 or 2.
        reverse: swap directions.
        acceleration: 0 for none; see ``accelerated``.
        clock: monotonic seconds.
    """

    def __init__(self, gpio, pin_a: int, pin_b: int, when_turned: Callable[[EncoderTurn], None],
                 pull_up: bool = True, steps_per_detent: int = 4, reverse: bool = False,
                 acceleration: float = 0.0, clock: Callable[[], float] = time.monotonic):
        self.gpio = gpio
        self.pins = (pin_a, pin_b)
        self.when_turned = when_turned
        self.reverse = reverse
        self.acceleration = acceleration
        self.clock = clock
        self.position = 0  # detents, without acceleration
        self._last_detent_s = -float("inf")
        self._lock = threading.Lock()
        pull = gpio.PUD_UP if pull_up else gpio.PUD_OFF
        for pin in self.pins:
            gpio.setup(pin, gpio.IN, pull_up_down=pull)
        self.decoder = QuadratureDecoder(steps_per_detent, self._read_state())
        for pin in self.pins:
            gpio.add_event_detect(pin, gpio.BOTH, callback=self._on_edge)

    def _read_state(self) -> int:
        return (self.gpio.input(self.pins[0]) << 1) | self.gpio.input(self.pins[1])

    def _on_edge(self, _channel: int) -> None:
        with self._lock:
            detent = self.decoder.update(self._read_state())
            if not detent:
                return
            if self.reverse:
                detent = -detent
            now = self.clock()
            steps = accelerated(now - self._last_detent_s, self.acceleration)
            self._last_detent_s = now
            self.position += detent
        self.when_turned(EncoderTurn(detent * steps, now))

    def close(self) -> None:
        for pin in self.pins:
            self.gpio.remove_event_detect(pin)
        self.gpio.cleanup(list(self.pins))

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
