"""The menu's CV calibration, played with scripted encoder and button events on the mock
board: the real MCP3008 driver over the simulated SPI bus, with conditioning resistors a
little off the board file's values, while the panel's poller runs."""

from __future__ import annotations

import time

import pytest

from neurorack.app.calibrator import ModuleCalibrator
from neurorack.cli.hw import MOCK_HARDWARE_SCALES
from neurorack.config.board import load_board
from neurorack.config.state import ModuleState
from neurorack.controls.calibration import load_calibration
from neurorack.controls.panel import Panel
from neurorack.core.events import ButtonEvent, EncoderTurn
from neurorack.hardware.adc import open_simulated_adc
from neurorack.hardware.gpio_sim import SimulatedGPIO
from neurorack.hardware.scenario import Constant, Scenario
from neurorack.ui.frame import capture_frame
from neurorack.ui.menu_file import load_menu
from neurorack.ui.mock_facade import MockFacade
from neurorack.ui.navigation import Navigator
from neurorack.ui.pages import (
    CalibrateScreen,
    ConfirmScreen,
    HomeScreen,
    MenuScreen,
    MessageScreen,
)


@pytest.fixture
def module(tmp_path):
    board = load_board("mock")
    patched: dict = {"cv3": Constant(0.0)}
    adc = open_simulated_adc(board, Scenario(patched), noise_lsb=0.5, scales=MOCK_HARDWARE_SCALES, seed=2)
    gpio = SimulatedGPIO()
    gpio.setmode(gpio.BCM)
    panel = Panel(board, adc, gpio, lambda edge: None, tmp_path).start()
    calibrator = ModuleCalibrator(adc.driver, board, tmp_path, on_saved=panel.reload_calibration, reads=300)
    facade = MockFacade(time.monotonic, calibrator=calibrator)
    navigator = Navigator(load_menu(), facade, ModuleState())
    yield navigator, facade, calibrator, panel, patched, board
    panel.close()


def press(navigator, kind="short"):
    navigator.handle(ButtonEvent(kind, time.monotonic()))


def turn(navigator, steps):
    navigator.handle(EncoderTurn(steps, time.monotonic()))


def open_calibrate(navigator, item="Calibrate CVs"):
    press(navigator)  # home -> menu
    labels = [item.label for item in navigator.screen.menu.items]
    turn(navigator, labels.index("Calibration"))
    press(navigator)
    turn(navigator, [i.label for i in navigator.screen.menu.items].index(item))
    press(navigator)


def wait_reading(navigator, facade, calibrator):
    shown_task = False
    while facade.calibration_progress().reading:
        shown_task |= capture_frame(navigator, facade).task is not None
        time.sleep(0.005)
    calibrator.wait()
    return shown_task


def test_calibrate_cv3_from_the_menu_saves_and_the_panel_reads_true_volts(module, tmp_path):
    navigator, facade, calibrator, panel, patched, board = module
    open_calibrate(navigator)
    assert isinstance(navigator.screen, CalibrateScreen) and navigator.screen.name is None
    turn(navigator, 2)
    press(navigator)  # pick CV 3
    assert navigator.screen.name == "cv3"
    progress = facade.calibration_progress()
    assert progress.volts == 1.0 and progress.readings_done == 0
    assert capture_frame(navigator, facade).calibrating == progress  # what the page draws
    for volts in (1.0, 3.0):
        patched["cv3"] = Constant(volts)
        time.sleep(0.03)  # the poller's smoother settles on the new voltage
        press(navigator)
        assert facade.calibration_progress().reading
        assert wait_reading(navigator, facade, calibrator) or facade.calibration_progress().readings_done
    result = facade.calibration_progress()
    assert result.readings_done == 2 and result.error is None
    true_scale, true_offset = MOCK_HARDWARE_SCALES["cv3"]
    assert result.scale == pytest.approx(true_scale, rel=2e-3)
    assert result.offset_volts == pytest.approx(true_offset, abs=0.02)
    nominal = board.input("cv3").scale
    assert result.before_cents == pytest.approx(1200 * (nominal / true_scale - 1), abs=5)
    assert not (tmp_path / "calibration.yaml").exists()  # nothing saved before the press
    patched["cv3"] = Constant(5.0)  # where the board file's nominal values are off most
    time.sleep(0.05)
    before = panel.status().cv_volts[2]
    assert not navigator.screen.save  # Cancel first
    turn(navigator, 1)
    assert navigator.screen.save
    press(navigator)  # save
    assert facade.calibration_progress().saved
    saved = load_calibration(tmp_path, board)
    assert list(saved) == ["cv3"] and saved["cv3"].scale == pytest.approx(result.scale)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["calibration.yaml"]  # atomic: no temporary left
    time.sleep(0.05)
    after = panel.status().cv_volts[2]
    assert abs(after - 5.0) < 0.02 < abs(before - 5.0)  # the panel uses it now
    info = facade.calibration()
    assert [i.calibrated for i in info.inputs] == [False, False, True, False]
    press(navigator)  # done
    assert isinstance(navigator.screen, MenuScreen)


def test_nothing_patched_is_an_error_on_screen_and_nothing_is_saved(module, tmp_path):
    navigator, facade, calibrator, *_ = module
    open_calibrate(navigator)
    turn(navigator, 2)
    press(navigator)
    for _ in range(2):  # the same voltage twice: the cable is not in
        press(navigator)
        wait_reading(navigator, facade, calibrator)
    progress = facade.calibration_progress()
    assert "is the cable in cv3?" in progress.error and progress.readings_done == 0
    press(navigator, "long")  # leave without saving
    assert facade.calibration_progress() is None
    assert not (tmp_path / "calibration.yaml").exists()
    assert isinstance(navigator.screen, MenuScreen)


def test_idle_timeout_does_not_leave_the_routine_while_cables_are_patched(module):
    navigator = module[0]
    open_calibrate(navigator)
    navigator.tick(time.monotonic() + 3600)
    assert isinstance(navigator.screen, CalibrateScreen)


def test_without_an_adc_calibrating_says_why():
    navigator = Navigator(load_menu(), MockFacade(time.monotonic), ModuleState())
    open_calibrate(navigator)
    press(navigator)
    assert isinstance(navigator.screen, MessageScreen) and "panel's ADC" in navigator.screen.text


def read_both(navigator, facade, calibrator, patched, name="cv3"):
    """Pick ``name`` (the picker is open) and read 1 V, then 3 V, patched on it."""
    turn(navigator, ["cv1", "cv2", "cv3", "cv4"].index(name) - navigator.screen.cursor)
    press(navigator)
    for volts in (1.0, 3.0):
        patched[name] = Constant(volts)
        time.sleep(0.03)
        press(navigator)
        wait_reading(navigator, facade, calibrator)
    return facade.calibration_progress()


def test_cancel_on_the_result_saves_nothing_and_goes_back_to_the_inputs(module, tmp_path):
    navigator, facade, calibrator, _, patched, _ = module
    open_calibrate(navigator)
    assert read_both(navigator, facade, calibrator, patched).scale is not None
    turn(navigator, 1)
    turn(navigator, -1)  # back on Cancel
    press(navigator)
    assert isinstance(navigator.screen, CalibrateScreen) and navigator.screen.name is None
    assert navigator.screen.cursor == 2
    assert facade.calibration_progress() is None
    assert not (tmp_path / "calibration.yaml").exists()


def test_a_refused_reading_is_shown_whole_in_a_dialog_then_the_player_reads_again(module, tmp_path):
    navigator, facade, calibrator, _, patched, _ = module
    open_calibrate(navigator)
    turn(navigator, 2)
    press(navigator)
    patched["cv3"] = Constant(-8.0)  # below the input's range: clipped
    time.sleep(0.03)
    press(navigator)
    wait_reading(navigator, facade, calibrator)
    navigator.tick(time.monotonic())
    assert isinstance(navigator.screen, MessageScreen)
    assert navigator.screen.text.startswith("cv3 clips at 1 V: the ADC reads 0.00")
    press(navigator)  # dismissed: back to the routine, asking for 1 V again
    navigator.tick(time.monotonic())
    assert isinstance(navigator.screen, CalibrateScreen)
    assert facade.calibration_progress().volts == 1.0 and facade.calibration_progress().readings_done == 0
    assert not (tmp_path / "calibration.yaml").exists()


def test_reset_to_board_from_the_menu_forgets_the_calibration_and_the_panel_follows(module, tmp_path):
    navigator, facade, calibrator, panel, patched, _ = module
    patched["cv1"] = Constant(5.0)  # where the board file's nominal values are off most
    time.sleep(0.05)
    uncalibrated = panel.status().cv_volts[0]
    open_calibrate(navigator)
    read_both(navigator, facade, calibrator, patched, "cv1")
    turn(navigator, 1)
    press(navigator)  # save
    patched["cv1"] = Constant(5.0)
    time.sleep(0.05)
    assert abs(panel.status().cv_volts[0] - 5.0) < 0.02 < abs(uncalibrated - 5.0)
    press(navigator)  # "press: done" leaves the saved result
    press(navigator, "long")  # the Calibration menu -> the top menu
    press(navigator, "long")  # -> home
    assert isinstance(navigator.screen, HomeScreen)
    open_calibrate(navigator, "Reset to board")
    assert isinstance(navigator.screen, ConfirmScreen)
    press(navigator)  # No: nothing happens
    assert (tmp_path / "calibration.yaml").exists()
    press(navigator)  # the item again
    turn(navigator, 1)
    press(navigator)  # Yes
    assert isinstance(navigator.screen, MessageScreen) and "board file's values" in navigator.screen.text
    assert not (tmp_path / "calibration.yaml").exists() and list(tmp_path.iterdir()) == []
    assert [i.calibrated for i in facade.calibration().inputs] == [False] * 4
    time.sleep(0.05)
    assert panel.status().cv_volts[0] == pytest.approx(uncalibrated, abs=0.01)  # the board file's values again
