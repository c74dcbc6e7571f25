"""CV calibration: two known voltages per input give its scale and offset.

Patch ``low_volts`` then ``high_volts`` into a CV jack; the ADC voltage read at each (the
mean of many reads, so noise dithers it below one LSB) gives::

    scale        = (high_volts - low_volts) / (adc_high - adc_low)
    offset_volts = low_volts - scale * adc_low

Errors are reported in cents of 1V/oct pitch (1 V = 1200 cents):

* ``before_cents``: how far off a 1 V step was with the board file's scale;
* ``uncertainty_cents``: the standard error of the calibrated 1 V step, from the spread
  of the reads;
* ``quantisation_cents``: half an LSB of one 10-bit read, in jack volts. A single read can
  be off by this much whatever the calibration (5.9 cents for a 10 V range on 3.3 V);
* ``range_cents``: the largest pitch error of the board file's values over the input's
  range (what saving the calibration corrects).

Nonsense is refused, never saved: a reading clipped at either end of the ADC's range, two
readings too close together (nothing patched, or the same voltage twice), readings the
wrong way round (a negative scale), and a scale or offset far from the board file's (see
the tolerances below: resistor tolerances give a few percent and tens of millivolts).

The result is saved per module in ``<state dir>/calibration.yaml``, atomically;
``reset_calibration`` removes it again (the board file's values are used).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from neurorack.atomic import atomic_remove, atomic_write_text
from neurorack.config.board import CV_INPUTS, BoardConfig, InputChannel
from neurorack.config.schema import ConfigError, build, setting
from neurorack.config.yaml_source import load_yaml
from neurorack.controls.cv import Conditioning, code_to_adc_volts
from neurorack.errors import NeurorackError

CALIBRATION_FILE = "calibration.yaml"
CENTS_PER_VOLT = 1200.0
DEFAULT_LOW_VOLTS = 1.0  # the two voltages the routine asks for, by default
DEFAULT_HIGH_VOLTS = 3.0
DEFAULT_READS = 2000
RAIL_MARGIN_LSB = 4  # a mean reading this close to 0 or full scale (in codes) is clipped by the input
MIN_SPAN_FRACTION = 0.5  # the two readings must differ by at least half what the board file predicts
SCALE_TOLERANCE = 0.20  # a measured scale must be within ±20 % of the board file's
OFFSET_TOLERANCE_VOLTS = 0.5  # a measured offset must be within ±0.5 jack volts of the board file's


@dataclass(frozen=True)
class Measurement:
    """The mean ADC voltage of ``reads`` reads and their variance (volts, volts squared)."""

    mean_volts: float
    variance: float
    reads: int


def measure(adc, channel: int, reference_volts: float, reads: int = 2000, progress=None) -> Measurement:
    """Read ``channel`` ``reads`` times (about 1 ms apart) and average."""
    values = []
    for index in range(reads):
        values.append(code_to_adc_volts(adc.read(channel), reference_volts))
        if progress is not None and index % 50 == 0:
            progress(index / reads)
        time.sleep(0.0002)
    mean = sum(values) / len(values)
    variance = sum((v - mean) ** 2 for v in values) / max(len(values) - 1, 1)
    return Measurement(mean, variance, len(values))


@dataclass(frozen=True)
class CalibrationResult:
    """One input's calibration and its figures of merit."""

    name: str
    scale: float
    offset_volts: float
    before_cents: float
    uncertainty_cents: float
    quantisation_cents: float
    range_cents: float = 0.0

    def conditioning(self) -> Conditioning:
        return Conditioning(self.scale, self.offset_volts)


def quantisation_cents(scale: float, reference_volts: float, bits: int = 10) -> float:
    """Half an LSB of one read, in cents of 1V/oct."""
    return CENTS_PER_VOLT * abs(scale) * reference_volts / (1 << bits) / 2


def check_reading(name: str, volts: float, reading: Measurement, board: BoardConfig) -> None:
    """Refuse a reading clipped at either end of the ADC's range.

    Raises:
        NeurorackError: naming the input, what was read, what the board file expects and what to do.
    """
    reference = board.adc.reference_volts
    margin = RAIL_MARGIN_LSB * reference / 1024
    if margin <= reading.mean_volts <= reference - margin:
        return
    wired = board.input(name)
    expected = (volts - wired.offset_volts) / wired.scale
    raise NeurorackError(f"{name} clips at {volts:g} V: the ADC reads {reading.mean_volts:.3f} V, the end of "
                         f"0..{reference:g} V (expected {expected:.3f} V). Check that {name} gets {volts:g} V, "
                         f"within {wired.min_volts:g}..{wired.max_volts:+g} V")


def calibrate(name: str, low_volts: float, low: Measurement, high_volts: float, high: Measurement,
              board: BoardConfig) -> CalibrationResult:
    """Scale and offset from two measured known voltages.

    Raises:
        NeurorackError: a clipped reading, readings too close together or the wrong way round,
            or a scale or offset far from the board file's (see the tolerances above).
    """
    check_reading(name, low_volts, low, board)
    check_reading(name, high_volts, high, board)
    wired = board.input(name)
    step = high_volts - low_volts
    span_adc = high.mean_volts - low.mean_volts
    expected_span = step / wired.scale
    if abs(span_adc) < MIN_SPAN_FRACTION * abs(expected_span):
        raise NeurorackError(f"{name}: the readings at {low_volts:g} V and {high_volts:g} V are too close "
                             f"({low.mean_volts:.3f} and {high.mean_volts:.3f} V on the ADC, expected "
                             f"{abs(expected_span):.3f} V apart): is the cable in {name}?")
    scale = step / span_adc
    if scale * wired.scale < 0:
        raise NeurorackError(f"{name}: {high_volts:g} V read {high.mean_volts:.3f} V on the ADC, {low_volts:g} V "
                             f"read {low.mean_volts:.3f} V: the wrong way round (scale {scale:.4f}). "
                             f"Patch {low_volts:g} V first, then {high_volts:g} V")
    offset = low_volts - scale * low.mean_volts
    if (abs(scale / wired.scale - 1) > SCALE_TOLERANCE
            or abs(offset - wired.offset_volts) > OFFSET_TOLERANCE_VOLTS):
        raise NeurorackError(f"{name}: measured scale {scale:.4f}, offset {offset:+.3f} V; expected {wired.scale:.4f}"
                             f" ±{SCALE_TOLERANCE:.0%}, {wired.offset_volts:+.3f} V ±{OFFSET_TOLERANCE_VOLTS:g} V "
                             f"(board file). Check the voltages")
    before = CENTS_PER_VOLT * (wired.scale * span_adc / step - 1.0)
    standard_error = math.sqrt(low.variance / low.reads + high.variance / high.reads)
    uncertainty = CENTS_PER_VOLT * abs(scale) * standard_error / abs(step)
    return CalibrationResult(name, scale, offset, before, uncertainty,
                             quantisation_cents(scale, board.adc.reference_volts),
                             range_cents(scale, offset, wired))


def range_cents(scale: float, offset_volts: float, wired: InputChannel) -> float:
    """The largest pitch error, in cents, of the board file's values against a calibration
    over the input's range (the error is linear in the voltage: largest at an end)."""
    errors = []
    for jack in (wired.min_volts, wired.max_volts):
        adc = (jack - offset_volts) / scale
        errors.append(abs(wired.scale * adc + wired.offset_volts - jack))
    return CENTS_PER_VOLT * max(errors)


def describe(result: CalibrationResult) -> str:
    """The result and its 1V/oct errors (the terminal routine prints it)."""
    return (f"{result.name}: scale {result.scale:.5f}, offset {result.offset_volts:+.4f} V\n"
            f"  1V/oct error with the board file's values: {result.before_cents:+.1f} cents per volt, up to "
            f"{result.range_cents:.0f} cents over the input's range\n"
            f"  after calibration: ±{result.uncertainty_cents:.2f} cents; one 10-bit read is within "
            f"±{result.quantisation_cents:.2f} cents")


class TwoPointRoutine:
    """The guided routine for one CV input, shared by ``neurorack calibrate`` and the menu:
    the player patches ``next_volts``, ``read()`` measures it; after two readings ``result``
    holds the calibration.

    Args:
        adc: the ADC driver (``read(channel) -> 10-bit code``).
        board: the board file (channel, Vref, nominal scale).
        name: ``cv1`` .. ``cv4``.
        low_volts, high_volts: the two known voltages, in jack volts.
        reads: reads averaged per voltage (about 0.3 ms each).

    Raises:
        NeurorackError: an unknown or unwired input, or two equal voltages.
    """

    def __init__(self, adc, board: BoardConfig, name: str, low_volts: float = DEFAULT_LOW_VOLTS,
                 high_volts: float = DEFAULT_HIGH_VOLTS, reads: int = DEFAULT_READS):
        if name not in CV_INPUTS:
            raise NeurorackError(f"expected a CV input ({', '.join(CV_INPUTS)}), got {name!r}")
        if high_volts == low_volts:
            raise NeurorackError("calibration needs two different voltages")
        channel = board.input(name).channel
        if channel is None:
            raise NeurorackError(f"{name} is not wired in the board file (inputs.{name}.channel is null)")
        self.adc = adc
        self.board = board
        self.name = name
        self.channel = channel
        self.voltages = (low_volts, high_volts)
        self.reads = reads
        self.readings: list[Measurement] = []

    @property
    def next_volts(self) -> float | None:
        """The voltage to patch for the next reading; None once both are read."""
        return self.voltages[len(self.readings)] if len(self.readings) < 2 else None

    def read(self, progress=None) -> Measurement:
        """Measure the input at ``next_volts`` (``progress`` gets 0..1).

        Raises:
            NeurorackError: the reading is clipped (see ``check_reading``); it is not kept, so
                the same voltage can be read again.
        """
        volts = self.next_volts
        if volts is None:
            raise NeurorackError(f"{self.name}: both voltages are already read")
        reading = measure(self.adc, self.channel, self.board.adc.reference_volts, self.reads, progress)
        check_reading(self.name, volts, reading, self.board)
        self.readings.append(reading)
        return reading

    @property
    def result(self) -> CalibrationResult | None:
        """Scale, offset and errors once both readings are done.

        Raises:
            NeurorackError: the result is refused (see ``calibrate``); the readings are
                forgotten so the routine can start again.
        """
        if len(self.readings) < 2:
            return None
        low, high = self.readings
        try:
            return calibrate(self.name, self.voltages[0], low, self.voltages[1], high, self.board)
        except NeurorackError:
            self.readings.clear()
            raise


@dataclass(frozen=True)
class CalibratedInput:
    scale: float | None = setting(None, "Jack volts per ADC volt; null: the board file's.")
    offset_volts: float | None = setting(None, "Jack volts at 0 V on the ADC; null: the board file's.")


@dataclass(frozen=True)
class CalibrationFile:
    """What ``neurorack calibrate`` saves."""

    board: str = setting("", "The board file's name when this was measured.")
    cv1: CalibratedInput = setting(default_factory=CalibratedInput, help="CV 1.")
    cv2: CalibratedInput = setting(default_factory=CalibratedInput, help="CV 2.")
    cv3: CalibratedInput = setting(default_factory=CalibratedInput, help="CV 3.")
    cv4: CalibratedInput = setting(default_factory=CalibratedInput, help="CV 4.")


def calibration_path(state_dir: str | Path) -> Path:
    return Path(state_dir) / CALIBRATION_FILE


def save_calibration(state_dir: str | Path, board: BoardConfig, results: Mapping[str, CalibrationResult]) -> Path:
    """Write the results (merged over what was saved before) atomically; returns the path."""
    path = calibration_path(state_dir)
    entries = load_calibration(state_dir, board) if path.exists() else {}
    entries.update({name: result.conditioning() for name, result in results.items()})
    return _write_calibration(path, board, entries)


def reset_calibration(state_dir: str | Path, board: BoardConfig, names: Sequence[str] = CV_INPUTS) -> list[str]:
    """Forget the saved calibration of ``names``, atomically: they go back to the board
    file's values. The file is removed once no input is left in it.

    Returns:
        The inputs that had a saved calibration.

    Raises:
        ConfigError: a damaged calibration file (removed anyway when every input is reset).
    """
    path = calibration_path(state_dir)
    if not path.exists():
        return []
    if set(CV_INPUTS) <= set(names):
        try:
            forgotten = sorted(load_calibration(state_dir, board))
        except ConfigError:
            forgotten = []
        atomic_remove(path)
        return forgotten
    entries = load_calibration(state_dir, board)
    forgotten = sorted(name for name in entries if name in names)
    kept = {name: entry for name, entry in entries.items() if name not in names}
    if kept:
        _write_calibration(path, board, kept)
    else:
        atomic_remove(path)
    return forgotten


def _write_calibration(path: Path, board: BoardConfig, entries: Mapping[str, Conditioning]) -> Path:
    lines = ["# Written by 'neurorack calibrate'. Jack volts = ADC volts * scale + offset_volts.",
             f"board: {board.name!r}"]
    for name in CV_INPUTS:
        entry = entries.get(name)
        if entry is not None:
            lines.append(f"{name}: {{scale: {entry.scale!r}, offset_volts: {entry.offset_volts!r}}}")
    return atomic_write_text(path, "\n".join(lines) + "\n")


def load_calibration(state_dir: str | Path | None, board: BoardConfig) -> dict[str, Conditioning]:
    """Saved calibration per CV input (empty when there is none).

    Raises:
        ConfigError: a damaged file, with its line.
    """
    if state_dir is None:
        return {}
    path = calibration_path(state_dir)
    if not path.exists():
        return {}
    saved = build(CalibrationFile, load_yaml(path))
    out = {}
    for name in CV_INPUTS:
        entry = getattr(saved, name)
        if entry.scale is not None and entry.offset_volts is not None:
            out[name] = Conditioning(entry.scale, entry.offset_volts)
    return out
