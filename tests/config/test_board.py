"""neurorack.config.board: board files, their validation and how names are resolved."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from neurorack.config.board import (
    BOARDS_ENV,
    CV_INPUTS,
    load_board,
    resolve_board_path,
    shipped_boards,
)
from neurorack.config.schema import ConfigError
from neurorack.errors import NeurorackError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "my-board.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[tuple[int, str, str]]:
    with pytest.raises(ConfigError) as info:
        load_board(path)
    return [(p.line, p.key, p.message) for p in info.value.problems]


def test_every_shipped_board_loads_and_wires_eight_distinct_channels():
    assert shipped_boards() == ["jetson-nano", "mock", "raspberry-pi-4", "raspberry-pi-5"]
    for name in shipped_boards():
        board = load_board(name)
        channels = [board.input(n).channel for n in ("cv1", "cv2", "cv3", "cv4", "gate1", "gate2", "pot1", "pot2")]
        assert sorted(channels) == list(range(8)), name
        assert board.encoder.pin_a not in board.gpio.reserved_pins


def test_each_board_picks_its_own_gpio_library():
    assert load_board("raspberry-pi-4").gpio.backend == "rpi-gpio"
    assert load_board("raspberry-pi-5").gpio.backend == "rpi-lgpio"
    assert load_board("jetson-nano").gpio.backend == "jetson-gpio"
    mock = load_board("mock")
    assert mock.is_simulated and not load_board("raspberry-pi-4").is_simulated


def test_shipped_cv_conditioning_maps_the_adc_range_onto_plus_minus_five_volts():
    board = load_board("raspberry-pi-4")
    for name in CV_INPUTS:
        wired = board.input(name)
        low = 0.0 * wired.scale + wired.offset_volts
        high = board.adc.reference_volts * wired.scale + wired.offset_volts
        assert low == pytest.approx(-5.0) and high == pytest.approx(5.0, abs=1e-3)


def test_a_channel_used_twice_is_reported_with_its_line(tmp_path):
    path = write(tmp_path, """\
        name: twice
        inputs:
          cv1: {channel: 0}
          cv2: {channel: 0}
        """)
    assert problems_of(path) == [(4, "inputs.cv2.channel", "channel 0 is already used by inputs.cv1")]


def test_a_channel_the_adc_does_not_have_is_reported(tmp_path):
    path = write(tmp_path, """\
        inputs:
          pot2:
            channel: 8
        """)
    assert problems_of(path) == [
        (3, "inputs.pot2.channel", "expected a channel from 0 to 7 (mcp3008 has 8), got 8")]


def test_a_pin_used_twice_or_reserved_for_a_bus_is_reported(tmp_path):
    path = write(tmp_path, """\
        gpio:
          reserved_pins: [8, 9, 10, 11]
        encoder:
          pin_a: 17
          pin_b: 10
        button:
          pin: 17
        """)
    assert problems_of(path) == [
        (5, "encoder.pin_b", "pin 10 is reserved for a bus (gpio.reserved_pins)"),
        (7, "button.pin", "pin 17 is already used by encoder.pin_a"),
    ]


def test_unknown_drivers_and_backends_are_named_with_the_choices(tmp_path):
    path = write(tmp_path, """\
        adc:
          driver: ads1115
        gpio:
          backend: pigpio
        display:
          driver: ssd1309
        """)
    assert problems_of(path) == [
        (2, "adc.driver", "expected one of mcp3008, got 'ads1115'"),
        (4, "gpio.backend", "expected one of rpi-gpio, rpi-lgpio, jetson-gpio, simulated, got 'pigpio'"),
        (6, "display.driver", "expected one of ssd1306, sh1106, got 'ssd1309'"),
    ]


def test_reversed_gate_thresholds_and_an_overclocked_adc_are_refused(tmp_path):
    path = write(tmp_path, """\
        adc:
          clock_hz: 3000000
          supply_volts: 3.3
        gates:
          rising_volts: 1.0
          falling_volts: 2.0
        """)
    assert problems_of(path) == [
        (2, "adc.clock_hz", "expected at most 1350000 Hz at a 3.3 V supply, got 3000000"),
        (6, "gates.falling_volts", "expected less than rising_volts (1 V) for hysteresis, got 2"),
    ]


def test_a_typo_in_a_key_suggests_the_right_one(tmp_path):
    path = write(tmp_path, """\
        encoder:
          pull_upp: true
        """)
    assert problems_of(path) == [(2, "encoder.pull_upp", "unknown key; did you mean 'pull_up'?")]


def test_an_unknown_board_name_lists_the_shipped_ones():
    with pytest.raises(NeurorackError, match="board 'pi-zero': no such board file; shipped boards: jetson-nano, mock"):
        resolve_board_path("pi-zero")


def test_the_boards_folder_can_be_moved_with_an_environment_variable(tmp_path, monkeypatch):
    (tmp_path / "bench-rig.yaml").write_text("name: bench rig\n", encoding="utf-8")
    monkeypatch.setenv(BOARDS_ENV, str(tmp_path))
    assert shipped_boards() == ["bench-rig"]
    assert load_board("bench-rig").name == "bench rig"


def test_a_128_by_32_oled_is_refused_with_what_to_fit_instead(tmp_path):
    path = write(tmp_path, """\
        display:
          height: 32
        """)
    [(line, key, message)] = problems_of(path)
    assert (line, key) == (2, "display.height")
    assert message.startswith("expected 64: 128 x 32 OLEDs are not supported") and "128 x 64" in message
    assert problems_of(write(tmp_path, "display:\n  height: 48\n")) == [(2, "display.height", "expected 64, got 48")]
