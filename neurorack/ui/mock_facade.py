"""A module facade over fixed data, for mock mode, demos and page tests.

It keeps what the UI asked for in ``calls`` and turns ``load_model`` and ``calibrate`` into
tasks that advance with the clock it is given, so a scripted sequence shows progress bars.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from neurorack import __version__
from neurorack.core.events import InputStatus
from neurorack.errors import NeurorackError
from neurorack.ui.facade import (
    CALIBRATION_UNKNOWN,
    CalibrationInfo,
    CalibrationMethods,
    ModelInfo,
    SoundInfo,
    SystemInfo,
    TaskStatus,
)

DEMO_SOUNDS = (SoundInfo("Kick 808", "HardElectro1"), SoundInfo("Snare tight", "Audiophob"),
               SoundInfo("Hat closed", "VariBreaks"), SoundInfo("Tom low", "BJA_Pacific"),
               SoundInfo("Clap wide", "ElectricEmpireKit"), SoundInfo("Rim shot", "Millo-Drums_v.1"),
               SoundInfo("Crash dark", "The Black Pearl 1.0"))
DEMO_MODELS = (ModelInfo("drums-trimmed", 48_200, 196_608, 41.0),
               ModelInfo("drums-dense", 1_240_000, 4_980_000, 6.5),
               ModelInfo("perc-tiny", 12_800, 53_248, None))


class MockFacade(CalibrationMethods):
    """A facade with fixed sounds, models and figures.

    Args:
        clock: returns the current time in seconds (tasks advance with it).
        sounds, models: what the lists offer.
        status: the input snapshot; change ``status`` to move the CV bars.
        task_s: how long a model load takes.
        calibrator: a ``ModuleCalibrator`` for the Calibration menu (None: the page shows
            ``calibration_info`` and calibrating is refused).
    """

    def __init__(self, clock: Callable[[], float], sounds: Sequence[SoundInfo] = DEMO_SOUNDS,
                 models: Sequence[ModelInfo] = DEMO_MODELS, status: InputStatus | None = None,
                 task_s: float = 1.5, calibrator=None):
        self.clock = clock
        self._sounds = tuple(sounds)
        self._models = tuple(models)
        self.status = status or InputStatus()
        self.task_s = task_s
        self.stats: dict = {"callbacks": 0, "underflows": 0}
        self.system = SystemInfo(__version__, "192.168.1.23", 23.0, 48.5, 212.0, 3791.0, 3 * 3600 + 25 * 60)
        self.warning_list: list[str] = []
        self.calibrator = calibrator
        self.live_warnings: Callable[[], Sequence[str]] | None = None  # e.g. the engine's, on a module
        self.calibration_info: CalibrationInfo = CALIBRATION_UNKNOWN
        self.calls: list[tuple] = []
        self._task: tuple[str, float, str | None] | None = None  # label, start, prompt

    def sounds(self) -> Sequence[SoundInfo]:
        return self._sounds

    def models(self) -> Sequence[ModelInfo]:
        return self._models

    def input_status(self) -> InputStatus:
        return self.status

    def engine_stats(self) -> Mapping[str, Any]:
        return self.stats

    def system_info(self) -> SystemInfo:
        return self.system

    def warnings(self) -> Sequence[str]:
        live = tuple(self.live_warnings()) if self.live_warnings is not None else ()
        return tuple(dict.fromkeys((*live, *self.warning_list)))

    def task(self) -> TaskStatus | None:
        reading = self.calibrator.task() if self.calibrator is not None else None
        if reading is not None:
            return reading
        if self._task is None:
            return None
        label, started, prompt = self._task
        fraction = (self.clock() - started) / self.task_s
        if fraction >= 1.0:
            self._task = None
            return None
        return TaskStatus(label, fraction, prompt)

    def preview_sound(self, name: str) -> None:
        self.calls.append(("preview_sound", name))

    def select_sound(self, name: str) -> None:
        self.calls.append(("select_sound", name))

    def load_model(self, name: str) -> None:
        self.calls.append(("load_model", name))
        if name not in {m.name for m in self._models}:
            raise NeurorackError(f"model '{name}' is not installed")
        self._task = (f"loading {name}", self.clock(), None)

    def apply_setting(self, key: str, value: Any) -> None:
        self.calls.append(("apply_setting", key, value))

    def run_action(self, action: str) -> None:
        self.calls.append(("run_action", action))
        if action in ("shutdown", "reboot"):
            raise NeurorackError(f"{action} is not available in mock mode")

    def with_status(self, **changes) -> None:
        """Change the input snapshot (``cv_volts=...``, ``gates=...``)."""
        self.status = replace(self.status, **changes)
