"""Navigation: a state machine over a stack of screens.

Events: an encoder turn moves the cursor or adjusts a value; a short press enters or
confirms; a long press goes back; no input for ``Menu.home_after_s`` returns home.

::

    Home --short--> Menu --short--> Menu (submenu) / Choice / Slider / Info / Confirm
      ^              |  <--long----   (toggle: flips in place; action: runs or asks)
      +----long------+                Confirm --short on Yes--> action (error -> Message)

The guided calibration (``CalibrateScreen``) picks an input, reads two voltages, then shows
the result with Cancel / Save (Cancel first): only a press on Save saves it.

Every screen is an immutable value; the navigator swaps them, so a snapshot of the UI is
just the top screen plus the module state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from neurorack.core.events import ButtonEvent, ControlEvent, EncoderTurn
from neurorack.errors import NeurorackError
from neurorack.config.state import ModuleState
from neurorack.ui.facade import ModelInfo, ModuleFacade
from neurorack.ui.menu import (
    Action,
    Choice,
    Info,
    Menu,
    MenuItem,
    Slider,
    Submenu,
    Toggle,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HomeScreen:
    """The performance page."""


@dataclass(frozen=True)
class MenuScreen:
    """A list of items with the cursor on ``cursor``; ``path`` names the way here."""

    menu: Submenu
    cursor: int = 0
    path: tuple = ()


@dataclass(frozen=True)
class ChoiceScreen:
    """Picking a value: ``options`` are the values, ``cursor`` the highlighted one;
    ``models`` holds the model cards when the list is the installed models."""

    item: Choice
    options: tuple
    cursor: int = 0
    models: tuple = ()


@dataclass(frozen=True)
class SliderScreen:
    """Adjusting a number."""

    item: Slider


@dataclass(frozen=True)
class InfoScreen:
    """A read-only page."""

    item: Info


@dataclass(frozen=True)
class ConfirmScreen:
    """A yes/no question before ``item`` runs; ``yes`` is the highlighted answer (No first)."""

    item: Action
    yes: bool = False


@dataclass(frozen=True)
class CalibrateScreen:
    """The guided CV calibration. With ``name`` None the player picks an input (``cursor``
    over ``inputs``); then the facade's routine asks for two voltages in turn (patch, press),
    shows the result with Cancel / Save (``save``: Save is highlighted; Cancel first), and a
    press on Save saves it. A long press leaves without saving."""

    inputs: tuple = ("cv1", "cv2", "cv3", "cv4")
    cursor: int = 0
    name: str | None = None
    save: bool = False


@dataclass(frozen=True)
class MessageScreen:
    """A dialog (an error, or a note) dismissed by any press."""

    title: str
    text: str


Screen = (HomeScreen | MenuScreen | ChoiceScreen | SliderScreen | InfoScreen | ConfirmScreen | CalibrateScreen
          | MessageScreen)
CALIBRATE_ACTION = "calibrate"  # the menu action that opens ``CalibrateScreen``
RESET_CALIBRATION_ACTION = "reset_calibration"  # forgets the saved calibration


class Navigator:
    """Turns control events into screen changes, setting changes and facade actions.

    Args:
        menu: the menu tree.
        facade: the module.
        state: the settings at start.
        on_state: called with the new state after every setting change (to save it).
        now: the time of start (``time.monotonic()`` seconds), for the idle timeout.
    """

    def __init__(self, menu: Menu, facade: ModuleFacade, state: ModuleState,
                 on_state: Callable[[ModuleState], None] | None = None, now: float = 0.0):
        self.menu = menu
        self.facade = facade
        self.state = state
        self.on_state = on_state
        self._stack: list[Screen] = [HomeScreen()]
        self._last_input = now
        self._reported_task_error: str | None = None
        self._reported_calibration_error: str | None = None

    @property
    def screen(self) -> Screen:
        """The screen on top."""
        return self._stack[-1]

    @property
    def depth(self) -> int:
        return len(self._stack)

    def handle(self, event: ControlEvent) -> None:
        """Apply one encoder or button event."""
        self._last_input = event.time
        if isinstance(event, EncoderTurn):
            steps = -event.steps if self.state.encoder.reversed else event.steps
            if steps:
                self._turn(steps)
        elif isinstance(event, ButtonEvent):
            if event.kind == "short":
                self._short()
            elif event.kind == "long":
                self._back()

    def tick(self, now: float) -> None:
        """Idle timeout and task errors; call this every frame."""
        task = self._safe(self.facade.task, None)
        if task is not None and task.error and task.error != self._reported_task_error:
            self._reported_task_error = task.error
            self._stack.append(MessageScreen("Error", f"{task.label}: {task.error}"))
            self._last_input = now
        self._report_calibration_error(now)
        calibrating = any(isinstance(screen, CalibrateScreen) for screen in self._stack)
        if len(self._stack) > 1 and now - self._last_input >= self.menu.home_after_s and not calibrating:
            self._stack = [HomeScreen()]

    def _report_calibration_error(self, now: float) -> None:
        """A refused reading or result, once, in a dialog: the page has room for one line."""
        screen = self.screen
        if not isinstance(screen, CalibrateScreen) or screen.name is None:
            return
        progress = self._safe(self.facade.calibration_progress, None)
        error = progress.error if progress is not None else None
        if error and error != self._reported_calibration_error:
            self._stack.append(MessageScreen("Not calibrated", error))
            self._last_input = now
        self._reported_calibration_error = error

    def go_home(self) -> None:
        self._stack = [HomeScreen()]

    # -- events ---------------------------------------------------------------------------

    def _turn(self, steps: int) -> None:
        screen = self.screen
        if isinstance(screen, MenuScreen):
            self._replace(replace(screen, cursor=_clamp(screen.cursor + steps, len(screen.menu.items))))
        elif isinstance(screen, ChoiceScreen):
            cursor = _clamp(screen.cursor + steps, len(screen.options))
            self._replace(replace(screen, cursor=cursor))
            if screen.item.source == "sounds" and cursor != screen.cursor:
                self._run(lambda: self.facade.preview_sound(screen.options[cursor]))
        elif isinstance(screen, SliderScreen):
            item = screen.item
            self._set(item.setting, item.spec.nudge(self.state.get(item.setting), steps))
        elif isinstance(screen, ConfirmScreen):
            self._replace(replace(screen, yes=steps > 0))
        elif isinstance(screen, CalibrateScreen) and screen.name is None:
            self._replace(replace(screen, cursor=_clamp(screen.cursor + steps, len(screen.inputs))))
        elif isinstance(screen, CalibrateScreen):
            progress = self._safe(self.facade.calibration_progress, None)
            if progress is not None and progress.scale is not None and not progress.saved:
                self._replace(replace(screen, save=steps > 0))  # Cancel / Save
        elif isinstance(screen, HomeScreen):
            self._step_sound(steps)

    def _step_sound(self, steps: int) -> None:
        """Home page: select the next or previous sound of the bank (wrapping)."""
        names = [s.name for s in self._safe(self.facade.sounds, ())]
        if not names:
            return
        index = names.index(self.state.sound) if self.state.sound in names else 0
        value = names[(index + steps) % len(names)]
        if self._run(lambda: self.facade.select_sound(value)):
            self._set("sound", value, notify=False)

    def _short(self) -> None:
        screen = self.screen
        if isinstance(screen, HomeScreen):
            self._stack.append(MenuScreen(self.menu.root))
        elif isinstance(screen, MenuScreen):
            if screen.menu.items:
                self._enter(screen, screen.menu.items[screen.cursor])
        elif isinstance(screen, ChoiceScreen):
            self._pick(screen)
        elif isinstance(screen, ConfirmScreen):
            self._stack.pop()
            if screen.yes:
                self._action(screen.item)
        elif isinstance(screen, CalibrateScreen):
            self._calibrate_press(screen)
        else:  # slider, info page, message: a short press is "done"
            self._stack.pop()

    def _back(self) -> None:
        if isinstance(self.screen, CalibrateScreen) and self.screen.name is not None:
            self._run(self.facade.cancel_calibration)
        if len(self._stack) > 1:
            self._stack.pop()

    def _action(self, item: Action) -> None:
        if item.action == CALIBRATE_ACTION:
            info = self._safe(self.facade.calibration, None)
            names = tuple(i.name for i in info.inputs) if info is not None and info.inputs else None
            self._stack.append(CalibrateScreen(names) if names else CalibrateScreen())
        elif item.action == RESET_CALIBRATION_ACTION:
            if self._run(self.facade.reset_calibration):
                self._stack.append(MessageScreen(item.label, "The CV inputs use the board file's values again."))
        else:
            self._run(lambda: self.facade.run_action(item.action))

    def _calibrate_press(self, screen: CalibrateScreen) -> None:
        """Pick the input; then read the patched voltage, twice; then save or cancel (back
        to the inputs); then leave."""
        if screen.name is None:
            name = screen.inputs[screen.cursor]
            if self._run(lambda: self.facade.start_calibration(name)):
                self._replace(replace(screen, name=name))
            return
        progress = self._safe(self.facade.calibration_progress, None)
        if progress is None or progress.saved:
            self._stack.pop()
        elif progress.reading:
            return  # wait for the reading to finish
        elif progress.scale is not None and screen.save:
            self._run(self.facade.save_calibration)
        elif progress.scale is not None:
            self._run(self.facade.cancel_calibration)
            self._replace(replace(screen, name=None, save=False))
        else:
            self._run(self.facade.calibration_read)

    def _enter(self, screen: MenuScreen, item: MenuItem) -> None:
        if isinstance(item, Submenu):
            self._stack.append(MenuScreen(item, 0, (*screen.path, item.label)))
        elif isinstance(item, Toggle):
            self._set(item.setting, not self.state.get(item.setting))
        elif isinstance(item, Slider):
            self._stack.append(SliderScreen(item))
        elif isinstance(item, Info):
            self._stack.append(HomeScreen() if item.page == "home" else InfoScreen(item))
        elif isinstance(item, Action):
            if item.confirm:
                self._stack.append(ConfirmScreen(item))
            else:
                self._action(item)
        elif isinstance(item, Choice):
            self._open_choice(item)

    def _open_choice(self, item: Choice) -> None:
        models: tuple = ()
        if item.source == "models":
            models = tuple(self._safe(self.facade.models, ()))
            options = tuple(m.name for m in models)
        elif item.source == "sounds":
            options = tuple(s.name for s in self._safe(self.facade.sounds, ()))
        else:
            options = item.options
        if not options:
            self._stack.append(MessageScreen(item.label, f"no {item.source or 'options'} installed"))
            return
        current = self.state.get(item.setting)
        cursor = options.index(current) if current in options else 0
        self._stack.append(ChoiceScreen(item, options, cursor, models))

    def _pick(self, screen: ChoiceScreen) -> None:
        value = screen.options[screen.cursor]
        item = screen.item
        self._stack.pop()
        taken = True  # a sound or model the facade refused is not recorded in the state
        if item.source == "sounds":
            taken = self._run(lambda: self.facade.select_sound(value))
        elif item.source == "models":
            taken = self._run(lambda: self.facade.load_model(value))
        if taken:
            self._set(item.setting, value, notify=item.source is None)

    # -- helpers --------------------------------------------------------------------------

    def _replace(self, screen: Screen) -> None:
        self._stack[-1] = screen

    def _set(self, key: str, value: Any, notify: bool = True) -> None:
        if self.state.get(key) == value:
            return
        try:
            self.state = self.state.with_value(key, value)
        except Exception as exc:  # noqa: BLE001 - a menu that names a value the state refuses: show it, carry on
            self._show_error(exc)
            return
        if notify:
            self._run(lambda: self.facade.apply_setting(key, value))
        if self.on_state is not None:
            self.on_state(self.state)

    def _run(self, call: Callable[[], None]) -> bool:
        """Run a facade action; a failure becomes an error dialog, never a crash."""
        try:
            call()
        except Exception as exc:  # noqa: BLE001 - any failure becomes a dialog
            self._show_error(exc)
            return False
        return True

    def _safe(self, call: Callable[[], Any], fallback: Any) -> Any:
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - any failure becomes a dialog
            self._show_error(exc)
            return fallback

    def _show_error(self, exc: Exception) -> None:
        log.warning("menu action failed: %s", exc, exc_info=not isinstance(exc, NeurorackError))
        self._stack.append(MessageScreen("Error", str(exc) or type(exc).__name__))


def _clamp(index: int, count: int) -> int:
    return min(max(index, 0), max(count - 1, 0))


def model_info(screen: ChoiceScreen) -> ModelInfo | None:
    """The card of the highlighted model, on a models list."""
    if screen.models and screen.cursor < len(screen.models):
        return screen.models[screen.cursor]
    return None
