"""neurorack.controls.panel: the mock board's panel end to end, and the daemon wiring."""

from __future__ import annotations

import queue
import time

from neurorack.config.board import load_board
from neurorack.controls.panel import open_panel
from neurorack.core.events import ButtonEvent, EncoderTurn
from neurorack.hardware.contacts import button_press, encoder_turn
from neurorack.hardware.scenario import Constant, GatePattern, Scenario


def drain(events: queue.Queue) -> list:
    out = []
    while True:
        try:
            out.append(events.get_nowait())
        except queue.Empty:
            return out


def test_the_mock_panel_delivers_gates_to_the_sink_and_panel_events_to_the_ui(tmp_path):
    board = load_board("mock")
    edges = []
    scenario = Scenario({"gate1": GatePattern(gate_s=0.02), "cv1": Constant(2.0)})
    (tmp_path / "calibration.yaml").write_text("board: mock\ncv1: {scale: 3.0303, offset_volts: -4.0}\n",
                                               encoding="utf-8")
    with open_panel(board, edges.append, scenario, state_dir=tmp_path) as panel:
        gpio = panel.gpio
        gpio.play(encoder_turn(3, board.encoder.pin_a, board.encoder.pin_b, detent_s=0.15, seed=1)
                  + button_press(board.button.pin, hold_s=0.05, start_s=0.6, seed=2))
        assert gpio.wait_idle()
        time.sleep(0.7)  # the first hits of the pattern, and the button's settle timer
        status = panel.status()
    events = drain(panel.events)
    assert [e.steps for e in events if isinstance(e, EncoderTurn)] == [1, 1, 1]
    assert [e.kind for e in events if isinstance(e, ButtonEvent)] == ["press", "release", "short"]
    assert [e.rising for e in edges][:4] == [True, False, True, False]
    assert abs(status.cv_volts[0] - 3.0) < 0.05  # the saved calibration moved the offset by +1 V
    assert status.fault is None
