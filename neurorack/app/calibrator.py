"""CV calibration on the module: the menu's guided two-point routine, run on the panel's ADC.

The routine itself (``TwoPointRoutine``, ``save_calibration``) is the one ``neurorack
calibrate`` uses; this class runs its readings on a worker thread so the UI keeps drawing,
reports them as a task with a progress bar, saves the result atomically into
``<state dir>/calibration.yaml`` (once the player confirms it) and tells the panel to apply
it. ``reset`` removes the file again: the panel goes back to the board file's values.

Reads go through the ADC driver while the poller also reads it: the driver locks the SPI
bus around each transfer, so the two interleave.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from neurorack.config.board import CV_INPUTS, BoardConfig
from neurorack.controls.calibration import (
    DEFAULT_HIGH_VOLTS,
    DEFAULT_LOW_VOLTS,
    DEFAULT_READS,
    CalibrationResult,
    TwoPointRoutine,
    calibration_path,
    load_calibration,
    reset_calibration,
    save_calibration,
)
from neurorack.errors import NeurorackError
from neurorack.ui.facade import (
    CalibrationInfo,
    CalibrationProgress,
    InputCalibration,
    TaskStatus,
)

log = logging.getLogger(__name__)


class ModuleCalibrator:
    """Calibrates one CV input at a time from the menu.

    Args:
        adc: the panel's ADC driver (``read(channel) -> code``).
        board: the board file.
        state_dir: where ``calibration.yaml`` is saved (None: nowhere, saving is refused).
        on_saved: called after a save (the panel reloads the file), on the UI thread.
        low_volts, high_volts: the two voltages asked for.
        reads: reads averaged per voltage.
    """

    def __init__(self, adc, board: BoardConfig, state_dir: str | Path | None,
                 on_saved: Callable[[], object] | None = None, low_volts: float = DEFAULT_LOW_VOLTS,
                 high_volts: float = DEFAULT_HIGH_VOLTS, reads: int = DEFAULT_READS):
        self.adc = adc
        self.board = board
        self.state_dir = state_dir
        self.on_saved = on_saved
        self.voltages = (low_volts, high_volts)
        self.reads = reads
        self._routine: TwoPointRoutine | None = None
        self._result: CalibrationResult | None = None
        self._worker: threading.Thread | None = None
        self._fraction = 0.0
        self._error: str | None = None
        self._saved = False
        self._info_cache: tuple[object, CalibrationInfo] | None = None

    # -- the Status page ------------------------------------------------------------------

    def info(self) -> CalibrationInfo:
        """The calibration in use per CV input: saved values, else the board file's.

        Raises:
            ConfigError: a damaged calibration file.
        """
        stamp = self._file_stamp()
        if self._info_cache is not None and self._info_cache[0] == stamp:
            return self._info_cache[1]
        saved = load_calibration(self.state_dir, self.board)
        inputs = []
        for name in CV_INPUTS:
            wired = self.board.input(name)
            if wired.channel is None:
                continue
            if name in saved:
                inputs.append(InputCalibration(name, saved[name].scale, saved[name].offset_volts, True))
            else:
                inputs.append(InputCalibration(name, wired.scale, wired.offset_volts, False))
        info = CalibrationInfo(tuple(inputs), *self.voltages)
        self._info_cache = (stamp, info)
        return info

    def _file_stamp(self) -> object:
        if self.state_dir is None:
            return None
        try:
            stat = calibration_path(self.state_dir).stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    # -- the routine ----------------------------------------------------------------------

    def start(self, name: str) -> None:
        """Begin calibrating ``name``; forgets an unsaved calibration.

        Raises:
            NeurorackError: a reading is running, or the input is unknown or unwired.
        """
        self._refuse_while_reading()
        self._routine = TwoPointRoutine(self.adc, self.board, name, *self.voltages, self.reads)
        self._result, self._error, self._saved, self._fraction = None, None, False, 0.0

    def read(self) -> None:
        """Start reading the voltage the player has patched, on a worker thread."""
        self._refuse_while_reading()
        routine = self._routine
        if routine is None:
            raise NeurorackError("no input is being calibrated")
        if routine.next_volts is None:
            raise NeurorackError(f"{routine.name}: both voltages are already read")
        self._error, self._fraction = None, 0.0
        self._worker = threading.Thread(target=self._read, args=(routine,), name="neurorack-calibration",
                                        daemon=True)
        self._worker.start()

    def wait(self, timeout_s: float | None = None) -> None:
        """Block until the current reading is done (tests, scripts)."""
        if self._worker is not None:
            self._worker.join(timeout_s)

    def _read(self, routine: TwoPointRoutine) -> None:
        try:
            routine.read(self._set_fraction)
            self._fraction = 1.0
            if routine.next_volts is None and routine is self._routine:
                self._result = routine.result
                log.info("calibrated %s: scale %.5f, offset %+.4f V", routine.name, self._result.scale,
                         self._result.offset_volts)
        except Exception as exc:  # noqa: BLE001 - any ADC or maths failure: shown, the player may read again
            if routine is not self._routine:
                return
            self._error = str(exc) or type(exc).__name__
            log.warning("calibration of %s: %s", routine.name, self._error)

    def _set_fraction(self, fraction: float) -> None:
        self._fraction = fraction

    def progress(self) -> CalibrationProgress | None:
        routine = self._routine
        if routine is None:
            return None
        result = self._result
        return CalibrationProgress(
            routine.name, routine.next_volts, len(routine.readings), self._reading(),
            result.scale if result else None, result.offset_volts if result else None,
            result.before_cents if result else None, result.uncertainty_cents if result else None,
            self._saved, self._error)

    def task(self) -> TaskStatus | None:
        """The reading in progress, as a progress bar."""
        if self._routine is None or not self._reading():
            return None
        return TaskStatus(f"reading {self._routine.name}", self._fraction)

    def save(self) -> Path:
        """Save the finished calibration atomically, then apply it (``on_saved``).

        Raises:
            NeurorackError: nothing to save, or the state folder cannot be written.
        """
        self._refuse_while_reading()
        if self._result is None:
            raise NeurorackError("nothing to save: read both voltages first")
        if self.state_dir is None:
            raise NeurorackError("no state folder: the calibration cannot be saved")
        try:
            path = save_calibration(self.state_dir, self.board, {self._result.name: self._result})
        except OSError as exc:
            raise NeurorackError(f"cannot save the calibration: {exc.strerror or exc}") from None
        self._saved = True
        if self.on_saved is not None:
            self.on_saved()
        return path

    def reset(self) -> list[str]:
        """Forget every saved calibration (atomically), then apply the board file's values
        (``on_saved``); returns the inputs that had one.

        Raises:
            NeurorackError: a reading is running, or there is no state folder.
        """
        self._refuse_while_reading()
        if self.state_dir is None:
            raise NeurorackError("no state folder: there is no saved calibration")
        try:
            forgotten = reset_calibration(self.state_dir, self.board)
        except OSError as exc:
            raise NeurorackError(f"cannot remove the calibration: {exc.strerror or exc}") from None
        if self.on_saved is not None:
            self.on_saved()
        return forgotten

    def cancel(self) -> None:
        """Forget the routine (a running reading finishes and is dropped)."""
        self._routine, self._result, self._error, self._saved = None, None, None, False

    def _reading(self) -> bool:
        return self._worker is not None and self._worker.is_alive()

    def _refuse_while_reading(self) -> None:
        if self._reading():
            raise NeurorackError("a calibration reading is running")
