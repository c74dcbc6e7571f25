"""The module as the daemon assembles it: the saved state records the model that plays and
restores it; the UI opens on the board's display settings."""

from __future__ import annotations

from dataclasses import replace

import pytest

from neurorack.audio.engine import Engine
from neurorack.config.board import load_board
from neurorack.config.module import ModuleConfig
from neurorack.hardware.panel import open_panel
from neurorack.instrument.module import (
    DEFAULT_MODEL,
    open_instrument,
    saved_state,
    start_module_ui,
)
from neurorack.state import StateStore
from tests.instrument.model_fixture import make_model
from tests.instrument.test_facade import BANK


@pytest.fixture
def config(tmp_path):
    make_model(tmp_path / "models" / "alpha", "alpha", seed=1)
    make_model(tmp_path / "models" / "beta", "beta", seed=2)
    (tmp_path / "bank.yaml").write_text(BANK)
    return replace(ModuleConfig(), models_dir=str(tmp_path / "models"), state_dir=str(tmp_path / "state"),
                   sound_bank=str(tmp_path / "bank.yaml"))


def run_module_once(config):
    """Open the instrument from the saved state, start panel and UI, stop; the model name."""
    board = load_board("mock")
    module_voice = open_instrument(config, lambda: (0.0,) * 4, saved_state(config))
    engine = Engine(module_voice.voice)
    panel = open_panel(board, engine.post_gate, state_dir=config.resolved_state_dir())
    try:
        ui = start_module_ui(config, board, True, module_voice, engine, panel)
        ui.stop()
    finally:
        panel.close()
    return module_voice.instrument.model_name


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

    from neurorack.instrument.module import open_display
    from neurorack.ui.display import LumaDisplay
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
