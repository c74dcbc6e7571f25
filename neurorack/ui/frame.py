"""A frame: everything one picture of the UI depends on, gathered in one immutable value.

Rendering is a pure function of a ``Frame``, so the UI thread redraws only when the frame
changed, and tests render frames built by hand.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from neurorack.config.state import ModuleState
from neurorack.core.events import InputStatus
from neurorack.ui.facade import (
    CalibrationInfo,
    CalibrationProgress,
    ModuleFacade,
    SystemInfo,
    TaskStatus,
)
from neurorack.ui.pages.base import (
    CALIBRATING,
    CALIBRATION,
    CPU,
    DROPOUTS,
    INPUTS,
    SYSTEM,
    WARNINGS,
    Page,
)

if TYPE_CHECKING:
    from neurorack.ui.navigation import Navigator

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Frame:
    """What the screen shows.

    Attributes:
        screen: the navigator's top page.
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

    screen: Page
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
    """Ask the facade for what the top page needs (its ``needs``). A facade call that fails
    leaves its part empty and adds a warning, which shows where warnings do; the UI keeps drawing."""
    screen = navigator.screen
    needs = screen.needs
    problems: list[str] = []

    def ask(call, fallback):
        try:
            return call()
        except Exception as exc:
            log.debug("facade call failed", exc_info=True)
            problems.append(str(exc) or type(exc).__name__)
            return fallback

    status = ask(facade.input_status, InputStatus()) if INPUTS in needs else InputStatus()
    underflows = int(ask(facade.engine_stats, {}).get("underflows", 0)) if DROPOUTS in needs else 0
    system = ask(facade.system_info, None) if CPU in needs or SYSTEM in needs else None
    warnings = tuple(ask(facade.warnings, ())) if WARNINGS in needs else ()
    task = ask(facade.task, None)
    calibration = ask(facade.calibration, None) if CALIBRATION in needs else None
    calibrating = ask(facade.calibration_progress, None) if CALIBRATING in needs else None
    if status.fault and status.fault not in warnings:
        warnings = (status.fault, *warnings)
    return Frame(
        screen=screen,
        state=navigator.state,
        status=status,
        underflows=underflows,
        cpu_percent=system.cpu_percent if system is not None and CPU in needs else None,
        warnings=(*extra_warnings, *warnings, *problems) if WARNINGS in needs else (),
        task=task if task is not None and not task.error else None,
        system=system if SYSTEM in needs else None,
        asleep=asleep,
        calibration=calibration,
        calibrating=calibrating,
    )
