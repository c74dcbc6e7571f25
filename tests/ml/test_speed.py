"""The benchmark's torch paths render what the NumPy runtime renders (the figures compare like with like)."""

from pathlib import Path

import numpy as np
import pytest
import torch

from neurorack.ml.speed import _FrameVoice, _torch_step, bench_model
from neurorack.runtime.loader import load_model
from neurorack.runtime.numpy_model import NumpyModel
from neurorack.runtime.voice import ModelVoice, drum_template
from tests.runtime.tiny_model import LOCKED_TINY_CONFIG, export_tiny


@pytest.mark.parametrize("locked", [False, True], ids=["unlocked", "spectral-lock"])
def test_the_eager_step_plays_the_same_samples_as_numpy(tmp_path, locked):
    folder, _ = export_tiny(tmp_path, config=LOCKED_TINY_CONFIG) if locked else export_tiny(tmp_path)
    loaded = load_model(folder)
    template = drum_template(decay_s=0.2)
    voice = ModelVoice(NumpyModel(loaded), template)
    voice.trigger(1.0)
    expected = np.zeros(len(template) * 256)
    for start in range(0, len(expected), 128):
        voice.render(expected[start:start + 128])
    step, fresh = _torch_step(loaded)
    player = _FrameVoice(step, fresh, template, 256)
    out = np.zeros(len(expected))
    for start in range(0, len(out), 128):
        player.render(out[start:start + 128])
    assert np.allclose(out, expected, atol=1e-5)


def test_bench_reports_every_path_and_keeps_the_fastest(tmp_path):
    folder, _ = export_tiny(tmp_path)
    result = bench_model(folder, seconds=0.1)
    rates = {name: row["rtf_1thread"] for name, row in result["paths"].items()}
    assert set(rates) == {"numpy", "numpy-frame", "eager"}
    assert result["path"] == max(rates, key=rates.get)
    assert result["rtf_1thread"] == rates[result["path"]]
    assert result["params"] == loaded_params(folder)


def test_the_percussion_family_is_timed_with_its_compiled_frame_and_with_the_numpy_one():
    shipped = Path(__file__).resolve().parents[2] / "models" / "drums-v2"
    paths = bench_model(shipped, seconds=0.2, paths=["numpy", "numpy-frame", "eager"])["paths"]
    assert paths["numpy"]["frame"] == "compiled" and paths["numpy"]["rtf_1thread"] > 0
    assert paths["numpy-frame"]["frame"] == "numpy (asked for)" and paths["numpy-frame"]["rtf_1thread"] > 0
    assert paths["eager"] == {"error": "the percussion family streams in NumPy only"}


def loaded_params(folder) -> int:
    return load_model(folder).parameters


def test_torch_paths_are_timed_on_one_thread_and_the_callers_threads_come_back(tmp_path, monkeypatch):
    import neurorack.ml.speed as bench

    folder, _ = export_tiny(tmp_path)
    timed_on = []
    real_timed_blocks = bench._timed_blocks

    def recording(*args, **kwargs):
        timed_on.append(torch.get_num_threads())
        return real_timed_blocks(*args, **kwargs)

    monkeypatch.setattr(bench, "_timed_blocks", recording)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        bench_model(folder, seconds=0.05, paths=["eager"])
        assert timed_on == [1]
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_the_dropped_torchscript_path_says_why(tmp_path):
    folder, _ = export_tiny(tmp_path)
    error = bench_model(folder, seconds=0.05, paths=["torchscript"])["paths"]["torchscript"]["error"]
    assert "torchscript was dropped" in error and "deprecates" in error
