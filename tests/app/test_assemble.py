"""The one assembly of the module: the daemon and the soak benchmark build it here."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest

from neurorack.app.assemble import assemble, open_engine
from neurorack.audio.voices import TestVoice
from neurorack.config.board import load_board
from neurorack.config.module import ModuleConfig
from neurorack.config.state import ModuleState, StateStore
from neurorack.hardware.scenario import Constant, Scenario
from tests.app.test_facade import BANK
from tests.instrument.model_fixture import make_model


@pytest.fixture
def config(tmp_path):
    make_model(tmp_path / "models" / "alpha", "alpha", seed=1)
    (tmp_path / "bank.yaml").write_text(BANK)
    return replace(ModuleConfig(), models_dir=str(tmp_path / "models"), state_dir=str(tmp_path / "state"),
                   sound_bank=str(tmp_path / "bank.yaml"))


def test_the_module_starts_on_the_saved_sound_and_its_instrument_reads_the_panels_cvs(config):
    StateStore(config.resolved_state_dir()).save(ModuleState(sound="High", model="alpha"))
    module = assemble(config, load_board("mock"), mock=True, scenario=Scenario({"cv2": Constant(2.0)}))
    try:
        assert module.instrument.current_sound == "High"
        assert module.engine.voice is module.instrument.voice
        assert module.instrument.engine is module.engine  # attached: it can switch models
        deadline = time.monotonic() + 5.0
        while abs(module.instrument.router.read_volts()[1] - 2.0) > 0.1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert module.instrument.router.read_volts()[1] == pytest.approx(2.0, abs=0.1)  # through ADC and poller
        assert module.ui is None  # the screen comes after the audio
        module.start_ui(display=_Screen())
        assert module.ui is not None
    finally:
        module.close()
    assert not {"neurorack-adc-poller", "neurorack-ui"} & {t.name for t in threading.enumerate()}


def test_a_given_state_wins_over_the_saved_one(config):
    StateStore(config.resolved_state_dir()).save(ModuleState(sound="High"))
    module = assemble(config, load_board("mock"), mock=True, state=ModuleState(sound="Low"))
    module.close()
    assert module.instrument.current_sound == "Low"


def test_with_no_model_installed_the_engine_plays_the_test_voice_and_says_why(config, tmp_path):
    voice, engine = open_engine(replace(config, models_dir=str(tmp_path / "none")), lambda: (0.0,) * 4, ModuleState())
    assert voice.instrument is None and isinstance(engine.voice, TestVoice)
    assert voice.warnings[0] == "no model: test voice"
    voice, engine = open_engine(config, lambda: (0.0,) * 4, ModuleState(), test_voice=True)
    assert voice.instrument is None and isinstance(engine.voice, TestVoice)


class _Screen:
    def show(self, image) -> None:
        pass

    def set_brightness(self, level: float) -> None:
        pass

    def close(self) -> None:
        pass
