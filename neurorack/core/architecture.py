"""The model's architecture as data: sizes, prunable unit groups, operation counts.

No torch here: the NumPy runtime and the trimming tools read this without the model class.
``neurorack.ml.model`` builds the torch module from a ``ModelConfig``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from neurorack.config.schema import between, setting
from neurorack.core.descriptors import DESCRIPTOR_NAMES, HOP, SAMPLE_RATE


def _positive(value: int) -> str | None:
    return None if value >= 1 else f"expected a whole number of at least 1, got {value!r}"


@dataclass(frozen=True)
class ModelConfig:
    """Every size of the model. Saved as ``config.yaml`` beside the weights.

    Widths are the number of units in each prunable group (see ``UNIT_GROUPS``).
    """

    sample_rate: int = setting(SAMPLE_RATE, "Audio sample rate in Hz.", choices=(SAMPLE_RATE,))
    hop: int = setting(HOP, "Samples per descriptor frame.", choices=(HOP,))
    descriptors: list[str] = setting(  # noqa: RUF009 (setting() returns a dataclasses.field)
        default_factory=lambda: list(DESCRIPTOR_NAMES), help="Descriptor names, in input order.")
    input_width: int = setting(64, "Units of the input layer.", check=_positive)
    gru_width: int = setting(256, "Hidden units of the GRU.", check=_positive)
    trunk_width: int = setting(256, "Units of the gated trunk (GLU output, residual stream).", check=_positive)
    residual_width: int = setting(256, "Inner units of the residual block.", check=_positive)
    n_harmonics: int = setting(48, "Harmonics in the harmonic bank.", check=between(1, 256))
    n_noise_bands: int = setting(32, "Bands of filtered noise.", check=between(1, 128))
    noise_table_size: int = setting(65536, "Length of the looping noise table in samples.",
                                    check=between(1024, 1 << 20))
    noise_seed: int = setting(0, "Seed of the noise table.")
    spectral_lock: bool = setting(False, "Pin the output's centroid and harmonic/noise balance to the centroid_hz "
                                         "and pitch_confidence descriptors (neurorack.core.spectral_lock).")

    def widths(self) -> dict[str, int]:
        """Units per prunable group: ``{group name: width}``."""
        return {group.name: getattr(self, group.width_field) for group in UNIT_GROUPS}

    def with_widths(self, widths: dict[str, int]) -> ModelConfig:
        """The same config with some group widths replaced (``{group name: width}``)."""
        fields = {group.name: group.width_field for group in UNIT_GROUPS}
        return dataclasses.replace(self, **{fields[name]: int(width) for name, width in widths.items()})

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


TINY_CONFIG = ModelConfig(input_width=8, gru_width=16, trunk_width=16, residual_width=8, n_harmonics=8,
                          n_noise_bands=8, noise_table_size=4096)
"""A model small enough for unit tests (about 3k parameters)."""


# ---- prunable unit groups -------------------------------------------------------------------

LINEAR = "linear"
"""Plain units: each unit is one output row of its producers and one input column of its consumers."""
GRU = "gru"
"""GRU hidden units: each unit owns one row in each of the 3 gate blocks (reset, update, new) of
``weight_ih``/``weight_hh``/biases, and one input column of ``weight_hh`` (the recurrence)."""
GATED_RESIDUAL = "gated_residual"
"""A residual stream made by a GLU: each unit owns a pair of rows (value, gate; 2 blocks) in the
GLU layer, one output row of the residual block's last layer (the residual coupling: both add
into the same unit) and one input column of every consumer of the stream."""


@dataclass(frozen=True)
class TensorSlice:
    """Where a unit lives in one parameter tensor.

    Attributes:
        param: the state-dict key.
        dim: the dimension indexed by the unit.
        blocks: how many equal blocks that dimension holds (3 for GRU gates, 2 for a GLU
            pair, else 1); unit ``i`` is index ``b * width + i`` in every block ``b``.
    """

    param: str
    dim: int
    blocks: int = 1

    def indices(self, keep: np.ndarray, width: int) -> np.ndarray:
        """Indices along ``dim`` to keep when the group keeps units ``keep`` of ``width``."""
        return np.concatenate([block * width + np.asarray(keep) for block in range(self.blocks)])


@dataclass(frozen=True)
class UnitGroup:
    """A set of units removed together, and every tensor slice they touch.

    Attributes:
        name: the group's name (also the key of ``ModelConfig.widths()``).
        kind: LINEAR, GRU or GATED_RESIDUAL.
        width_field: the ``ModelConfig`` field holding the group's width.
        producers: slices that compute each unit (rows; biases).
        consumers: slices that read each unit (input columns).
        min_units: never keep fewer units than this.
    """

    name: str
    kind: str
    width_field: str
    producers: tuple[TensorSlice, ...]
    consumers: tuple[TensorSlice, ...]
    min_units: int


UNIT_GROUPS: tuple[UnitGroup, ...] = (
    UnitGroup("input", LINEAR, "input_width",
              producers=(TensorSlice("input.weight", 0), TensorSlice("input.bias", 0)),
              consumers=(TensorSlice("gru.weight_ih_l0", 1),), min_units=2),
    UnitGroup("gru", GRU, "gru_width",
              producers=(TensorSlice("gru.weight_ih_l0", 0, 3), TensorSlice("gru.weight_hh_l0", 0, 3),
                         TensorSlice("gru.bias_ih_l0", 0, 3), TensorSlice("gru.bias_hh_l0", 0, 3)),
              consumers=(TensorSlice("gru.weight_hh_l0", 1), TensorSlice("trunk.weight", 1)), min_units=4),
    UnitGroup("trunk", GATED_RESIDUAL, "trunk_width",
              producers=(TensorSlice("trunk.weight", 0, 2), TensorSlice("trunk.bias", 0, 2),
                         TensorSlice("residual_out.weight", 0), TensorSlice("residual_out.bias", 0)),
              consumers=(TensorSlice("residual_in.weight", 1), TensorSlice("head.weight", 1)), min_units=4),
    UnitGroup("residual", LINEAR, "residual_width",
              producers=(TensorSlice("residual_in.weight", 0), TensorSlice("residual_in.bias", 0)),
              consumers=(TensorSlice("residual_out.weight", 1),), min_units=2),
)


def macs_per_frame(config: ModelConfig) -> int:
    """Multiply-accumulates of the network for one frame."""
    n_in, g = len(DESCRIPTOR_NAMES), config.gru_width
    return (n_in * config.input_width + 3 * g * (config.input_width + g) + g * 2 * config.trunk_width
            + 2 * config.trunk_width * config.residual_width
            + config.trunk_width * (config.n_harmonics + config.n_noise_bands + 2))


def macs_per_second(config: ModelConfig) -> float:
    """Multiply-accumulates per second of audio: the network at frame rate, plus synthesis
    (per sample: a ramp and a product-sum per harmonic and per noise band)."""
    frames_per_second = config.sample_rate / config.hop
    synth_per_sample = 2 * (config.n_harmonics + config.n_noise_bands)
    return frames_per_second * macs_per_frame(config) + config.sample_rate * synth_per_sample


def config_yaml(config: ModelConfig) -> str:
    """``config`` as the text of a ``config.yaml``."""
    import yaml

    return "# Architecture of a neurorack DescriptorModel (neurorack.core.architecture.ModelConfig).\n" + \
        yaml.safe_dump(config.to_dict(), sort_keys=False)


def load_config(path) -> ModelConfig:
    """Read a ``config.yaml``.

    Raises:
        ConfigError: naming the file, key, line and what was expected.
    """
    from neurorack.config.schema import build
    from neurorack.config.yaml_source import load_yaml

    return build(ModelConfig, load_yaml(path))


def expected_shapes(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """The shape of every weight tensor of a ``DescriptorModel`` built from ``config``."""
    n_in, g = len(config.descriptors), config.gru_width
    n_out = config.n_harmonics + config.n_noise_bands + 2
    return {
        "input.weight": (config.input_width, n_in), "input.bias": (config.input_width,),
        "gru.weight_ih_l0": (3 * g, config.input_width), "gru.weight_hh_l0": (3 * g, g),
        "gru.bias_ih_l0": (3 * g,), "gru.bias_hh_l0": (3 * g,),
        "trunk.weight": (2 * config.trunk_width, g), "trunk.bias": (2 * config.trunk_width,),
        "residual_in.weight": (config.residual_width, config.trunk_width), "residual_in.bias": (config.residual_width,),
        "residual_out.weight": (config.trunk_width, config.residual_width), "residual_out.bias": (config.trunk_width,),
        "head.weight": (n_out, config.trunk_width), "head.bias": (n_out,),
    }
