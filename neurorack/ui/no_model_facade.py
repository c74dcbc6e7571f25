"""The module's facade when no model is installed: the built-in test voice plays and the
screen says why. Not a mock: its figures, warnings, actions and calibration are the module's."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from neurorack.core.events import InputStatus
from neurorack.errors import NeurorackError
from neurorack.ui.facade import CalibrationMethods, ModelInfo, SoundInfo, SystemInfo, TaskStatus
from neurorack.ui.system_figures import SystemFigures

if TYPE_CHECKING:
    from neurorack.audio.engine import Engine


class NoModelFacade(CalibrationMethods):
    """The test voice's module as the UI sees it: no sounds or models to list (the Sounds and
    Models menus say so), the engine's dropouts, the system's figures, the warnings on the
    home page, the output level applied, and the on-screen calibration.

    Args:
        engine: the engine playing the test voice (dropouts, output level).
        input_status: returns the panel's latest ``InputStatus``.
        warnings: returns what the home page shows (how the module started, and the live
            problems: ADC fault, engine warnings).
        calibrator: runs the on-screen CV calibration (None: refused with a dialog).
        power: performs ``shutdown`` and ``reboot`` (``neurorack.service.power.request_power_action``;
            None: refused with a dialog).
        system_info: returns the System page's figures (default: the running system's).
    """

    def __init__(self, engine: Engine, input_status: Callable[[], InputStatus] = InputStatus,
                 warnings: Callable[[], Sequence[str]] = tuple, calibrator=None,
                 power: Callable[[str], None] | None = None,
                 system_info: Callable[[], SystemInfo] | None = None):
        self.engine = engine
        self._input_status = input_status
        self._warnings = warnings
        self.calibrator = calibrator
        self._power = power
        self._system_info = system_info or SystemFigures()

    def sounds(self) -> Sequence[SoundInfo]:
        return ()

    def models(self) -> Sequence[ModelInfo]:
        return ()

    def input_status(self) -> InputStatus:
        return self._input_status()

    def engine_stats(self) -> Mapping[str, Any]:
        return self.engine.stats()

    def system_info(self) -> SystemInfo:
        return self._system_info()

    def warnings(self) -> Sequence[str]:
        return tuple(dict.fromkeys(self._warnings()))

    def task(self) -> TaskStatus | None:
        return self.calibrator.task() if self.calibrator is not None else None

    def preview_sound(self, name: str) -> None:
        raise NeurorackError(f"no sound '{name}': no model is installed, the test voice plays")

    def select_sound(self, name: str) -> None:
        raise NeurorackError(f"no sound '{name}': no model is installed, the test voice plays")

    def load_model(self, name: str) -> None:
        raise NeurorackError(f"model '{name}' is not installed")

    def apply_setting(self, key: str, value: Any) -> None:
        if key == "levels.gain_db":
            self.engine.output.gain = 10.0 ** (float(value) / 20.0)  # one float swap, read per block

    def run_action(self, action: str) -> None:
        if action in ("shutdown", "reboot"):
            if self._power is None:
                raise NeurorackError(f"{action} is not available here")
            self._power(action)
        elif action == "restart_audio":
            raise NeurorackError("restart the service to apply: 'systemctl restart neurorack'")
        else:
            raise NeurorackError(f"unknown action '{action}'")
