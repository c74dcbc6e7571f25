"""Render the OLED through a scripted sequence of events to an animated GIF, on a virtual
clock (faster than real time, the same frames every run). ``neurorack demo`` uses it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from neurorack.config.state import ModuleState
from neurorack.core.events import ButtonEvent, EncoderTurn, InputStatus
from neurorack.ui.display import GifRecorder
from neurorack.ui.facade import ModuleFacade
from neurorack.ui.menu import Menu
from neurorack.ui.menu_file import load_menu
from neurorack.ui.mock_facade import MockFacade
from neurorack.ui.navigation import Navigator
from neurorack.ui.ui_thread import MAX_FPS, UiLoop


@dataclass
class VirtualClock:
    """A clock that only moves when told to."""

    now: float = 0.0

    def __call__(self) -> float:
        return self.now


def _turn(steps: int):
    return lambda t: EncoderTurn(steps, t)


def _short(t: float) -> ButtonEvent:
    return ButtonEvent("short", t)


def _long(t: float) -> ButtonEvent:
    return ButtonEvent("long", t)


def _cv(*volts: float, gates=(False, False)):
    return lambda t: InputStatus(tuple(volts), (0.5, 0.5), gates)


# A tour: the home page with moving CVs and gates, pick a sound (previews while scrolling),
# load a model (progress bar), turn the output level, look at the system page, go home.
DEMO_UI_SCRIPT: tuple = (
    (0.0, _cv(0.0, 0.0, 0.0, 0.0)), (0.3, _cv(1.0, -0.5, 2.0, 0.2, gates=(True, False))),
    (0.45, _cv(1.5, -1.0, 2.4, 0.4)), (0.7, _cv(2.5, -2.0, 3.1, 0.8, gates=(True, True))),
    (0.85, _cv(3.0, -2.5, 2.0, 1.0)), (1.1, _cv(2.0, -3.0, 0.5, 1.5, gates=(True, False))),
    (1.4, _short), (1.9, _short), (2.3, _turn(1)), (2.6, _turn(1)), (2.9, _turn(1)), (3.4, _short),
    (3.9, _turn(1)), (4.3, _short), (4.7, _turn(1)), (5.1, _short),
    (6.9, _turn(3)), (7.3, _short), (7.7, _short), (8.0, _turn(-4)), (8.3, _turn(-4)), (8.6, _turn(2)),
    (9.2, _short), (9.6, _long), (10.0, _turn(1)), (10.3, _short), (10.7, _short), (12.2, _long),
    (12.6, _long), (13.0, _long), (13.2, _cv(-1.0, 1.0, -2.0, 3.0, gates=(False, True))),
)
DEMO_UI_SECONDS = 14.0


def render_gif(path: str | Path, script: Sequence = DEMO_UI_SCRIPT, seconds: float = DEMO_UI_SECONDS,
               facade: ModuleFacade | None = None, state: ModuleState | None = None, menu: Menu | None = None,
               max_fps: float = MAX_FPS, scale: int = 2) -> dict:
    """Play ``script`` through the UI and write the screen as an animated GIF.

    Args:
        path: the GIF file.
        script: ``(time_s, item)`` pairs in time order; ``item`` is an ``EncoderTurn``, a
            ``ButtonEvent`` or an ``InputStatus``, or a function of the time returning one.
            An ``InputStatus`` sets the mock facade's panel inputs.
        seconds: length of the animation.
        facade: the module (None: a ``MockFacade`` on the virtual clock).
        state: the settings at the start (None: the demo sound and model).
        menu: the menu (None: the shipped one).
        max_fps: redraw limit, as on the module.
        scale: pixel enlargement in the GIF.

    Returns:
        ``path``, ``frames`` (distinct frames written) and ``seconds``.
    """
    clock = VirtualClock()
    facade = facade if facade is not None else MockFacade(clock)
    state = state if state is not None else ModuleState(sound="Kick 808", model="drums-trimmed")
    navigator = Navigator(menu or load_menu(), facade, state, now=0.0)
    recorder = GifRecorder(path, clock, scale)
    loop = UiLoop(navigator, facade, recorder, None, clock, max_fps)
    pending = sorted(script, key=lambda pair: pair[0])
    step_s = 1.0 / max_fps
    ticks = round(seconds / step_s)
    index = 0
    for tick in range(ticks + 1):
        clock.now = tick * step_s
        while index < len(pending) and pending[index][0] <= clock.now + 1e-9:
            at, item = pending[index]
            item = item(at) if callable(item) else item
            if isinstance(item, InputStatus):
                facade.status = item
            else:
                loop.feed(item)
            index += 1
        loop.step()
    recorder.close()
    return {"path": str(path), "frames": loop.frames_shown, "seconds": seconds}
