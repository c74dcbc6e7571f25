"""Resynthesis over both model families, and the CV edits a SoundCode takes."""

from __future__ import annotations

import numpy as np
import pytest

from neurorack.runtime.resynth import (
    Resynthesizer,
    SoundCode,
    brighten,
    louder,
    resynthesise,
    transpose,
)
from tests.core.tiny_percussion import export_percussion
from tests.runtime.tiny_model import export_tiny

SR = 48000


def _one_shot() -> np.ndarray:
    t = np.arange(SR // 3) / SR
    rng = np.random.default_rng(1)
    return (0.5 * np.sin(2 * np.pi * 180 * t) + 0.2 * rng.standard_normal(len(t))) * np.exp(-t * 12)


def test_the_cv_edits_move_what_they_name_and_stay_in_range():
    frames = np.tile(np.array([-20.0, 1000.0, 0.1, 200.0, 0.8], np.float32), (4, 1))
    code = SoundCode(frames, np.zeros(3, np.float32))
    up = transpose(code, 1.0)
    np.testing.assert_allclose(up.frames[:, [1, 3]], [[2000.0, 400.0]] * 4)
    np.testing.assert_array_equal(up.frames[:, [0, 2, 4]], frames[:, [0, 2, 4]])
    assert up.z is code.z
    np.testing.assert_allclose(brighten(code, -1.0).frames[:, 1], 500.0)
    np.testing.assert_allclose(brighten(code, -1.0).frames[:, 3], 200.0)
    np.testing.assert_allclose(louder(code, 6.0).frames[:, 0], -14.0)
    assert transpose(code, 6.0).frames[0, 3] == 4000.0  # the pitch descriptor's ceiling
    assert louder(code, 40.0).frames[0, 0] == 0.0


@pytest.mark.parametrize("family", ["descriptor", "percussion"])
def test_a_one_shot_is_analysed_and_rendered_by_either_family(tmp_path, family):
    folder = export_percussion(tmp_path)[0] if family == "percussion" else export_tiny(tmp_path)[0]
    model = Resynthesizer(folder)
    audio = _one_shot()
    code = model.analyse(audio)
    assert model.has_timbre == (family == "percussion")
    assert (code.z is not None) == model.has_timbre
    if code.z is not None:
        assert code.z.shape == (model.model.timbre_size,)
    rendered = resynthesise(model, audio)
    assert len(rendered) == -(-len(audio) // 256) * 256
    assert np.all(np.isfinite(rendered)) and np.abs(rendered).max() > 1e-4
