"""What the UI needs from the rest of the module, as one small interface.

The instrument implements ``ModuleFacade``; the UI only calls it from its own thread. Each
method must return quickly (well under a frame, 50 ms): long work such as loading a model
or calibrating is started by the call and reported through ``task()``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from neurorack.core.events import InputStatus
from neurorack.errors import NeurorackError


@dataclass(frozen=True)
class SoundInfo:
    """One playable sound. ``detail``: a short line such as the kit or the model it needs."""

    name: str
    detail: str = ""


@dataclass(frozen=True)
class ModelInfo:
    """An installed model, from its card ``models/<name>/model.yaml``.

    Attributes:
        name: the model's folder name.
        parameters: parameter count.
        size_bytes: weights on disk, in bytes.
        realtime_factor: measured single-thread real-time factor (None: not measured).
        error: why the model cannot be loaded (its card is wrong: the file, the key and what is
            wrong); None: it can.
    """

    name: str
    parameters: int
    size_bytes: int
    realtime_factor: float | None = None
    error: str | None = None


@dataclass(frozen=True)
class SystemInfo:
    """Figures for the System page. Any of them may be None when unknown."""

    version: str
    ip_address: str | None = None
    cpu_percent: float | None = None
    temperature_c: float | None = None
    memory_used_mb: float | None = None
    memory_total_mb: float | None = None
    uptime_s: float | None = None


@dataclass(frozen=True)
class TaskStatus:
    """Long work in progress (loading a model, calibrating).

    Attributes:
        label: what is happening, e.g. "loading kick-808".
        fraction: 0..1 done.
        prompt: what the player should do now, e.g. "patch 1 V to CV 2" (None: just wait).
        error: set when the task failed; the UI shows it once, then the task is over.
    """

    label: str
    fraction: float = 0.0
    prompt: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class InputCalibration:
    """How one CV input turns ADC volts into jack volts: ``jack = scale * adc + offset_volts``.

    Attributes:
        name: ``cv1`` .. ``cv4``.
        scale: jack volts per ADC volt.
        offset_volts: jack volts at 0 V on the ADC.
        calibrated: measured by the calibration routine (False: the board file's values).
    """

    name: str
    scale: float
    offset_volts: float
    calibrated: bool = False


@dataclass(frozen=True)
class CalibrationInfo:
    """What the Calibration page shows; ``low_volts``/``high_volts``: the two voltages the
    routine asks for."""

    inputs: tuple[InputCalibration, ...] = ()
    low_volts: float = 1.0
    high_volts: float = 3.0


CALIBRATION_UNKNOWN = CalibrationInfo()  # a facade without a panel: nothing to show


@dataclass(frozen=True)
class CalibrationProgress:
    """The on-screen calibration of one input.

    Attributes:
        name: the input (``cv1`` .. ``cv4``).
        volts: the voltage to patch for the next reading (None once both are read).
        readings_done: 0, 1 or 2.
        reading: a reading is in progress (its progress comes through ``task()``).
        scale, offset_volts: the result, once both readings are done.
        before_cents: 1V/oct error of a 1 V step with the previous values, in cents.
        uncertainty_cents: standard error of the calibrated 1 V step, in cents.
        saved: the result is saved and applied to the panel.
        error: why the last reading failed (the player may read again).
    """

    name: str
    volts: float | None
    readings_done: int = 0
    reading: bool = False
    scale: float | None = None
    offset_volts: float | None = None
    before_cents: float | None = None
    uncertainty_cents: float | None = None
    saved: bool = False
    error: str | None = None


class ModuleFacade(Protocol):
    """The module as the UI sees it. Errors raised by the actions are shown in a dialog."""

    def sounds(self) -> Sequence[SoundInfo]:
        """The sounds of the current bank, in menu order."""

    def models(self) -> Sequence[ModelInfo]:
        """The installed models, in menu order."""

    def input_status(self) -> InputStatus:
        """The latest CV, pot and gate snapshot."""

    def engine_stats(self) -> Mapping[str, Any]:
        """``Engine.stats()``: at least ``underflows`` and ``callbacks``."""

    def system_info(self) -> SystemInfo:
        """Figures for the System page and the home page's CPU badge."""

    def warnings(self) -> Sequence[str]:
        """Short problems to show on the home page (ADC fault, model fell back, ...)."""

    def task(self) -> TaskStatus | None:
        """The long task in progress, or None."""

    def preview_sound(self, name: str) -> None:
        """Play ``name`` once without selecting it (the Sounds list calls this while scrolling)."""

    def select_sound(self, name: str) -> None:
        """Make ``name`` the current sound."""

    def load_model(self, name: str) -> None:
        """Start loading ``name``; progress and failure come through ``task()``. The previous
        model keeps playing until the new one is ready."""

    def apply_setting(self, key: str, value: Any) -> None:
        """A module-state setting changed (dotted key, e.g. ``levels.gain_db``)."""

    def run_action(self, action: str) -> None:
        """Run a menu action: ``shutdown``, ``reboot`` or ``restart_audio`` (``calibrate`` is
        the on-screen routine below, driven by the navigator; ``reset_calibration`` calls
        ``reset_calibration``)."""

    def calibration(self) -> CalibrationInfo:
        """The CV calibration in use (from ``calibration.yaml``, else the board file's)."""

    def start_calibration(self, name: str) -> None:
        """Begin calibrating input ``name`` (``cv1`` .. ``cv4``); forgets any unsaved one."""

    def calibration_read(self) -> None:
        """Start the next reading of the input being calibrated (the player has patched
        ``calibration_progress().volts``); it runs in the background, see ``task()``."""

    def calibration_progress(self) -> CalibrationProgress | None:
        """The calibration in progress, or None."""

    def save_calibration(self) -> None:
        """Save the finished calibration atomically and apply it to the panel."""

    def cancel_calibration(self) -> None:
        """Forget the calibration in progress (nothing saved)."""

    def reset_calibration(self) -> None:
        """Forget the saved calibration, atomically: the board file's values apply again."""


class CalibrationMethods:
    """The facade's calibration methods, delegated to ``self.calibrator`` (the on-screen
    two-point routine, or None where no panel ADC is open). Both facades mix this in;
    ``calibration_info`` is what the Calibration page shows without a calibrator."""

    calibrator: Any = None
    calibration_info: CalibrationInfo = CALIBRATION_UNKNOWN

    def calibration(self) -> CalibrationInfo:
        return self.calibrator.info() if self.calibrator is not None else self.calibration_info

    def start_calibration(self, name: str) -> None:
        self._calibrator().start(name)

    def calibration_read(self) -> None:
        self._calibrator().read()

    def calibration_progress(self) -> CalibrationProgress | None:
        return self.calibrator.progress() if self.calibrator is not None else None

    def save_calibration(self) -> None:
        self._calibrator().save()

    def cancel_calibration(self) -> None:
        if self.calibrator is not None:
            self.calibrator.cancel()

    def reset_calibration(self) -> None:
        self._calibrator().reset()

    def _calibrator(self):
        if self.calibrator is None:
            raise NeurorackError("calibration needs the panel's ADC, which this module has not opened")
        return self.calibrator
