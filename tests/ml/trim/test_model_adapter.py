import numpy as np
import pytest
import torch

from neurorack.core.architecture import TINY_CONFIG
from neurorack.core.descriptors import HOP, SAMPLE_RATE, extract
from neurorack.ml.dataset import OneShotSet
from neurorack.ml.model import DescriptorModel
from neurorack.ml.trim.groups import validate_groups
from neurorack.ml.trim.lottery import TrimSettings, run_lottery
from neurorack.ml.trim.model_adapter import (
    DescriptorAdapter,
    DescriptorTask,
    band_log_energies,
)
from neurorack.ml.trim.surgery import (
    count_parameters,
    masked_copy,
    remove_units,
    shapes_of,
)

ADAPTER = DescriptorAdapter()


def _descriptors(frames=24, batch=2, seed=0):
    rng = np.random.default_rng(seed)
    d = np.stack([rng.uniform(-50, -5, (batch, frames)), rng.uniform(200, 5000, (batch, frames)),
                  rng.uniform(0.01, 0.5, (batch, frames)), rng.uniform(60, 800, (batch, frames)),
                  rng.uniform(0, 1, (batch, frames))], axis=-1)
    return torch.tensor(d, dtype=torch.float32)


def _one_shots(count=6, seconds=0.4):
    audio, names, splits = [], [], []
    t = np.arange(int(seconds * SAMPLE_RATE) // HOP * HOP) / SAMPLE_RATE
    for i in range(count):
        envelope = np.exp(-t * (4 + 3 * i))
        audio.append((0.5 * envelope * np.sin(2 * np.pi * (110 + 70 * i) * t)).astype(np.float32))
        names.append(f"Kit/{i}.wav")
        splits.append("test" if i % 3 == 2 else "valid" if i == 4 else "train")
    return OneShotSet(names, audio, [extract(a) for a in audio], splits, [])


def test_declared_groups_match_the_model_parameters():
    model = DescriptorModel(TINY_CONFIG)
    validate_groups(ADAPTER.groups(model), shapes_of(model.state_dict()), model.config)


def test_trimmed_descriptor_model_matches_the_masked_dense_model():
    torch.manual_seed(0)
    model = DescriptorModel(TINY_CONFIG).eval()
    removal = {"input": [1, 4], "gru": [0, 7, 9, 15], "trunk": [2, 3, 11], "residual": [5]}
    trimmed = remove_units(model, removal, ADAPTER)
    x = _descriptors()
    with torch.no_grad():
        expected, _ = masked_copy(model, removal, ADAPTER)(x)
        got, _ = trimmed(x)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)
    assert trimmed.config.gru_width == TINY_CONFIG.gru_width - 4
    assert count_parameters(trimmed) < count_parameters(model)


def test_band_log_energies_follow_a_tone_between_bands():
    t = torch.arange(4 * HOP) / SAMPLE_RATE
    low = torch.sin(2 * torch.pi * 100 * t)
    high = torch.sin(2 * torch.pi * 8000 * t)
    bands = band_log_energies(torch.stack([low, high]), HOP, SAMPLE_RATE)
    assert bands.shape == (2, 4, 8)
    assert bands[0, :, :2].max() > bands[0, :, -2:].max()
    assert bands[1, :, -2:].max() > bands[1, :, :2].max()


def test_lottery_on_the_tiny_descriptor_model(tmp_path):
    criterion = "gradient"  # mi runs through the command line in test_commands
    task = DescriptorTask(_one_shots(), crop_frames=16, batch_size=4, test_crops=4, bench_seconds=0.1,
                          bench_paths=("numpy",))
    torch.manual_seed(0)
    dense = DescriptorModel(TINY_CONFIG)
    early = {k: v.clone() for k, v in dense.state_dict().items()}
    task.retrain(dense, 5, 0, None)
    settings = TrimSettings(criterion=criterion, rate=0.3, rounds=2, retrain_steps=3, max_samples=256)
    records = run_lottery(dense, early, ADAPTER, task, settings, tmp_path / "run")
    assert records[2]["params"] < records[1]["params"] < records[0]["params"]
    assert records[2]["macs_per_second"] < records[0]["macs_per_second"]
    assert all(r["realtime_factor"] > 0 and np.isfinite(r["test_loss"]) for r in records)


def test_retraining_uses_the_requested_threads_and_a_measurement_leaves_them_alone():
    before = torch.get_num_threads()
    try:
        task = DescriptorTask(_one_shots(), crop_frames=16, batch_size=2, test_crops=2, bench_seconds=0.05,
                              bench_paths=("eager",), threads=2)
        torch.manual_seed(0)
        model = DescriptorModel(TINY_CONFIG)
        torch.set_num_threads(2)
        task.measure(model)  # 'neurorack bench model' times on one thread, then gives the count back
        assert torch.get_num_threads() == 2
        torch.set_num_threads(1)
        task.retrain(model, 1, 0, None)
        assert torch.get_num_threads() == 2
        torch.set_num_threads(1)
        task.scoring_data(0)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_retraining_from_a_damaged_checkpoint_is_one_clear_error(tmp_path):
    from neurorack.ml.train import TrainingError

    task = DescriptorTask(_one_shots(), crop_frames=16, batch_size=2, test_crops=2, bench_seconds=0.05,
                          bench_paths=("numpy",))
    checkpoint = tmp_path / "checkpoint.pt"
    checkpoint.write_bytes(b"\x80\x04\x95garbage")
    with pytest.raises(TrainingError) as info:
        task.retrain(DescriptorModel(TINY_CONFIG), 1, 0, None, checkpoint=checkpoint)
    assert str(info.value) == (f"{checkpoint} is not a checkpoint neurorack wrote (or it is damaged): "
                               "start a new run with another --out")
