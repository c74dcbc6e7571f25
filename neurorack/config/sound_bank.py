"""The sound bank schema: the sounds a model plays, one YAML file.

A bank names its model (or none: any model) and lists sounds. Each sound has a descriptor
trajectory, either a template file extracted from a one-shot (``neurorack sound extract``)
or curves authored as breakpoints, a playback mode, its retrigger and choke behaviour,
optionally its own default CV routing, and optionally its timbre code ``z`` (which drum it
is, for models with a timbre encoder) with the model that computed it::

    model: drums-trimmed
    sounds:
      - name: Kick
        template: templates/kick.csv      # relative to the bank file
        retrigger: restart
        z: [0.12, -1.3, 0.57, 0.0]        # from 'neurorack sound extract --model ...'
        z_model: drums-perc               # the model whose encoder computed z
      - name: Drone
        mode: drone
        curves:
          duration_s: 2.0
          loudness_db: [[0, -30], [0.2, -14], [2.0, -16]]
          pitch_hz: [[0, 55]]
          centroid_hz: [[0, 400], [1.0, 900], [2.0, 400]]
          flatness: [[0, 0.001]]

A ``z`` belongs to one model: ``z_model`` (absent: the bank's ``model``) names it, and one of
the two is required with ``z``. A model with another name or another timbre size plays the
sound with a neutral timbre (zeros) and logs why (``neurorack.instrument.poly``).

Every problem is reported with the file, the key (``sounds[3].mode``), the line and what
was expected, all at once.
"""

# ruff: noqa: RUF009 - setting() returns a dataclasses.field
from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from neurorack.config.schema import (
    ConfigError,
    Problem,
    between,
    build,
    dotted,
    setting,
)
from neurorack.config.state import Routing
from neurorack.config.yaml_source import MAX_LARGE_BYTES, YamlDocument, load_yaml

MODES = ("one_shot", "drone")
RETRIGGER = ("stack", "restart")
CURVE_KEYS = ("loudness_db", "centroid_hz", "flatness", "pitch_hz")
MAX_SOUNDS = 128
MAX_TIMBRE = 256


def _breakpoints(points: list[list[float]]) -> str | None:
    """Breakpoints are ``[time_s, value]`` pairs at rising times."""
    for index, point in enumerate(points):
        if len(point) != 2:
            return f"expected [time_s, value] pairs, got {point!r} at item {index + 1}"
        if not all(math.isfinite(v) for v in point):
            return f"expected finite numbers, got {point!r} at item {index + 1}"
    times = [p[0] for p in points]
    if any(b < a for a, b in pairwise(times)):
        return f"expected breakpoint times that never go back, got {times}"
    if times and times[0] < 0:
        return f"expected times from 0 s, got {times[0]}"
    return None


def _timbre(values: list[float]) -> str | None:
    """A timbre code: 1 to ``MAX_TIMBRE`` finite numbers (finiteness is checked by the float type)."""
    if not values:
        return "expected a list of at least one number (the timbre code), got an empty list"
    if len(values) > MAX_TIMBRE:
        return f"expected at most {MAX_TIMBRE} numbers, got {len(values)}"
    return None


@dataclass(frozen=True)
class Curves:
    """A trajectory authored as breakpoints: ``[[time_s, value], ...]`` per descriptor, joined
    by straight lines (in log frequency for Hz, in log for flatness), held after the last point.
    An empty list keeps the default (loudness -20 dB, centroid 1 kHz, flatness 0.01, pitch 110 Hz)."""

    duration_s: float = setting(0.0, "Length of the trajectory in seconds; 0: the last breakpoint's time.",
                                check=between(0, 60, "s"))
    loudness_db: list[list[float]] = setting(default_factory=list, help="Loudness breakpoints, dB.",
                                             check=_breakpoints)
    centroid_hz: list[list[float]] = setting(default_factory=list, help="Spectral centroid breakpoints, Hz.",
                                             check=_breakpoints)
    flatness: list[list[float]] = setting(default_factory=list, help="Noisiness breakpoints, 0..1.",
                                          check=_breakpoints)
    pitch_hz: list[list[float]] = setting(default_factory=list, help="Pitch breakpoints, Hz.", check=_breakpoints)

    @property
    def is_empty(self) -> bool:
        return not any(getattr(self, key) for key in CURVE_KEYS)


@dataclass(frozen=True)
class SoundSpec:
    """One sound of the bank, as written."""

    name: str = setting("", "Name shown on the screen (unique in the bank).")
    detail: str = setting("", "A short second line, e.g. the kit it was extracted from.")
    template: str | None = setting(None, "Descriptor template file (CSV from 'neurorack sound extract'), "
                                         "relative to the bank file.")
    curves: Curves = setting(default_factory=Curves, help="Authored breakpoint curves (instead of a template).")
    mode: str = setting("one_shot", "one_shot: plays its trajectory once per gate; drone: loops it until "
                                    "choked or retriggered.", choices=MODES)
    retrigger: str = setting("stack", "stack: a new hit overlaps the ringing one; restart: it chokes it.",
                             choices=RETRIGGER)
    choke_group: int = setting(0, "Sounds sharing a group above 0 cut each other off (open/closed hat).",
                               check=between(0, 16))
    gain_db: float = setting(0.0, "Added to the trajectory's loudness, dB.", check=between(-40, 24, "dB"))
    tune_semitones: float = setting(0.0, "Transposes the trajectory's pitch.", check=between(-48, 48, "semitones"))
    morph_to: str | None = setting(None, "The sound a 'morph' CV blends this one towards.")
    routing: Routing = setting(default_factory=Routing, help="Default CV routing while this sound is "
                               "selected (absent: keep the player's routing).")
    z: list[float] = setting(default_factory=list, help="Timbre code (a list of finite numbers) from the one-shot, "
                             "written by 'neurorack sound extract --model'; absent (empty here): a neutral timbre.",
                             check=_timbre)
    z_model: str | None = setting(None, "The model whose encoder computed 'z' (absent: the bank's 'model'); any "
                                        "other model plays the sound with a neutral timbre.")

    def timbre_model(self, bank_model: str | None) -> str | None:
        """The model ``z`` belongs to: ``z_model``, else the bank's model."""
        return self.z_model if self.z_model is not None else bank_model


@dataclass(frozen=True)
class SoundBank:
    """A validated sound bank.

    Attributes:
        source: the bank file.
        model: the model the templates were made for (None: any).
        sounds: in menu order.
        routed: names of the sounds whose entry sets ``routing``.
        voices: polyphony before stealing.
        gate2: ``second``, ``accent`` or ``choke``.
        gate2_sound: the sound gate 2 plays in ``second`` mode (None: the next one).
    """

    source: Path
    model: str | None
    sounds: tuple[SoundSpec, ...]
    routed: frozenset[str] = frozenset()
    voices: int = 6
    gate2: str = "second"
    gate2_sound: str | None = None

    def index_of(self, name: str) -> int:
        for index, sound in enumerate(self.sounds):
            if sound.name == name:
                return index
        raise KeyError(name)

    def template_path(self, sound: SoundSpec) -> Path | None:
        """The sound's template file, joined to the bank's folder as written (symlinks are not
        resolved: ``neurorack.instrument.sound_bank.load_bank`` checks where it leads)."""
        if sound.template is None:
            return None
        return self.source.parent / sound.template


@dataclass(frozen=True)
class _BankHeader:
    model: str | None = setting(None, "Model folder name the templates were made for; null: any model.")
    voices: int = setting(6, "Hits that sound at once before the oldest is stolen.", check=between(4, 16))
    gate2: str = setting("second", "What gate 2 does: second (plays gate2_sound), accent (the current sound, "
                                   "louder) or choke (cuts every voice off).", choices=("second", "accent", "choke"))
    gate2_sound: str | None = setting(None, "The sound gate 2 plays in 'second' mode; null: the one after the "
                                            "current sound.")
    sounds: list[dict] | None = setting(None, "The sounds, in menu order.")


def load_sound_bank(path: str | Path) -> SoundBank:
    """Load and check a sound bank file (template files are checked when they are read).

    Raises:
        ConfigError: every problem, with file, key, line and what was expected.
    """
    document = load_yaml(path, MAX_LARGE_BYTES)
    return parse_sound_bank(document, Path(path))


def parse_sound_bank(document: YamlDocument, path: Path) -> SoundBank:
    """Check a parsed bank document (see ``load_sound_bank``)."""
    problems: list[Problem] = []
    data = document.data
    if not isinstance(data, dict):
        raise ConfigError([Problem(document.source, "", None, "expected a mapping with 'model' and 'sounds'")])
    header_data = {k: v for k, v in data.items() if k != "sounds"}
    try:
        header = build(_BankHeader, YamlDocument(document.source, header_data, document.lines))
    except ConfigError as exc:
        problems += exc.problems
        header = _BankHeader()
    raw_sounds = data.get("sounds")
    if not isinstance(raw_sounds, list) or not raw_sounds:
        problems.append(Problem(document.source, "sounds", document.line_of(("sounds",)),
                                "expected a list of at least one sound"))
        raw_sounds = []
    if len(raw_sounds) > MAX_SOUNDS:
        problems.append(Problem(document.source, "sounds", document.line_of(("sounds",)),
                                f"expected at most {MAX_SOUNDS} sounds, got {len(raw_sounds)}"))
    sounds: list[SoundSpec] = []
    for index, raw in enumerate(raw_sounds):
        sound = _build_sound(document, index, raw, problems)
        if sound is not None:
            sounds.append(sound)
            if sound.z and sound.timbre_model(header.model) is None:
                problems.append(Problem(document.source, dotted(("sounds", index, "z")),
                                        document.line_of(("sounds", index, "z")),
                                        "expected 'z_model' (the model that computed z) beside z, or a bank-level "
                                        "'model'"))
            if not sound.z and sound.z_model is not None:
                problems.append(Problem(document.source, dotted(("sounds", index, "z_model")),
                                        document.line_of(("sounds", index, "z_model")),
                                        "expected 'z' (the timbre code) beside z_model"))
    _cross_check(document, raw_sounds, sounds, problems)
    if header.gate2_sound is not None and sounds and header.gate2_sound not in {s.name for s in sounds}:
        problems.append(Problem(document.source, "gate2_sound", document.line_of(("gate2_sound",)),
                                f"expected the name of a sound in this bank, got {header.gate2_sound!r}"))
    if problems:
        raise ConfigError(sorted(problems, key=lambda p: p.line or 0))
    routed = frozenset(raw["name"] for raw in raw_sounds if isinstance(raw, dict) and "routing" in raw)
    return SoundBank(Path(path), header.model, tuple(sounds), routed, header.voices, header.gate2,
                     header.gate2_sound)


def _build_sound(document: YamlDocument, index: int, raw, problems: list[Problem]) -> SoundSpec | None:
    prefix = ("sounds", index)
    sub = _Subdocument(document, prefix, raw)
    try:
        sound = build(SoundSpec, sub)
    except ConfigError as exc:
        problems += [Problem(p.source, _prefixed(prefix, p.key), p.line, p.message) for p in exc.problems]
        return None
    where = document.line_of(prefix)
    if not sound.name.strip():
        problems.append(Problem(document.source, dotted((*prefix, "name")), where, "expected a non-empty name"))
    has_curves = not sound.curves.is_empty
    if (sound.template is None) == (not has_curves) or (sound.template is not None and has_curves):
        problems.append(Problem(document.source, dotted(prefix), where,
                                "expected exactly one of 'template' (a file) or 'curves' (breakpoints)"))
    for key in ("centroid_hz", "pitch_hz", "flatness"):
        for point in getattr(sound.curves, key):
            if len(point) == 2 and point[1] <= 0:
                problems.append(Problem(document.source, dotted((*prefix, "curves", key)),
                                        document.line_of((*prefix, "curves", key)),
                                        f"expected values above 0, got {point[1]}"))
                break
    return sound


def _cross_check(document: YamlDocument, raw_sounds: list, sounds: list[SoundSpec], problems: list[Problem]) -> None:
    names = [s.name for s in sounds]
    seen: set[str] = set()
    for index, sound in enumerate(sounds):
        position = next((i for i, r in enumerate(raw_sounds) if isinstance(r, dict) and r.get("name") == sound.name),
                        index)
        if sound.name in seen:
            problems.append(Problem(document.source, dotted(("sounds", position, "name")),
                                    document.line_of(("sounds", position, "name")),
                                    f"expected a unique name, '{sound.name}' appears twice"))
        seen.add(sound.name)
        if sound.morph_to is not None and sound.morph_to not in names:
            problems.append(Problem(document.source, dotted(("sounds", position, "morph_to")),
                                    document.line_of(("sounds", position, "morph_to")),
                                    f"expected the name of a sound in this bank, got {sound.morph_to!r}"))


def _prefixed(prefix: tuple, key: str) -> str:
    head = dotted(prefix)
    return f"{head}.{key}" if key else head


class _Subdocument:
    """One list item of a document, seen as a document of its own (lines still point into the file)."""

    def __init__(self, document: YamlDocument, prefix: tuple, data):
        self.source = document.source
        self.data = data
        self._document = document
        self._prefix = prefix

    def line_of(self, path: tuple) -> int | None:
        return self._document.line_of((*self._prefix, *path))
