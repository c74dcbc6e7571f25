"""The real ``ModuleFacade``: what the UI sees of the instrument, the engine and the panel.

Every call returns at once: model loads run on the instrument's worker thread and report
through ``task()``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from neurorack.audio.engine import Engine
from neurorack.config.schema import ConfigError
from neurorack.config.state import CvRoute
from neurorack.core.events import InputStatus
from neurorack.errors import NeurorackError
from neurorack.instrument.instrument import Instrument
from neurorack.ui.facade import (
    CalibrationMethods,
    ModelInfo,
    SoundInfo,
    SystemInfo,
    TaskStatus,
)
from neurorack.ui.system_figures import SystemFigures

log = logging.getLogger(__name__)


def installed_models(models_dir: str | Path) -> list[tuple[ModelInfo, Path]]:
    """The model folders under ``models_dir`` that have a card, by name; a model whose card is
    unreadable or wrong is listed with ``error`` set (the file, the key and what is wrong)."""
    from neurorack.config.model_card import load_card

    found = []
    root = Path(models_dir)
    if not root.is_dir():
        return found
    for card_path in sorted(root.glob("*/model.yaml")):
        name = card_path.parent.name
        try:
            card, _ = load_card(card_path)
        except NeurorackError as exc:
            problem = exc.problems[0] if isinstance(exc, ConfigError) and exc.problems else exc
            log.warning("model %s is unavailable: %s", name, problem)
            found.append((ModelInfo(name, 0, 0, error=str(problem)), card_path.parent))
            continue
        info = ModelInfo(name, card.parameters or 0, card.bytes or 0, card.realtime_factor)
        found.append((info, card_path.parent))
    return found


class InstrumentFacade(CalibrationMethods):
    """The module as the UI sees it.

    Args:
        instrument: the playing instrument.
        engine: its engine (stats, output gain).
        models_dir: where installed models live.
        input_status: returns the panel's latest ``InputStatus``.
        warnings: returns the module's current problems (ADC fault, fallbacks, ...).
        calibrator: runs the on-screen CV calibration (None: not available).
    """

    def __init__(self, instrument: Instrument, engine: Engine, models_dir: str | Path,
                 input_status: Callable[[], InputStatus] = InputStatus,
                 warnings: Callable[[], Sequence[str]] = tuple, calibrator=None):
        self.instrument = instrument
        self.engine = engine
        self.models_dir = Path(models_dir)
        self._input_status = input_status
        self._warnings = warnings
        self.calibrator = calibrator
        self._models_cache: tuple[float, list] = (-1e9, [])
        self._system_figures = SystemFigures()

    def sounds(self) -> Sequence[SoundInfo]:
        return tuple(SoundInfo(spec.name, spec.detail) for spec in self.instrument.bank.bank.sounds)

    def models(self) -> Sequence[ModelInfo]:
        now = time.monotonic()
        if now - self._models_cache[0] > 5.0:
            self._models_cache = (now, installed_models(self.models_dir))
        return tuple(info for info, _ in self._models_cache[1])

    def input_status(self) -> InputStatus:
        return self._input_status()

    def engine_stats(self) -> Mapping[str, Any]:
        return self.engine.stats()

    def system_info(self) -> SystemInfo:
        return self._system_figures()

    def warnings(self) -> Sequence[str]:
        """The panel's ADC fault, the engine's latest problems (voice fallback, CPU overload),
        then the module's own (e.g. how it started)."""
        return live_warnings(self._input_status(), self.engine, self._warnings())

    def task(self) -> TaskStatus | None:
        reading = self.calibrator.task() if self.calibrator is not None else None
        if reading is not None:
            return reading
        task = self.instrument.task
        if task is None:
            return None
        if task.error:
            return TaskStatus(task.label, task.fraction, None, task.error)
        if task.done:
            return None
        return TaskStatus(task.label, task.fraction)

    def preview_sound(self, name: str) -> None:
        self._sound(name)
        self.instrument.preview(name)

    def select_sound(self, name: str) -> None:
        self._sound(name)
        self.instrument.select_sound(name)

    def load_model(self, name: str) -> None:
        self.models()
        installed = {info.name: (info, path) for info, path in self._models_cache[1]}
        if name not in installed:
            raise NeurorackError(f"model '{name}' is not installed in {self.models_dir}")
        info, path = installed[name]
        if info.error:
            raise NeurorackError(f"model '{name}' is unavailable: {info.error}")
        try:
            self.instrument.switch_model(path)
        except RuntimeError as exc:
            raise NeurorackError(str(exc)) from None

    def apply_setting(self, key: str, value: Any) -> None:
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == "routing" and parts[1] in ("cv1", "cv2", "cv3", "cv4"):
            index = int(parts[1][2]) - 1
            route = self.instrument.router.routes[index]
            fields = {"target": route.target, "amount": route.amount, "offset": route.offset}
            if parts[2] in fields:
                fields[parts[2]] = value
                self.instrument.router.set_route(index, CvRoute(**fields))
        elif key == "levels.gain_db":
            self.engine.output.gain = 10.0 ** (float(value) / 20.0)  # one float swap, read per block

    def run_action(self, action: str) -> None:
        if action in ("shutdown", "reboot"):
            from neurorack.service.power import request_power_action

            request_power_action(action)
        elif action == "restart_audio":
            raise NeurorackError("restart the service to apply: 'systemctl restart neurorack'")
        else:
            raise NeurorackError(f"unknown action '{action}'")

    def _sound(self, name: str) -> None:
        if name not in self.instrument.sound_names:
            raise NeurorackError(f"sound '{name}' is not in the bank {self.instrument.bank.bank.source.name}")


ENGINE_WARNINGS_SHOWN = 2


def live_warnings(status: InputStatus, engine: Engine | None, others: Sequence[str] = ()) -> tuple[str, ...]:
    """What the home page shows: the ADC fault, the engine's newest distinct warnings (at most
    ``ENGINE_WARNINGS_SHOWN``, newest first), then ``others``; no repeats."""
    found = [status.fault] if status.fault else []
    if engine is not None:
        found += list(dict.fromkeys(reversed(list(engine.warnings))))[:ENGINE_WARNINGS_SHOWN]
    found += list(others)
    return tuple(dict.fromkeys(found))
