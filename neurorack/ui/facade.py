"""What the UI needs from the rest of the module, as one small interface.

The instrument implements ``ModuleFacade``; the UI only calls it from its own thread. Each
method must return quickly (well under a frame, 50 ms): long work such as loading a model
or calibrating is started by the call and reported through ``task()``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from neurorack.controls.events import InputStatus


@dataclass(frozen=True)
class SoundInfo:
    """One playable sound. ``detail``: a short line such as the kit or the model it needs."""

    name: str
    detail: str = ""


@dataclass(frozen=True)
class ModelInfo:
    """An installed model, from its card ``models/<name>/model.yaml``.

    Attributes:
        name: the model's folder name.
        parameters: parameter count.
        size_bytes: weights on disk, in bytes.
        realtime_factor: measured single-thread real-time factor (None: not measured).
    """

    name: str
    parameters: int
    size_bytes: int
    realtime_factor: float | None = None


@dataclass(frozen=True)
class SystemInfo:
    """Figures for the System page. Any of them may be None when unknown."""

    version: str
    ip_address: str | None = None
    cpu_percent: float | None = None
    temperature_c: float | None = None
    memory_used_mb: float | None = None
    memory_total_mb: float | None = None
    uptime_s: float | None = None


@dataclass(frozen=True)
class TaskStatus:
    """Long work in progress (loading a model, calibrating).

    Attributes:
        label: what is happening, e.g. "loading kick-808".
        fraction: 0..1 done.
        prompt: what the player should do now, e.g. "patch 1 V to CV 2" (None: just wait).
        error: set when the task failed; the UI shows it once, then the task is over.
    """

    label: str
    fraction: float = 0.0
    prompt: str | None = None
    error: str | None = None


class ModuleFacade(Protocol):
    """The module as the UI sees it. Errors raised by the actions are shown in a dialog."""

    def sounds(self) -> Sequence[SoundInfo]:
        """The sounds of the current bank, in menu order."""

    def models(self) -> Sequence[ModelInfo]:
        """The installed models, in menu order."""

    def input_status(self) -> InputStatus:
        """The latest CV, pot and gate snapshot."""

    def engine_stats(self) -> Mapping[str, Any]:
        """``Engine.stats()``: at least ``underflows`` and ``callbacks``."""

    def system_info(self) -> SystemInfo:
        """Figures for the System page and the home page's CPU badge."""

    def warnings(self) -> Sequence[str]:
        """Short problems to show on the home page (ADC fault, model fell back, ...)."""

    def task(self) -> TaskStatus | None:
        """The long task in progress, or None."""

    def preview_sound(self, name: str) -> None:
        """Play ``name`` once without selecting it (the Sounds list calls this while scrolling)."""

    def select_sound(self, name: str) -> None:
        """Make ``name`` the current sound."""

    def load_model(self, name: str) -> None:
        """Start loading ``name``; progress and failure come through ``task()``. The previous
        model keeps playing until the new one is ready."""

    def apply_setting(self, key: str, value: Any) -> None:
        """A module-state setting changed (dotted key, e.g. ``levels.gain_db``)."""

    def run_action(self, action: str) -> None:
        """Run a menu action: ``calibrate``, ``shutdown``, ``reboot`` or ``restart_audio``."""
