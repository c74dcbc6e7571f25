"""The percussion model's architecture as data: every size, and the shape of every weight.

No torch here: the NumPy runtime (``neurorack.core.percussion``) and the loader read this;
``neurorack.ml.percussion_model`` builds the torch module from the same ``PercussionConfig``.

What the sizes mean (see ``neurorack.ml.percussion_model`` for the data flow):

- the timbre code ``z`` of ``code_size`` values, computed once per sound: an encoder's
  ``timbre_size - 1`` values, the sound's *register* (its pitch at the onset, ``register``),
  and where its ``n_modes`` modes are and how strong (spectral peaks of its first 100 ms, as
  octaves from the onset pitch and levels: ``neurorack.core.timbre.mode_values``); the levels
  are the modes' starting shares of the partials' power, which the frame network corrects;
- what the networks read of the descriptors does not change when the pitch CV transposes
  (``invariant_inputs``): loudness, flatness, pitch confidence, the centroid over the pitch,
  and the pitch and centroid relative to the hit's first frame. Only the synthesis hears
  absolute frequencies, so a transposition moves every partial, the noise and the transient
  (played at the hit's pitch over the register) by exactly the interval;
- a frame network (input layer, GRU, gated trunk with a residual block, head) run once per
  hop on the descriptors and ``z``; with ``frame_network: wavenet`` a WaveNet-style stack
  replaces the GRU: a 1x1 start convolution to ``wavenet_channels`` residual channels, then
  one layer per entry of ``wavenet_gates`` (layer l: a causal convolution over frames of
  kernel 2 and dilation 2^l, ``2 * wavenet_gates[l]`` outputs, tanh half times sigmoid half,
  a 1x1 residual convolution back into the stream (not in the last layer) and a 1x1 skip
  convolution to ``wavenet_skip`` channels summed over the layers, then ReLU) feeding the
  same gated trunk;
- a hit network run once at each onset on the first frame's descriptors and ``z``;
- synthesis at the sample rate: ``n_harmonics`` harmonics and ``n_modes`` inharmonic modes
  of the pitch (one bank of partials), ``n_noise_bands`` bands of looping noise, a transient
  mixed from ``n_atoms`` learned wavetables of ``atom_length`` samples, and an attack envelope
  of ``envelope_points`` points, one every ``envelope_step`` samples (1 ms).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from neurorack.config.schema import between, setting
from neurorack.core.descriptors import DESCRIPTOR_NAMES, HOP, SAMPLE_RATE

FAMILY = "percussion"
NOISE_GRID_OCTAVES = 6.0  # the noise shape is drawn on a grid of +-6 octaves around the centroid
LEVEL_NEPERS = 1.5        # learned level correction within exp(+-1.5), about +-13 dB
ENVELOPE_NEPERS = 4.0     # attack envelope points within exp(+-4), about +-35 dB
MASKED_LOGIT = -30.0      # partials above Nyquist
N_INPUTS = 6              # invariant_inputs per frame
MODE_DETUNE_OCTAVES = 1.0 / 24.0  # the hit network may move a mode by up to a quarter tone
HARMONIC_PRIOR = -5.0     # harmonics start 5 nepers of power below the strongest measured mode
REGISTER_REF_HZ = 200.0   # register = log2(onset pitch / 200 Hz) / 4
REGISTER_SCALE = 4.0
MAX_TRANSPOSE = 4.0       # the transient plays at 1/4 .. 4 times its speed


def register(pitch_hz):
    """The register value of ``z`` for a sound whose onset pitch is ``pitch_hz`` (about -1..1)."""
    return np.log2(np.clip(pitch_hz, 40.0, 4000.0) / REGISTER_REF_HZ) / REGISTER_SCALE


def transient_rate(pitch_hz: float, register_value: float) -> float:
    """How fast a hit plays its transient: its onset pitch over the sound's register pitch, within
    1/MAX_TRANSPOSE .. MAX_TRANSPOSE (1 when the sound plays at its own pitch)."""
    rate = pitch_hz / (REGISTER_REF_HZ * 2.0 ** (REGISTER_SCALE * register_value))
    return min(max(rate, 1.0 / MAX_TRANSPOSE), MAX_TRANSPOSE)


def _positive(value: int) -> str | None:
    return None if value >= 1 else f"expected a whole number of at least 1, got {value!r}"


def _layer_widths(value: list[int]) -> str | None:
    if not 1 <= len(value) <= 12:
        return f"expected 1 to 12 layers (dilations 1 .. 2048 frames), got {len(value)}"
    for index, width in enumerate(value):
        if width < 1:
            return f"item {index + 1}: expected a whole number of at least 1, got {width!r}"
    return None


FRAME_NETWORKS = ("gru", "wavenet")
FRAME_NETWORK_KEYS = {"gru": ("gru_width",), "wavenet": ("wavenet_channels", "wavenet_gates", "wavenet_skip")}


@dataclass(frozen=True)
class PercussionConfig:
    """Every size of a percussion model. Saved as ``config.yaml`` beside the weights."""

    family: str = setting(FAMILY, "Model family.", choices=(FAMILY,))
    sample_rate: int = setting(SAMPLE_RATE, "Audio sample rate in Hz.", choices=(SAMPLE_RATE,))
    hop: int = setting(HOP, "Samples per descriptor frame.", choices=(HOP,))
    descriptors: list[str] = setting(  # noqa: RUF009 (setting() returns a dataclasses.field)
        default_factory=lambda: list(DESCRIPTOR_NAMES), help="Descriptor names, in input order.")
    timbre_size: int = setting(16, "Values of the timbre code z from the encoder and the register "
                                   "(the mode values follow them).", check=between(2, 256))
    feature_size: int = setting(300, "Timbre features the encoder reads (neurorack.core.timbre).",
                                choices=(300,))
    encoder_width: int = setting(128, "Hidden units of the timbre encoder.", check=_positive)
    input_width: int = setting(64, "Units of the frame network's input layer.", check=_positive)
    frame_network: str = setting("gru", "The frame network's memory: gru (a GRU, the shipped models) or wavenet "
                                        "(dilated causal convolutions over frames with gated units, residual "
                                        "and skip 1x1 convolutions).", choices=FRAME_NETWORKS)
    gru_width: int = setting(128, "Hidden units of the GRU (frame_network: gru).", check=_positive)
    wavenet_channels: int = setting(64, "Residual channels of the WaveNet-style stack (frame_network: wavenet).",
                                    check=_positive)
    wavenet_gates: list[int] = setting(  # noqa: RUF009 (setting() returns a dataclasses.field)
        default_factory=lambda: [64] * 6, help="Gated units of each WaveNet-style layer, layer l dilated by 2^l "
                                               "frames (frame_network: wavenet).", check=_layer_widths)
    wavenet_skip: int = setting(128, "Skip channels of the WaveNet-style stack, read by the trunk "
                                     "(frame_network: wavenet).", check=_positive)
    trunk_width: int = setting(128, "Units of the gated trunk.", check=_positive)
    residual_width: int = setting(64, "Inner units of the residual block.", check=_positive)
    hit_width: int = setting(128, "Hidden units of the hit network's first layer.", check=_positive)
    hit_mid_width: int = setting(128, "Hidden units of the hit network's second layer.", check=_positive)
    n_harmonics: int = setting(24, "Harmonics of the pitch.", check=between(1, 128))
    n_modes: int = setting(24, "Inharmonic modes (their ratios to the pitch come with each sound's code).",
                           check=between(2, 128))
    n_noise_bands: int = setting(48, "Bands of filtered noise.", check=between(2, 128))
    noise_grid: int = setting(49, "Points of the noise shape around the centroid.", check=between(2, 256))
    noise_table_size: int = setting(65536, "Length of the looping noise table in samples.",
                                    check=between(4096, 1 << 20))
    noise_seed: int = setting(0, "Seed of the noise table.")
    n_atoms: int = setting(32, "Learned transient wavetables.", check=between(1, 256))
    atom_length: int = setting(2048, "Samples of each transient wavetable.", check=between(64, 48000))
    envelope_points: int = setting(100, "Points of the attack envelope.", check=between(1, 1000))
    envelope_step: int = setting(48, "Samples between attack envelope points (48: 1 ms).", check=between(1, 4800))

    @property
    def code_size(self) -> int:
        """Values of a sound's code: encoder's, register, mode ratios, mode levels."""
        return self.timbre_size + 2 * self.n_modes

    @property
    def wavenet(self) -> bool:
        return self.frame_network == "wavenet"

    @property
    def wavenet_dilations(self) -> tuple[int, ...]:
        """Frames between the two taps of each WaveNet-style layer: 1, 2, 4, ..."""
        return tuple(1 << layer for layer in range(len(self.wavenet_gates)))

    @property
    def memory_width(self) -> int:
        """Width of what the trunk reads: the GRU's hidden units or the WaveNet-style skip channels."""
        return self.wavenet_skip if self.wavenet else self.gru_width

    @property
    def n_partials(self) -> int:
        return self.n_harmonics + self.n_modes

    @property
    def head_size(self) -> int:
        """Frame head outputs: partial logits, noise shape, mix, level correction."""
        return self.n_partials + self.noise_grid + 2

    @property
    def hit_size(self) -> int:
        """Hit head outputs: mode detunes, atom weights, attack envelope."""
        return self.n_modes + self.n_atoms + self.envelope_points

    def to_dict(self) -> dict:
        """Every size, less the other frame network's sizes left at their defaults (a GRU
        model's file has no wavenet_* keys); read back, the config is the same."""
        defaults = PercussionConfig()
        unused = {key for network, keys in FRAME_NETWORK_KEYS.items() if network != self.frame_network
                  for key in keys if getattr(self, key) == getattr(defaults, key)}
        return {key: value for key, value in dataclasses.asdict(self).items() if key not in unused}

    def replace(self, **changes) -> PercussionConfig:
        return dataclasses.replace(self, **changes)


TINY_PERCUSSION = PercussionConfig(timbre_size=4, encoder_width=8, input_width=8, gru_width=8, trunk_width=8,
                                   residual_width=4, hit_width=8, hit_mid_width=8, n_harmonics=4, n_modes=4, n_noise_bands=8,
                                   noise_grid=9, noise_table_size=4096, n_atoms=4, atom_length=256,
                                   envelope_points=10)
"""A percussion model small enough for unit tests."""

TINY_WAVENET = TINY_PERCUSSION.replace(frame_network="wavenet", wavenet_channels=4, wavenet_gates=[4, 4, 4],
                                       wavenet_skip=6)
"""The tiny percussion model with the WaveNet-style frame network (dilations 1, 2, 4)."""

DENSE_WAVENET = PercussionConfig(frame_network="wavenet")
"""The dense WaveNet-style percussion model: 6 layers (dilations 1 .. 32 frames), 64 residual
channels, 64 gated units per layer, 128 skip channels."""


def expected_shapes(config: PercussionConfig) -> dict[str, tuple[int, ...]]:
    """The shape of every weight tensor of a ``PercussionModel`` built from ``config``."""
    c = config
    n_in = N_INPUTS + c.code_size
    return {
        "encoder_in.weight": (c.encoder_width, c.feature_size), "encoder_in.bias": (c.encoder_width,),
        "encoder_out.weight": (c.timbre_size - 1, c.encoder_width), "encoder_out.bias": (c.timbre_size - 1,),
        "input.weight": (c.input_width, n_in), "input.bias": (c.input_width,),
        **_memory_shapes(c),
        "trunk.weight": (2 * c.trunk_width, c.memory_width), "trunk.bias": (2 * c.trunk_width,),
        "residual_in.weight": (c.residual_width, c.trunk_width), "residual_in.bias": (c.residual_width,),
        "residual_out.weight": (c.trunk_width, c.residual_width), "residual_out.bias": (c.trunk_width,),
        "head.weight": (c.head_size, c.trunk_width), "head.bias": (c.head_size,),
        "hit_in.weight": (c.hit_width, n_in), "hit_in.bias": (c.hit_width,),
        "hit_mid.weight": (c.hit_mid_width, c.hit_width), "hit_mid.bias": (c.hit_mid_width,),
        "hit_out.weight": (c.hit_size, c.hit_mid_width), "hit_out.bias": (c.hit_size,),
        "atoms": (c.n_atoms, c.atom_length),
    }


def _memory_shapes(c: PercussionConfig) -> dict[str, tuple[int, ...]]:
    """The GRU's weights, or the WaveNet-style stack's (Conv1d weights are [out, in, kernel])."""
    if not c.wavenet:
        g = c.gru_width
        return {"gru.weight_ih_l0": (3 * g, c.input_width), "gru.weight_hh_l0": (3 * g, g),
                "gru.bias_ih_l0": (3 * g,), "gru.bias_hh_l0": (3 * g,)}
    r, s, last = c.wavenet_channels, c.wavenet_skip, len(c.wavenet_gates) - 1
    shapes = {"wavenet_start.weight": (r, c.input_width, 1), "wavenet_start.bias": (r,)}
    for layer, gates in enumerate(c.wavenet_gates):
        shapes[f"wavenet_dilated.{layer}.weight"] = (2 * gates, r, 2)
        shapes[f"wavenet_dilated.{layer}.bias"] = (2 * gates,)
        if layer < last:  # the last layer's output goes to the skip sum only
            shapes[f"wavenet_residual.{layer}.weight"] = (r, gates, 1)
            shapes[f"wavenet_residual.{layer}.bias"] = (r,)
        shapes[f"wavenet_skip.{layer}.weight"] = (s, gates, 1)
        shapes[f"wavenet_skip.{layer}.bias"] = (s,)
    return shapes


def _memory_macs(c: PercussionConfig) -> int:
    """Multiply-accumulates per frame of the GRU or of the WaveNet-style stack."""
    if not c.wavenet:
        g = c.gru_width
        return 3 * g * (c.input_width + g)
    r, s, last = c.wavenet_channels, c.wavenet_skip, len(c.wavenet_gates) - 1
    return c.input_width * r + sum(2 * g * 2 * r + (r * g if layer < last else 0) + g * s
                                   for layer, g in enumerate(c.wavenet_gates))


def invariant_columns(loudness, centroid, flatness, pitch, confidence, first_pitch, first_centroid, log, clip):
    """The network's view of a descriptor frame, unchanged by a transposition (pitch and centroid
    times the same ratio): loudness, flatness, pitch confidence, log2(centroid / pitch), and
    log2 of pitch and centroid over the hit's first frame's; each about -1..1.

    Written once for every array library: pass raw descriptor values (floats, NumPy arrays or
    tensors) and that library's natural log and clip (``math.log`` and a float clip,
    ``torch.log`` and ``torch.clamp``).
    """
    to_octaves = 1.0 / math.log(2.0)
    pitch, centroid = log(clip(pitch, 40.0, 4000.0)), log(clip(centroid, 20.0, 20000.0))
    first_pitch, first_centroid = log(clip(first_pitch, 40.0, 4000.0)), log(clip(first_centroid, 20.0, 20000.0))
    return ((clip(loudness, -90.0, 0.0) + 45.0) / 45.0,
            log(clip(flatness, 1e-6, 1.0)) / (0.5 * math.log(1e6)) + 1.0,
            2.0 * clip(confidence, 0.0, 1.0) - 1.0,
            clip((centroid - pitch) * (to_octaves / 4.0) - 0.25, -2.0, 2.0),
            clip((pitch - first_pitch) * (to_octaves / 2.0), -2.0, 2.0),
            clip((centroid - first_centroid) * (to_octaves / 2.0), -2.0, 2.0))


def noise_grid_octaves(config: PercussionConfig) -> np.ndarray:
    """[noise_grid] the octaves, relative to the centroid, where the noise shape is drawn."""
    return np.linspace(-NOISE_GRID_OCTAVES, NOISE_GRID_OCTAVES, config.noise_grid)


def band_centres_octaves(config: PercussionConfig) -> np.ndarray:
    """[n_noise_bands] the noise bands' centres, log2(Hz) (geometric mean of their edges)."""
    from neurorack.core.synth_tables import band_edges_hz

    edges = np.log2(band_edges_hz(config.n_noise_bands, config.sample_rate))
    return 0.5 * (edges[:-1] + edges[1:])


def macs_per_second(config: PercussionConfig) -> float:
    """Multiply-accumulates per second of audio: the frame network at frame rate plus synthesis
    (per sample: a sine and a ramped product per partial, a ramped product per noise band)."""
    c = config
    n_in = N_INPUTS + c.code_size
    frame = (n_in * c.input_width + _memory_macs(c) + c.memory_width * 2 * c.trunk_width
             + 2 * c.trunk_width * c.residual_width + c.trunk_width * c.head_size)
    per_sample = 3 * c.n_partials + 2 * c.n_noise_bands + 2
    return c.sample_rate / c.hop * frame + c.sample_rate * per_sample


def config_yaml(config: PercussionConfig) -> str:
    import yaml

    return ("# Architecture of a neurorack PercussionModel (neurorack.core.percussion_config).\n"
            + yaml.safe_dump(config.to_dict(), sort_keys=False))
