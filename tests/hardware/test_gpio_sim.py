"""neurorack.hardware.gpio_sim: the RPi.GPIO API subset, pulls, and callbacks on their own thread."""

from __future__ import annotations

import threading

import pytest

from neurorack.hardware.contacts import button_press, encoder_turn
from neurorack.hardware.gpio_sim import SimulatedGPIO


@pytest.fixture
def gpio():
    chip = SimulatedGPIO(seed=1)
    chip.setmode(chip.BCM)
    yield chip
    chip.close()


def test_an_open_contact_reads_its_pull_and_a_closed_one_reads_low(gpio):
    gpio.setup(5, gpio.IN, pull_up_down=gpio.PUD_UP)
    gpio.setup(6, gpio.IN, pull_up_down=gpio.PUD_DOWN)
    assert (gpio.input(5), gpio.input(6)) == (1, 0)
    gpio.set_contact(5, True)
    gpio.wait_idle()
    assert gpio.input(5) == 0


def test_a_floating_input_reads_noise(gpio):
    gpio.setup(4, gpio.IN)
    levels = set()
    for _ in range(40):
        gpio.set_contact(4, True)
        gpio.set_contact(4, False)
        gpio.wait_idle()
        levels.add(gpio.input(4))
    assert levels == {0, 1}


def test_callbacks_run_on_the_event_thread_one_per_matching_edge(gpio):
    gpio.setup(17, gpio.IN, pull_up_down=gpio.PUD_UP)
    seen = []
    gpio.add_event_detect(17, gpio.FALLING, callback=lambda pin: seen.append((pin, threading.current_thread().name,
                                                                             gpio.input(pin))))
    gpio.play([(0.0, 17, True), (0.001, 17, False), (0.002, 17, True), (0.003, 17, True)])
    assert gpio.wait_idle()
    assert seen == [(17, "simulated-gpio-events", 0)] * 2
    assert gpio.event_detected(17) and not gpio.event_detected(17)


def test_bouncetime_suppresses_edges_like_rpi_gpio(gpio):
    gpio.setup(22, gpio.IN, pull_up_down=gpio.PUD_UP)
    count = []
    gpio.add_event_detect(22, gpio.BOTH, callback=count.append, bouncetime=50)
    gpio.play(button_press(22, hold_s=0.1, bounce_s=0.003, bounces=4, seed=2))
    gpio.wait_idle()
    assert len(count) == 2  # one press, one release


def test_the_api_refuses_what_rpi_gpio_refuses():
    chip = SimulatedGPIO()
    try:
        with pytest.raises(RuntimeError, match="setmode"):
            chip.setup(3, chip.IN)
        chip.setmode(chip.BCM)
        with pytest.raises(ValueError):
            chip.setmode(chip.BOARD)
        with pytest.raises(RuntimeError, match="setup"):
            chip.input(3)
        chip.setup(3, chip.IN, pull_up_down=chip.PUD_UP)
        chip.add_event_detect(3, chip.BOTH)
        with pytest.raises(RuntimeError, match="Conflicting"):
            chip.add_event_detect(3, chip.RISING)
        chip.cleanup()
        assert chip.getmode() is None
    finally:
        chip.close()


def test_generated_encoder_turns_settle_at_rest_after_each_change():
    changes = encoder_turn(3, 17, 27, detent_s=0.02, bounce_s=0.001, bounces=3, seed=4)
    state = {17: False, 27: False}
    closings = []
    for _, pin, closed in changes:
        state[pin] = closed
        closings.append(dict(state))
    assert state == {17: False, 27: False}
    assert len(changes) == 3 * 4 * (1 + 2 * 3)
