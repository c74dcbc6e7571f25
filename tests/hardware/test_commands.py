"""neurorack.hardware.commands: calibrate, hw check and bench controls through the CLI."""

from __future__ import annotations

import json

from neurorack.cli import main
from neurorack.config.board import load_board
from neurorack.controls.calibration import load_calibration
from neurorack.hardware.commands import MOCK_HARDWARE_SCALES


def test_bench_controls_prints_json_figures(capsys):
    assert main(["bench", "controls", "--seconds", "1.5", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["missed_edges"] == 0 and result["extra_edges"] == 0
    assert result["gate_edges"] >= 4
    assert result["reads_per_s"] > 1000
    assert result["gate_detection_latency_ms"]["p50"] > 0
    assert 0 < result["poller_cpu_percent"] < 100


def test_calibrate_mock_finds_the_simulated_resistors_and_saves_them(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    assert main(["calibrate", "--mock", "--inputs", "cv1,cv4", "--reads", "1500"]) == 0
    out = capsys.readouterr().out
    assert "cv1: scale" in out and "cents" in out
    saved = load_calibration(tmp_path / "neurorack", load_board("mock"))
    assert set(saved) == {"cv1", "cv4"}
    for name in saved:
        true_scale, true_offset = MOCK_HARDWARE_SCALES[name]
        assert abs(saved[name].scale / true_scale - 1) < 0.002
        assert abs(saved[name].offset_volts - true_offset) < 0.01


def test_calibrate_refuses_unknown_inputs(capsys):
    assert main(["calibrate", "--mock", "--inputs", "cv9"]) == 2
    assert "neurorack: error: --inputs: expected names from cv1, cv2, cv3, cv4, got 'cv9'" in capsys.readouterr().err


def test_hw_check_on_the_mock_board_shows_live_values_and_events(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert main(["hw", "check", "--mock", "--seconds", "1.0"]) == 0
    out = capsys.readouterr().out
    assert "ok      ADC: simulated MCP3008" in out
    assert "encoder +1" in out and "button press" in out and "button short" in out
    assert "diagnosis: everything answered" in out


def test_hw_check_on_a_pi_board_here_names_the_interface_to_enable(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert main(["hw", "check", "--board", "raspberry-pi-4", "--seconds", "0.1"]) == 1
    out = capsys.readouterr().out
    assert "MISSING ADC (SPI): /dev/spidev0.0 not found: SPI is not enabled; enable SPI with 'sudo raspi-config'" in out
    assert "diagnosis: fix the MISSING items above" in out


def test_run_on_a_real_board_without_spi_says_what_to_enable(tmp_path):
    import pytest

    from neurorack.config.module import ModuleConfig
    from neurorack.hardware.panel import open_panel
    from neurorack.hardware.real import HardwareUnavailable

    board = load_board("raspberry-pi-5")
    with pytest.raises(HardwareUnavailable, match=r"/dev/spidev0.0 not found: SPI is not enabled; enable SPI with"):
        open_panel(board, lambda edge: None, state_dir=ModuleConfig(state_dir=str(tmp_path)).resolved_state_dir())
