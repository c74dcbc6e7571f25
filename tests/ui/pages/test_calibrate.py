"""The guided calibration: pick an input, read two voltages, Cancel or Save (Cancel first);
a long press cancels; the idle timeout never leaves it; a refused reading is shown once."""

from __future__ import annotations

from dataclasses import replace

from neurorack.ui.facade import CalibrationInfo, CalibrationProgress, InputCalibration
from neurorack.ui.pages import CalibrateScreen, MenuScreen, MessageScreen
from tests.ui.pages.conftest import item


class ScriptedCalibrator:
    """A calibrator whose progress the test sets; it records what the page asked."""

    def __init__(self):
        self.calls = []
        self.current: CalibrationProgress | None = None

    def info(self):
        return CalibrationInfo((InputCalibration("cv1", 3.0, -5.0), InputCalibration("cv2", 3.0, -5.0, True)))

    def progress(self):
        return self.current

    def task(self):
        return None

    def start(self, name):
        self.calls.append(("start", name))
        self.current = CalibrationProgress(name, 1.0)

    def read(self):
        self.calls.append("read")

    def save(self):
        self.calls.append("save")
        self.current = replace(self.current, saved=True)

    def cancel(self):
        self.calls.append("cancel")
        self.current = None


def start(ui):
    calibrator = ScriptedCalibrator()
    ui.facade.calibrator = calibrator
    ui.push(MenuScreen(item("Calibration")))
    ui.push(CalibrateScreen.open(ui, item("Calibration", "Calibrate CVs")))
    return calibrator


def result(calibrator):
    calibrator.current = replace(calibrator.current, volts=None, readings_done=2, reading=False, scale=3.05,
                                 offset_volts=-5.02, before_cents=-9.0, uncertainty_cents=0.4)


def test_it_offers_the_facade_s_inputs_and_starts_the_one_picked(ui):
    calibrator = start(ui)
    assert ui.screen.inputs == ("cv1", "cv2")
    ui.screen.enc(ui, 5)
    ui.screen.key(ui, "short")
    assert calibrator.calls == [("start", "cv2")] and ui.screen.name == "cv2"


def test_a_press_reads_then_cancel_is_first_and_save_saves(ui):
    calibrator = start(ui)
    ui.screen.key(ui, "short")  # cv1
    ui.screen.key(ui, "short")
    assert calibrator.calls[-1] == "read"
    calibrator.current = replace(calibrator.current, reading=True)
    ui.screen.key(ui, "short")  # a press while reading waits
    assert calibrator.calls[-1] == "read"
    result(calibrator)
    assert not ui.screen.save
    ui.screen.enc(ui, 1)
    assert ui.screen.save
    ui.screen.key(ui, "short")
    assert calibrator.calls[-1] == "save" and calibrator.current.saved
    ui.screen.enc(ui, -1)  # the result is saved: nothing to choose any more
    assert ui.screen.save
    ui.screen.key(ui, "short")  # done
    assert isinstance(ui.screen, MenuScreen)


def test_cancel_goes_back_to_the_inputs(ui):
    calibrator = start(ui)
    ui.screen.key(ui, "short")
    result(calibrator)
    ui.screen.key(ui, "short")  # Cancel is highlighted
    assert calibrator.calls[-1] == "cancel"
    assert isinstance(ui.screen, CalibrateScreen) and ui.screen.name is None


def test_long_press_cancels_and_leaves(ui):
    calibrator = start(ui)
    ui.screen.key(ui, "short")
    ui.screen.key(ui, "long")
    assert calibrator.calls[-1] == "cancel" and isinstance(ui.screen, MenuScreen)


def test_the_idle_timeout_waits_while_calibrating(ui):
    start(ui)
    ui.tick(ui.menu.home_after_s * 10)
    assert isinstance(ui.screen, CalibrateScreen)


def test_a_refused_reading_is_shown_once(ui):
    calibrator = start(ui)
    ui.screen.key(ui, "short")
    calibrator.current = replace(calibrator.current, error="cv1 clips at 1 V")
    ui.tick(1.0)
    assert isinstance(ui.screen, MessageScreen) and ui.screen.text == "cv1 clips at 1 V"
    ui.screen.key(ui, "short")
    ui.tick(2.0)
    assert isinstance(ui.screen, CalibrateScreen)  # the same error is not shown again
