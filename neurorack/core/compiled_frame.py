"""The percussion model's frame in C (``compiled_frame.c``), for ``PercussionRuntime``.

``PercussionRuntime`` renders a frame in NumPy, about sixty calls on small arrays, most of whose
time is the interpreter's. The compiled frame does the same arithmetic in two calls: the
frame's controls (the hit network on a hit's first frame, the frame network, the amplitudes),
then its samples. The NumPy frame stays the reference, and the tests hold the two together.

``pip install`` builds the library with the system's C compiler (``setup.py``; ``sh install.sh``
installs gcc). Where it was not built, or for a model it does not cover (the WaveNet-style frame
network), ``PercussionRuntime`` plays the NumPy frame and ``frame_kind`` says why.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np

from neurorack import compiled_library
from neurorack.core import percussion_config as pc
from neurorack.core.timbre import LEVEL_SCALE, MODE_SCALE
from neurorack.errors import NeurorackError

SOURCE = Path(__file__).with_name("compiled_frame.c")
LIBRARY = compiled_library.installed_library("neurorack.core._compiled_frame", SOURCE)
MAX_NOISE_BANDS = 512  # compiled_frame.c draws the noise shape on the stack


class CompiledFrameUnavailable(NeurorackError):
    """The compiled frame was not built, does not load, or does not cover this model."""


_INT_FIELDS = ("hop", "code_size", "timbre_size", "input_width", "gru_width", "trunk_width", "residual_width",
               "head_size", "n_harmonics", "n_modes", "n_partials", "noise_grid", "n_bands", "hit_width",
               "hit_mid_width", "hit_size", "n_atoms", "atom_length", "envelope_length", "envelope_step",
               "table_length", "max_transient")
_DOUBLE_FIELDS = ("sample_rate", "mode_scale", "level_scale", "mode_detune_octaves", "harmonic_prior",
                  "masked_logit", "level_nepers", "envelope_nepers", "register_ref_hz", "register_scale",
                  "max_transpose")
_POINTER_FIELDS = ("input_desc_t", "input_z_t", "input_bias", "gru_ih_t", "gru_hh_t", "gru_bias_ih", "gru_bias_hh",
                   "trunk_t", "trunk_bias", "residual_in_t", "residual_in_bias", "residual_out_t",
                   "residual_out_bias", "head_t", "head_bias", "hit_desc_t", "hit_z_t", "hit_in_bias", "hit_mid_t",
                   "hit_mid_bias", "hit_out_t", "hit_out_bias", "atoms", "table_t", "band_octaves", "grid_octaves",
                   "x", "work", "signal")


class _Model(ctypes.Structure):
    """``Model`` in compiled_frame.c, field for field."""

    _fields_ = ([(name, ctypes.c_int32) for name in _INT_FIELDS] + [(name, ctypes.c_double) for name in _DOUBLE_FIELDS]
                + [(name, ctypes.c_void_p) for name in _POINTER_FIELDS])


_library: ctypes.PyDLL | None = None


def load_library() -> ctypes.PyDLL:
    """The built library, loaded once, with its functions' signatures.

    Raises:
        CompiledFrameUnavailable: it was not built at install, or does not load; the message says why.
    """
    global _library
    if _library is None:
        library = compiled_library.load(LIBRARY, SOURCE, "the compiled frame", CompiledFrameUnavailable)
        pointer, size, i64, f64 = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int64, ctypes.c_double
        for name, argtypes, restype in (
                ("neurorack_model_struct_bytes", [], size),
                ("neurorack_work_floats", [pointer], size),
                ("neurorack_hit_bytes", [pointer], size),
                ("neurorack_hit_init", [pointer, pointer, pointer, i64], None),
                ("neurorack_frame_controls", [pointer, pointer, f64, f64, f64, f64, ctypes.c_int32], None),
                ("neurorack_frame_samples", [pointer, pointer, i64], None)):
            function = getattr(library, name)
            function.argtypes, function.restype = argtypes, restype
        if library.neurorack_model_struct_bytes() != ctypes.sizeof(_Model):
            raise CompiledFrameUnavailable("the compiled frame's Model struct does not match compiled_frame.py's; "
                                           + compiled_library.REINSTALL)
        _library = library
    return _library


def wrapped_columns(table: np.ndarray, hop: int) -> np.ndarray:
    """The noise table ([length, bands]) a band per row, each row running on ``hop`` samples past
    its end (its start again), so that a frame's read never wraps: [bands, length + hop]."""
    length, bands = table.shape
    columns = np.empty((bands, length + hop), np.float32)  # written in place: no second copy at load
    columns[:, :length] = table.T
    columns[:, length:] = table[:hop].T
    return columns


def installed_frame() -> str:
    """Which frame a GRU percussion model plays with this install: ``compiled``, or ``numpy (why)``
    (``neurorack hw check`` prints it)."""
    try:
        load_library()
    except CompiledFrameUnavailable as exc:
        return f"numpy ({exc})"
    return "compiled"


class CompiledHit:
    """One hit's state in the compiled frame: its buffer (laid out by the C side) and address."""

    __slots__ = ("buffer", "address")

    def __init__(self, buffer: np.ndarray):
        self.buffer = buffer
        self.address = buffer.ctypes.data


class CompiledFrame:
    """The compiled frame of one ``PercussionRuntime``: its weights transposed, its tables and scratch.

    Args:
        runtime: the NumPy runtime whose model, tables and input buffer (``_x``) it shares.

    Raises:
        CompiledFrameUnavailable: the library is not available, or the model's frame network is
            the WaveNet-style stack (only the GRU is compiled).
    """

    def __init__(self, runtime):
        c = runtime.config
        if c.wavenet:
            raise CompiledFrameUnavailable("only the GRU frame network is compiled; this model's is WaveNet-style")
        if c.n_noise_bands > MAX_NOISE_BANDS:
            raise CompiledFrameUnavailable(f"the compiled frame draws at most {MAX_NOISE_BANDS} noise bands")
        library = load_library()
        w, n_in = runtime._w, pc.N_INPUTS
        arrays = {
            "input_desc_t": w["input.weight"][:, :n_in].T, "input_z_t": w["input.weight"][:, n_in:].T,
            "input_bias": w["input.bias"], "gru_ih_t": w["gru.weight_ih_l0"].T, "gru_hh_t": w["gru.weight_hh_l0"].T,
            "gru_bias_ih": w["gru.bias_ih_l0"], "gru_bias_hh": w["gru.bias_hh_l0"],
            "trunk_t": w["trunk.weight"].T, "trunk_bias": w["trunk.bias"],
            "residual_in_t": w["residual_in.weight"].T, "residual_in_bias": w["residual_in.bias"],
            "residual_out_t": w["residual_out.weight"].T, "residual_out_bias": w["residual_out.bias"],
            "head_t": w["head.weight"].T, "head_bias": w["head.bias"],
            "hit_desc_t": w["hit_in.weight"][:, :n_in].T, "hit_z_t": w["hit_in.weight"][:, n_in:].T,
            "hit_in_bias": w["hit_in.bias"], "hit_mid_t": w["hit_mid.weight"].T, "hit_mid_bias": w["hit_mid.bias"],
            "hit_out_t": w["hit_out.weight"].T, "hit_out_bias": w["hit_out.bias"], "atoms": w["atoms"],
            "table_t": wrapped_columns(runtime._table, c.hop), "x": runtime._x,
        }
        self._arrays = {name: np.ascontiguousarray(value, dtype=np.float32) for name, value in arrays.items()}
        self._arrays["band_octaves"] = np.ascontiguousarray(runtime._band_octaves, dtype=np.float64)
        self._arrays["grid_octaves"] = np.ascontiguousarray(runtime._grid_octaves, dtype=np.float64)
        if self._arrays["x"] is not runtime._x:
            raise CompiledFrameUnavailable("the runtime's input buffer is not contiguous float32")
        self.signal = np.zeros(c.hop, np.float32)
        sizes = dict(hop=c.hop, code_size=c.code_size, timbre_size=c.timbre_size, input_width=c.input_width,
                     gru_width=c.gru_width, trunk_width=c.trunk_width, residual_width=c.residual_width,
                     head_size=c.head_size, n_harmonics=c.n_harmonics, n_modes=c.n_modes, n_partials=c.n_partials,
                     noise_grid=c.noise_grid, n_bands=c.n_noise_bands, hit_width=c.hit_width,
                     hit_mid_width=c.hit_mid_width, hit_size=c.hit_size, n_atoms=c.n_atoms,
                     atom_length=c.atom_length, envelope_length=c.envelope_points * c.envelope_step,
                     envelope_step=c.envelope_step, table_length=c.noise_table_size,
                     max_transient=int(np.ceil((c.atom_length + 1) * pc.MAX_TRANSPOSE)) + 1)
        constants = dict(sample_rate=float(c.sample_rate), mode_scale=MODE_SCALE, level_scale=LEVEL_SCALE,
                         mode_detune_octaves=pc.MODE_DETUNE_OCTAVES, harmonic_prior=pc.HARMONIC_PRIOR,
                         masked_logit=pc.MASKED_LOGIT, level_nepers=pc.LEVEL_NEPERS,
                         envelope_nepers=pc.ENVELOPE_NEPERS, register_ref_hz=pc.REGISTER_REF_HZ,
                         register_scale=pc.REGISTER_SCALE, max_transpose=pc.MAX_TRANSPOSE)
        self._model = _Model(**sizes, **constants, signal=self.signal.ctypes.data,
                             **{name: array.ctypes.data for name, array in self._arrays.items()})
        self._address = ctypes.addressof(self._model)
        self._work = np.zeros(library.neurorack_work_floats(self._address), np.float32)
        self._model.work = self._work.ctypes.data
        self._hit_words = -(-library.neurorack_hit_bytes(self._address) // 8)  # float64s: aligned for the header
        self._init = library.neurorack_hit_init
        self._controls = library.neurorack_frame_controls
        self._samples = library.neurorack_frame_samples

    def new_hit(self, z: np.ndarray, noise_pos: int) -> CompiledHit:
        """A hit about to start with timbre code ``z`` ([code_size] float32)."""
        hit = CompiledHit(np.empty(self._hit_words, np.float64))
        z = np.ascontiguousarray(z, dtype=np.float32)
        self._init(self._address, hit.address, z.ctypes.data, noise_pos)
        return hit

    def controls(self, hit: CompiledHit, loudness: float, centroid: float, pitch: float, first_pitch: float,
                 first: bool) -> None:
        """The frame's controls from the inputs in the runtime's ``_x``; on the hit's ``first``
        frame the hit network runs too, at the hit's ``first_pitch``."""
        self._controls(self._address, hit.address, loudness, centroid, pitch, first_pitch, first)

    def samples(self, hit: CompiledHit, sample: int, out: np.ndarray) -> None:
        """The frame's samples into ``out`` ([hop]); ``sample``: the hit's samples before this frame."""
        self._samples(self._address, hit.address, sample)
        out[:] = self.signal


if __name__ == "__main__":
    print(f"model frame: {installed_frame()}")
