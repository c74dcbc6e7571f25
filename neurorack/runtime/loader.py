"""Load an exported model folder (see ``neurorack.ml.export``), checking everything first.

No torch and no unpickling: the weights are safetensors, read as NumPy arrays. Every file
must be a regular file inside the folder (symlinks resolved) and below its size cap
(``neurorack.safe_read``), so a FIFO, a device or a link out of the folder is refused, not read.
A corrupt, truncated or mismatched model raises ``ModelLoadError`` naming the file and the
problem; nothing is half-loaded, so the caller keeps playing its previous model.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neurorack.core import architecture, percussion_config
from neurorack.core.architecture import ModelConfig
from neurorack.core.percussion_config import PercussionConfig
from neurorack.errors import NeurorackError
from neurorack.safe_read import FileRefused, check_file, read_file

WEIGHTS = "weights.safetensors"
CONFIG = "config.yaml"
CARD = "model.yaml"
CHECKSUMS = "SHA256SUMS"
MAX_WEIGHTS_BYTES = 64 << 20  # the largest shipped model is about 2 MB
MAX_TEXT_BYTES = 1 << 20  # config.yaml, model.yaml (a card with training curves is about 30 kB), SHA256SUMS
LIMITS = {WEIGHTS: MAX_WEIGHTS_BYTES, CONFIG: MAX_TEXT_BYTES, CARD: MAX_TEXT_BYTES, CHECKSUMS: MAX_TEXT_BYTES}


def load_config(path) -> ModelConfig | PercussionConfig:
    """Read a model's ``config.yaml``: a ``PercussionConfig`` when it says ``family: percussion``,
    else the descriptor model's ``ModelConfig``.

    Raises:
        ConfigError: naming the file, key, line and what was expected.
    """
    from neurorack.config.schema import build
    from neurorack.config.yaml_source import load_yaml

    document = load_yaml(path)
    family = document.data.get("family") if isinstance(document.data, dict) else None
    return build(PercussionConfig if family == percussion_config.FAMILY else ModelConfig, document)


def family_of(config: ModelConfig | PercussionConfig):
    """The module that describes ``config``'s family: ``config_yaml``, ``expected_shapes``,
    ``macs_per_second`` (``neurorack.core.percussion_config`` or ``neurorack.core.architecture``)."""
    return percussion_config if isinstance(config, PercussionConfig) else architecture


def config_yaml(config: ModelConfig | PercussionConfig) -> str:
    """``config`` as the text of a ``config.yaml``."""
    return family_of(config).config_yaml(config)


def expected_shapes(config: ModelConfig | PercussionConfig) -> dict[str, tuple[int, ...]]:
    return family_of(config).expected_shapes(config)


class ModelLoadError(NeurorackError):
    """A model folder that cannot be played."""


@dataclass(frozen=True)
class LoadedModel:
    """A checked model folder.

    Attributes:
        path: the folder.
        name: from the card (else the folder name).
        config: the architecture.
        weights: ``{state-dict key: float32 array}``, shapes as ``expected_shapes(config)``.
        card: the parsed ``model.yaml``.
    """

    path: Path
    name: str
    config: ModelConfig | PercussionConfig
    weights: dict[str, np.ndarray]
    card: dict

    @property
    def parameters(self) -> int:
        return int(sum(w.size for w in self.weights.values()))


def load_model(path: str | Path) -> LoadedModel:
    """Read and check a model folder.

    Checks, in order: the folder and its files exist, are regular files inside it and below
    their size caps (``LIMITS``); ``SHA256SUMS`` matches the weights and
    config; the config is valid; the weights parse as safetensors; every tensor the config
    implies is there with its shape, as finite float32, and nothing else.

    Raises:
        ModelLoadError (or ConfigError for a bad config.yaml / model.yaml): what is wrong, where.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise ModelLoadError(f"{folder}: no such model folder")
    for name in LIMITS:
        _read(folder, name, check_only=True)
    raw = _read(folder, WEIGHTS)
    _verify_checksums(folder, {WEIGHTS: raw})
    config = load_config(folder / CONFIG)
    weights = _parse_weights(folder / WEIGHTS, raw)
    _check_shapes(folder, weights, config)
    from neurorack.config.model_card import load_card

    checked, card = load_card(folder / CARD)
    if checked.sample_rate not in (None, config.sample_rate):
        raise ModelLoadError(f"{folder / CARD}: sample_rate {checked.sample_rate} differs from "
                             f"{CONFIG}'s {config.sample_rate}")
    return LoadedModel(folder, str(checked.name or folder.name), config, weights, card)


def _read(folder: Path, name: str, check_only: bool = False) -> bytes:
    """The bytes of ``folder / name`` (nothing with ``check_only``), read as ``neurorack.safe_read`` does."""
    try:
        if check_only:
            check_file(folder / name, LIMITS[name], folder)
            return b""
        return read_file(folder / name, LIMITS[name], folder)
    except FileNotFoundError:
        raise ModelLoadError(f"{folder}: {name} is missing; is this a model exported by 'neurorack export'?") from None
    except FileRefused as exc:
        raise ModelLoadError(str(exc)) from None


def _verify_checksums(folder: Path, already_read: dict[str, bytes]) -> None:
    listed: dict[str, str] = {}
    text = _read(folder, CHECKSUMS).decode("utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or len(parts[0]) != 64:
            raise ModelLoadError(f"{folder / CHECKSUMS}:{number}: expected 'SHA256  FILE', got {line!r}")
        listed[parts[1]] = parts[0].lower()
    for name in (WEIGHTS, CONFIG):
        if name not in listed:
            raise ModelLoadError(f"{folder / CHECKSUMS}: no checksum for {name}")
        data = already_read.get(name)
        if data is None:
            data = _read(folder, name)
        actual = hashlib.sha256(data).hexdigest()
        if actual != listed[name]:
            raise ModelLoadError(f"{folder / name}: corrupt or modified: sha256 {actual[:12]}... differs from "
                                 f"{listed[name][:12]}... in {CHECKSUMS}")


def _parse_weights(path: Path, raw: bytes) -> dict[str, np.ndarray]:
    try:
        from safetensors import SafetensorError
        from safetensors.numpy import load
    except ImportError:
        raise ModelLoadError(f"{path}: reading models needs the safetensors package "
                             "(pip install safetensors)") from None

    try:
        return load(raw)
    except (SafetensorError, ValueError, OSError) as exc:
        raise ModelLoadError(f"{path}: not readable safetensors (truncated or corrupt?): {exc}") from None


def _check_shapes(folder: Path, weights: dict[str, np.ndarray], config: ModelConfig) -> None:
    shapes = expected_shapes(config)
    problems = []
    for key, shape in shapes.items():
        if key not in weights:
            problems.append(f"{key} is missing")
        elif tuple(weights[key].shape) != shape:
            problems.append(f"{key} has shape {tuple(weights[key].shape)}, {CONFIG} implies {shape}")
        elif weights[key].dtype != np.float32:
            problems.append(f"{key} is {weights[key].dtype}, expected float32")
        elif not np.all(np.isfinite(weights[key])):
            problems.append(f"{key} holds NaN or Inf")
    problems += [f"{key} is not part of this architecture" for key in weights if key not in shapes]
    if problems:
        raise ModelLoadError(f"{folder / WEIGHTS} does not match {folder / CONFIG}: " + "; ".join(problems))
