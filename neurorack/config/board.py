"""Board files: every pin, bus, address and ADC channel of one build of the module.

A board file is YAML validated by the same schema as the module config
(``neurorack.config.schema``). Besides per-key checks, ``load_board`` checks the file as
a whole: an ADC channel or a GPIO pin used twice, a channel the ADC does not have, a
Schmitt trigger whose thresholds are reversed. Every problem names the file, the key
and the line.

Conditioning: each input maps ADC volts (0..reference) back to jack volts with
``jack_volts = adc_volts * scale + offset_volts``. Calibration refines ``scale`` and
``offset_volts`` per module (``neurorack.controls.calibration``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

from neurorack.config.schema import (
    ConfigError,
    KeyPath,
    Problem,
    between,
    build,
    dotted,
    setting,
)
from neurorack.config.yaml_source import YamlDocument, load_yaml
from neurorack.errors import NeurorackError

ADC_DRIVERS = {"mcp3008": 8}  # driver name -> number of single-ended channels
GPIO_BACKENDS = ("rpi-gpio", "rpi-lgpio", "jetson-gpio", "simulated")
ADC_BACKENDS = ("spidev", "simulated")
DISPLAY_DRIVERS = ("ssd1306", "sh1106")
DISPLAY_INTERFACES = ("i2c", "spi")
PIN_NUMBERINGS = ("BCM", "BOARD")
BOARDS_ENV = "NEURORACK_BOARDS_DIR"
CV_INPUTS = ("cv1", "cv2", "cv3", "cv4")
GATE_INPUTS = ("gate1", "gate2")
POT_INPUTS = ("pot1", "pot2")
ALL_INPUTS = CV_INPUTS + GATE_INPUTS + POT_INPUTS

# The MCP3008's clock limit: 3.6 MHz at VDD = 5 V (200 ksps), 1.35 MHz at 2.7 V (75 ksps).
MCP3008_MAX_CLOCK_HZ = 3_600_000


def _positive(unit: str = ""):
    def check(value: float) -> str | None:
        return None if value > 0 else f"expected a number above 0{' ' + unit if unit else ''}, got {value!r}"

    return check


@dataclass(frozen=True)
class AdcSettings:
    """The ADC chip and the SPI bus it hangs on."""

    driver: str = setting("mcp3008", "ADC chip.", choices=tuple(ADC_DRIVERS))
    backend: str = setting(
        "spidev", "spidev: the real chip through /dev/spidev<bus>.<chip_select>; simulated: a simulated "
        "chip on a simulated SPI bus, fed by a scenario.", choices=ADC_BACKENDS)
    spi_bus: int = setting(0, "SPI bus number (0 is SPI0 on a Pi).", check=between(0, 6))
    chip_select: int = setting(0, "Kernel chip-select line of that bus (0: CE0).", check=between(0, 3))
    clock_hz: int = setting(1_000_000, "SPI clock in Hz; the MCP3008 allows up to 3.6 MHz at 5 V, 1.35 MHz at 2.7 V.",
                            check=between(10_000, MCP3008_MAX_CLOCK_HZ, "Hz"))
    reference_volts: float = setting(3.3, "The ADC's reference voltage (VREF pin), in volts.",
                                     check=between(0.25, 5.5, "V"))
    supply_volts: float = setting(3.3, "The ADC's supply (VDD), in volts; sets its clock limit.",
                                  check=between(2.7, 5.5, "V"))
    poll_hz: float = setting(2000.0, "How often the gate inputs are read, in Hz.", check=between(100, 10000, "Hz"))
    others_per_poll: int = setting(
        2, "How many of the CV and pot inputs are read per poll, in turn (each is read at "
        "poll_hz * others_per_poll / 6).", check=between(1, 6))


@dataclass(frozen=True)
class InputChannel:
    """One panel jack or pot wired to an ADC channel."""

    channel: int | None = setting(None, "ADC channel (0..7 on an MCP3008); null: not wired.")
    scale: float = setting(3.0303, "Jack volts per ADC volt (the inverse of the conditioning gain).")
    offset_volts: float = setting(-5.0, "Jack volts at 0 V on the ADC pin.")
    min_volts: float = setting(-5.0, "Lowest valid jack voltage; readings are clamped to it.")
    max_volts: float = setting(5.0, "Highest valid jack voltage; readings are clamped to it.")
    smoothing_ms: float = setting(5.0, "Time constant of the one-pole smoother, in ms; 0 turns it off.",
                                  check=between(0, 1000, "ms"))


@dataclass(frozen=True)
class GateSettings:
    """How gate jacks become edges."""

    rising_volts: float = setting(1.5, "A gate goes high above this many jack volts.", check=between(0.1, 12, "V"))
    falling_volts: float = setting(0.8, "A gate goes low below this many jack volts.", check=between(0, 12, "V"))
    debounce_ms: float = setting(2.0, "After an edge, the gate holds its state this long, in ms.",
                                 check=between(0, 100, "ms"))
    velocity_full_volts: float | None = setting(
        None, "A gate at this many volts plays at full velocity and lower gates softer; null: always full.",
        check=between(0.5, 12, "V"))
    queue_size: int = setting(256, "Gate edges held for the engine before new ones are dropped and counted.",
                              check=between(8, 65536))


@dataclass(frozen=True)
class Inputs:
    """The eight ADC inputs: four CV jacks, two gate jacks, two panel pots."""

    cv1: InputChannel = setting(default_factory=lambda: InputChannel(channel=0), help="CV input 1 (1V/oct pitch).")
    cv2: InputChannel = setting(default_factory=lambda: InputChannel(channel=1), help="CV input 2.")
    cv3: InputChannel = setting(default_factory=lambda: InputChannel(channel=2), help="CV input 3.")
    cv4: InputChannel = setting(default_factory=lambda: InputChannel(channel=3), help="CV input 4.")
    gate1: InputChannel = setting(
        default_factory=lambda: InputChannel(channel=4, offset_volts=0.0, min_volts=0.0, max_volts=10.0),
        help="Gate input 1 (triggers the voice).")
    gate2: InputChannel = setting(
        default_factory=lambda: InputChannel(channel=5, offset_volts=0.0, min_volts=0.0, max_volts=10.0),
        help="Gate input 2.")
    pot1: InputChannel = setting(
        default_factory=lambda: InputChannel(channel=6, scale=1 / 3.3, offset_volts=0.0, min_volts=0.0, max_volts=1.0),
        help="Panel pot 1; scale maps it to 0..1.")
    pot2: InputChannel = setting(
        default_factory=lambda: InputChannel(channel=7, scale=1 / 3.3, offset_volts=0.0, min_volts=0.0, max_volts=1.0),
        help="Panel pot 2; scale maps it to 0..1.")


@dataclass(frozen=True)
class GpioSettings:
    """Which library speaks the RPi.GPIO API on this board, and how pins are numbered."""

    backend: str = setting("rpi-gpio", "rpi-gpio (Pi 4), rpi-lgpio (Pi 5), jetson-gpio (Jetson) or simulated.",
                           choices=GPIO_BACKENDS)
    numbering: str = setting("BCM", "Pin numbering of every pin in this file.", choices=PIN_NUMBERINGS)
    reserved_pins: list[int] = setting(
        default_factory=list, help="Pins taken by buses (SPI, I2C, I2S); the encoder and button may not use them.")


@dataclass(frozen=True)
class EncoderSettings:
    """The rotary encoder."""

    pin_a: int = setting(17, "GPIO pin of contact A.", check=between(0, 255))
    pin_b: int = setting(27, "GPIO pin of contact B.", check=between(0, 255))
    pull_up: bool = setting(True, "Enable the internal pull-ups (contacts switch to ground).")
    steps_per_detent: int = setting(4, "Quadrature steps between two detents (4 or 2).", choices=(2, 4))
    reverse: bool = setting(False, "Swap the direction.")
    acceleration: float = setting(0.0, "Extra steps per detent when turned fast; 0 turns it off.",
                                  check=between(0, 10))


@dataclass(frozen=True)
class ButtonSettings:
    """The encoder's push switch."""

    pin: int = setting(22, "GPIO pin of the switch.", check=between(0, 255))
    pull_up: bool = setting(True, "Enable the internal pull-up (the switch closes to ground).")
    debounce_ms: float = setting(10.0, "Contact bounce ignored after a change, in ms.", check=between(0, 200, "ms"))
    long_press_ms: float = setting(600.0, "Held this long, a press is a long press, in ms.",
                                   check=between(100, 5000, "ms"))


def _sixty_four_rows(height: int) -> str | None:
    if height == 64:
        return None
    if height == 32:
        return ("expected 64: 128 x 32 OLEDs are not supported, the menu is drawn for 64 rows; "
                "fit a 128 x 64 SSD1306 or SH1106 (0.96\" or 1.3\")")
    return f"expected 64, got {height}"


@dataclass(frozen=True)
class DisplaySettings:
    """The OLED."""

    driver: str = setting("ssd1306", "Controller chip.", choices=DISPLAY_DRIVERS)
    interface: str = setting("i2c", "Bus to the screen.", choices=DISPLAY_INTERFACES)
    bus: int = setting(1, "I2C or SPI bus number.", check=between(0, 20))
    address: int = setting(0x3C, "I2C address (0x3C or 0x3D usually).", check=between(0x03, 0x77))
    width: int = setting(128, "Pixels across.", choices=(128,))
    height: int = setting(64, "Pixels down: 64 (the menu is drawn for 64 rows).", check=_sixty_four_rows)
    rotation: int = setting(0, "Quarter turns: 0, 1, 2 or 3 (2: upside down).", choices=(0, 1, 2, 3))


@dataclass(frozen=True)
class BoardConfig:
    """A whole board file."""

    name: str = setting("custom", "A name for logs and `neurorack hw check`.")
    adc: AdcSettings = setting(default_factory=AdcSettings, help="The ADC.")
    inputs: Inputs = setting(default_factory=Inputs, help="Which ADC channel each jack and pot is on.")
    gates: GateSettings = setting(default_factory=GateSettings, help="Gate detection.")
    gpio: GpioSettings = setting(default_factory=GpioSettings, help="GPIO library and numbering.")
    encoder: EncoderSettings = setting(default_factory=EncoderSettings, help="The rotary encoder.")
    button: ButtonSettings = setting(default_factory=ButtonSettings, help="The push switch.")
    display: DisplaySettings = setting(default_factory=DisplaySettings, help="The OLED.")
    audio_device: str | None = setting(None, "Output device name (part of it) for this board; null: the default.")

    @property
    def is_simulated(self) -> bool:
        """True when the ADC and GPIO are both simulated (the mock board)."""
        return self.adc.backend == "simulated" and self.gpio.backend == "simulated"

    def input(self, name: str) -> InputChannel:
        """The input called ``name`` (cv1..cv4, gate1, gate2, pot1, pot2)."""
        return getattr(self.inputs, name)


def boards_dir() -> Path:
    """The folder of shipped board files.

    ``$NEURORACK_BOARDS_DIR`` if set; else the repository's ``hardware/boards`` beside the
    package (an editable install or a checkout); else ``<prefix>/share/neurorack/boards``
    (where ``pip install`` puts them).
    """
    if os.environ.get(BOARDS_ENV):
        return Path(os.environ[BOARDS_ENV])
    beside = Path(__file__).resolve().parents[2] / "hardware" / "boards"
    if beside.is_dir():
        return beside
    import sys

    return Path(sys.prefix) / "share" / "neurorack" / "boards"


def shipped_boards() -> list[str]:
    """Names of the board files that ship with Neurorack."""
    return sorted(p.stem for p in boards_dir().glob("*.yaml"))


def resolve_board_path(board: str) -> Path:
    """A board name (``raspberry-pi-4``) or a path to a YAML file, as a path.

    Raises:
        NeurorackError: a name that is not shipped.
    """
    if board.endswith((".yaml", ".yml")) or os.sep in board:
        return Path(board).expanduser()
    path = boards_dir() / f"{board}.yaml"
    if not path.is_file():
        known = ", ".join(shipped_boards()) or "none found"
        raise NeurorackError(f"board '{board}': no such board file; shipped boards: {known}; "
                             "or give a path to your own board file")
    return path


def load_board(board: str | Path) -> BoardConfig:
    """Load and validate a board file, by name or path.

    Raises:
        ConfigError: every problem, with file, key and line.
        NeurorackError: an unknown board name.
    """
    path = resolve_board_path(str(board))
    document = load_yaml(path)
    config = build(BoardConfig, document)
    problems = check_board(config, document)
    if problems:
        raise ConfigError(sorted(problems, key=lambda p: p.line or 0))
    return config


def check_board(config: BoardConfig, document: YamlDocument) -> list[Problem]:
    """Checks that span several keys: channels and pins used twice, ranges, thresholds."""
    problems: list[Problem] = []

    def problem(path: KeyPath, message: str) -> None:
        problems.append(Problem(document.source, dotted(path), document.line_of(path), message))

    channel_count = ADC_DRIVERS[config.adc.driver]
    used_channels: dict[int, str] = {}
    for name in ALL_INPUTS:
        wired = config.input(name)
        path = ("inputs", name, "channel")
        if wired.channel is not None:
            if not 0 <= wired.channel < channel_count:
                problem(path, f"expected a channel from 0 to {channel_count - 1} "
                              f"({config.adc.driver} has {channel_count}), got {wired.channel}")
            elif wired.channel in used_channels:
                problem(path, f"channel {wired.channel} is already used by inputs.{used_channels[wired.channel]}")
            else:
                used_channels[wired.channel] = name
        if wired.scale == 0:
            problem(("inputs", name, "scale"), "expected a scale other than 0")
        if wired.min_volts >= wired.max_volts:
            problem(("inputs", name, "max_volts"),
                    f"expected more than min_volts ({wired.min_volts:g}), got {wired.max_volts:g}")
    if config.gates.falling_volts >= config.gates.rising_volts:
        problem(("gates", "falling_volts"), f"expected less than rising_volts ({config.gates.rising_volts:g} V) "
                                            f"for hysteresis, got {config.gates.falling_volts:g}")
    reserved = set(config.gpio.reserved_pins)
    used_pins: dict[int, str] = {}
    for path, pin in ((("encoder", "pin_a"), config.encoder.pin_a), (("encoder", "pin_b"), config.encoder.pin_b),
                      (("button", "pin"), config.button.pin)):
        if pin in used_pins:
            problem(path, f"pin {pin} is already used by {used_pins[pin]}")
        elif pin in reserved:
            problem(path, f"pin {pin} is reserved for a bus (gpio.reserved_pins)")
        else:
            used_pins[pin] = dotted(path)
    limit = MCP3008_MAX_CLOCK_HZ if config.adc.supply_volts >= 4.5 else 1_350_000
    if config.adc.clock_hz > limit:
        problem(("adc", "clock_hz"), f"expected at most {limit} Hz at a {config.adc.supply_volts:g} V supply, "
                                     f"got {config.adc.clock_hz}")
    if config.adc.reference_volts > config.adc.supply_volts:
        problem(("adc", "reference_volts"), f"expected at most the supply ({config.adc.supply_volts:g} V), "
                                            f"got {config.adc.reference_volts:g}")
    return problems


def board_field_names() -> list[str]:
    """Top-level keys of a board file (for documentation)."""
    return [f.name for f in fields(BoardConfig)]
