"""A model's card, ``models/<name>/model.yaml``: the keys the module reads from it.

``neurorack export`` writes the card; ``neurorack eval --write``, ``bench model --write`` and
``trim`` add metrics, speed figures and trimming records to it. Only the keys below are
checked; every other key (lineage, training details, ...) is allowed and ignored here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neurorack.config.schema import between, build, setting
from neurorack.config.yaml_source import MAX_LARGE_BYTES, load_yaml

MAX_PARAMETERS = 10**12


@dataclass(frozen=True)
class CardSpeed:
    """What ``neurorack bench model --write`` measured."""

    rtf_1thread: float | None = setting(None, "Single-thread real-time factor.", check=between(0, 1e9))


@dataclass(frozen=True)
class CardMetrics:
    """What ``neurorack eval --write`` and trimming recorded."""

    realtime_factor: float | None = setting(None, "Real-time factor trimming measured.", check=between(0, 1e9))


@dataclass(frozen=True)
class ModelCard:
    """The card keys the module reads; all optional."""

    name: str | int | None = setting(None, "The model's name (null: its folder's name).")
    sample_rate: int | None = setting(None, "Sample rate in Hz; must match config.yaml's.",
                                      check=between(8000, 384000, "Hz"))
    parameters: int | None = setting(None, "Parameter count, shown in the Models menu.",
                                     check=between(0, MAX_PARAMETERS))
    bytes: int | None = setting(None, "Size of the weights in bytes, shown in the Models menu.",
                                check=between(0, MAX_PARAMETERS * 8))
    speed: CardSpeed = setting(default_factory=CardSpeed, help="Speed figures.")
    metrics: CardMetrics = setting(default_factory=CardMetrics, help="Quality figures.")

    @property
    def realtime_factor(self) -> float | None:
        """The single-thread real-time factor ``neurorack bench model --write`` measured, else the
        one trimming recorded under ``metrics``."""
        return self.speed.rtf_1thread if self.speed.rtf_1thread is not None else self.metrics.realtime_factor


def load_card(path: str | Path) -> tuple[ModelCard, dict[str, Any]]:
    """Read and check a model card.

    Returns:
        The checked keys, and the whole card as read (other keys included).

    Raises:
        ConfigError: naming the file, the key, its line and what was expected.
    """
    document = load_yaml(path, MAX_LARGE_BYTES)
    return build(ModelCard, document, extra_keys=True), document.data
