"""The NumPy streaming path's floating-point reporting (its outputs are tested against torch in test_bench.py)."""

from __future__ import annotations

import warnings

import numpy as np

from neurorack.runtime.loader import load_model
from neurorack.runtime.numpy_model import NumpyModel
from tests.runtime.tiny_model import export_tiny

DESCRIPTORS = np.array([-20.0, 2000.0, 0.2, 220.0, 0.9])


def test_a_frame_raises_and_warns_nothing_and_passes_a_non_finite_result_on(tmp_path):
    # OpenBLAS can leave the "invalid" flag set on finite data; NumPy would warn from the
    # audio path. Here a real invalid operation sets it (an infinite weight row meets inputs
    # of both signs: inf - inf) under a caller that asks for errors: decode reports nothing,
    # and the NaN comes out in the values, where the engine's output stage mutes it.
    model = NumpyModel(load_model(export_tiny(tmp_path)[0]))
    model._w["input.weight"][0, :] = np.inf
    descriptors = np.where(np.arange(5) % 2 == 0, model._low, model._high)  # scaled to -1, +1, -1, ...
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        head = model.decode(descriptors, model.initial_state())
    assert not np.all(np.isfinite(head))


def test_the_callers_floating_point_settings_come_back(tmp_path):
    model = NumpyModel(load_model(export_tiny(tmp_path)[0]))
    with np.errstate(invalid="raise", over="warn"):
        model.decode(DESCRIPTORS, model.initial_state())
        assert np.geterr()["invalid"] == "raise" and np.geterr()["over"] == "warn"
