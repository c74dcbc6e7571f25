"""neurorack.hardware.scenario: signals, the board's conditioning, and scenario files."""

from __future__ import annotations

import pytest

from neurorack.config.board import load_board
from neurorack.config.schema import ConfigError
from neurorack.hardware.scenario import (
    Constant,
    GatePattern,
    Lfo,
    Ramp,
    Scenario,
    Steps,
    default_scenario,
    load_scenario,
    pin_voltages,
    read_csv_recording,
)


def test_signals_give_their_voltages():
    assert Lfo("sine", 1.0, -1.0, 1.0).volts(0.5) == pytest.approx(1.0)
    assert Lfo("triangle", 1.0, 0.0, 4.0).volts(0.25) == pytest.approx(2.0)
    assert Lfo("square", 2.0, 0.0, 5.0).volts(0.3) == 0.0
    assert Ramp(0.0, 2.0, 1.0).volts(0.25) == pytest.approx(0.5) and Ramp(0.0, 2.0, 1.0).volts(3.0) == 2.0
    assert Steps((0.0, 5.0, 2.0), 0.1).volts(0.25) == 2.0


def test_gate_patterns_match_their_own_edge_list():
    pattern = GatePattern(gate_s=0.02, high_volts=8.0)
    for at, rising, velocity in pattern.edges(4.5):
        assert pattern.volts(at + 0.001) == (pytest.approx(8.0 * velocity) if rising else 0.0)
        assert pattern.volts(at - 0.001) == (0.0 if rising else pytest.approx(8.0 * velocity))


def test_pin_voltages_invert_the_conditioning_and_clamp_at_the_rails():
    board = load_board("mock")
    volts = pin_voltages(board, Scenario({"cv1": Constant(0.0), "cv2": Constant(9.0), "gate1": Constant(5.0)}), 10.0)
    assert volts(0, 10.5) == pytest.approx(1.65, abs=1e-3)
    assert volts(1, 10.5) == 3.3
    assert volts(4, 10.5) == pytest.approx(5.0 / 3.0303)


def test_a_scenario_file_builds_every_kind(tmp_path):
    (tmp_path / "lfo.csv").write_text("time_s,volts\n0,0\n1,2\n2,0\n", encoding="utf-8")
    path = tmp_path / "patch.yaml"
    path.write_text("noise_volts: 0.0\n"
                    "cv1: {kind: lfo, shape: saw, freq_hz: 1, low_volts: 0, high_volts: 1}\n"
                    "cv2: {kind: csv, file: lfo.csv}\n"
                    "cv3: {kind: ramp, start_volts: 1, end_volts: 3, duration_s: 2}\n"
                    "gate1: {kind: pattern}\n"
                    "gate2: {kind: steps, values: [0, 5], step_s: 0.5}\n", encoding="utf-8")
    scenario = load_scenario(path)
    assert scenario.jack_volts("cv1", 0.5) == pytest.approx(0.5)
    assert scenario.jack_volts("cv2", 0.5) == pytest.approx(1.0)
    assert scenario.jack_volts("cv3", 1.0) == pytest.approx(2.0)
    assert scenario.jack_volts("gate1", 0.11) == pytest.approx(8.0)
    assert scenario.jack_volts("gate2", 0.6) == 5.0
    assert set(default_scenario().signals) >= {"gate1", "cv1"}


def test_a_bad_scenario_file_names_the_key_and_line(tmp_path):
    path = tmp_path / "patch.yaml"
    path.write_text("cv1:\n  kind: wobble\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"patch.yaml:2: cv1.kind: expected one of constant, lfo"):
        load_scenario(path)


def test_a_bad_csv_row_names_its_line(tmp_path):
    path = tmp_path / "rec.csv"
    path.write_text("time_s,volts\n0,1\n0.5,oops\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"rec.csv:3: expected 'time_s, volts' numbers"):
        read_csv_recording(path)
