"""The UI thread: reads control events from a queue, drives the navigator, redraws the
screen when the picture changed (at most ``max_fps`` times a second) and saves settings.

It shares nothing with the audio thread but the facade, whose calls return at once. It
keeps the daemon's low real-time priority (``neurorack.realtime``): under the normal
scheduler another busy program could preempt it while it holds the interpreter lock, and
the audio callback would wait for it. Every audio thread still runs above it, and a stuck
bus blocks in a system call, which lets the lock go.

Wiring in the daemon::

    ui = start_ui(facade, events, open_oled(...) or PngFrames(...), config.resolved_state_dir())
    ...
    ui.stop()   # saves pending settings, closes the display
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path

from neurorack.config.state import ModuleState, StateStore
from neurorack.core.events import ButtonEvent, ControlEvent, EncoderTurn
from neurorack.errors import NeurorackError
from neurorack.memory_limits import out_of_memory
from neurorack.ui.display import Display
from neurorack.ui.facade import ModuleFacade
from neurorack.ui.frame import Frame, capture_frame
from neurorack.ui.menu import Menu
from neurorack.ui.menu_file import load_menu
from neurorack.ui.navigation import Navigator
from neurorack.ui.render import render

log = logging.getLogger(__name__)

MAX_FPS = 20.0
SAVE_AFTER_S = 1.0  # settings are saved once the encoder has rested this long


class UiLoop:
    """One UI, stepped by hand (tests, GIF rendering) or by ``UiThread``.

    Args:
        navigator: the menu state machine.
        facade: the module.
        display: where images go.
        store: where settings are saved (None: not saved).
        clock: seconds, ``time.monotonic`` or a virtual clock.
        max_fps: the most redraws per second.
        warnings: shown on the home page from the start (e.g. "settings reset: ...").
    """

    def __init__(self, navigator: Navigator, facade: ModuleFacade, display: Display,
                 store: StateStore | None = None, clock: Callable[[], float] = time.monotonic,
                 max_fps: float = MAX_FPS, warnings: tuple = (), encoder=None):
        self.navigator = navigator
        self.encoder = encoder  # the panel's decoder: its acceleration follows the setting
        self.facade = facade
        self.display = display
        self.store = store
        self.clock = clock
        self.min_interval_s = 1.0 / max_fps
        self.warnings = tuple(warnings)
        self.frames_shown = 0
        self.last_image = None
        self._last_frame: Frame | None = None
        self._last_shown_at = -1e9
        self._last_input = clock()
        self._brightness: float | None = None
        self._dirty_since: float | None = None
        self._saved_state = navigator.state
        navigator.on_state = self._state_changed

    def feed(self, event: ControlEvent) -> None:
        """Apply one control event. A touch wakes a sleeping screen and is used up by it."""
        now = self.clock()
        if self._asleep(now):
            self._last_input = now
            return
        self._last_input = now
        self.navigator.handle(event)

    def step(self) -> bool:
        """Tick the navigator, save settings when due, redraw if the picture changed and
        the frame interval has passed. Returns whether a frame went to the display."""
        now = self.clock()
        self.navigator.tick(now)
        if self._dirty_since is not None and now - self._dirty_since >= SAVE_AFTER_S:
            self.save()
        brightness = self.navigator.state.screen.brightness
        if brightness != self._brightness:
            self._brightness = brightness
            self.display.set_brightness(brightness)
        if self.encoder is not None:  # a float swap the decoder's thread reads per detent
            self.encoder.acceleration = self.navigator.state.encoder.acceleration
        if now - self._last_shown_at < self.min_interval_s:
            return False
        frame = capture_frame(self.navigator, self.facade, self.warnings, asleep=self._asleep(now))
        if frame == self._last_frame:
            return False
        self._last_frame = frame
        image = render(frame)
        self.display.show(image)
        self.last_image = image
        self._last_shown_at = now
        self.frames_shown += 1
        return True

    def next_step_in(self) -> float:
        """Seconds until a redraw may happen."""
        return max(0.0, self._last_shown_at + self.min_interval_s - self.clock())

    def save(self) -> None:
        """Save the settings now if they changed; a failure becomes a home-page warning."""
        state = self.navigator.state
        self._dirty_since = None
        if self.store is None or state == self._saved_state:
            return
        try:
            self.store.save(state)
            self._saved_state = state
            self.warnings = tuple(w for w in self.warnings if not w.startswith("cannot save"))
        except NeurorackError as exc:
            log.warning("%s", exc)
            self.warnings = ("cannot save settings", *self.warnings)

    def _state_changed(self, state: ModuleState) -> None:
        if self._dirty_since is None:
            self._dirty_since = self.clock()

    def _asleep(self, now: float) -> bool:
        sleep_s = self.navigator.state.screen.sleep_s
        return sleep_s > 0 and now - self._last_input >= sleep_s


class UiThread:
    """Runs a ``UiLoop`` on its own thread, fed from ``events`` (a queue of ``EncoderTurn``
    and ``ButtonEvent``; other items are ignored). Use ``stop()`` or a ``with`` block."""

    def __init__(self, loop: UiLoop, events: queue.Queue):
        self.loop = loop
        self.events = events
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="neurorack-ui", daemon=True)
        self.error: BaseException | None = None

    @property
    def state(self) -> ModuleState:
        """The current settings (restored at start, then as the player changes them)."""
        return self.loop.navigator.state

    def start(self) -> UiThread:
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stop, save pending settings and close the display."""
        self._stop.set()
        self._thread.join(timeout_s)
        self.loop.save()
        self.loop.display.close()

    def __enter__(self) -> UiThread:  # noqa: PYI034
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                event = self.events.get(timeout=max(self.loop.next_step_in(), 0.01))
                self._feed(event)
                while True:  # take everything that queued up, then draw once
                    self._feed(self.events.get_nowait())
            except queue.Empty:
                pass
            try:
                self.loop.step()
            except Exception as exc:
                # One line per new failure (the UI retries; audio goes on); the traceback at debug
                # level, since under memory pressure writing it can fail too.
                if out_of_memory(exc):
                    if not out_of_memory(self.error):
                        log.error("UI step failed: out of memory (%s); retrying", exc)
                elif type(exc) is not type(self.error):
                    log.error("UI step failed: %s: %s; retrying (traceback at debug level)", type(exc).__name__, exc)
                    log.debug("UI step failure", exc_info=True)
                self.error = exc
                self._stop.wait(0.5)

    def _feed(self, event) -> None:
        if isinstance(event, (EncoderTurn, ButtonEvent)):
            self.loop.feed(event)


def start_ui(facade: ModuleFacade, events: queue.Queue, display: Display, state_dir: str | Path | None,
             menu: Menu | str | Path | None = None, clock: Callable[[], float] = time.monotonic,
             encoder=None) -> UiThread:
    """Restore the settings, load the menu and start the UI thread.

    Args:
        facade: the module as the UI sees it.
        events: the queue the controls layer puts ``EncoderTurn``/``ButtonEvent`` into.
        display: a ``Display`` (``neurorack.hardware.oled.open_oled(...)``, ``PngFrames``, ``TerminalView``, ...); one
            with a ``max_fps`` attribute is redrawn at most that often (default ``MAX_FPS``).
        state_dir: where ``state.yaml`` lives (None: settings are not saved).
        menu: a loaded ``Menu``, a menu file, or None for the shipped ``menu.yaml``.
        encoder: the panel's encoder decoder, whose ``acceleration`` follows the Encoder >
            Acceleration setting (None: leave it as the board file set it).

    Returns:
        The running ``UiThread``; ``ui.state`` holds the restored settings.

    Raises:
        ConfigError: the menu file is wrong.
    """
    if not isinstance(menu, Menu):
        menu = load_menu(menu)
    store = StateStore(state_dir) if state_dir is not None else None
    state = store.load() if store is not None else ModuleState()
    warnings = (store.warning,) if store is not None and store.warning else ()
    navigator = Navigator(menu, facade, state, now=clock())
    max_fps = getattr(display, "max_fps", MAX_FPS)  # a display may ask for fewer frames (the terminal)
    loop = UiLoop(navigator, facade, display, store, clock, max_fps, warnings, encoder)
    return UiThread(loop, events).start()
