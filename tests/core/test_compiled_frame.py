"""The percussion frame in C against the NumPy frame it follows (the reference), frame by frame."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from neurorack.core import compiled_frame
from neurorack.core.percussion import PercussionRuntime
from neurorack.core.percussion_config import TINY_PERCUSSION
from neurorack.runtime.loader import load_model
from tests.core.test_percussion import hit_curves, one_shot
from tests.core.tiny_percussion import export_percussion, lively

SHIPPED = Path(__file__).resolve().parents[2] / "models" / "drums-v2"


def _pair(folder) -> tuple[PercussionRuntime, PercussionRuntime]:
    model = load_model(folder)
    return PercussionRuntime(model, compiled=False), PercussionRuntime(model)


def _hits(runtime: PercussionRuntime, seed: int):
    """(curves, code) of hits unlike each other: drums and tones, high and low, with codes read
    from one-shots and moved at random, the transient played slower and faster."""
    rng = np.random.default_rng(seed)
    for index in range(6):
        curves = hit_curves(70, pitch=float(rng.uniform(40, 1500)), centroid=float(rng.uniform(200, 12000)))
        curves[:, 2] = rng.uniform(0.001, 0.9)
        curves[:, 4] = rng.uniform(0, 1)
        z = runtime.encode(one_shot(0.3, seed=index)) if index % 2 else runtime.neutral_code()
        z[:runtime.config.timbre_size] += rng.normal(0, 0.3, runtime.config.timbre_size).astype(np.float32)
        yield curves, z


def _assert_frames_equal(reference: PercussionRuntime, compiled: PercussionRuntime, seed: int = 0):
    for curves, z in _hits(reference, seed):
        expected = reference.render(curves, reference.initial_state(z, noise_offset=1234))
        got = compiled.render(curves, compiled.initial_state(z, noise_offset=1234))
        assert np.abs(expected).max() > 1e-3
        # The same float32 steps; only the order of the sums differs from BLAS's, and NumPy's
        # float32 functions on a CPU with AVX-512 are a few ulps from C's: there the lively
        # models differ by up to 2.3e-5 of the peak, and by under 1e-6 with NumPy's AVX-512 code
        # turned off (NPY_DISABLE_CPU_FEATURES=X86_V4). -86 dB still tells a wrong frame,
        # which is off by 1e-3 of the peak or more.
        np.testing.assert_allclose(got, expected, rtol=0, atol=5e-5 * np.abs(expected).max())


def test_the_install_built_the_compiled_frame_and_the_shipped_model_plays_it():
    reference, compiled = _pair(SHIPPED)
    assert compiled.frame_kind == "compiled"
    assert reference.frame_kind == "numpy (asked for)"
    assert compiled_frame.LIBRARY.parent == compiled_frame.SOURCE.parent


def test_the_shipped_model_sounds_the_same_in_c_as_in_numpy():
    _assert_frames_equal(*_pair(SHIPPED))


@pytest.mark.parametrize("widths", [{}, dict(input_width=5, gru_width=7, trunk_width=9, residual_width=3,
                                            hit_width=11, hit_mid_width=6, n_atoms=3, n_noise_bands=13)])
def test_models_of_any_width_sound_the_same_in_c_as_in_numpy(tmp_path, widths):
    """Widths that are no multiple of the vector size, as trimming leaves them."""
    config = replace(TINY_PERCUSSION, **widths)
    folder, _ = export_percussion(tmp_path, lively(config, seed=3), config=config)
    _assert_frames_equal(*_pair(folder), seed=1)


def test_hits_played_together_keep_their_own_state(tmp_path):
    """Frames of two hits taken in turn, as the voices do, sound as each hit alone."""
    reference, compiled = _pair(SHIPPED)
    (curves_a, z_a), (curves_b, z_b) = list(_hits(reference, 5))[:2]
    alone = [reference.render(c, reference.initial_state(z)) for c, z in ((curves_a, z_a), (curves_b, z_b))]
    states = [compiled.initial_state(z_a), compiled.initial_state(z_b)]
    together = [np.zeros_like(alone[0]), np.zeros_like(alone[1])]
    for frame in range(len(curves_a)):
        for which, curves in enumerate((curves_a, curves_b)):
            compiled.render_frame(curves[frame], states[which], together[which][frame * 256:(frame + 1) * 256])
    for got, expected in zip(together, alone):
        np.testing.assert_allclose(got, expected, rtol=0, atol=2e-6 * np.abs(expected).max())


def test_a_nan_from_the_controls_does_not_stop_the_frame():
    """The output stage mutes a NaN (tests/audio); the frame must only not crash or stall on one."""
    _, compiled = _pair(SHIPPED)
    curves = hit_curves(12)
    curves[3:6] = np.nan
    state = compiled.initial_state()
    audio = compiled.render(curves, state)
    assert audio.shape == (12 * 256,) and np.isfinite(audio[:3 * 256]).all()
    nan_first = hit_curves(4)
    nan_first[0] = np.nan  # the hit network runs on NaN: the transient plays at its own speed
    compiled.render(nan_first, compiled.initial_state())


def test_the_wavenet_style_frame_network_plays_in_numpy_and_says_so(tmp_path):
    config = replace(TINY_PERCUSSION, frame_network="wavenet")
    folder, _ = export_percussion(tmp_path, lively(config), config=config)
    runtime = PercussionRuntime(load_model(folder))
    assert runtime.frame_kind.startswith("numpy (only the GRU frame network is compiled")
    assert np.abs(runtime.render(hit_curves(8))).max() > 0


@pytest.fixture
def unloaded(monkeypatch):
    """compiled_frame as before its first load, so a test can point it elsewhere."""
    monkeypatch.setattr(compiled_frame, "_library", None)
    return monkeypatch


def test_without_the_library_numpy_plays_and_says_why(tmp_path, unloaded):
    unloaded.setattr(compiled_frame, "LIBRARY", tmp_path / compiled_frame.LIBRARY.name)
    (tmp_path / "_compiled_frame.not-built").write_text("command 'gcc' failed: No such file or directory\n")
    reference, runtime = _pair(SHIPPED)
    assert runtime.frame_kind == ("numpy (the compiled frame was not built at install (command 'gcc' failed: "
                                  "No such file or directory); install a C compiler (sudo apt-get install gcc "
                                  "libc6-dev) and install neurorack again (sh install.sh, or pip install .))")
    curves = hit_curves(6)
    np.testing.assert_array_equal(runtime.render(curves), reference.render(curves))


def test_a_library_built_from_another_source_is_refused(tmp_path, unloaded):
    source = tmp_path / "compiled_frame.c"
    source.write_bytes(compiled_frame.SOURCE.read_bytes() + b"\n/* changed */\n")
    unloaded.setattr(compiled_frame, "SOURCE", source)
    _, runtime = _pair(SHIPPED)
    assert "built from another compiled_frame.c" in runtime.frame_kind
