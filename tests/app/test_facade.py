"""The real facade: sounds, model cards, routing from the menu, background model switch,
and the encoder on the home page stepping through the sounds."""

import time

import numpy as np
import pytest

from neurorack.app.facade import InstrumentFacade
from neurorack.audio.backends.offline import render_offline
from neurorack.audio.engine import Engine
from neurorack.config.state import ModuleState
from neurorack.core.events import EncoderTurn, GateEdge
from neurorack.instrument.instrument import Instrument
from neurorack.ui.menu_file import load_menu
from neurorack.ui.navigation import Navigator
from tests.instrument.model_fixture import make_model

BANK = """\
sounds:
  - name: Low
    curves: {duration_s: 1, loudness_db: [[0, -10]], pitch_hz: [[0, 110]]}
  - name: High
    curves: {duration_s: 1, loudness_db: [[0, -10]], pitch_hz: [[0, 1760]]}
  - name: Drone
    mode: drone
    routing: {cv1: {target: loudness, amount: 1}}
    curves: {duration_s: 1, loudness_db: [[0, -12]], pitch_hz: [[0, 220]]}
"""


def setup(tmp_path, tiny_model_dir):
    models = tmp_path / "models"
    make_model(models / "second", "second", seed=3)
    (tmp_path / "bank.yaml").write_text(BANK)
    volts = [0.0, 0.0, 0.0, 0.0]
    instrument = Instrument(tiny_model_dir, tmp_path / "bank.yaml", lambda: volts)
    engine = Engine(instrument.voice)
    instrument.attach(engine)
    return InstrumentFacade(instrument, engine, models), instrument, engine, volts


def test_sounds_and_model_cards(tmp_path, tiny_model_dir):
    facade, *_ = setup(tmp_path, tiny_model_dir)
    assert [s.name for s in facade.sounds()] == ["Low", "High", "Drone"]
    (card,) = facade.models()
    assert card.name == "second" and card.parameters > 1000 and card.size_bytes > 4 * 1000


def test_home_page_encoder_selects_next_and_previous_sound(tmp_path, tiny_model_dir):
    facade, instrument, *_ = setup(tmp_path, tiny_model_dir)
    navigator = Navigator(load_menu(), facade, ModuleState(sound="Low"))
    navigator.handle(EncoderTurn(1, 0.0))
    assert navigator.state.sound == "High" and instrument.current_sound == "High"
    navigator.handle(EncoderTurn(-2, 0.1))  # wraps round
    assert navigator.state.sound == "Drone" and instrument.current_sound == "Drone"


def test_routing_from_the_menu_and_per_sound_defaults(tmp_path, tiny_model_dir):
    facade, instrument, _, volts = setup(tmp_path, tiny_model_dir)
    facade.apply_setting("routing.cv2.target", "pitch")
    volts[1] = 1.0
    assert instrument.router().pitch_ratio == 2.0
    facade.select_sound("Drone")  # its own routing: CV 1 -> loudness
    volts[:] = [5.0, 0.0, 0.0, 0.0]
    assert instrument.router().loudness_db == 24.0 and instrument.router().pitch_ratio == 1.0


def test_model_loads_in_the_background_and_crossfades_without_dropout(tmp_path, tiny_model_dir):
    facade, instrument, engine, _ = setup(tmp_path, tiny_model_dir)
    instrument.select_sound("Drone")
    out = render_offline(engine, 0.3, [GateEdge(0.01)])
    facade.load_model("second")
    deadline = time.monotonic() + 10
    while facade.task() is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert instrument.model_name == "second" and facade.task() is None
    more = np.zeros((4096, 1), dtype=np.float32)
    for k in range(32):
        engine.render_block()
        engine.pull(more[k * 128:(k + 1) * 128], 0.3 + k * 128 / 48000, 0.0)
    assert engine.stats()["late_renders"] == 0 and engine.voice is instrument.voice
    assert np.sqrt(np.mean(more[2048:] ** 2)) > 0.01  # the drone carried over to the new model
    assert np.abs(np.diff(np.concatenate([out, more[:, 0]]))).max() < 0.2


def test_a_broken_model_reports_an_error_and_the_old_one_keeps_playing(tmp_path, tiny_model_dir):
    facade, instrument, engine, _ = setup(tmp_path, tiny_model_dir)
    weights = tmp_path / "models" / "second" / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:-10])
    voice = engine.voice
    facade.load_model("second")
    instrument._loader.join()
    task = facade.task()
    assert task is not None and "corrupt" in task.error
    assert engine.voice is voice and instrument.model_name == tiny_model_dir.name


class NanVoice:
    """A voice whose every block is NaN (a model gone bad)."""

    name = "nan model"

    def trigger(self, velocity: float) -> None:
        pass

    def render(self, out) -> None:
        out[:] = np.nan

    def reset(self) -> None:
        pass


def test_engine_fallback_and_adc_fault_reach_the_home_page(tmp_path, tiny_model_dir):
    from neurorack.audio.switching import FALLBACK_FAILURES
    from neurorack.core.events import InputStatus
    from neurorack.ui.frame import capture_frame
    from neurorack.ui.mock_facade import MockFacade

    (tmp_path / "bank.yaml").write_text(BANK)
    instrument = Instrument(tiny_model_dir, tmp_path / "bank.yaml", lambda: (0.0,) * 4)
    engine = Engine(NanVoice())
    status = InputStatus(fault="ADC read failed: bus stuck")
    facade = InstrumentFacade(instrument, engine, tmp_path, lambda: status, lambda: ["model failed: x"])
    assert facade.warnings() == ("ADC read failed: bus stuck", "model failed: x")
    render_offline(engine, 0.2, [GateEdge(0.05)])
    assert engine.counters.fallbacks == 1
    fallback = f"nan model failed {FALLBACK_FAILURES}x: playing test voice"
    assert facade.warnings() == ("ADC read failed: bus stuck", fallback, "model failed: x")
    frame = capture_frame(Navigator(load_menu(), facade, ModuleState()), facade)
    assert frame.warnings == ("ADC read failed: bus stuck", fallback, "model failed: x")  # shown once each
    # The test voice's facade (no model installed) shows the engine's problems too.
    mock = MockFacade(time.monotonic, sounds=(), models=())
    mock.live_warnings = facade.warnings
    assert mock.warnings()[:2] == ("ADC read failed: bus stuck", fallback)


def test_the_models_page_shows_the_speed_bench_model_measured(tmp_path):
    from neurorack.app.facade import installed_models

    for name, card in (("benched", "parameters: 10\nbytes: 40\nspeed: {rtf_1thread: 31.5}\n"),
                       ("trimmed", "parameters: 5\nbytes: 20\nmetrics: {realtime_factor: 44.0}\n"),
                       ("unmeasured", "parameters: 5\nbytes: 20\n")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.yaml").write_text(card)
    speeds = {info.name: info.realtime_factor for info, _ in installed_models(tmp_path)}
    assert speeds == {"benched": 31.5, "trimmed": 44.0, "unmeasured": None}


def test_one_bad_card_marks_only_its_model_unavailable(tmp_path):
    from neurorack.app.facade import installed_models
    from neurorack.core.events import ButtonEvent
    from neurorack.errors import NeurorackError
    from neurorack.ui.pages import ChoiceScreen, MessageScreen

    for name, card in (("good", "parameters: 10\nbytes: 40\n"),
                       ("text", "parameters: 24,555 weights\nbytes: 40\n"),
                       ("infinite", "parameters: 5\nbytes: .inf\n")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.yaml").write_text(card)
    listed = {info.name: info for info, _ in installed_models(tmp_path)}
    assert list(listed) == ["good", "infinite", "text"] and listed["good"].error is None
    assert listed["good"].parameters == 10
    assert listed["text"].error == (f"{tmp_path / 'text' / 'model.yaml'}:1: parameters: expected a whole number "
                                    "or null, got '24,555 weights'")
    assert listed["infinite"].error.startswith(f"{tmp_path / 'infinite' / 'model.yaml'}:2: bytes: ")
    facade = InstrumentFacade(None, None, tmp_path)
    with pytest.raises(NeurorackError, match=r"model 'text' is unavailable: .*text/model.yaml:1: parameters"):
        facade.load_model("text")
    navigator = Navigator(load_menu(), facade, ModuleState())
    navigator.handle(ButtonEvent("short", 1.0))
    labels = [item.label for item in navigator.screen.menu.items]
    navigator.handle(EncoderTurn(labels.index("Models"), 1.1))
    navigator.handle(ButtonEvent("short", 1.2))
    assert isinstance(navigator.screen, ChoiceScreen) and navigator.screen.options == ("good", "infinite", "text")
    navigator.handle(EncoderTurn(2, 1.3))
    navigator.handle(ButtonEvent("short", 1.4))  # picking the unavailable one: a dialog, no change of model
    assert isinstance(navigator.screen, MessageScreen) and "parameters" in navigator.screen.text
    assert navigator.state.model != "text"
