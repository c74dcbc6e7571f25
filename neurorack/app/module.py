"""The pieces ``neurorack.app.assemble`` puts together: which model and bank to play, the
instrument's voice, and the UI on the board's OLED (or a terminal / an in-memory screen in
mock mode).

``open_instrument`` never stops the module from starting: with no installed model or a
broken one (whatever fails while loading it or its bank) it falls back to the built-in test
voice and says why in the warnings. The saved model is a name in the models folder, never a
path: a saved ``/tmp/x`` or ``../x`` is ignored with a warning.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from neurorack.audio.voices import TestVoice
from neurorack.config.module import ModuleConfig
from neurorack.config.state import ModuleState, StateStore
from neurorack.errors import NeurorackError
from neurorack.instrument.instrument import Instrument
from neurorack.instrument.sound_bank import MAX_BANK_BYTES
from neurorack.safe_read import check_file

log = logging.getLogger(__name__)

BANK_FILE = "sounds.yaml"
SHIPPED_BANK = Path(__file__).resolve().parents[2] / "sounds" / "default.yaml"
SHIPPED_MODELS = Path(__file__).resolve().parents[2] / "models"
DEFAULT_MODEL = "drums-v2"
"""The model played when none is saved (or the saved one is gone): the shipped trimmed model."""


def models_dir(config: ModuleConfig) -> Path:
    """The folder of installed models."""
    return Path(config.models_dir).expanduser() if config.models_dir else SHIPPED_MODELS


def is_model_name(name: str) -> bool:
    """Whether ``name`` names a folder directly in the models folder (not a path, ``.`` or ``..``)."""
    return bool(name) and "/" not in name and "\\" not in name and name not in (".", "..")


def choose_model(root: Path, wanted: str | None) -> Path | None:
    """``wanted`` if it is a model name (not a path: see ``is_model_name``) installed in
    ``root``, else ``DEFAULT_MODEL``, else the first installed model by name, else None."""
    if wanted is not None and not is_model_name(wanted):
        log.warning("the saved model %r is not a model name (a path?); ignored, models are only loaded from %s",
                    wanted, root)
        wanted = None
    for name in (wanted, DEFAULT_MODEL):
        if name and (root / name / "model.yaml").is_file():
            return root / name
    installed = sorted(p.parent for p in root.glob("*/model.yaml")) if root.is_dir() else []
    return installed[0] if installed else None


def choose_bank(config: ModuleConfig, model_dir: Path) -> Path:
    """The configured bank, else the model's own ``sounds.yaml`` (whatever it is: ``open_instrument``
    refuses one that is not a regular file inside the folder), else the shipped default bank."""
    if config.sound_bank:
        return Path(config.sound_bank).expanduser()
    own = model_dir / BANK_FILE
    return own if os.path.lexists(own) else SHIPPED_BANK


@dataclass
class ModuleVoice:
    """What the daemon plays.

    Attributes:
        voice: the instrument's voice, or the test voice as a fallback.
        instrument: None when falling back.
        warnings: why it fell back, for the home page.
    """

    voice: object
    instrument: Instrument | None
    warnings: list[str] = field(default_factory=list)


def open_instrument(config: ModuleConfig, read_volts: Callable[[], tuple], state: ModuleState | None = None
                    ) -> ModuleVoice:
    """Load the saved (or first installed) model with its sound bank, select the saved sound."""
    state = state or ModuleState()
    root = models_dir(config)
    model_dir = choose_model(root, state.model)
    refused = [] if state.model is None or is_model_name(state.model) else ["saved model was a path"]
    if model_dir is None:
        message = f"no model installed in {root}: playing the test voice"
        log.warning("%s", message)
        return ModuleVoice(TestVoice(config.audio.sample_rate), None, ["no model: test voice", *refused])
    bank = choose_bank(config, model_dir)
    try:
        if bank.parent == model_dir:  # the model's own bank stays in its folder
            check_file(bank, MAX_BANK_BYTES, model_dir)
        instrument = Instrument(model_dir, bank, read_volts, state.routing)
    except Exception as exc:  # noqa: BLE001 - whatever fails (even MemoryError), the module starts
        reason = str(exc) if isinstance(exc, NeurorackError) else f"{type(exc).__name__}: {exc}"
        log.warning("cannot play %s with %s, playing the test voice: %s", model_dir.name, bank, reason)
        return ModuleVoice(TestVoice(config.audio.sample_rate), None, [f"model failed: {model_dir.name}", *refused])
    if state.sound in instrument.sound_names:
        instrument.select_sound(state.sound)
    log.info("model %s (frame: %s), sound bank %s (%d sounds), sound %s", model_dir.name,
             instrument.model.frame_kind, bank, len(instrument.sound_names), instrument.current_sound)
    return ModuleVoice(instrument.voice, instrument, refused)


def saved_state(config: ModuleConfig) -> ModuleState:
    """The module's saved settings (defaults if none or unreadable)."""
    return StateStore(config.resolved_state_dir()).load()


class LatestFrame:
    """A display that only keeps the last image (mock mode without a terminal)."""

    def __init__(self):
        self.image = None
        self.count = 0

    def show(self, image) -> None:
        self.image = image
        self.count += 1

    def set_brightness(self, level: float) -> None:
        pass

    def close(self) -> None:
        pass


def open_display(board, mock: bool):
    """The board's OLED; in mock mode the terminal (when stdout is one, with the log drawn
    below the screen) or an in-memory screen."""
    from neurorack.hardware.oled import open_oled
    from neurorack.ui.display import TerminalView

    if mock:
        return TerminalView().capture_log() if sys.stdout.isatty() else LatestFrame()
    d = board.display
    return open_oled(d.driver, d.interface, d.bus, d.address, rotate=d.rotation)


def start_module_ui(config: ModuleConfig, board, mock: bool, module_voice: ModuleVoice, engine, panel,
                    encoder_feel: bool = True, display=None):
    """Start the UI thread on the panel's events, with the instrument's facade (or, when the
    test voice plays, a facade with no sounds), the panel's ADC for on-screen calibration and
    the engine's and panel's problems on the home page. With ``encoder_feel`` the encoder's
    acceleration follows the menu's setting (off when keys turn it: one key, one step).
    ``display``: where the screen goes (None: ``open_display(board, mock)``)."""
    from neurorack.app.calibrator import ModuleCalibrator
    from neurorack.app.facade import InstrumentFacade, live_warnings
    from neurorack.service.power import request_power_action
    from neurorack.ui.no_model_facade import NoModelFacade
    from neurorack.ui.ui_thread import start_ui

    state_dir = config.resolved_state_dir()
    calibrator = ModuleCalibrator(panel.adc.driver, panel.board, state_dir, on_saved=panel.reload_calibration)
    if module_voice.instrument is not None:
        facade = InstrumentFacade(module_voice.instrument, engine, models_dir(config), panel.status,
                                  lambda: module_voice.warnings, calibrator)
    else:
        facade = NoModelFacade(engine, panel.status,
                               lambda: live_warnings(panel.status(), engine, module_voice.warnings),
                               calibrator, request_power_action)
    display = display if display is not None else open_display(board, mock)
    ui = start_ui(facade, panel.events, display, state_dir, encoder=panel.encoder if encoder_feel else None)
    instrument = module_voice.instrument
    if instrument is not None:
        navigator = ui.loop.navigator  # record what plays (the saved sound or model may be gone)
        if navigator.state.sound != instrument.current_sound:
            navigator.state = navigator.state.with_value("sound", instrument.current_sound)
        if navigator.state.model != instrument.model_name:
            navigator.state = navigator.state.with_value("model", instrument.model_name)
    return ui
