"""neurorack.controls.calibration: the maths, on ideal simulated hardware, and the saved file."""

from __future__ import annotations

import pytest

from neurorack.config.board import load_board
from neurorack.config.schema import ConfigError
from neurorack.controls.calibration import (
    OFFSET_TOLERANCE_VOLTS,
    SCALE_TOLERANCE,
    Measurement,
    TwoPointRoutine,
    calibrate,
    calibration_path,
    load_calibration,
    quantisation_cents,
    reset_calibration,
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


def reading(adc_volts: float) -> Measurement:
    return Measurement(adc_volts, 1e-6, 100)


def adc_at(jack_volts: float, scale: float = 3.0303, offset: float = -5.0) -> Measurement:
    """What the mock board's ADC reads at ``jack_volts`` for a front end of ``scale`` and ``offset``."""
    return reading((jack_volts - offset) / scale)


def test_readings_the_wrong_way_round_a_negative_scale_are_refused():
    board = load_board("mock")
    with pytest.raises(NeurorackError, match=r"cv1: 3 V read 1\.980 V on the ADC, 1 V read 2\.640 V: the wrong way "
                                             r"round \(scale -3\.0303\)\. Patch 1 V first, then 3 V"):
        calibrate("cv1", 1.0, reading(2.64), 3.0, reading(1.98), board)


def test_readings_too_close_together_are_refused_with_what_was_read_and_expected():
    board = load_board("mock")
    with pytest.raises(NeurorackError, match=r"cv2: the readings at 1 V and 3 V are too close \(1\.980 and 2\.100 V "
                                             r"on the ADC, expected 0\.660 V apart\): is the cable in cv2\?"):
        calibrate("cv2", 1.0, reading(1.98), 3.0, reading(2.10), board)


@pytest.mark.parametrize("low, high, clipped", [(0.0017, 2.64, "1 V: the ADC reads 0.002 V"),
                                                (1.98, 3.2984, "3 V: the ADC reads 3.298 V")])
def test_a_reading_at_either_end_of_the_adc_range_is_refused(low, high, clipped):
    board = load_board("mock")
    with pytest.raises(NeurorackError, match=f"cv1 clips at {clipped}, the end of 0..3.3 V") as error:
        calibrate("cv1", 1.0, reading(low), 3.0, reading(high), board)
    assert "Check that cv1 gets" in str(error.value) and "within -5..+5 V" in str(error.value)


def test_a_clipped_reading_on_the_adc_is_refused_at_once_and_not_kept():
    board = load_board("mock")
    signals = {"cv4": Constant(-7.0)}  # below the input's range: the clamp holds the ADC pin at 0 V
    adc = open_simulated_adc(board, Scenario(signals), noise_lsb=0.5, seed=3)
    routine = TwoPointRoutine(adc.driver, board, "cv4", reads=50)
    with pytest.raises(NeurorackError, match=r"cv4 clips at 1 V: the ADC reads 0\.00\d V.*\(expected 1\.980 V\)"):
        routine.read()
    assert routine.readings == [] and routine.next_volts == 1.0  # patch 1 V again and read
    signals["cv4"] = Constant(1.0)
    routine.read()
    assert routine.next_volts == 3.0


@pytest.mark.parametrize("scale, offset", [(3.0303 * (1 + SCALE_TOLERANCE + 0.05), -5.0),
                                           (3.0303 * (1 - SCALE_TOLERANCE - 0.05), -5.0),
                                           (3.0303, -5.0 + OFFSET_TOLERANCE_VOLTS + 0.1)])
def test_a_result_far_from_the_board_file_is_refused_with_measured_and_expected(scale, offset):
    board = load_board("mock")
    with pytest.raises(NeurorackError, match=rf"cv3: measured scale {scale:.4f}, offset {offset:+.3f} V; expected "
                                             r"3\.0303 ±20%, -5\.000 V ±0\.5 V \(board file\)"):
        calibrate("cv3", 0.0, adc_at(0.0, scale, offset), 1.0, adc_at(1.0, scale, offset), board)


def test_a_result_within_the_tolerances_is_accepted_and_its_error_over_the_range_reported():
    board = load_board("mock")
    scale, offset = 3.0303 * 1.15, -5.0 - 0.4
    result = calibrate("cv3", 1.0, adc_at(1.0, scale, offset), 3.0, adc_at(3.0, scale, offset), board)
    assert result.scale == pytest.approx(scale) and result.offset_volts == pytest.approx(offset)
    # the board file's values at +5 V: (5 + 5.4) / 1.15 - 5 = 4.043 V, 957 mV off
    assert result.range_cents == pytest.approx(1200 * (5 - (10.4 / 1.15 - 5)), rel=1e-6)


def test_reset_forgets_the_named_inputs_then_removes_the_file(tmp_path):
    board = load_board("mock")
    result = calibrate("cv1", 1.0, reading(1.98), 3.0, reading(2.64), board)
    save_calibration(tmp_path, board, {"cv1": result, "cv2": result})
    assert reset_calibration(tmp_path, board, ["cv2", "cv3"]) == ["cv2"]
    assert set(load_calibration(tmp_path, board)) == {"cv1"}
    assert reset_calibration(tmp_path, board) == ["cv1"]
    assert not calibration_path(tmp_path).exists() and list(tmp_path.iterdir()) == []
    assert reset_calibration(tmp_path, board) == []


def test_reset_removes_a_damaged_file_too(tmp_path):
    calibration_path(tmp_path).write_text("cv1: {scale: big}\n", encoding="utf-8")
    assert reset_calibration(tmp_path, load_board("mock")) == []
    assert not calibration_path(tmp_path).exists()
