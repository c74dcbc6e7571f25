"""neurorack.controls.encoder: decoding under bounce, detents, acceleration, over simulated GPIO."""

from __future__ import annotations

import pytest

from neurorack.controls.encoder import QuadratureDecoder, RotaryEncoder, accelerated
from neurorack.hardware.contacts import encoder_turn
from neurorack.hardware.gpio_sim import SimulatedGPIO

PIN_A, PIN_B = 17, 27


@pytest.fixture
def gpio():
    chip = SimulatedGPIO(seed=3)
    chip.setmode(chip.BCM)
    yield chip
    chip.close()


def turn(gpio, detents: int, detent_s: float, bounces: int, seed: int, **options):
    turns = []
    with RotaryEncoder(gpio, PIN_A, PIN_B, turns.append, **options) as encoder:
        gpio.play(encoder_turn(detents, PIN_A, PIN_B, detent_s=detent_s, bounce_s=detent_s / 10,
                               bounces=bounces, seed=seed))
        assert gpio.wait_idle()
        return turns, encoder.position


@pytest.mark.parametrize("detents", [12, -12])
def test_exact_detent_counts_each_way_slow_with_bounce(gpio, detents):
    turns, position = turn(gpio, detents, detent_s=0.02, bounces=4, seed=detents)
    assert position == detents
    assert [t.steps for t in turns] == [1 if detents > 0 else -1] * abs(detents)


@pytest.mark.parametrize("detents", [40, -40])
def test_exact_detent_counts_each_way_fast_with_bounce(gpio, detents):
    turns, position = turn(gpio, detents, detent_s=0.002, bounces=3, seed=7)
    assert position == detents
    assert sum(abs(t.steps) for t in turns) == abs(detents)  # no acceleration asked for


def test_acceleration_multiplies_fast_turns_only(gpio):
    fast, _ = turn(gpio, 10, detent_s=0.01, bounces=1, seed=1, acceleration=1.0)
    assert fast[0].steps == 1 and all(t.steps > 1 for t in fast[1:])
    slow, _ = turn(gpio, 4, detent_s=0.2, bounces=1, seed=1, acceleration=1.0)
    assert [t.steps for t in slow] == [1, 1, 1, 1]


def test_reverse_swaps_the_direction(gpio):
    _, position = turn(gpio, 5, detent_s=0.01, bounces=2, seed=2, reverse=True)
    assert position == -5


def test_without_pull_ups_the_floating_contacts_do_not_make_clean_detents(gpio):
    # A wiring mistake shows: open contacts float, so detents come out wrong.
    results = {turn(gpio, 8, detent_s=0.005, bounces=0, seed=s, pull_up=False)[1] for s in range(5)}
    assert results != {8}


def test_a_wiggle_that_returns_to_rest_counts_nothing():
    decoder = QuadratureDecoder(4)
    assert [decoder.update(s) for s in (0b01, 0b00, 0b01, 0b11)] == [0, 0, 0, 0]


def test_one_lost_intermediate_state_still_counts_the_detent():
    decoder = QuadratureDecoder(4)
    assert [decoder.update(s) for s in (0b01, 0b10, 0b11)] == [0, 0, 1]
    assert decoder.invalid == 1


def test_two_step_encoders_count_at_both_rest_states():
    decoder = QuadratureDecoder(2)
    assert [decoder.update(s) for s in (0b01, 0b00, 0b10, 0b11)] == [0, 1, 0, 1]


def test_acceleration_curve():
    assert accelerated(0.5, 1.0) == 1
    assert accelerated(1 / 16, 1.0) == 2
    assert accelerated(1 / 40, 1.0) == 5
    assert accelerated(1e-4, 1.0) == 10
    assert accelerated(1 / 40, 0.0) == 1
