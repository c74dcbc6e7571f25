"""Realistic contact sequences for the simulated GPIO: bouncy encoder turns and button presses.

Each function returns ``(seconds, pin, closed)`` changes for ``SimulatedGPIO.play``.
A mechanical contact chatters when it makes or breaks: here, for ``bounce_s`` after each
change, the contact flips back and forth ``bounces`` times at random moments, and always
settles on its new state. Only one contact of a quadrature encoder moves at a time.
"""

from __future__ import annotations

import random

Change = tuple[float, int, bool]


def _bouncy(at: float, pin: int, closed: bool, bounce_s: float, bounces: int, rng: random.Random) -> list[Change]:
    changes = [(at, pin, closed)]
    if bounces and bounce_s > 0:
        moments = sorted(rng.uniform(0.0, bounce_s) for _ in range(2 * bounces))
        state = closed
        for moment in moments:
            state = not state
            changes.append((at + moment, pin, state))
        # an even number of flips: it ends on ``closed``
    return changes


def encoder_turn(detents: int, pin_a: int, pin_b: int, detent_s: float = 0.05, bounce_s: float = 0.0005,
                 bounces: int = 3, start_s: float = 0.0, seed: int | None = None) -> list[Change]:
    """``abs(detents)`` detents clockwise (positive) or anticlockwise, from rest (both open).

    Clockwise, A closes first: with pull-ups the levels (A, B) go 11 -> 01 -> 00 -> 10 -> 11.

    Args:
        detent_s: time per detent (four contact changes, evenly spaced).
        bounce_s: how long each change chatters; keep it below ``detent_s / 4``.
        bounces: flips back and forth per change.
    """
    rng = random.Random(seed)
    first, second = (pin_a, pin_b) if detents > 0 else (pin_b, pin_a)
    steps = ((first, True), (second, True), (first, False), (second, False))
    changes: list[Change] = []
    for detent in range(abs(detents)):
        for index, (pin, closed) in enumerate(steps):
            at = start_s + detent * detent_s + index * detent_s / 4
            changes += _bouncy(at, pin, closed, bounce_s, bounces, rng)
    return sorted(changes, key=lambda change: change[0])


def button_press(pin: int, hold_s: float, bounce_s: float = 0.003, bounces: int = 4, start_s: float = 0.0,
                 seed: int | None = None) -> list[Change]:
    """Press the switch at ``start_s`` and release it ``hold_s`` later, both with chatter."""
    rng = random.Random(seed)
    return sorted(_bouncy(start_s, pin, True, bounce_s, bounces, rng)
                  + _bouncy(start_s + hold_s, pin, False, bounce_s, bounces, rng), key=lambda change: change[0])
