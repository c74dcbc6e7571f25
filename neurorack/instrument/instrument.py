"""The instrument: a model, a sound bank, the CV router and the polyphonic voice, with the
operations the menu needs (select a sound, switch models in the background).

Threads: ``select_sound``, ``preview`` and ``set_route`` are called from the UI thread and
only swap references or queue a request; ``switch_model`` loads on a worker thread and hands
the new voice to ``Engine.switch_voice``, which crossfades on the render thread. If loading
fails, the previous model keeps playing and the error is kept in ``task``.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from neurorack.audio.engine import Engine
from neurorack.config.state import Routing
from neurorack.instrument.poly import PolyVoice
from neurorack.instrument.routing import CvRouter
from neurorack.instrument.sound_bank import LoadedBank, load_bank
from neurorack.runtime.loader import load_model
from neurorack.runtime.numpy_model import NumpyModel, streaming_model

log = logging.getLogger(__name__)


@dataclass
class ModelTask:
    """A model load in progress (or its failure)."""

    label: str
    fraction: float = 0.0
    error: str | None = None
    done: bool = False


class PreviewingVoice(PolyVoice):
    """A ``PolyVoice`` that also plays requests queued from other threads (menu previews)
    at the start of its next block."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.requests: deque[int] = deque(maxlen=8)

    def render(self, out) -> None:
        while self.requests:
            self.play(self.requests.popleft(), 0.8)
        super().render(out)


def build_voice(model: NumpyModel, bank: LoadedBank, router: CvRouter,
                continue_from: PolyVoice | None = None) -> PreviewingVoice:
    """The bank's voice on ``model``."""
    return PreviewingVoice(model, bank.sounds, modulation=router, voices=bank.bank.voices, gate2=bank.bank.gate2,
                           second_sound=bank.second_sound(), continue_from=continue_from)


class Instrument:
    """A playing model and sound bank.

    Args:
        model_dir: the model folder to start with.
        bank_path: the sound bank file.
        read_volts: returns the 4 calibrated CV voltages.
        routing: the CV routing to start with.
    """

    def __init__(self, model_dir: str | Path, bank_path: str | Path, read_volts, routing: Routing | None = None):
        self.bank = load_bank(bank_path)
        self.model = streaming_model(load_model(model_dir))
        self.model_name = Path(model_dir).name
        self.router = CvRouter(read_volts, routing)
        self.voice = build_voice(self.model, self.bank, self.router)
        self.engine: Engine | None = None
        self.task: ModelTask | None = None
        self._loader: threading.Thread | None = None

    def attach(self, engine: Engine) -> None:
        """The engine that plays ``voice`` (needed to switch models)."""
        self.engine = engine

    @property
    def sound_names(self) -> tuple[str, ...]:
        return self.bank.names

    @property
    def current_sound(self) -> str:
        return self.bank.names[self.voice.current]

    def select_sound(self, name: str) -> None:
        """Make ``name`` the sound of gate 1; apply its default routing if it has one.

        Raises:
            KeyError: no such sound in the bank.
        """
        index = self.bank.bank.index_of(name)
        self.voice.select(index)
        spec = self.bank.bank.sounds[index]
        if name in self.bank.bank.routed:
            self.router.set_routing(spec.routing)

    def preview(self, name: str) -> None:
        """Play ``name`` once soon, without selecting it."""
        self.voice.requests.append(self.bank.bank.index_of(name))

    def switch_model(self, model_dir: str | Path, wait: bool = False) -> None:
        """Load ``model_dir`` on a worker thread, then crossfade to it.

        Args:
            wait: join the worker (tests, scripts).
        """
        if self._loader is not None and self._loader.is_alive():
            raise RuntimeError("a model is already loading")
        name = Path(model_dir).name
        self.task = ModelTask(f"loading {name}")
        self._loader = threading.Thread(target=self._load, args=(Path(model_dir),), name="neurorack-model-load",
                                        daemon=True)
        self._loader.start()
        if wait:
            self._loader.join()

    def _load(self, model_dir: Path) -> None:
        task = self.task
        try:
            model = streaming_model(load_model(model_dir))
            task.fraction = 0.6
            if model.hop != self.model.hop or model.sample_rate != self.model.sample_rate:
                raise ValueError(f"{model_dir}: hop {model.hop} at {model.sample_rate} Hz does not fit the sound bank "
                                 f"(hop {self.model.hop} at {self.model.sample_rate} Hz)")
            voice = build_voice(model, self.bank, self.router, continue_from=self.voice)
            task.fraction = 0.9
            if self.engine is not None:
                self.engine.switch_voice(voice)
            self.model, self.voice, self.model_name = model, voice, model_dir.name
            task.fraction = 1.0
            task.done = True
            log.info("switched to model %s", model_dir.name)
        except Exception as exc:  # noqa: BLE001 - any failure keeps the previous model playing
            task.error = str(exc) or type(exc).__name__
            task.done = True
            log.warning("model %s not loaded, the previous one keeps playing: %s", model_dir.name, task.error)
