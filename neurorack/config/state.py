"""The module's saved settings: current sound and model, CV routing, levels, screen and
encoder preferences. (CV calibration is saved on its own, in ``calibration.yaml``: see
``neurorack.controls.calibration``.)

They live in ``<state_dir>/state.yaml``, written atomically (temporary file, fsync, rename),
so a power cut leaves the old file or the new one. A corrupt or unreadable file never
stops the module: it starts from the defaults and says why in ``StateStore.warning``.
"""

from __future__ import annotations

import dataclasses
import logging
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from neurorack.atomic import atomic_write_text
from neurorack.config.module import SUPPORTED_BLOCK_SIZES
from neurorack.config.schema import ConfigError, between, build, coerce, setting
from neurorack.config.yaml_source import parse_yaml, read_yaml_text
from neurorack.errors import NeurorackError

log = logging.getLogger(__name__)

STATE_FILE = "state.yaml"
# Top-level keys that older versions saved and that now live elsewhere: a state file that still
# has them loads as if they were absent (``calibration``: now in ``calibration.yaml``).
RETIRED_KEYS = ("calibration",)
# What a CV input can drive: a model descriptor or a voice parameter.
CV_TARGETS = ("none", "pitch", "loudness", "centroid", "noisiness", "velocity", "decay", "morph")


@dataclass(frozen=True)
class CvRoute:
    """Where one CV input goes: ``target`` receives ``offset + amount * volts / 5``, in the
    target's 0..1 control range (so amount 1 spans the whole range over -5..+5 V)."""

    target: str = setting("none", "Descriptor or parameter this input drives.", choices=CV_TARGETS)
    amount: float = setting(1.0, "Depth, -1..1 of the target's range per 5 V.", check=between(-1, 1))
    offset: float = setting(0.0, "Added to the target at 0 V, -1..1.", check=between(-1, 1))


@dataclass(frozen=True)
class Routing:
    """One route per CV input."""

    cv1: CvRoute = setting(default_factory=lambda: CvRoute("pitch"), help="CV input 1.")
    cv2: CvRoute = setting(default_factory=lambda: CvRoute("loudness"), help="CV input 2.")
    cv3: CvRoute = setting(default_factory=lambda: CvRoute("centroid"), help="CV input 3.")
    cv4: CvRoute = setting(default_factory=lambda: CvRoute("noisiness"), help="CV input 4.")


@dataclass(frozen=True)
class Levels:
    """Output level."""

    gain_db: float = setting(0.0, "Output gain in dB.", check=between(-60, 12, "dB"))


@dataclass(frozen=True)
class Screen:
    """The OLED."""

    brightness: float = setting(0.8, "Contrast, 0..1.", check=between(0, 1))
    sleep_s: float = setting(300.0, "Blank the screen after this long without a touch; 0: never.",
                             check=between(0, 3600, "s"))


@dataclass(frozen=True)
class Encoder:
    """The rotary encoder's feel."""

    reversed: bool = setting(False, "Swap the turning direction.")
    acceleration: float = setting(1.0, "Extra steps when turning fast; 0: none.", check=between(0, 4))


@dataclass(frozen=True)
class AudioRestart:
    """Audio settings the daemon applies the next time it starts."""

    block_size: int = setting(128, "Frames per audio callback.", choices=SUPPORTED_BLOCK_SIZES)
    lookahead_blocks: float = setting(1.0, "Render lookahead, in blocks.", check=between(0.25, 8, "blocks"))


@dataclass(frozen=True)
class ModuleState:
    """Everything the module remembers between power cycles."""

    sound: str | None = setting(None, "Current sound.")
    model: str | None = setting(None, "Current model.")
    routing: Routing = setting(default_factory=Routing, help="CV routing.")
    levels: Levels = setting(default_factory=Levels, help="Levels.")
    screen: Screen = setting(default_factory=Screen, help="Screen.")
    encoder: Encoder = setting(default_factory=Encoder, help="Encoder.")
    audio: AudioRestart = setting(default_factory=AudioRestart, help="Applied on restart.")

    def get(self, key: str) -> Any:
        """The value at a dotted key such as ``"routing.cv1.amount"``."""
        value: Any = self
        for part in key.split("."):
            value = getattr(value, part)
        return value

    def with_value(self, key: str, value: Any) -> ModuleState:
        """A copy with ``key`` set to ``value``, checked like the file would be.

        Raises:
            StateKeyError: the key does not exist or the value does not fit it.
        """
        field = state_field(key)
        converted, error = coerce(value, field_type(key))
        if error is None and converted is not None:
            choices = field.metadata.get("choices")
            check = field.metadata.get("check")
            if choices is not None and converted not in choices:
                error = f"expected one of {', '.join(str(c) for c in choices)}, got {converted!r}"
            elif check is not None:
                error = check(converted)
        if error is not None:
            raise StateKeyError(f"setting '{key}': {error}")
        return _replace_path(self, key.split("."), converted)

    def to_yaml(self) -> str:
        return "# Neurorack module state, written by the module; edit with care.\n" + yaml.safe_dump(
            dataclasses.asdict(self), sort_keys=False, default_flow_style=None)


class StateKeyError(NeurorackError):
    """A setting key that does not exist in ``ModuleState``, or a value that does not fit it."""


def _replace_path(obj: Any, parts: list[str], value: Any) -> Any:
    if len(parts) == 1:
        return dataclasses.replace(obj, **{parts[0]: value})
    return dataclasses.replace(obj, **{parts[0]: _replace_path(getattr(obj, parts[0]), parts[1:], value)})


def state_field(key: str) -> dataclasses.Field:
    """The dataclass field behind a dotted key.

    Raises:
        StateKeyError: no such key (the message lists the keys at that level).
    """
    cls: Any = ModuleState
    field = None
    for part in key.split("."):
        if not dataclasses.is_dataclass(cls):
            raise StateKeyError(f"unknown setting '{key}': '{part}' is inside a value")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        if part not in fields:
            raise StateKeyError(f"unknown setting '{key}'; known at that level: {', '.join(fields)}")
        field = fields[part]
        cls = typing.get_type_hints(cls)[part]
    if dataclasses.is_dataclass(cls):
        raise StateKeyError(f"setting '{key}' is a section; name one of its keys")
    return field


def field_type(key: str) -> Any:
    """The Python type of the value at a dotted key (e.g. ``float``, ``str | None``)."""
    state_field(key)
    cls: Any = ModuleState
    for part in key.split("."):
        cls = typing.get_type_hints(cls)[part]
    return cls


def setting_keys(cls: Any = ModuleState, prefix: str = "") -> list[str]:
    """Every dotted key of ``ModuleState``."""
    keys = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if dataclasses.is_dataclass(hints[f.name]):
            keys += setting_keys(hints[f.name], f"{prefix}{f.name}.")
        else:
            keys.append(prefix + f.name)
    return keys


class StateStore:
    """Loads and saves ``ModuleState`` in a state folder.

    Attributes:
        path: the state file.
        warning: why the saved state could not be used (None when it loaded, or there was none).
    """

    def __init__(self, state_dir: str | Path):
        self.path = Path(state_dir) / STATE_FILE
        self.warning: str | None = None

    def load(self) -> ModuleState:
        """The saved state, or the defaults (with ``warning`` set) if it is corrupt or unreadable."""
        self.warning = None
        self._remove_leftovers()
        if not self.path.exists():
            return ModuleState()
        try:
            text = read_yaml_text(self.path)
        except ConfigError as exc:
            return self._defaults_because(f"cannot read {exc.problems[0]}")
        try:
            document = parse_yaml(text, str(self.path))
            if isinstance(document.data, dict):
                for key in RETIRED_KEYS:  # older modules saved these here; ignored, not an error
                    document.data.pop(key, None)
            return build(ModuleState, document)
        except ConfigError as exc:
            return self._defaults_because(str(exc.problems[0]) if exc.problems else str(exc))

    def save(self, state: ModuleState) -> None:
        """Write ``state`` atomically.

        Raises:
            NeurorackError: the folder cannot be written.
        """
        try:
            atomic_write_text(self.path, state.to_yaml())
        except OSError as exc:
            raise NeurorackError(f"cannot save settings to {self.path}: {exc.strerror or exc}") from None

    def _remove_leftovers(self) -> None:
        """Temporary files of saves cut short by a power loss or a kill."""
        for leftover in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            try:
                leftover.unlink()
            except OSError:
                pass

    def _defaults_because(self, reason: str) -> ModuleState:
        self.warning = f"settings reset: {reason}"
        log.warning("%s; starting from the defaults", self.warning)
        return ModuleState()
