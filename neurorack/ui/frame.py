"""A frame: everything one picture of the UI depends on, gathered in one immutable value.

Rendering is a pure function of a ``Frame``, so the UI thread redraws only when the frame
changed, and tests render frames built by hand.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from neurorack.core.events import InputStatus
from neurorack.config.state import ModuleState
from neurorack.ui.facade import (
    CalibrationInfo,
    CalibrationProgress,
    ModuleFacade,
    SystemInfo,
    TaskStatus,
)
from neurorack.ui.navigation import (
    CalibrateScreen,
    HomeScreen,
    InfoScreen,
    Navigator,
    Screen,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Frame:
    """What the screen shows.

    Attributes:
        screen: the navigator's top screen.
        state: the module settings.
        status: the panel inputs (home page).
        underflows: audio dropouts so far.
        cpu_percent: CPU load for the home badge (None: unknown).
        warnings: short problems for the home page.
        task: long work in progress, drawn as a progress bar over any page.
        system: figures for the System page (only gathered while it shows).
        asleep: the screen is blanked (screen sleep).
        calibration: the CV calibration in use (only gathered on the calibration pages).
        calibrating: the on-screen calibration in progress (on its page).
    """

    screen: Screen
    state: ModuleState
    status: InputStatus = field(default_factory=InputStatus)
    underflows: int = 0
    cpu_percent: float | None = None
    warnings: tuple = ()
    task: TaskStatus | None = None
    system: SystemInfo | None = None
    asleep: bool = False
    calibration: CalibrationInfo | None = None
    calibrating: CalibrationProgress | None = None


def capture_frame(navigator: Navigator, facade: ModuleFacade, extra_warnings: tuple = (),
                  asleep: bool = False) -> Frame:
    """Ask the facade for what the current screen needs. A facade call that fails leaves its
    part empty and adds a warning; the UI keeps drawing."""
    screen = navigator.screen
    problems: list[str] = []

    def ask(call, fallback):
        try:
            return call()
        except Exception as exc:
            log.debug("facade call failed", exc_info=True)
            problems.append(str(exc) or type(exc).__name__)
            return fallback

    on_home = isinstance(screen, HomeScreen)
    on_system = isinstance(screen, InfoScreen) and screen.item.page == "system"
    status = ask(facade.input_status, InputStatus()) if on_home else InputStatus()
    underflows = int(ask(facade.engine_stats, {}).get("underflows", 0)) if on_home or on_system else 0
    system = ask(facade.system_info, None) if on_home or on_system else None
    warnings = tuple(ask(facade.warnings, ())) if on_home else ()
    task = ask(facade.task, None)
    on_calibrate = isinstance(screen, CalibrateScreen)
    on_calibration = on_calibrate or (isinstance(screen, InfoScreen) and screen.item.page == "calibration")
    calibration = ask(facade.calibration, None) if on_calibration else None
    calibrating = ask(facade.calibration_progress, None) if on_calibrate else None
    if status.fault and status.fault not in warnings:
        warnings = (status.fault, *warnings)
    return Frame(
        screen=screen,
        state=navigator.state,
        status=status,
        underflows=underflows,
        cpu_percent=system.cpu_percent if system is not None and on_home else None,
        warnings=(*extra_warnings, *warnings, *problems) if on_home else (),
        task=task if task is not None and not task.error else None,
        system=system if on_system else None,
        asleep=asleep,
        calibration=calibration,
        calibrating=calibrating,
    )
