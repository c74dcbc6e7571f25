"""Playing the mock module from a terminal: keys fire the gates, turn and press the encoder
and set the CVs.

Everything goes through the same parts as on a real panel: a gate key raises that gate's
jack voltage for ``GATE_S`` on the simulated MCP3008, so the real driver, the ADC poller and
the Schmitt trigger produce the timestamped edge; encoder and button keys play bouncy
contact sequences on the simulated GPIO chip, so the real quadrature decoder and button
timing produce the events the UI reads. A turn key is one quick detent (``KEY_DETENT_S``),
queued after the detents still playing, so fast presses are a fast turn, never a jumble;
each press is one step (the keys turn the encoder without acceleration).
The encoder turns clockwise for the next item (the highlight goes down a list, a value
up, the home page to the next sound); Up and ``k`` turn it anticlockwise, so they move
the highlight up. CV keys move a CV jack's voltage (on top of a scenario file's signal,
if one is given).

Keys (``KEY_HELP``)::

    g / h           gate 1 / gate 2
    j, down, right  encoder one detent clockwise: highlight down, value up, next sound
    k, up, left     encoder one detent anticlockwise: highlight up, value down, previous sound
    space, enter    short press          l   long press
    1 - 4           pick the CV the next keys move
    + / -           that CV up / down 1/12 V (a semitone on the pitch route)
    > / <           that CV up / down 1 V (an octave)
    0               that CV back to 0 V (or to the scenario's signal)
    q               quit

The terminal is put in cbreak mode (keys arrive at once, no echo, Ctrl-C still stops the
daemon) and restored on ``close``.
"""

from __future__ import annotations

import logging
import os
import select
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from neurorack.config.board import ALL_INPUTS, CV_INPUTS, GATE_INPUTS
from neurorack.hardware.contacts import button_press, encoder_turn
from neurorack.hardware.scenario import Scenario, Signal

log = logging.getLogger(__name__)

GATE_S = 0.05          # how long a gate key holds its gate high
GATE_VOLTS = 8.0       # a typical Eurorack gate level
SEMITONE_VOLTS = 1.0 / 12.0
CV_LIMIT_VOLTS = 5.0   # a CV key stops at the jack's range
SHORT_HOLD_S = 0.08
KEY_DETENT_S = 0.008   # one detent of a quick turn
KEY_HELP = ("keys: g/h gate 1/2 | up/k/left, down/j/right: turn (highlight up/down, previous/next sound) | "
            "space/enter press, l long press | 1-4 pick a CV, +/- 1/12 V, </> 1 V, 0 reset | q quit")


@dataclass(frozen=True)
class KeyAction:
    """What one key does: ``gate`` (value: 0 or 1), ``turn`` (detents), ``press`` (``short`` or
    ``long``), ``pick_cv`` (0..3), ``nudge_cv`` (volts), ``reset_cv``, or ``quit``."""

    kind: str
    value: object = None


ESCAPES = {b"\x1b[A": KeyAction("turn", -1), b"\x1b[D": KeyAction("turn", -1),
           b"\x1b[B": KeyAction("turn", 1), b"\x1b[C": KeyAction("turn", 1),
           b"\x1bOA": KeyAction("turn", -1), b"\x1bOD": KeyAction("turn", -1),
           b"\x1bOB": KeyAction("turn", 1), b"\x1bOC": KeyAction("turn", 1)}
KEYS = {
    b"g": KeyAction("gate", 0), b"h": KeyAction("gate", 1),
    b"k": KeyAction("turn", -1), b"j": KeyAction("turn", 1),
    b" ": KeyAction("press", "short"), b"\r": KeyAction("press", "short"), b"\n": KeyAction("press", "short"),
    b"l": KeyAction("press", "long"),
    b"1": KeyAction("pick_cv", 0), b"2": KeyAction("pick_cv", 1), b"3": KeyAction("pick_cv", 2),
    b"4": KeyAction("pick_cv", 3),
    b"+": KeyAction("nudge_cv", SEMITONE_VOLTS), b"=": KeyAction("nudge_cv", SEMITONE_VOLTS),
    b"-": KeyAction("nudge_cv", -SEMITONE_VOLTS), b">": KeyAction("nudge_cv", 1.0),
    b"<": KeyAction("nudge_cv", -1.0), b"0": KeyAction("reset_cv"),
    b"q": KeyAction("quit"), b"Q": KeyAction("quit"),
}


def parse_keys(data: bytes) -> list[KeyAction]:
    """The actions in a chunk read from the terminal; unknown keys and escapes are ignored."""
    actions = []
    index = 0
    while index < len(data):
        if data[index:index + 1] == b"\x1b":
            sequence = data[index:index + 3]
            if sequence in ESCAPES:
                actions.append(ESCAPES[sequence])
                index += 3
                continue
            index = _skip_escape(data, index)
            continue
        action = KEYS.get(data[index:index + 1])
        if action is not None:
            actions.append(action)
        index += 1
    return actions


def _skip_escape(data: bytes, index: int) -> int:
    """The index after an escape sequence we do not use: a lone ESC, or ESC [ or ESC O
    followed by parameters and one final byte (0x40..0x7E)."""
    index += 1
    if data[index:index + 1] not in (b"[", b"O"):
        return index
    index += 1
    while index < len(data) and not 0x40 <= data[index] <= 0x7E:
        index += 1
    return index + 1


class KeyGate:
    """A gate jack: high while a key's gate lasts, else what ``base`` gives (a scenario)."""

    def __init__(self, base: Signal | None = None, high_volts: float = GATE_VOLTS):
        self.base = base
        self.high_volts = high_volts
        self.until_s = -1.0

    def fire(self, t: float, length_s: float = GATE_S) -> None:
        """Hold the gate high from scenario time ``t`` for ``length_s``."""
        self.until_s = t + length_s

    def volts(self, t: float) -> float:
        if t < self.until_s:
            return self.high_volts
        return self.base.volts(t) if self.base is not None else 0.0


class KeyCv:
    """A CV jack: ``base`` (a scenario's signal, or 0 V) plus an offset set from the keys."""

    def __init__(self, base: Signal | None = None):
        self.base = base
        self.offset_volts = 0.0

    def volts(self, t: float) -> float:
        return (self.base.volts(t) if self.base is not None else 0.0) + self.offset_volts


class KeyboardPatch:
    """The mock module's jacks, played from the keys, over an optional scenario.

    Args:
        base: a scenario for what the keys do not play (None: every jack at 0 V, pots mid-way).
        until_first_key: the base scenario's gates and CVs play only until the first key (the
            built-in pattern, so that the module is heard at once); then the keys alone play them.
    """

    def __init__(self, base: Scenario | None = None, until_first_key: bool = False):
        self.until_first_key = until_first_key
        signals = dict(base.signals) if base is not None else {}
        self.cvs = tuple(KeyCv(signals.get(name)) for name in CV_INPUTS)
        self.gates = tuple(KeyGate(signals.get(name)) for name in GATE_INPUTS)
        played = dict(zip(CV_INPUTS, self.cvs)) | dict(zip(GATE_INPUTS, self.gates))
        merged = {name: played.get(name, signals.get(name)) for name in ALL_INPUTS}
        self.scenario = Scenario({name: signal for name, signal in merged.items() if signal is not None},
                                 noise_volts=base.noise_volts if base is not None else 0.0)
        self.selected = 0

    def hand_over(self) -> bool:
        """At a key: stop the base scenario's gates and CVs if they play only until the first
        key. Returns whether they stopped now."""
        if not self.until_first_key:
            return False
        self.until_first_key = False
        for jack in (*self.gates, *self.cvs):
            jack.base = None
        return True

    def apply(self, action: KeyAction, t: float) -> str | None:
        """Apply a gate or CV action at scenario time ``t``; returns what changed, for the log."""
        if action.kind == "gate":
            self.gates[action.value].fire(t)
            return f"gate {action.value + 1}"
        if action.kind == "pick_cv":
            self.selected = action.value
            return f"CV {self.selected + 1} picked"
        cv = self.cvs[self.selected]
        if action.kind == "nudge_cv":
            cv.offset_volts = min(max(cv.offset_volts + action.value, -CV_LIMIT_VOLTS), CV_LIMIT_VOLTS)
        elif action.kind == "reset_cv":
            cv.offset_volts = 0.0
        else:
            return None
        return f"CV {self.selected + 1} offset {cv.offset_volts:+.3f} V"


class KeyboardControls:
    """Reads keys from a terminal on its own thread and plays them on a running mock panel.

    Args:
        patch: the jacks the keys play (its ``scenario`` must be the one the panel's
            simulated ADC converts).
        panel: the running ``Panel`` (simulated ADC and GPIO).
        on_quit: called when ``q`` is pressed (the daemon's stop).
        stream: the terminal (default: stdin).
    """

    def __init__(self, patch: KeyboardPatch, panel, on_quit: Callable[[], None], stream: IO | None = None):
        self.patch = patch
        self.panel = panel
        self.on_quit = on_quit
        self.stream = stream or sys.stdin
        self.fd = self.stream.fileno()
        self.actions = 0
        self._saved_mode = None
        self._turn_free_at = 0.0  # when the queued detents have played
        panel.encoder.acceleration = 0.0  # a key is one step: its auto-repeat is no fast hand
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="neurorack-keyboard", daemon=True)

    @staticmethod
    def is_available(stream: IO | None = None) -> bool:
        """True when ``stream`` (stdin) is a terminal: otherwise the mock runs its scenario."""
        stream = stream or sys.stdin
        try:
            return stream.isatty()
        except (AttributeError, ValueError):
            return False

    def start(self) -> KeyboardControls:
        import termios
        import tty

        self._saved_mode = termios.tcgetattr(self.fd)
        tty.setcbreak(self.fd)  # keys at once, no echo; Ctrl-C still raises SIGINT
        self._thread.start()
        log.info("%s", KEY_HELP)
        return self

    def close(self) -> None:
        """Stop reading and give the terminal its mode back."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(1.0)
        if self._saved_mode is not None:
            import termios

            termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved_mode)
            self._saved_mode = None

    def __enter__(self) -> KeyboardControls:  # noqa: PYI034 - the started reader
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if not ready:
                continue
            try:
                data = os.read(self.fd, 64)
            except OSError:
                return
            if not data:
                return  # the terminal went away
            for action in parse_keys(data):
                self.handle(action)

    def handle(self, action: KeyAction) -> None:
        """Play one action on the panel."""
        self.actions += 1
        if self.patch.hand_over():
            log.info("keys take over: the built-in pattern stops")
        if action.kind == "quit":
            log.info("key q: quitting")
            self.on_quit()
            return
        board, gpio = self.panel.board, self.panel.gpio
        if action.kind == "turn":
            start = max(time.monotonic(), self._turn_free_at)  # after the detents still playing
            self._turn_free_at = start + abs(action.value) * KEY_DETENT_S
            gpio.play(encoder_turn(action.value, board.encoder.pin_a, board.encoder.pin_b, detent_s=KEY_DETENT_S),
                      start=start)
            log.info("key: encoder %+d", action.value)
        elif action.kind == "press":
            hold_s = board.button.long_press_ms / 1000.0 + 0.1 if action.value == "long" else SHORT_HOLD_S
            gpio.play(button_press(board.button.pin, hold_s))
            log.info("key: %s press", action.value)
        else:
            t = time.monotonic() - (self.panel.adc.scenario_start or 0.0)
            change = self.patch.apply(action, t)
            if change:
                log.info("key: %s", change)


def mock_inputs(scenario_path: str | None, mock: bool, interactive: bool
                ) -> tuple[Scenario | None, KeyboardPatch | None]:
    """What the mock module's jacks play: the scenario file (None: the built-in scenario),
    under the keys when ``interactive`` (a terminal on stdin). With keys and no scenario file,
    the built-in pattern plays until the first key, so the module is heard at once.

    Returns:
        The scenario for the simulated ADC, and the patch the keys play (None: no keys).

    Raises:
        NeurorackError: a scenario without ``--mock``; ConfigError: a bad scenario file.
    """
    from neurorack.errors import NeurorackError
    from neurorack.hardware.scenario import load_scenario

    if scenario_path is not None and not mock:
        raise NeurorackError("--scenario plays into the simulated ADC: use it with --mock")
    scenario = load_scenario(scenario_path) if scenario_path is not None else None
    if not (mock and interactive):
        return scenario, None
    if scenario is None:
        from neurorack.hardware.scenario import default_scenario

        patch = KeyboardPatch(default_scenario(), until_first_key=True)
    else:
        patch = KeyboardPatch(scenario)
    return patch.scenario, patch
