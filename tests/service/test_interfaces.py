"""Board detection from the device tree, and the interface steps shown to the builder."""

from __future__ import annotations

import pytest

from neurorack.service.interfaces import INTERFACE_STEPS, detect_board, interface_advice


@pytest.mark.parametrize("model, board", [
    (b"Raspberry Pi 4 Model B Rev 1.5\0", "raspberry-pi-4"),
    (b"Raspberry Pi 5 Model B Rev 1.0\0", "raspberry-pi-5"),
    (b"NVIDIA Jetson Nano Developer Kit\0", "jetson-nano"),
    (b"Raspberry Pi 3 Model B Plus Rev 1.3\0", None),
])
def test_board_is_detected_from_the_device_tree_model(tmp_path, model, board):
    (tmp_path / "model").write_bytes(model)
    assert detect_board(tmp_path / "model") == board


def test_no_device_tree_means_unknown(tmp_path):
    assert detect_board(tmp_path / "absent") is None


def test_advice_names_spi_i2c_and_the_dac_for_the_board():
    advice = "\n".join(interface_advice("raspberry-pi-5"))
    assert "do_spi" in advice and "do_i2c" in advice and "dtoverlay=hifiberry-dac" in advice
    assert "jetson" not in advice


def test_unknown_board_gets_the_advice_for_every_board():
    advice = interface_advice(None)
    assert [line for line in advice if line.startswith("On a")] == [f"On a {name}, enable:" for name in INTERFACE_STEPS]
