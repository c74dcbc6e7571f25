"""The module as the daemon assembles it: the saved state records the model that plays and
restores it; the UI opens on the board's display settings."""

from __future__ import annotations

from dataclasses import replace

import pytest

from neurorack.app.assemble import assemble
from neurorack.app.module import (
    DEFAULT_MODEL,
    open_instrument,
)
from neurorack.audio.voices import TestVoice
from neurorack.config.board import load_board
from neurorack.config.module import ModuleConfig
from neurorack.config.state import ModuleState, StateStore
from tests.app.test_facade import BANK
from tests.instrument.model_fixture import make_model


@pytest.fixture
def config(tmp_path):
    make_model(tmp_path / "models" / "alpha", "alpha", seed=1)
    make_model(tmp_path / "models" / "beta", "beta", seed=2)
    (tmp_path / "bank.yaml").write_text(BANK)
    return replace(ModuleConfig(), models_dir=str(tmp_path / "models"), state_dir=str(tmp_path / "state"),
                   sound_bank=str(tmp_path / "bank.yaml"))


def run_module_once(config):
    """Assemble the module from the saved state, start its UI, stop; the model name."""
    module = assemble(config, load_board("mock"), mock=True)
    try:
        module.start_ui()
    finally:
        module.close()
    return module.instrument.model_name


def test_the_playing_model_is_saved_and_restored_on_start(config):
    assert run_module_once(config) == "alpha"  # nothing saved: the first installed model
    saved = StateStore(config.resolved_state_dir()).load()
    assert saved.model == "alpha" and saved.sound == "Low"
    StateStore(config.resolved_state_dir()).save(saved.with_value("model", "beta"))
    assert run_module_once(config) == "beta"
    assert StateStore(config.resolved_state_dir()).load().model == "beta"


@pytest.mark.parametrize("board_name, rotation", [("raspberry-pi-4", None), ("raspberry-pi-5", None),
                                                  ("jetson-nano", None), ("raspberry-pi-4", 2)])
def test_the_ui_opens_the_oled_the_board_file_describes(monkeypatch, board_name, rotation):
    """A real luma device over the recording serial interface, opened from the board file."""
    from luma.core.interface import serial
    from luma.oled.device import sh1106, ssd1306

    from neurorack.app.module import open_display
    from neurorack.hardware.oled import LumaDisplay
    from tests.ui.test_display import RecordingSerial, pages

    board = load_board(board_name)
    if rotation is not None:
        board = replace(board, display=replace(board.display, rotation=rotation))
    opened: list = []

    def fake_i2c(port, address):
        opened.append((port, address))
        return recording

    recording = RecordingSerial()
    monkeypatch.setattr(serial, "i2c", fake_i2c)
    display = open_display(board, mock=False)
    settings = board.display
    assert opened == [(settings.bus, settings.address)]
    assert isinstance(display, LumaDisplay)
    assert type(display.device) is {"ssd1306": ssd1306, "sh1106": sh1106}[settings.driver]
    image = pages()[0]
    display.show(image)
    expected = image.rotate(90 * settings.rotation, expand=True) if settings.rotation else image
    assert recording.framebuffer().tobytes() == expected.convert("1").tobytes()


def test_the_default_model_plays_when_none_is_saved(config, tmp_path):
    make_model(tmp_path / "models" / DEFAULT_MODEL, DEFAULT_MODEL, seed=3)
    assert run_module_once(config) == DEFAULT_MODEL  # not "alpha", the first by name
    store = StateStore(config.resolved_state_dir())
    store.save(store.load().with_value("model", "beta"))
    assert run_module_once(config) == "beta"  # a saved choice still wins


@pytest.mark.parametrize("saved", ["/tmp/x", "../x", "..", "alpha/../../x"])
def test_a_saved_model_that_is_a_path_is_refused_and_the_default_plays(config, tmp_path, saved, caplog):
    outside = make_model(tmp_path / "x", "x", seed=4)  # a real model, just not in the models folder
    saved = str(outside) if saved == "/tmp/x" else saved
    make_model(tmp_path / "models" / DEFAULT_MODEL, DEFAULT_MODEL, seed=3)
    module_voice = open_instrument(config, lambda: (0.0,) * 4, ModuleState(model=saved))
    assert module_voice.instrument.model_name == DEFAULT_MODEL
    assert module_voice.warnings == ["saved model was a path"]
    assert f"the saved model {saved!r} is not a model name" in caplog.text


def test_any_failure_while_loading_falls_back_to_the_test_voice_naming_it(config, tmp_path, monkeypatch, caplog):
    from neurorack.instrument import instrument

    (tmp_path / "bank.yaml").write_text("sounds:\n  - name: Kick\n    template: /dev/zero\n")
    module_voice = open_instrument(config, lambda: (0.0,) * 4, ModuleState())
    assert module_voice.instrument is None and module_voice.warnings == ["model failed: alpha"]
    assert "/dev/zero: is not a regular file: a character device" in caplog.text

    def exhausted(*args, **kwargs):
        raise MemoryError("out of memory")

    monkeypatch.setattr(instrument, "load_bank", exhausted)
    module_voice = open_instrument(config, lambda: (0.0,) * 4, ModuleState())
    assert isinstance(module_voice.voice, TestVoice)
    assert "playing the test voice: MemoryError: out of memory" in caplog.text


def test_a_models_own_bank_linked_from_outside_is_refused(config, tmp_path, caplog):
    config = replace(config, sound_bank=None)
    (tmp_path / "models" / "alpha" / "sounds.yaml").symlink_to(tmp_path / "bank.yaml")
    module_voice = open_instrument(config, lambda: (0.0,) * 4, ModuleState())
    assert module_voice.instrument is None
    assert f"{tmp_path / 'models' / 'alpha' / 'sounds.yaml'}: leads to {tmp_path / 'bank.yaml'}, outside" in caplog.text
