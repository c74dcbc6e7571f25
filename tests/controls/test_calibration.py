"""neurorack.controls.calibration: the maths, on ideal simulated hardware, and the saved file."""

from __future__ import annotations

import pytest

from neurorack.config.board import load_board
from neurorack.config.schema import ConfigError
from neurorack.controls.calibration import (
    Measurement,
    calibrate,
    load_calibration,
    quantisation_cents,
    save_calibration,
)
from neurorack.controls.cv import code_to_adc_volts
from neurorack.errors import NeurorackError
from neurorack.hardware.adc import open_simulated_adc
from neurorack.hardware.scenario import Constant, Scenario

TRUE_SCALE, TRUE_OFFSET = 3.1, -5.12  # resistors a little off the board file's 3.0303 and -5


def measure_fast(adc, channel: int, reads: int) -> Measurement:
    values = [code_to_adc_volts(adc.driver.read(channel), 3.3) for _ in range(reads)]
    mean = sum(values) / reads
    return Measurement(mean, sum((v - mean) ** 2 for v in values) / (reads - 1), reads)


def test_two_point_calibration_tracks_1v_per_octave_within_one_cent():
    board = load_board("mock")
    signals = {"cv1": Constant(1.0)}
    adc = open_simulated_adc(board, Scenario(signals), noise_lsb=0.5, seed=9,
                             scales={"cv1": (TRUE_SCALE, TRUE_OFFSET)})
    low = measure_fast(adc, 0, 4000)
    signals["cv1"] = Constant(3.0)
    high = measure_fast(adc, 0, 4000)
    result = calibrate("cv1", 1.0, low, 3.0, high, board)
    assert 1200 * abs(result.scale / TRUE_SCALE - 1) < 1.0          # the octave is right within 1 cent
    for jack in (-4.0, -1.0, 0.0, 2.0, 4.0):                          # and so is every pitch
        adc_volts = (jack - TRUE_OFFSET) / TRUE_SCALE
        assert 1200 * abs(result.scale * adc_volts + result.offset_volts - jack) < 1.0
    assert result.before_cents == pytest.approx(1200 * (3.0303 / TRUE_SCALE - 1), abs=1.0)
    assert 0 < result.uncertainty_cents < 0.5


def test_the_quantisation_error_of_one_10_bit_read_is_reported():
    # 10 V over 3.3 V in 1024 codes: half an LSB is 4.88 mV, 5.86 cents
    assert quantisation_cents(10 / 3.3, 3.3) == pytest.approx(1200 * 10 / 1024 / 2)
    assert quantisation_cents(10 / 3.3, 3.3) == pytest.approx(5.859, abs=1e-3)


def test_identical_readings_are_refused_with_a_hint():
    board = load_board("mock")
    same = Measurement(1.6, 1e-6, 100)
    with pytest.raises(NeurorackError, match="is the cable in cv2"):
        calibrate("cv2", 1.0, same, 3.0, same, board)


def test_calibration_is_saved_merged_and_loaded_back(tmp_path):
    board = load_board("mock")
    first = calibrate("cv1", 1.0, Measurement(1.98, 1e-6, 10), 3.0, Measurement(2.64, 1e-6, 10), board)
    save_calibration(tmp_path, board, {"cv1": first})
    second = calibrate("cv3", 0.0, Measurement(1.65, 1e-6, 10), 2.0, Measurement(2.31, 1e-6, 10), board)
    save_calibration(tmp_path, board, {"cv3": second})
    loaded = load_calibration(tmp_path, board)
    assert set(loaded) == {"cv1", "cv3"}
    assert loaded["cv1"].scale == first.scale and loaded["cv3"].offset_volts == second.offset_volts
    assert [p.name for p in tmp_path.iterdir()] == ["calibration.yaml"]  # no temporary file left


def test_a_damaged_calibration_file_names_its_line(tmp_path):
    (tmp_path / "calibration.yaml").write_text("board: mock\ncv1: {scale: big}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"calibration.yaml:2: cv1.scale: expected a number or null, got 'big'"):
        load_calibration(tmp_path, load_board("mock"))
