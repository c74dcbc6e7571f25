"""Scenarios: what is patched into each jack of the simulated module, over time.

A scenario maps input names (cv1..cv4, gate1, gate2, pot1, pot2) to signals in jack
volts (pots: 0..1). ``pin_voltages`` turns it into the voltage on each ADC pin, through the
board's conditioning (the inverse of ``jack = adc * scale + offset``) and the input
clamp diodes (0..VREF), which is what the simulated MCP3008 converts.

Signals: ``Constant``, ``Lfo`` (sine, triangle, square, saw), ``Ramp``, ``Steps``,
``CsvRecording`` and ``GatePattern`` (the scripted drum pattern by default). Times are
seconds since the scenario's start.

A scenario can be written as YAML (see ``load_scenario``)::

    cv1: {kind: lfo, shape: sine, low_volts: -1, high_volts: 1, freq_hz: 0.2}
    gate1: {kind: pattern}
    gate2: {kind: steps, values: [0, 5], step_s: 0.5}
"""

from __future__ import annotations

import bisect
import csv
import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from neurorack.config.board import ALL_INPUTS, BoardConfig
from neurorack.config.schema import ConfigError, Problem, between, build, setting
from neurorack.config.yaml_source import load_yaml


@dataclass(frozen=True)
class ScriptedHit:
    """A rising edge at ``time_s`` seconds into the pattern."""

    time_s: float
    gate: int = 0
    velocity: float = 1.0


# Two bars at 120 BPM: a kick-like pattern with an accent, a flam and a quiet ghost note.
DEMO_PATTERN = (
    ScriptedHit(0.00, velocity=1.0), ScriptedHit(0.50, velocity=0.6), ScriptedHit(0.75, velocity=0.4),
    ScriptedHit(1.00, velocity=0.9), ScriptedHit(1.50, velocity=0.6), ScriptedHit(2.00, velocity=1.0),
    ScriptedHit(2.25, velocity=0.3), ScriptedHit(2.50, velocity=0.7), ScriptedHit(3.00, velocity=0.9),
    ScriptedHit(3.25, velocity=0.5), ScriptedHit(3.375, velocity=0.5), ScriptedHit(3.50, velocity=0.8),
)
DEMO_PATTERN_LENGTH_S = 4.0


class Signal(Protocol):
    def volts(self, t: float) -> float:
        """The jack voltage ``t`` seconds into the scenario."""


@dataclass(frozen=True)
class Constant:
    value_volts: float = 0.0

    def volts(self, t: float) -> float:
        return self.value_volts


@dataclass(frozen=True)
class Lfo:
    """A periodic wave between ``low_volts`` and ``high_volts``."""

    shape: str = "sine"
    freq_hz: float = 0.25
    low_volts: float = -1.0
    high_volts: float = 1.0
    phase: float = 0.0  # 0..1 of a period

    def volts(self, t: float) -> float:
        cycle = (t * self.freq_hz + self.phase) % 1.0
        if self.shape == "sine":
            unit = 0.5 - 0.5 * math.cos(2 * math.pi * cycle)
        elif self.shape == "triangle":
            unit = 2 * cycle if cycle < 0.5 else 2 - 2 * cycle
        elif self.shape == "square":
            unit = 1.0 if cycle < 0.5 else 0.0
        else:  # saw
            unit = cycle
        return self.low_volts + unit * (self.high_volts - self.low_volts)


@dataclass(frozen=True)
class Ramp:
    """From ``start_volts`` to ``end_volts`` over ``duration_s``, then held (or repeated)."""

    start_volts: float = 0.0
    end_volts: float = 1.0
    duration_s: float = 1.0
    repeat: bool = False

    def volts(self, t: float) -> float:
        fraction = (t % self.duration_s if self.repeat else min(t, self.duration_s)) / self.duration_s
        return self.start_volts + max(fraction, 0.0) * (self.end_volts - self.start_volts)


@dataclass(frozen=True)
class Steps:
    """``values`` held for ``step_s`` each, looped (a sequencer, or a clock with [0, 5])."""

    values: tuple[float, ...] = (0.0, 5.0)
    step_s: float = 0.5

    def volts(self, t: float) -> float:
        return self.values[int(max(t, 0.0) // self.step_s) % len(self.values)]


@dataclass(frozen=True)
class CsvRecording:
    """A recorded CV: rows of ``time_s, volts`` (linear in between), looped."""

    times_s: tuple[float, ...]
    values_volts: tuple[float, ...]
    loop: bool = True

    def volts(self, t: float) -> float:
        length = self.times_s[-1]
        if self.loop and length > 0:
            t = t % length
        return float(np.interp(t, self.times_s, self.values_volts))


def read_csv_recording(path: str | Path, column: int = 1, loop: bool = True) -> CsvRecording:
    """Read a CSV of ``time_s, volts[, more columns]``; a header row is skipped.

    Raises:
        ConfigError: naming the file and line of a bad row.
    """
    times: list[float] = []
    values: list[float] = []
    source = str(path)
    try:
        with open(path, newline="", encoding="utf-8") as stream:
            for line_number, row in enumerate(csv.reader(stream), start=1):
                if not row or row[0].strip().startswith("#"):
                    continue
                try:
                    times.append(float(row[0]))
                    values.append(float(row[column]))
                except (ValueError, IndexError):
                    if line_number == 1:
                        continue  # a header
                    raise ConfigError([Problem(source, "", line_number, f"expected 'time_s, volts' numbers in "
                                                                        f"column 1 and {column + 1}, got {row}")]) from None
    except OSError as exc:
        raise ConfigError([Problem(source, "", None, f"cannot read the recording: {exc.strerror}")]) from None
    if len(times) < 2 or any(b <= a for a, b in itertools.pairwise(times)):
        raise ConfigError([Problem(source, "", None, "expected at least two rows with increasing times")])
    return CsvRecording(tuple(times), tuple(values), loop)


@dataclass(frozen=True)
class GatePattern:
    """Gates at the hits' times, ``gate_s`` long, at ``high_volts * velocity``, looped.

    ``edges`` gives the exact rising and falling times, to measure detection against.
    """

    hits: tuple[ScriptedHit, ...] = DEMO_PATTERN
    length_s: float = DEMO_PATTERN_LENGTH_S
    gate_s: float = 0.05
    high_volts: float = 8.0
    start_s: float = 0.1
    gate: int = 0
    _times: tuple[float, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        hits = [hit for hit in sorted(self.hits, key=lambda h: h.time_s) if hit.gate == self.gate]
        object.__setattr__(self, "hits", tuple(hits))
        object.__setattr__(self, "_times", tuple(hit.time_s for hit in hits))

    def volts(self, t: float) -> float:
        t -= self.start_s
        if t < 0 or not self.hits:
            return 0.0
        t %= self.length_s
        hit = self.hits[bisect.bisect_right(self._times, t) - 1]  # -1: the last hit of the previous loop
        if (t - hit.time_s) % self.length_s < self.gate_s:
            return self.high_volts * hit.velocity
        return 0.0

    def edges(self, until_s: float) -> list[tuple[float, bool, float]]:
        """``(time_s, rising, velocity)`` for every edge before ``until_s``."""
        out = []
        loop = 0
        while self.start_s + loop * self.length_s < until_s:
            for hit in self.hits:
                at = self.start_s + loop * self.length_s + hit.time_s
                if at < until_s:
                    out.append((at, True, hit.velocity))
                if at + self.gate_s < until_s:
                    out.append((at + self.gate_s, False, hit.velocity))
            loop += 1
        return sorted(out)


@dataclass
class Scenario:
    """Signals per input name; inputs not named sit at 0 V. ``noise_volts``: RMS noise
    added at the jacks (pickup, a noisy module upstream)."""

    signals: Mapping[str, Signal]
    noise_volts: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        unknown = set(self.signals) - set(ALL_INPUTS)
        if unknown:
            raise ValueError(f"unknown inputs {sorted(unknown)}")
        self._random = np.random.default_rng(self.seed)

    def jack_volts(self, name: str, t: float) -> float:
        signal = self.signals.get(name)
        volts = signal.volts(t) if signal is not None else 0.0
        if self.noise_volts:
            volts += float(self._random.normal(0.0, self.noise_volts))
        return volts


def default_scenario() -> Scenario:
    """The mock module's patch: the demo drum pattern on gate 1, slow LFOs on the CVs, pots mid-way."""
    return Scenario({
        "cv1": Lfo("triangle", 0.05, -1.0, 1.0),
        "cv2": Lfo("sine", 0.13, -3.0, 3.0),
        "cv3": Lfo("sine", 0.31, 0.0, 4.0, phase=0.25),
        "cv4": Lfo("saw", 0.07, -2.0, 2.0),
        "gate1": GatePattern(),
        "pot1": Constant(0.5),
        "pot2": Constant(0.25),
    })


def pin_voltages(board: BoardConfig, scenario: Scenario, start_time: float,
                 scales: Mapping[str, tuple[float, float]] | None = None) -> Callable[[int, float], float]:
    """``volts(channel, monotonic_time)`` on each ADC pin for this board and scenario.

    Args:
        board: gives each input's channel and conditioning.
        scenario: what is patched.
        start_time: the monotonic time of the scenario's ``t = 0``.
        scales: ``name -> (scale, offset_volts)`` of the simulated hardware where it differs
            from the board file (a module whose resistors are off, for calibration).
    """
    by_channel: dict[int, tuple[str, float, float]] = {}
    for name in ALL_INPUTS:
        wired = board.input(name)
        if wired.channel is not None:
            scale, offset = (scales or {}).get(name, (wired.scale, wired.offset_volts))
            by_channel[wired.channel] = (name, scale, offset)
    reference = board.adc.reference_volts

    def volts(channel: int, now: float) -> float:
        entry = by_channel.get(channel)
        if entry is None:
            return 0.0
        name, scale, offset = entry
        adc = (scenario.jack_volts(name, now - start_time) - offset) / scale
        return min(max(adc, 0.0), reference)  # the input clamp

    return volts


# -- YAML -------------------------------------------------------------------------------

SIGNAL_KINDS = ("constant", "lfo", "ramp", "steps", "csv", "pattern")


@dataclass(frozen=True)
class SignalSpec:
    """One input's signal in a scenario file; the keys used depend on ``kind``."""

    kind: str = setting("constant", "What the signal is.", choices=SIGNAL_KINDS)
    volts: float = setting(0.0, "constant: the voltage.")
    shape: str = setting("sine", "lfo: the wave.", choices=("sine", "triangle", "square", "saw"))
    freq_hz: float = setting(0.25, "lfo: cycles per second.", check=between(0.0001, 1000, "Hz"))
    low_volts: float = setting(-1.0, "lfo: bottom of the wave.")
    high_volts: float = setting(1.0, "lfo: top of the wave; pattern: the gate level at full velocity.")
    start_volts: float = setting(0.0, "ramp: first value.")
    end_volts: float = setting(1.0, "ramp: last value.")
    duration_s: float = setting(1.0, "ramp: how long it takes.", check=between(0.001, 1e6, "s"))
    repeat: bool = setting(False, "ramp: start again at the end.")
    values: list[float] = setting(default_factory=lambda: [0.0, 5.0], help="steps: the voltages in turn.")
    step_s: float = setting(0.5, "steps: how long each is held.", check=between(0.0001, 1e6, "s"))
    file: str = setting("", "csv: a file of 'time_s, volts' rows, relative to the scenario file.")
    gate_s: float = setting(0.05, "pattern: gate length.", check=between(0.001, 10, "s"))


@dataclass(frozen=True)
class ScenarioFile:
    """A scenario file: one optional signal per input."""

    noise_volts: float = setting(0.0, "RMS noise added at every jack.", check=between(0, 5, "V"))
    cv1: SignalSpec | None = setting(None, "CV 1.")
    cv2: SignalSpec | None = setting(None, "CV 2.")
    cv3: SignalSpec | None = setting(None, "CV 3.")
    cv4: SignalSpec | None = setting(None, "CV 4.")
    gate1: SignalSpec | None = setting(None, "Gate 1.")
    gate2: SignalSpec | None = setting(None, "Gate 2.")
    pot1: SignalSpec | None = setting(None, "Pot 1 (0..1).")
    pot2: SignalSpec | None = setting(None, "Pot 2 (0..1).")


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario YAML file (``default`` gives the built-in one).

    Raises:
        ConfigError: naming file, key and line.
    """
    if str(path) == "default":
        return default_scenario()
    document = load_yaml(path)
    data = document.data if isinstance(document.data, dict) else {}
    # The schema builds nested sections from dataclass fields; Optional sections are built here.
    problems: list[Problem] = []
    signals: dict[str, Signal] = {}
    top = {key: value for key, value in data.items() if key not in ALL_INPUTS}
    from neurorack.config.yaml_source import YamlDocument

    header = build(ScenarioFile, YamlDocument(document.source, top, document.lines))
    for name in ALL_INPUTS:
        if name not in data:
            continue
        section = YamlDocument(document.source, data[name] if data[name] is not None else {},
                               {key[1:]: line for key, line in document.lines.items() if key[:1] == (name,)})
        try:
            spec = build(SignalSpec, section)
        except ConfigError as exc:
            problems += [Problem(p.source, f"{name}.{p.key}" if p.key else name,
                                 p.line or document.line_of((name,)), p.message) for p in exc.problems]
            continue
        signals[name] = _signal_from_spec(spec, name, Path(path).parent, gate=ALL_INPUTS.index(name) - 4)
    if problems:
        raise ConfigError(problems)
    return Scenario(signals, noise_volts=header.noise_volts)


def _signal_from_spec(spec: SignalSpec, name: str, folder: Path, gate: int) -> Signal:
    if spec.kind == "constant":
        return Constant(spec.volts)
    if spec.kind == "lfo":
        return Lfo(spec.shape, spec.freq_hz, spec.low_volts, spec.high_volts)
    if spec.kind == "ramp":
        return Ramp(spec.start_volts, spec.end_volts, spec.duration_s, spec.repeat)
    if spec.kind == "steps":
        return Steps(tuple(spec.values), spec.step_s)
    if spec.kind == "csv":
        return read_csv_recording(folder / spec.file)
    hits: Iterable[ScriptedHit] = DEMO_PATTERN
    if name == "gate2":
        hits = [ScriptedHit(hit.time_s, 1, hit.velocity) for hit in DEMO_PATTERN]
    return GatePattern(tuple(hits), gate_s=spec.gate_s, high_volts=spec.high_volts if spec.high_volts != 1.0 else 8.0,
                       gate=max(gate, 0))


def channel_names(board: BoardConfig) -> Sequence[str]:
    """Input names in channel order (for display)."""
    return sorted((n for n in ALL_INPUTS if board.input(n).channel is not None), key=lambda n: board.input(n).channel)
