"""The module put together, in one place: the instrument (or the test voice), the engine that
plays it, the panel that reads the jacks and the encoder into it, and the UI on the screen.

The daemon and the soak benchmark build the module here, so the soak measures what the
daemon runs. The audio backend is not part of it: the daemon picks the sound device (or a
WAV file in real time), the soak JACK's dummy driver, and both start it between ``assemble``
and ``Module.start_ui``, as the module does at boot (sound first, then the screen). The demo
plays on a virtual clock instead of the wall clock: it reads the jacks ahead and draws the
screen in a second pass, and shares everything from the instrument down (``open_engine``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from neurorack.app.module import ModuleVoice, open_instrument, saved_state, start_module_ui
from neurorack.audio.engine import Engine
from neurorack.audio.voices import TestVoice
from neurorack.config.board import BoardConfig
from neurorack.config.module import ModuleConfig
from neurorack.config.state import ModuleState
from neurorack.controls.panel import open_panel


@dataclass
class Module:
    """The assembled module.

    Attributes:
        config: its config.
        board: its board (the mock board in mock mode).
        voice: what it plays: the instrument's voice, or the test voice with the reason why.
        engine: the audio engine, for the backend to pull from.
        panel: the jacks, encoder and button, read by the poller into the engine and the UI.
        ui: the UI thread, once ``start_ui`` ran.
    """

    config: ModuleConfig
    board: BoardConfig
    voice: ModuleVoice
    engine: Engine
    panel: object
    mock: bool = False
    ui: object | None = field(default=None)

    @property
    def instrument(self):
        """The instrument, or None when the test voice plays."""
        return self.voice.instrument

    def start_ui(self, display=None, encoder_feel: bool = True):
        """Start the UI thread on the panel's events (``display``: None for the board's OLED, or
        the terminal / an in-memory screen in mock mode). Returns the UI thread."""
        self.ui = start_module_ui(self.config, self.board, self.mock, self.voice, self.engine, self.panel,
                                  encoder_feel=encoder_feel, display=display)
        return self.ui

    def close(self) -> None:
        """Stop the UI and the panel (the audio backend is its owner's to stop)."""
        if self.ui is not None:
            self.ui.stop()
        self.panel.close()


def assemble(config: ModuleConfig, board: BoardConfig, mock: bool = False, scenario=None,
             state: ModuleState | None = None) -> Module:
    """Build the module: the instrument on the saved (or given) state, its engine, and the panel.

    Args:
        config: the module config.
        board: the board (``load_board("mock")`` in mock mode).
        mock: mock mode (the screen is the terminal or an in-memory one).
        scenario: what is patched into the simulated jacks (mock board only; None: none, or
            the keys when they play it).
        state: the settings to start from (None: those saved in the config's state folder, where
            the panel's calibration is read from too).
    """
    panel_ref: list = []  # the instrument reads the CVs from the panel, which needs the engine first
    voice, engine = open_engine(config, lambda: panel_ref[0].status().cv_volts if panel_ref else (0.0,) * 4,
                                state if state is not None else saved_state(config))
    panel = open_panel(board, engine.post_gate, scenario=scenario, state_dir=config.resolved_state_dir())
    panel_ref.append(panel)
    return Module(config, board, voice, engine, panel, mock)


def open_engine(config: ModuleConfig, read_volts: Callable[[], tuple], state: ModuleState,
                test_voice: bool = False) -> tuple[ModuleVoice, Engine]:
    """The instrument on ``state`` (or the test voice, with the reason why) and the engine that
    plays it, the instrument attached to it. ``read_volts``: the four CVs, in jack volts, read
    by the instrument once per block. ``test_voice``: the built-in test voice, whatever is
    installed (``bench offline``)."""
    voice = (ModuleVoice(TestVoice(config.audio.sample_rate), None) if test_voice
             else open_instrument(config, read_volts, state))
    engine = Engine(voice.voice, config.audio, config.output)
    if voice.instrument is not None:
        voice.instrument.attach(engine)
    return voice, engine
