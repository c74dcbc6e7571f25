"""Loading exported models: identical output, and clear refusals of broken folders."""

import os

import numpy as np
import pytest
import torch

from neurorack.config.schema import ConfigError
from neurorack.ml.export import write_checksums
from neurorack.runtime.loader import MAX_WEIGHTS_BYTES, ModelLoadError, load_model
from neurorack.runtime.numpy_model import NumpyModel
from neurorack.runtime.voice import drum_template
from tests.runtime.tiny_model import LOCKED_TINY_CONFIG, export_tiny


@pytest.fixture
def exported(tmp_path):
    return export_tiny(tmp_path)


@pytest.mark.parametrize("locked", [False, True], ids=["unlocked", "spectral-lock"])
def test_export_then_load_plays_the_same_samples_as_the_trained_model(tmp_path, locked):
    folder, torch_model = export_tiny(tmp_path, config=LOCKED_TINY_CONFIG) if locked else export_tiny(tmp_path)
    loaded = load_model(folder)
    descriptors = drum_template(decay_s=0.3)
    with torch.no_grad():
        expected = torch_model(torch.from_numpy(descriptors)[None])[0][0].numpy()
    played = NumpyModel(loaded).render(descriptors)
    assert np.abs(expected).max() > 1e-3
    assert np.allclose(played, expected, atol=1e-5)
    assert loaded.parameters == sum(p.numel() for p in torch_model.parameters())
    assert loaded.card["parameters"] == loaded.parameters
    assert loaded.name == "tiny"


def test_a_flipped_byte_in_the_weights_is_refused_by_its_checksum(exported):
    folder, _ = exported
    data = bytearray((folder / "weights.safetensors").read_bytes())
    data[-5] ^= 0xFF
    (folder / "weights.safetensors").write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match="weights.safetensors: corrupt or modified"):
        load_model(folder)


def test_truncated_weights_are_refused_even_with_a_matching_checksum(exported):
    folder, _ = exported
    data = (folder / "weights.safetensors").read_bytes()
    (folder / "weights.safetensors").write_bytes(data[:len(data) // 2])
    write_checksums(folder)
    with pytest.raises(ModelLoadError, match="not readable safetensors"):
        load_model(folder)


def test_weights_that_do_not_fit_the_config_are_refused_naming_the_tensor(exported):
    folder, _ = exported
    config = (folder / "config.yaml").read_text().replace("gru_width: 16", "gru_width: 12")
    (folder / "config.yaml").write_text(config)
    write_checksums(folder)
    with pytest.raises(ModelLoadError, match=r"gru.weight_hh_l0 has shape \(48, 16\), config.yaml implies \(36, 12\)"):
        load_model(folder)


def test_a_bad_config_value_names_file_line_and_key(exported):
    folder, _ = exported
    config = (folder / "config.yaml").read_text().replace("n_harmonics: 8", "n_harmonics: many")
    (folder / "config.yaml").write_text(config)
    write_checksums(folder)
    line = next(i for i, text in enumerate(config.splitlines(), start=1) if text.startswith("n_harmonics"))
    with pytest.raises(ConfigError, match=rf"config.yaml:{line}: n_harmonics: expected a whole number"):
        load_model(folder)


def test_missing_files_and_folders_are_named(exported, tmp_path):
    folder, _ = exported
    with pytest.raises(ModelLoadError, match="no such model folder"):
        load_model(tmp_path / "nothing")
    (folder / "SHA256SUMS").unlink()
    with pytest.raises(ModelLoadError, match="SHA256SUMS is missing"):
        load_model(folder)


def test_the_runtime_loads_and_plays_without_importing_torch(exported):
    import subprocess
    import sys

    folder, _ = exported
    code = ("import sys, numpy as np\n"
            "from neurorack.runtime.loader import load_model\n"
            "from neurorack.runtime.numpy_model import NumpyModel\n"
            "from neurorack.runtime.voice import ModelVoice, drum_template\n"
            f"voice = ModelVoice(NumpyModel(load_model({str(folder)!r})), drum_template())\n"
            "voice.trigger(1.0); out = np.zeros(512); voice.render(out)\n"
            "assert np.abs(out).max() > 0\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("kind, says", [("fifo", "a FIFO"), ("dev_zero", "a character device"),
                                        ("folder", "a folder")])
def test_weights_that_are_not_a_regular_file_are_named_for_what_they_are_not_missing(exported, kind, says):
    from neurorack_bench.faults import time_limit

    folder, _ = exported
    weights = folder / "weights.safetensors"
    weights.unlink()
    if kind == "fifo":
        os.mkfifo(weights)
    elif kind == "dev_zero":
        weights.symlink_to("/dev/zero")
    else:
        weights.mkdir()
    with time_limit(10), pytest.raises(ModelLoadError) as info:
        load_model(folder)
    assert str(info.value) == f"{weights}: is not a regular file: {says}"


@pytest.mark.parametrize("name", ["weights.safetensors", "config.yaml", "model.yaml", "SHA256SUMS"])
def test_a_file_linked_from_outside_the_model_folder_is_refused(exported, tmp_path, name):
    folder, _ = exported
    outside = tmp_path / f"outside-{name}"
    (folder / name).rename(outside)
    (folder / name).symlink_to(outside)  # the same content: only where it lives is wrong
    with pytest.raises(ModelLoadError, match=f"^{folder / name}: leads to {outside}, outside {folder};"):
        load_model(folder)


def test_links_inside_the_model_folder_and_a_linked_model_folder_load(exported, tmp_path):
    folder, _ = exported
    (folder / "store").mkdir()
    (folder / "weights.safetensors").rename(folder / "store" / "w.safetensors")
    (folder / "weights.safetensors").symlink_to("store/w.safetensors")
    (tmp_path / "installed").symlink_to(folder)
    assert load_model(tmp_path / "installed").parameters > 0


def test_weights_over_the_size_cap_are_refused_before_reading(exported):
    folder, _ = exported
    with open(folder / "weights.safetensors", "r+b") as stream:
        stream.truncate(MAX_WEIGHTS_BYTES + 1)  # sparse
    with pytest.raises(ModelLoadError, match=f"weights.safetensors: {MAX_WEIGHTS_BYTES + 1} bytes, more than the"):
        load_model(folder)
