"""Navigation: a stack of pages, each an object that handles its own events (see
``neurorack.ui.pages``).

Events: an encoder turn goes to the top page's ``enc``, a press to its ``key``; no input for
``Menu.home_after_s`` returns home (unless a page on the stack holds it, as the guided
calibration does). What the pages do::

    Home --short--> Menu --short--> Menu (submenu) / Choice / Slider / page / Confirm
      ^              |  <--long----   (toggle: flips in place; action: runs or asks)
      +----long------+                Confirm --short on Yes--> action (error -> Message)

Every page is an immutable value; the navigator swaps them, so a snapshot of the UI is
just the top page plus the module state. Facade calls made through ``run`` and ``ask``
never raise: a failure becomes an error dialog.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from neurorack.config.state import ModuleState
from neurorack.core.events import ButtonEvent, ControlEvent, EncoderTurn
from neurorack.errors import NeurorackError
from neurorack.ui.facade import ModuleFacade
from neurorack.ui.menu import Menu
from neurorack.ui.pages.base import Page
from neurorack.ui.pages.home import HomeScreen
from neurorack.ui.pages.message import MessageScreen

log = logging.getLogger(__name__)


class Navigator:
    """Turns control events into page changes, setting changes and facade actions.

    Args:
        menu: the menu tree.
        facade: the module.
        state: the settings at start.
        on_state: called with the new state after every setting change (to save it).
        now: the time of start (``time.monotonic()`` seconds), for the idle timeout.

    Attributes:
        reported: what pages have already shown in a dialog, by their key, so that they show
            each problem once.
    """

    def __init__(self, menu: Menu, facade: ModuleFacade, state: ModuleState,
                 on_state: Callable[[ModuleState], None] | None = None, now: float = 0.0):
        self.menu = menu
        self.facade = facade
        self.state = state
        self.on_state = on_state
        self._stack: list[Page] = [HomeScreen()]
        self._last_input = now
        self._reported_task_error: str | None = None
        self.reported: dict[str, Any] = {}

    @property
    def screen(self) -> Page:
        """The page on top."""
        return self._stack[-1]

    @property
    def depth(self) -> int:
        return len(self._stack)

    def handle(self, event: ControlEvent) -> None:
        """Apply one encoder or button event: the top page gets it."""
        self._last_input = event.time
        if isinstance(event, EncoderTurn):
            steps = -event.steps if self.state.encoder.reversed else event.steps
            if steps:
                self.screen.enc(self, steps)
        elif isinstance(event, ButtonEvent) and event.kind in ("short", "long"):
            self.screen.key(self, event.kind)

    def tick(self, now: float) -> None:
        """Task errors, the top page's own checks and the idle timeout; call this every frame."""
        task = self.ask(self.facade.task, None)
        if task is not None and task.error and task.error != self._reported_task_error:
            self._reported_task_error = task.error
            self.show("Error", f"{task.label}: {task.error}", now)
        self.screen.tick(self, now)
        held = any(page.holds_home for page in self._stack)
        if len(self._stack) > 1 and now - self._last_input >= self.menu.home_after_s and not held:
            self._stack = [HomeScreen()]

    # -- for the pages --------------------------------------------------------------------

    def push(self, page: Page) -> None:
        """Open ``page`` over the current one."""
        self._stack.append(page)

    def replace(self, page: Page) -> None:
        """Put ``page`` in place of the top page (a page's changed copy of itself)."""
        self._stack[-1] = page

    def pop(self) -> None:
        """Close the top page."""
        self._stack.pop()

    def back(self) -> None:
        """Close the top page unless it is the last one."""
        if len(self._stack) > 1:
            self._stack.pop()

    def show(self, title: str, text: str, now: float) -> None:
        """A dialog over the page, from a check at ``now`` (it counts as input: no going home
        before the player has seen it)."""
        self._stack.append(MessageScreen(title, text))
        self._last_input = now

    def set(self, key: str, value: Any, notify: bool = True) -> None:
        """Change setting ``key`` (dotted) in the state; with ``notify`` tell the facade."""
        if self.state.get(key) == value:
            return
        try:
            self.state = self.state.with_value(key, value)
        except Exception as exc:  # noqa: BLE001 - a menu that names a value the state refuses: show it, carry on
            self._show_error(exc)
            return
        if notify:
            self.run(lambda: self.facade.apply_setting(key, value))
        if self.on_state is not None:
            self.on_state(self.state)

    def run(self, call: Callable[[], None]) -> bool:
        """Run a facade action; a failure becomes an error dialog, never a crash."""
        try:
            call()
        except Exception as exc:  # noqa: BLE001 - any failure becomes a dialog
            self._show_error(exc)
            return False
        return True

    def ask(self, call: Callable[[], Any], fallback: Any) -> Any:
        """A facade query; on failure an error dialog and ``fallback``."""
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - any failure becomes a dialog
            self._show_error(exc)
            return fallback

    def _show_error(self, exc: Exception) -> None:
        log.warning("menu action failed: %s", exc, exc_info=not isinstance(exc, NeurorackError))
        self._stack.append(MessageScreen("Error", str(exc) or type(exc).__name__))
