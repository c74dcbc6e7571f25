"""A simulated GPIO chip behind the subset of the RPi.GPIO API that Neurorack uses.

``SimulatedGPIO`` has the constants and functions of the ``RPi.GPIO`` module (``setmode``,
``setup``, ``input``, ``add_event_detect`` with callbacks, ``remove_event_detect``,
``cleanup``, ...), so the encoder and button code runs unchanged on it. As with RPi.GPIO,
edge callbacks run on a separate thread, one after the other.

The test side drives the *contacts*, not the levels: a switch closes to ground, so a
closed contact reads LOW and an open one reads whatever its pull resistor gives (HIGH
with ``PUD_UP``, LOW with ``PUD_DOWN``, random when floating). A program that forgets
the pull-up therefore misbehaves here as it would on a panel. ``play`` schedules a
timed sequence of contact changes on the simulation thread.
"""

from __future__ import annotations

import heapq
import itertools
import random
import threading
import time
from collections.abc import Callable, Iterable


class SimulatedGPIO:
    """One simulated GPIO chip; use an instance where code expects the ``RPi.GPIO`` module."""

    BCM = 11
    BOARD = 10
    IN = 1
    OUT = 0
    HIGH = 1
    LOW = 0
    PUD_OFF = 20
    PUD_DOWN = 21
    PUD_UP = 22
    RISING = 31
    FALLING = 32
    BOTH = 33

    def __init__(self, seed: int | None = None):
        self._mode: int | None = None
        self._direction: dict[int, int] = {}
        self._pull: dict[int, int] = {}
        self._closed: dict[int, bool] = {}   # contact state per pin (True: shorted to ground)
        self._driven: dict[int, int] = {}    # output levels
        self._level: dict[int, int] = {}
        self._detect: dict[int, tuple[int, list[Callable[[int], None]], float, float]] = {}
        self._detected: set[int] = set()
        self._lock = threading.RLock()
        self._random = random.Random(seed)
        self._schedule: list[tuple[float, int, int, bool]] = []
        self._order = itertools.count()
        self._wake = threading.Condition(self._lock)
        self._busy = False
        self._stop = False
        self.warnings = True
        self.callbacks_fired = 0
        self._thread = threading.Thread(target=self._run, name="simulated-gpio-events", daemon=True)
        self._thread.start()

    # -- the RPi.GPIO API ---------------------------------------------------------------

    def setwarnings(self, flag: bool) -> None:
        self.warnings = bool(flag)

    def setmode(self, mode: int) -> None:
        if mode not in (self.BCM, self.BOARD):
            raise ValueError("An invalid mode was passed to setmode()")
        if self._mode is not None and mode != self._mode:
            raise ValueError("A different mode has already been set!")
        self._mode = mode

    def getmode(self) -> int | None:
        return self._mode

    def setup(self, channel: int | Iterable[int], direction: int, pull_up_down: int = PUD_OFF,
              initial: int | None = None) -> None:
        if self._mode is None:
            raise RuntimeError("Please set pin numbering mode using GPIO.setmode(GPIO.BOARD) or GPIO.setmode(GPIO.BCM)")
        channels = [channel] if isinstance(channel, int) else list(channel)
        with self._lock:
            for pin in channels:
                self._direction[pin] = direction
                self._pull[pin] = pull_up_down
                if direction == self.OUT:
                    self._driven[pin] = int(initial or 0)
                self._level[pin] = self._compute_level(pin)

    def input(self, channel: int) -> int:
        with self._lock:
            if channel not in self._direction:
                raise RuntimeError("You must setup() the GPIO channel first")
            return self._level[channel]

    def output(self, channel: int, value: int) -> None:
        with self._lock:
            if self._direction.get(channel) != self.OUT:
                raise RuntimeError("The GPIO channel has not been set up as an OUTPUT")
            self._driven[channel] = int(bool(value))
            self._level[channel] = self._driven[channel]

    def add_event_detect(self, channel: int, edge: int, callback: Callable[[int], None] | None = None,
                         bouncetime: int | None = None) -> None:
        if edge not in (self.RISING, self.FALLING, self.BOTH):
            raise ValueError("The edge must be set to RISING, FALLING or BOTH")
        with self._lock:
            if self._direction.get(channel) != self.IN:
                raise RuntimeError("You must setup() the GPIO channel as an input first")
            if channel in self._detect:
                raise RuntimeError("Conflicting edge detection already enabled for this GPIO channel")
            callbacks = [callback] if callback is not None else []
            self._detect[channel] = (edge, callbacks, (bouncetime or 0) / 1000.0, -float("inf"))

    def add_event_callback(self, channel: int, callback: Callable[[int], None]) -> None:
        with self._lock:
            if channel not in self._detect:
                raise RuntimeError("Add event detection using add_event_detect first before adding a callback")
            self._detect[channel][1].append(callback)

    def remove_event_detect(self, channel: int) -> None:
        with self._lock:
            self._detect.pop(channel, None)

    def event_detected(self, channel: int) -> bool:
        with self._lock:
            found = channel in self._detected
            self._detected.discard(channel)
            return found

    def cleanup(self, channel: int | Iterable[int] | None = None) -> None:
        with self._lock:
            pins = list(self._direction) if channel is None else ([channel] if isinstance(channel, int) else channel)
            for pin in pins:
                self._direction.pop(pin, None)
                self._detect.pop(pin, None)
                self._pull.pop(pin, None)
                self._driven.pop(pin, None)
            if channel is None:
                self._mode = None

    # -- the test side: contacts and time -------------------------------------------------

    def set_contact(self, pin: int, closed: bool) -> None:
        """Close (short to ground) or open a contact now; callbacks fire on the event thread."""
        self.play([(0.0, pin, closed)])

    def play(self, changes: Iterable[tuple[float, int, bool]], start: float | None = None) -> None:
        """Schedule ``(seconds_from_start, pin, closed)`` contact changes, in real time."""
        start = time.monotonic() if start is None else start
        with self._lock:
            for offset, pin, closed in changes:
                heapq.heappush(self._schedule, (start + offset, next(self._order), pin, closed))
            self._wake.notify()

    def wait_idle(self, timeout_s: float = 10.0) -> bool:
        """Wait until every scheduled change has happened and its callbacks returned."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while self._schedule or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._wake.wait(min(left, 0.01))
        return True

    def close(self) -> None:
        """Stop the event thread."""
        with self._lock:
            self._stop = True
            self._wake.notify_all()
        self._thread.join(1.0)

    def _compute_level(self, pin: int) -> int:
        if self._direction.get(pin) == self.OUT:
            return self._driven[pin]
        if self._closed.get(pin, False):
            return self.LOW
        pull = self._pull.get(pin, self.PUD_OFF)
        if pull == self.PUD_UP:
            return self.HIGH
        if pull == self.PUD_DOWN:
            return self.LOW
        return self._random.randint(0, 1)  # floating

    def _run(self) -> None:
        with self._lock:
            while not self._stop:
                if not self._schedule:
                    self._wake.wait(0.05)
                    continue
                due = self._schedule[0][0]
                wait = due - time.monotonic()
                if wait > 0:
                    self._wake.wait(min(wait, 0.05))
                    continue
                _, _, pin, closed = heapq.heappop(self._schedule)
                self._busy = True
                callbacks = self._apply(pin, closed)
                for callback in callbacks:  # like RPi.GPIO: on this thread, in order; the lock is released
                    self._lock.release()
                    try:
                        callback(pin)
                    finally:
                        self._lock.acquire()
                    self.callbacks_fired += 1
                self._busy = False
                self._wake.notify_all()

    def _apply(self, pin: int, closed: bool) -> list[Callable[[int], None]]:
        self._closed[pin] = closed
        if pin not in self._direction:
            return []
        old = self._level[pin]
        new = self._compute_level(pin)
        self._level[pin] = new
        if old == new or pin not in self._detect:
            return []
        edge, callbacks, bounce_s, last = self._detect[pin]
        rising = new == self.HIGH
        if edge == self.RISING and not rising or edge == self.FALLING and rising:
            return []
        now = time.monotonic()
        if now - last < bounce_s:
            return []
        self._detect[pin] = (edge, callbacks, bounce_s, now)
        self._detected.add(pin)
        return list(callbacks)
