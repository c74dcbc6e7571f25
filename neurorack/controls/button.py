"""The push switch: press and release, then short or long press, with debouncing.

A press is accepted on its first edge (no added latency), then the switch is ignored for
``debounce_s`` (its chatter). A release is accepted once the switch has been quiet for
``debounce_s``, so chatter on a press can never look like a release, even when the GPIO
callbacks arrive late; it is stamped with the time of its last edge. ``long`` is sent while the switch is still held, once it
has been held ``long_press_s``; releasing it then sends only ``release``. A release
before that sends ``release`` and ``short``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from neurorack.core.events import ButtonEvent


class Button:
    """A switch on one GPIO input through the RPi.GPIO API; a context manager.

    Args:
        gpio: the RPi.GPIO module, or a ``SimulatedGPIO``.
        pin: its pin.
        when_event: called with each ``ButtonEvent`` (GPIO callback or timer thread); must not block.
        pull_up: the switch closes to ground with the internal pull-up on (pressed reads LOW).
        debounce_s: chatter ignored after a change.
        long_press_s: hold time of a long press.
        clock: monotonic seconds.
    """

    def __init__(self, gpio, pin: int, when_event: Callable[[ButtonEvent], None], pull_up: bool = True,
                 debounce_s: float = 0.01, long_press_s: float = 0.6,
                 clock: Callable[[], float] = time.monotonic):
        self.gpio = gpio
        self.pin = pin
        self.when_event = when_event
        self.pressed_level = gpio.LOW if pull_up else gpio.HIGH
        self.debounce_s = debounce_s
        self.long_press_s = long_press_s
        self.clock = clock
        self._lock = threading.Lock()
        self._last_change_s = -float("inf")
        self._last_edge_s = -float("inf")
        self._long_timer: threading.Timer | None = None
        self._settle_timer: threading.Timer | None = None
        self._long_sent = False
        self._closed = False
        gpio.setup(pin, gpio.IN, pull_up_down=gpio.PUD_UP if pull_up else gpio.PUD_DOWN)
        self.is_pressed = gpio.input(pin) == self.pressed_level
        gpio.add_event_detect(pin, gpio.BOTH, callback=self._on_edge)

    def _on_edge(self, _channel: int) -> None:
        now = self.clock()
        with self._lock:
            self._last_edge_s = now
        self._consider(now, settled=False)

    def _consider(self, now: float, settled: bool) -> None:
        events = []
        with self._lock:
            if self._closed:
                return
            pressed = self.gpio.input(self.pin) == self.pressed_level
            if pressed == self.is_pressed:
                return
            if pressed and now - self._last_change_s < self.debounce_s:
                self._schedule_settle(self._last_change_s + self.debounce_s - now)
                return
            if not pressed and not (settled and now - self._last_edge_s >= self.debounce_s):
                self._schedule_settle(self._last_edge_s + self.debounce_s - now)
                return
            at = now if pressed else self._last_edge_s  # a release happened at its last edge
            self.is_pressed = pressed
            self._last_change_s = at
            if pressed:
                self._long_sent = False
                events.append(ButtonEvent("press", at))
                self._long_timer = threading.Timer(self.long_press_s, self._on_long, args=(at,))
                self._long_timer.daemon = True
                self._long_timer.start()
            else:
                if self._long_timer is not None:
                    self._long_timer.cancel()
                events.append(ButtonEvent("release", at))
                if not self._long_sent:
                    events.append(ButtonEvent("short", at))
        for event in events:
            self.when_event(event)

    def _schedule_settle(self, delay_s: float) -> None:
        """Look at the switch again once it has been quiet for the debounce time."""
        if self._settle_timer is not None and self._settle_timer.is_alive():
            return
        self._settle_timer = threading.Timer(max(delay_s, 0.0) + 1e-4, self._on_settle)
        self._settle_timer.daemon = True
        self._settle_timer.start()

    def _on_settle(self) -> None:
        with self._lock:
            self._settle_timer = None  # this timer is done; _consider may start the next
        self._consider(self.clock(), settled=True)

    def _on_long(self, pressed_at: float) -> None:
        with self._lock:
            if self._closed or not self.is_pressed or self._last_change_s != pressed_at:
                return
            self._long_sent = True
        self.when_event(ButtonEvent("long", self.clock()))

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for timer in (self._long_timer, self._settle_timer):
                if timer is not None:
                    timer.cancel()
        self.gpio.remove_event_detect(self.pin)
        self.gpio.cleanup(self.pin)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
