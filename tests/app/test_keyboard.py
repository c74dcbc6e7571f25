"""The playable mock module: key parsing, the keys' jacks over a scenario, and
``neurorack run --mock`` played through a real pseudo-terminal."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
import threading
import time
import wave

import numpy as np
import pytest
import yaml

from neurorack.app.keyboard import (
    GATE_S,
    GATE_VOLTS,
    SEMITONE_VOLTS,
    KeyAction,
    KeyboardControls,
    KeyboardPatch,
    mock_inputs,
    parse_keys,
)
from neurorack.config.board import load_board
from neurorack.config.state import ModuleState
from neurorack.controls.panel import open_panel
from neurorack.core.events import ButtonEvent, EncoderTurn
from neurorack.hardware.scenario import Constant, GatePattern, Lfo, Scenario
from neurorack.ui.frame import capture_frame
from neurorack.ui.menu_file import load_menu
from neurorack.ui.mock_facade import DEMO_SOUNDS, MockFacade
from neurorack.ui.navigation import Navigator
from neurorack.ui.render import LIST_TOP, ROW_H, render
from tests.instrument.model_fixture import make_model
from tests.ui.conftest import Clock


def test_keys_and_arrow_escapes_become_actions_and_other_escapes_are_skipped():
    actions = parse_keys(b"gh\x1b[A\x1b[Dkj l\r1+-><0q")
    assert [(a.kind, a.value) for a in actions] == [
        ("gate", 0), ("gate", 1), ("turn", -1), ("turn", -1), ("turn", -1), ("turn", 1), ("press", "short"),
        ("press", "long"), ("press", "short"), ("pick_cv", 0), ("nudge_cv", SEMITONE_VOLTS),
        ("nudge_cv", -SEMITONE_VOLTS), ("nudge_cv", 1.0), ("nudge_cv", -1.0), ("reset_cv", None), ("quit", None)]
    # Ctrl-right (ESC [ 1 ; 5 C), a function key (ESC O P), a lone Escape and unknown keys do nothing.
    assert parse_keys(b"\x1b[1;5C\x1bOP\x1bxz") == []
    assert parse_keys(b"\x1bOBg") == [KeyAction("turn", 1), KeyAction("gate", 0)]  # down: clockwise


def test_gate_key_holds_the_gate_high_over_the_scenarios_own_gate():
    base = Scenario({"gate1": GatePattern(), "cv2": Lfo("sine", 1.0, -1.0, 1.0), "pot1": Constant(0.5)})
    patch = KeyboardPatch(base)
    scenario = patch.scenario
    quiet = 0.3  # between two hits of the built-in pattern
    assert scenario.jack_volts("gate1", quiet) == 0.0
    patch.apply(KeyAction("gate", 0), quiet)
    assert scenario.jack_volts("gate1", quiet + 0.01) == GATE_VOLTS
    assert scenario.jack_volts("gate1", quiet + GATE_S + 0.001) == 0.0
    assert scenario.jack_volts("gate1", 0.11) == base.jack_volts("gate1", 0.11) > 0  # the pattern still plays
    assert scenario.jack_volts("gate2", quiet + 0.01) == 0.0
    assert scenario.jack_volts("pot1", 1.0) == 0.5


def test_cv_keys_move_the_picked_cv_over_its_signal_within_the_jack_range():
    patch = KeyboardPatch(Scenario({"cv2": Lfo("square", 1.0, 0.0, 2.0)}))
    volts = patch.scenario.jack_volts
    patch.apply(KeyAction("pick_cv", 1), 0.0)
    for _ in range(12):
        patch.apply(KeyAction("nudge_cv", SEMITONE_VOLTS), 0.0)
    assert volts("cv2", 0.1) == pytest.approx(2.0 + 1.0)  # one octave over the LFO's top
    assert volts("cv1", 0.1) == 0.0
    for _ in range(20):
        patch.apply(KeyAction("nudge_cv", -1.0), 0.0)
    assert volts("cv2", 0.6) == pytest.approx(-5.0)  # the LFO's bottom (0 V) plus the -5 V floor
    patch.apply(KeyAction("reset_cv"), 0.0)
    assert volts("cv2", 0.1) == 2.0


def test_no_keys_without_a_terminal_and_no_scenario_without_mock(tmp_path):
    scenario, keys = mock_inputs(None, mock=True, interactive=False)
    assert scenario is None and keys is None  # the built-in scenario, as before
    path = tmp_path / "patch.yaml"
    path.write_text("cv1: {kind: constant, volts: 1.5}\n")
    scenario, keys = mock_inputs(str(path), mock=True, interactive=True)
    assert keys is not None and scenario is keys.scenario and scenario.jack_volts("cv1", 0.0) == 1.5
    from neurorack.errors import NeurorackError

    with pytest.raises(NeurorackError, match="--scenario .* --mock"):
        mock_inputs(str(path), mock=False, interactive=True)


def test_with_keys_and_no_scenario_the_built_in_pattern_plays_until_the_first_key():
    scenario, keys = mock_inputs(None, mock=True, interactive=True)
    hit = 0.11  # a hit of the built-in pattern
    assert scenario.jack_volts("gate1", hit) > 0 and scenario.jack_volts("cv2", 1.0) != 0.0
    with open_panel(load_board("mock"), lambda edge: None, scenario) as panel, open(os.devnull) as stream:
        KeyboardControls(keys, panel, lambda: None, stream).handle(KeyAction("press", "short"))
    assert scenario.jack_volts("gate1", hit) == 0.0 and scenario.jack_volts("cv2", 1.0) == 0.0  # the keys alone
    assert scenario.jack_volts("pot1", 1.0) == 0.5  # the pots stay where the pattern left them
    assert not keys.hand_over()  # once


# -- the daemon in a pseudo-terminal ---------------------------------------------------------


@pytest.fixture(scope="module")
def module_config(tmp_path_factory):
    root = tmp_path_factory.mktemp("keyboard")
    make_model(root / "models" / "tiny")
    config = root / "config.yaml"
    config.write_text(yaml.safe_dump({"models_dir": str(root / "models"), "state_dir": str(root / "state")}))
    return root, config


class Terminal:
    """A daemon with a pseudo-terminal on stdin and stdout; stderr (the log) kept line by line."""

    def __init__(self, *args: str, size: tuple[int, int] = (128, 40)):
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))  # columns, rows
        self.master = master
        self.process = subprocess.Popen([sys.executable, "-m", "neurorack", *args], stdin=slave, stdout=slave,
                                        stderr=subprocess.PIPE, text=True)
        os.close(slave)
        self.screen = bytearray()
        self.log: list[str] = []
        threading.Thread(target=self._drain_screen, daemon=True).start()
        threading.Thread(target=self._read_log, daemon=True).start()

    def _drain_screen(self) -> None:
        while True:
            try:
                data = os.read(self.master, 4096)
            except OSError:
                return
            if not data:
                return
            self.screen.extend(data)

    def _read_log(self) -> None:
        for line in self.process.stderr:
            self.log.append(line)

    def wait_for_log(self, text: str, timeout_s: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if any(text in line for line in self.log):
                return True
            time.sleep(0.02)
        return False

    def press(self, keys: bytes) -> None:
        os.write(self.master, keys)


def test_keys_fire_gates_turn_the_encoder_and_q_quits(module_config):
    root, config = module_config
    wav = root / "keys.wav"
    terminal = Terminal("--config", str(config), "run", "--mock", "--wav", str(wav), "--seconds", "60")
    try:
        assert terminal.wait_for_log("stop with Ctrl-C"), "".join(terminal.log)
        time.sleep(0.6)
        terminal.press(b"g")
        assert terminal.wait_for_log("key: gate 1", 5)
        time.sleep(0.5)
        terminal.press(b"j")  # the home page: the next sound
        assert terminal.wait_for_log("key: encoder +1", 5)
        time.sleep(0.4)
        terminal.press(b"q")
        assert terminal.process.wait(15) == 0, "".join(terminal.log)
    finally:
        if terminal.process.poll() is None:
            terminal.process.kill()
            terminal.process.wait()
    log = "".join(terminal.log)
    assert "stopped cleanly" in log and "key q: quitting" in log
    # The encoder turn went through the simulated contacts, the decoder and the UI: the saved sound moved on.
    saved = yaml.safe_load((root / "state" / "state.yaml").read_text())
    assert saved["sound"] == "Snare"
    # The OLED was drawn live in the 128x40 terminal (half-block characters, each line at its row).
    assert terminal.screen.count("\u2580".encode()) > 100 and b"\x1b[32;1H" in terminal.screen
    if "WAV file" in log:  # no sound device here: the real-time WAV stand-in played
        with wave.open(str(wav)) as handle:
            rate = handle.getframerate()
            samples = np.frombuffer(handle.readframes(handle.getnframes()), dtype=np.int16) / 32768.0
        loud = np.nonzero(np.abs(samples) > 0.02)[0]
        assert len(loud) > 0, "nothing played"
        assert loud[0] / rate < 0.3  # the built-in pattern is heard at once, before any key


def test_without_a_terminal_the_mock_plays_its_scenario_and_never_reads_stdin(module_config, tmp_path):
    _, config = module_config
    wav = tmp_path / "scripted.wav"
    stdin, keep_open = os.pipe()  # stdin stays open and empty: a read would hang the daemon
    process = subprocess.Popen([sys.executable, "-m", "neurorack", "--config", str(config), "run", "--mock",
                                "--wav", str(wav), "--seconds", "2"], stdin=stdin,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    os.close(stdin)
    try:
        _, log = process.communicate(timeout=60)
    finally:
        os.close(keep_open)
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, log
    assert "keys:" not in log and "stopped cleanly" in log
    if "WAV file" in log:
        with wave.open(str(wav)) as handle:
            samples = np.frombuffer(handle.readframes(handle.getnframes()), dtype=np.int16) / 32768.0
        assert np.abs(samples).max() > 0.02  # the built-in drum pattern on gate 1


# -- fast turns through the simulated contacts, and which way the highlight goes ----------------


class KeyRig:
    """The mock panel (simulated GPIO, real decoder) played by the keys, driving the real UI."""

    def __init__(self, panel, keys: KeyboardControls):
        self.panel = panel
        self.keys = keys
        self.navigator = Navigator(load_menu(), MockFacade(time.monotonic), ModuleState(sound="Kick 808"))

    def press(self, data: bytes, spacing_s: float) -> None:
        """Press the keys ``spacing_s`` apart, wait for the contacts, and hand the UI its events
        (a button press's after its settle timer)."""
        actions = parse_keys(data)
        for action in actions:
            self.keys.handle(action)
            time.sleep(spacing_s)
        assert self.panel.gpio.wait_idle()
        presses = sum(action.kind == "press" for action in actions)
        while presses or not self.panel.events.empty():
            event = self.panel.events.get(timeout=2.0)
            presses -= isinstance(event, ButtonEvent) and event.kind == "short"
            self.navigator.handle(event)


@pytest.fixture(scope="module")
def mock_panel():
    patch = KeyboardPatch()
    with open_panel(load_board("mock"), lambda edge: None, patch.scenario) as panel, open(os.devnull) as stream:
        yield panel, KeyboardControls(patch, panel, lambda: None, stream)


@pytest.mark.parametrize("spacing_s", [0.005, 0.01, 0.02, 0.05])
def test_fast_key_turns_move_one_step_per_press_on_the_home_page_and_in_menus(mock_panel, spacing_s):
    rig = KeyRig(*mock_panel)
    sounds = [sound.name for sound in DEMO_SOUNDS]
    rig.press(b"jjjjj", spacing_s)  # down: the next sounds
    assert rig.navigator.state.sound == sounds[5]
    rig.press(b"\x1b[A" * 3, spacing_s)  # up: the previous ones
    assert rig.navigator.state.sound == sounds[2]
    rig.press(b" ", 0.0)
    rig.press(b"\x1b[B" * 5, spacing_s)
    assert rig.navigator.screen.cursor == 5
    rig.press(b"kkkk", spacing_s)
    assert rig.navigator.screen.cursor == 1


def _highlight_top(navigator: Navigator) -> int:
    """The first pixel row of the inverted list row, as the OLED, the terminal and the GIF show it."""
    image = render(capture_frame(navigator, navigator.facade))
    return next(y for y in range(LIST_TOP, 52) if image.getpixel((0, y)))


@pytest.mark.parametrize("labels", [(), ("Sounds",), ("Models",), ("CV routing",), ("CV routing", "CV 1"),
                                    ("CV routing", "CV 1", "Target"), ("Calibration", "Calibrate CVs"),
                                    ("Settings",), ("Settings", "Block size"), ("System",)])
def test_up_moves_the_highlight_up_and_down_moves_it_down_on_every_list_page(labels):
    clock = Clock()
    navigator = Navigator(load_menu(), MockFacade(clock), ModuleState(sound="Kick 808", model="drums-trimmed"))

    def press(data: bytes) -> None:
        for action in parse_keys(data):
            clock.now += 0.1
            if action.kind == "turn":
                navigator.handle(EncoderTurn(action.value, clock.now))
            else:
                navigator.handle(ButtonEvent("short", clock.now))

    press(b" ")
    for label in labels:
        items = [item.label for item in navigator.screen.menu.items]
        press(b"\x1b[B" * items.index(label) + b"\r")
    press(b"\x1b[A" * 10)  # to the top of the list
    assert _highlight_top(navigator) == LIST_TOP
    for down, up in ((b"\x1b[B", b"\x1b[A"), (b"j", b"k")):
        press(down)
        assert _highlight_top(navigator) == LIST_TOP + ROW_H
        press(up)
        assert _highlight_top(navigator) == LIST_TOP
