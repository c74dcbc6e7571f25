"""neurorack.controls.button: press, release, short and long press under contact bounce."""

from __future__ import annotations

import time

import pytest

from neurorack.controls.button import Button
from neurorack.hardware.contacts import button_press
from neurorack.hardware.gpio_sim import SimulatedGPIO

PIN = 22


@pytest.fixture
def gpio():
    chip = SimulatedGPIO(seed=5)
    chip.setmode(chip.BCM)
    yield chip
    chip.close()


def kinds(events):
    return [e.kind for e in events]


def test_a_bouncy_short_press_gives_press_release_short_once(gpio):
    events = []
    with Button(gpio, PIN, events.append, debounce_s=0.01, long_press_s=0.3):
        gpio.play(button_press(PIN, hold_s=0.08, bounce_s=0.004, bounces=5, seed=1))
        gpio.wait_idle()
        time.sleep(0.05)
    assert kinds(events) == ["press", "release", "short"]
    assert events[1].time - events[0].time == pytest.approx(0.08, abs=0.02)


def test_a_held_press_gives_long_while_held_and_no_short(gpio):
    events = []
    with Button(gpio, PIN, events.append, debounce_s=0.01, long_press_s=0.15):
        gpio.play(button_press(PIN, hold_s=0.3, bounce_s=0.004, bounces=5, seed=2))
        time.sleep(0.2)
        assert kinds(events) == ["press", "long"]
        gpio.wait_idle()
        time.sleep(0.05)
    assert kinds(events) == ["press", "long", "release"]
    assert events[1].time - events[0].time == pytest.approx(0.15, abs=0.05)


def test_many_presses_are_each_counted_once(gpio):
    events = []
    with Button(gpio, PIN, events.append, debounce_s=0.01, long_press_s=0.5):
        changes = []
        for index in range(6):
            changes += button_press(PIN, hold_s=0.04, bounce_s=0.004, bounces=4, start_s=index * 0.1, seed=index)
        gpio.play(sorted(changes))
        gpio.wait_idle()
        time.sleep(0.05)
    assert kinds(events) == ["press", "release", "short"] * 6


def test_a_release_inside_the_debounce_window_is_not_lost(gpio):
    events = []
    with Button(gpio, PIN, events.append, debounce_s=0.05, long_press_s=1.0):
        gpio.play([(0.0, PIN, True), (0.01, PIN, False)])  # a tap shorter than the debounce time
        gpio.wait_idle()
        time.sleep(0.1)
    assert kinds(events) == ["press", "release", "short"]
