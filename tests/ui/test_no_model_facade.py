"""The facade of a module with no model installed: the test voice plays, nothing to list,
the module's own warnings, figures, actions and calibration."""

from __future__ import annotations

import pytest

from neurorack import __version__
from neurorack.audio.engine import Engine
from neurorack.audio.voices import TestVoice
from neurorack.config.state import ModuleState
from neurorack.core.events import ButtonEvent, EncoderTurn, InputStatus
from neurorack.errors import NeurorackError
from neurorack.ui.frame import capture_frame
from neurorack.ui.menu_file import load_menu
from neurorack.ui.navigation import Navigator
from neurorack.ui.no_model_facade import NoModelFacade
from neurorack.ui.pages import HomeScreen, MenuScreen, MessageScreen


@pytest.fixture
def engine():
    return Engine(TestVoice(48000))


def press(navigator, kind="short"):
    navigator.handle(ButtonEvent(kind, 0.0))


def open_item(navigator, label):
    labels = [item.label for item in navigator.screen.menu.items]
    navigator.handle(EncoderTurn(labels.index(label) - navigator.screen.cursor, 0.0))
    press(navigator)


def test_nothing_to_list_and_the_home_encoder_turns_nothing(engine):
    facade = NoModelFacade(engine)
    navigator = Navigator(load_menu(), facade, ModuleState(sound="test voice"))
    navigator.handle(EncoderTurn(2, 0.0))
    assert isinstance(navigator.screen, HomeScreen) and navigator.state.sound == "test voice"
    press(navigator)
    open_item(navigator, "Sounds")
    assert isinstance(navigator.screen, MessageScreen) and navigator.screen.text == "no sounds installed"
    press(navigator)
    open_item(navigator, "Models")
    assert isinstance(navigator.screen, MessageScreen) and navigator.screen.text == "no models installed"
    with pytest.raises(NeurorackError, match="not installed"):
        facade.load_model("drums-v2")


def test_the_home_page_shows_the_warnings_once_each_the_panel_and_the_dropouts(engine):
    status = InputStatus((1.0, 0.0, -1.0, 0.0), (0.5, 0.5), (True, False))
    facade = NoModelFacade(engine, lambda: status, lambda: ["no model installed", "ADC fault", "no model installed"])
    frame = capture_frame(Navigator(load_menu(), facade, ModuleState()), facade)
    assert frame.warnings == ("no model installed", "ADC fault")
    assert frame.status == status
    assert frame.underflows == engine.stats()["underflows"]


def test_the_system_page_shows_this_system_not_made_up_figures(engine):
    facade = NoModelFacade(engine)
    facade.system_info()
    info = facade.system_info()  # the CPU use is measured between two calls
    assert info.version == __version__ and info.ip_address is None
    assert info.cpu_percent is not None and info.cpu_percent >= 0


def test_the_output_level_applies_to_the_engine(engine):
    facade = NoModelFacade(engine)
    facade.apply_setting("levels.gain_db", -20.0)
    assert engine.output.gain == pytest.approx(0.1)
    facade.apply_setting("routing.cv1.amount", 0.5)  # nothing to route: ignored


def test_power_actions_go_to_the_system_and_restart_audio_says_how(engine):
    asked = []
    facade = NoModelFacade(engine, power=asked.append)
    facade.run_action("reboot")
    facade.run_action("shutdown")
    assert asked == ["reboot", "shutdown"]
    with pytest.raises(NeurorackError, match="systemctl restart neurorack"):
        facade.run_action("restart_audio")
    with pytest.raises(NeurorackError, match="unknown action"):
        facade.run_action("explode")
    with pytest.raises(NeurorackError, match="not available"):
        NoModelFacade(engine).run_action("reboot")


class FakeCalibrator:
    def __init__(self):
        self.started = []

    def info(self):
        from neurorack.ui.facade import CalibrationInfo, InputCalibration

        return CalibrationInfo((InputCalibration("cv1", 3.0, -5.0), InputCalibration("cv2", 3.0, -5.0)))

    def start(self, name):
        self.started.append(name)

    def progress(self):
        return None

    def task(self):
        return None

    def cancel(self):
        pass


def test_calibration_goes_to_the_calibrator_and_without_one_it_is_refused(engine):
    calibrator = FakeCalibrator()
    facade = NoModelFacade(engine, calibrator=calibrator)
    navigator = Navigator(load_menu(), facade, ModuleState())
    press(navigator)
    open_item(navigator, "Calibration")
    open_item(navigator, "Calibrate CVs")
    assert navigator.screen.inputs == ("cv1", "cv2")
    navigator.handle(EncoderTurn(1, 0.0))
    press(navigator)
    assert calibrator.started == ["cv2"]
    with pytest.raises(NeurorackError, match="panel's ADC"):
        NoModelFacade(engine).start_calibration("cv1")
    press(navigator, "long")
    assert isinstance(navigator.screen, MenuScreen)
