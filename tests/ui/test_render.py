"""Golden-image tests: every page rendered from a hand-built frame, compared pixel for pixel
with tests/ui/golden/*.png (regenerate with NEURORACK_UPDATE_GOLDEN=1, then review)."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw

from neurorack import __version__
from neurorack.config.state import ModuleState
from neurorack.core.events import InputStatus
from neurorack.ui.facade import (
    CalibrationInfo,
    CalibrationProgress,
    InputCalibration,
    ModelInfo,
    SystemInfo,
    TaskStatus,
)
from neurorack.ui.frame import Frame
from neurorack.ui.menu_file import load_menu
from neurorack.ui.mock_facade import DEMO_MODELS, DEMO_SOUNDS
from neurorack.ui.pages import (
    CalibrateScreen,
    CalibrationScreen,
    ChoiceScreen,
    ConfirmScreen,
    HomeScreen,
    MenuScreen,
    MessageScreen,
    RoutingScreen,
    SliderScreen,
    SystemScreen,
)
from neurorack.ui.render import _rasterised, fit, font, render, stamp_text, wrap
from tests.ui.conftest import assert_matches_golden

MENU = load_menu()
STATE = (ModuleState(sound="Kick 808", model="drums-trimmed")
         .with_value("levels.gain_db", -6.0)
         .with_value("routing.cv2.amount", -0.5))
CALIBRATION = CalibrationInfo((InputCalibration("cv1", 3.0712, -5.083, True), InputCalibration("cv2", 3.0, -5.0),
                               InputCalibration("cv3", 3.0498, -5.021, True), InputCalibration("cv4", 3.0, -5.0)))
STATUS = InputStatus((2.5, -1.2, 0.0, 4.9), (0.3, 0.7), (True, False))
BROKEN = ModelInfo("broken", 0, 0, error="models/broken/model.yaml:7: parameters: expected a whole number or "
                                         "null, got '24,555 weights'")
SYSTEM = SystemInfo(__version__, "192.168.1.23", 23.0, 48.5, 212.0, 3791.0, 3 * 3600 + 25 * 60)


def item(*labels):
    """The menu item at a path of labels."""
    node = MENU.root
    for label in labels:
        node = next(i for i in node.items if i.label == label)
    return node


def frames():
    settings = item("Settings")
    sounds = tuple(s.name for s in DEMO_SOUNDS)
    models = tuple(m.name for m in DEMO_MODELS)
    return {
        "home": Frame(HomeScreen(), STATE, STATUS, 0, 23.0),
        "home-dropouts-warning": Frame(HomeScreen(), ModuleState(sound="A very long sound name indeed"),
                                       InputStatus((-5.0, 5.0, -7.0, 0.01), gates=(False, True)), 3, 97.0,
                                       ("ADC not answering",)),
        "menu": Frame(MenuScreen(MENU.root, 1), STATE),
        "menu-settings-scrolled": Frame(MenuScreen(settings, 6, ("Settings",)), STATE),
        "sounds": Frame(ChoiceScreen(item("Sounds"), sounds, 5), STATE),
        "models": Frame(ChoiceScreen(item("Models"), models, 1, DEMO_MODELS), STATE),
        "models-loading": Frame(ChoiceScreen(item("Models"), models, 1, DEMO_MODELS), STATE,
                                task=TaskStatus("loading drums-dense", 0.4)),
        "models-unavailable": Frame(ChoiceScreen(item("Models"), (*models, "broken"), 3, (*DEMO_MODELS, BROKEN)),
                                    STATE),
        "slider-db": Frame(SliderScreen(item("Settings", "Output level")), STATE),
        "slider-bipolar": Frame(SliderScreen(item("CV routing", "CV 2", "Amount")), STATE),
        "slider-restart-note": Frame(SliderScreen(item("Settings", "Lookahead")), STATE),
        "block-size-choice": Frame(ChoiceScreen(item("Settings", "Block size"), (32, 64, 128, 256, 512, 1024), 3),
                                   STATE),
        "system": Frame(SystemScreen(item("System", "Status")), STATE, underflows=2, system=SYSTEM),
        "calibration": Frame(CalibrationScreen(item("Calibration", "Status")), STATE, calibration=CALIBRATION),
        "calibrate-pick": Frame(CalibrateScreen(cursor=2), STATE, calibration=CALIBRATION),
        "calibrate-patch": Frame(CalibrateScreen(cursor=2, name="cv3"), STATE, calibration=CALIBRATION,
                                 calibrating=CalibrationProgress("cv3", 3.0, 1)),
        "calibrating": Frame(CalibrateScreen(cursor=2, name="cv3"), STATE, calibration=CALIBRATION,
                             calibrating=CalibrationProgress("cv3", 3.0, 1, reading=True),
                             task=TaskStatus("reading cv3", 0.7)),
        "calibrate-result": Frame(CalibrateScreen(cursor=2, name="cv3"), STATE, calibration=CALIBRATION,
                                  calibrating=CalibrationProgress("cv3", None, 2, False, 3.0498, -5.021, 27.6, 0.04)),
        "calibrate-result-save": Frame(CalibrateScreen(cursor=2, name="cv3", save=True), STATE, calibration=CALIBRATION,
                                       calibrating=CalibrationProgress("cv3", None, 2, False, 3.0498, -5.021, 27.6,
                                                                       0.04)),
        "routing": Frame(RoutingScreen(item("CV routing", "Overview")), STATE),
        "confirm-shutdown": Frame(ConfirmScreen(item("System", "Shutdown"), yes=True), STATE),
        "error": Frame(MessageScreen("Error", "model 'drums-dense': checksum mismatch, keeping drums-trimmed"),
                       STATE),
    }


@pytest.mark.parametrize("name", list(frames()))
def test_page_matches_golden(name):
    assert_matches_golden(render(frames()[name]), name)


def test_asleep_screen_is_dark():
    image = render(Frame(HomeScreen(), STATE, STATUS, asleep=True))
    assert image.getbbox() is None


def test_home_page_moves_with_the_cv():
    still = render(Frame(HomeScreen(), STATE, InputStatus()))
    moved = render(Frame(HomeScreen(), STATE, InputStatus((3.0, 0.0, 0.0, 0.0))))
    difference = Image.frombytes("1", still.size, bytes(a ^ b for a, b in zip(still.tobytes(), moved.tobytes())))
    _, top, _, bottom = difference.getbbox()
    assert 26 <= top and bottom <= 35  # only the first CV row changed


def test_a_cv_a_hair_below_zero_reads_as_zero_not_minus_zero():
    zero = render(Frame(HomeScreen(), STATE, InputStatus((0.0, 0.0, 0.0, 0.0))))
    hair = render(Frame(HomeScreen(), STATE, InputStatus((-0.001, -0.004, 0.0, 0.0))))
    assert hair.tobytes() == zero.tobytes()


def test_a_redrawn_page_stamps_strings_rasterised_before():
    render(Frame(HomeScreen(), STATE, STATUS))
    rasterised = _rasterised.cache_info().misses
    again = render(Frame(HomeScreen(), STATE, STATUS))
    assert _rasterised.cache_info().misses == rasterised
    assert again.tobytes() == render(Frame(HomeScreen(), STATE, STATUS)).tobytes()


@pytest.mark.parametrize("xy", [(3, 5), (0, -2), (40.5, 7.25)])
@pytest.mark.parametrize("fill", [0, 1])
def test_a_stamped_string_has_the_pixels_of_draw_text(xy, fill):
    def drawn(stamped: bool, text: str, typeface) -> bytes:
        image = Image.new("1", (128, 64), 1 - fill)
        draw = ImageDraw.Draw(image)
        draw.fontmode = "1"
        if stamped:
            stamp_text(draw, xy, text, font=typeface, fill=fill)
        else:
            draw.text(xy, text, font=typeface, fill=fill)
        assert image.tobytes() != Image.new("1", (128, 64), 1 - fill).tobytes()  # something was drawn
        return image.tobytes()

    for text, typeface in [("Kick 909", font(15, True)), ("+1.25", font(8)), ("Wj|gÅ…", font(9))]:
        assert drawn(True, text, typeface) == drawn(False, text, typeface), text


def test_fit_and_wrap_respect_the_width():
    typeface = font(9)
    assert fit("short", typeface, 100) == "short"
    cut = fit("a sound name far too long for the screen", typeface, 60)
    assert cut.endswith("…") and typeface.getlength(cut) <= 60
    lines = wrap("Patch 0 V, then 1 V, to every CV input when asked. Start?", typeface, 124)
    assert len(lines) > 1 and all(typeface.getlength(line) <= 124 for line in lines)
    assert " ".join(lines) == "Patch 0 V, then 1 V, to every CV input when asked. Start?"
