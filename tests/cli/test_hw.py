"""neurorack.cli.hw: calibrate and hw check through the CLI."""

from __future__ import annotations

import io

import pytest

from neurorack.cli import hw, main
from neurorack.cli.hw import MOCK_HARDWARE_SCALES
from neurorack.config.board import load_board
from neurorack.controls.calibration import load_calibration


def test_calibrate_mock_finds_the_simulated_resistors_and_saves_them(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    assert main(["calibrate", "--mock", "--inputs", "cv1,cv4", "--reads", "1500", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "cv1: scale" in out and "cents" in out and "save?" not in out
    saved = load_calibration(tmp_path / "neurorack", load_board("mock"))
    assert set(saved) == {"cv1", "cv4"}
    for name in saved:
        true_scale, true_offset = MOCK_HARDWARE_SCALES[name]
        assert abs(saved[name].scale / true_scale - 1) < 0.002
        assert abs(saved[name].offset_volts - true_offset) < 0.01


class Terminal(io.StringIO):
    """Standard input that is a terminal, with the player's answers in it."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    return tmp_path / "neurorack"


CALIBRATE_CV2 = ["calibrate", "--mock", "--inputs", "cv2", "--reads", "300"]


def test_calibrate_shows_the_result_and_saves_when_the_answer_is_yes(state_dir, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", Terminal("y\n"))
    assert main(CALIBRATE_CV2) == 0
    out = capsys.readouterr().out
    assert out.index("cv2: scale") < out.index("save? [y/N]") < out.index("saved to")
    assert "cents per volt, up to" in out
    assert set(load_calibration(state_dir, load_board("mock"))) == {"cv2"}


@pytest.mark.parametrize("answer", ["\n", "n\n", ""])
def test_calibrate_saves_nothing_unless_the_answer_is_yes(answer, state_dir, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", Terminal(answer))
    assert main(CALIBRATE_CV2) == 1
    assert "not saved: the calibration in use is unchanged" in capsys.readouterr().out
    assert not (state_dir / "calibration.yaml").exists()


def test_calibrate_without_a_terminal_refuses_to_save_unless_yes(state_dir, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))  # piped, not a terminal
    assert main(CALIBRATE_CV2) == 2
    captured = capsys.readouterr()
    assert "cv2: scale" in captured.out
    assert ("neurorack: error: not saved: there is no terminal to answer 'save? [y/N]'; "
            "pass --yes to save without asking") in captured.err
    assert not (state_dir / "calibration.yaml").exists()


def test_calibrate_refuses_hardware_that_reads_the_wrong_way_round(state_dir, capsys, monkeypatch):
    monkeypatch.setattr(hw, "MOCK_HARDWARE_SCALES", {"cv2": (-3.0303, 5.0)})  # an inverting front end
    assert main([*CALIBRATE_CV2, "--yes"]) == 2
    assert "the wrong way round (scale -3.0" in capsys.readouterr().err
    assert not (state_dir / "calibration.yaml").exists()


def test_calibrate_reset_goes_back_to_the_board_files_values(state_dir, capsys):
    assert main(["calibrate", "--mock", "--inputs", "cv1,cv2", "--reads", "300", "--yes"]) == 0
    capsys.readouterr()
    assert main(["calibrate", "--mock", "--reset", "--inputs", "cv2"]) == 0
    assert capsys.readouterr().out == "cv2: back to the board file's values\n"
    assert set(load_calibration(state_dir, load_board("mock"))) == {"cv1"}
    assert main(["calibrate", "--mock", "--reset"]) == 0
    assert not (state_dir / "calibration.yaml").exists() and list(state_dir.iterdir()) == []
    assert main(["calibrate", "--mock", "--reset"]) == 0
    assert "no saved calibration: the board file's values are in use" in capsys.readouterr().out


def test_calibrate_refuses_unknown_inputs(capsys):
    assert main(["calibrate", "--mock", "--inputs", "cv9"]) == 2
    assert "neurorack: error: --inputs: expected names from cv1, cv2, cv3, cv4, got 'cv9'" in capsys.readouterr().err


def test_hw_check_on_the_mock_board_shows_live_values_and_events(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert main(["hw", "check", "--mock", "--seconds", "1.0"]) == 0
    out = capsys.readouterr().out
    assert "ok      ADC: simulated MCP3008" in out
    assert "audio callback: native\n" in out  # built by the install
    assert "model frame: compiled\n" in out
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
    from neurorack.controls.panel import open_panel
    from neurorack.hardware.real import HardwareUnavailable

    board = load_board("raspberry-pi-5")
    with pytest.raises(HardwareUnavailable, match=r"/dev/spidev0.0 not found: SPI is not enabled; enable SPI with"):
        open_panel(board, lambda edge: None, state_dir=ModuleConfig(state_dir=str(tmp_path)).resolved_state_dir())
