"""Trimming the percussion model: its unit groups, physical removal, criteria, distillation, rounds."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurorack.core.descriptors import extract
from neurorack.core.percussion_config import TINY_PERCUSSION
from neurorack.core.timbre import mode_values, timbre_features
from neurorack.ml.percussion_model import PercussionModel
from neurorack.ml.trim.criteria import score_units
from neurorack.ml.trim.groups import validate_groups
from neurorack.ml.trim.lottery import TrimSettings, run_lottery
from neurorack.ml.trim.percussion_adapter import (
    PercussionAdapter,
    PercussionTask,
    percussion_groups,
)
from neurorack.ml.trim.surgery import (
    count_parameters,
    masked_copy,
    remove_units,
    shapes_of,
)
from neurorack.runtime.loader import load_model
from neurorack.runtime.numpy_model import streaming_model
from tests.core.test_percussion import hit_curves, one_shot
from tests.core.tiny_percussion import export_percussion, lively
from tests.ml.trim.test_model_adapter import _one_shots

ADAPTER = PercussionAdapter()
REMOVAL = {"encoder": [0, 5], "input": [3], "gru": [1, 2, 6], "trunk": [0, 7], "residual": [2],
           "hit_in": [4], "hit_mid": [1, 3], "atoms": [0, 2]}


def _lively(seed: int = 0) -> PercussionModel:
    return lively(TINY_PERCUSSION, seed)


def _hits(model: PercussionModel, count: int = 2):
    """Descriptors [B, T, 5], timbre features, mode values of real-ish one-shots."""
    audio = [one_shot(seed=i) for i in range(count)]
    descriptors = torch.from_numpy(np.stack([hit_curves(pitch=150.0 + 90 * i) for i in range(count)]))
    features = torch.from_numpy(np.stack([timbre_features(a) for a in audio]))
    modes = torch.from_numpy(np.stack([mode_values(a, float(extract(a[:4096])[0, 3]), model.config.n_modes)
                                       for a in audio]))
    return descriptors, features, modes


def test_declared_groups_match_the_model_parameters_and_cover_every_hidden_width():
    model = PercussionModel(TINY_PERCUSSION)
    groups = percussion_groups(model.config)
    validate_groups(groups, shapes_of(model.state_dict()), model.config)
    assert {g.width_field for g in groups} == {"encoder_width", "input_width", "gru_width", "trunk_width",
                                               "residual_width", "hit_width", "hit_mid_width", "n_atoms"}


def trimmed_like_masked(model: PercussionModel, removal: dict) -> PercussionModel:
    """``model`` with ``removal``'s units removed, checked to sound different from ``model`` and
    exactly like ``model`` with those units masked; fewer parameters."""
    trimmed = remove_units(model, removal, ADAPTER)
    masked = masked_copy(model, removal, ADAPTER)
    descriptors, features, modes = _hits(model)
    with torch.no_grad():
        expected = masked(descriptors, features, modes, 123)
        got = trimmed(descriptors, features, modes, 123)
        untouched = model(descriptors, features, modes, 123)
    assert (expected - untouched).abs().max() > 1e-4  # the removal changes the sound ...
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)  # ... exactly as masking does
    assert count_parameters(trimmed) < count_parameters(model)
    return trimmed


def test_removing_units_of_every_group_sounds_exactly_like_masking_them():
    trimmed = trimmed_like_masked(_lively(), REMOVAL)
    assert trimmed.config.n_atoms == 2 and trimmed.config.hit_mid_width == TINY_PERCUSSION.hit_mid_width - 2
    assert tuple(trimmed.atoms.shape) == (2, TINY_PERCUSSION.atom_length)


def test_a_trimmed_model_plays_in_the_numpy_runtime_as_in_torch(tmp_path):
    trimmed = remove_units(_lively(), REMOVAL, ADAPTER)
    folder, _ = export_percussion(tmp_path, model=trimmed)
    runtime = streaming_model(load_model(folder))
    z = runtime.encode(one_shot())
    curves = hit_curves()
    with torch.no_grad():
        expected = trimmed.render(torch.from_numpy(curves)[None], torch.from_numpy(z)[None], noise_offset=5)[0].numpy()
    got = runtime.render(curves, runtime.initial_state(z, noise_offset=5))
    np.testing.assert_allclose(got, expected, atol=1e-4 * np.abs(expected).max())


def _task(dense, **options):
    return PercussionTask(_one_shots(seconds=0.5), dense, crop_frames=20, batch_size=2, test_crops=2,
                          bench_seconds=0.05, bench_paths=("numpy",), **options)


def scores_of_every_group(model, criterion: str) -> dict:
    """``criterion``'s scores of every group of ``model``, each checked: one finite score per unit."""
    task = _task(model, sound_figures=False)
    groups = ADAPTER.groups(model)
    scores = score_units(model, groups, criterion, None if criterion == "magnitude" else task.scoring_data(0),
                         max_samples=256)
    for group in groups:
        assert scores[group.name].shape == (group.size,)
        assert torch.isfinite(scores[group.name]).all()
    return scores


@pytest.mark.parametrize("criterion", ["mi", "activation", "gradient", "magnitude"])
def test_every_criterion_scores_every_group_including_the_atoms(criterion):
    assert float(scores_of_every_group(_lively(), criterion)["atoms"].max()) > 0.0


def test_distillation_mixes_the_recording_and_the_parent_render():
    teacher = _lively()
    batch = _task(teacher, sound_figures=False)._batch(np.random.default_rng(0))
    student = _lively()  # the same weights as the teacher
    recording = float(_task(teacher, sound_figures=False).training_loss(student, batch).detach())
    assert recording > 0.1
    assert float(_task(teacher, distil=1.0, sound_figures=False).training_loss(student, batch).detach()) < 1e-4
    half = float(_task(teacher, distil=0.5, sound_figures=False).training_loss(student, batch).detach())
    assert half == pytest.approx(0.5 * recording, rel=1e-4)


def test_a_lottery_round_on_the_tiny_percussion_model_records_speed_and_sound(tmp_path):
    dense = _lively()
    early = {k: v.clone() for k, v in dense.state_dict().items()}
    task = _task(dense, distil=0.5)
    settings = TrimSettings(criterion="mi", rate=0.4, rounds=1, retrain_steps=2, max_samples=256, distil=0.5)
    records = run_lottery(dense, early, ADAPTER, task, settings, tmp_path / "run")
    assert records[1]["params"] < records[0]["params"]
    assert records[1]["distil"] == 0.5
    for record in records:
        assert record["realtime_factor"] > 0 and np.isfinite(record["test_loss"])
        assert set(record["sound"]) == {"time_to_peak_error_ms", "log_mel_vs_vocoder", "identity_top1",
                                        "pitch_error_cents"}
        assert record["sound"]["log_mel_vs_vocoder"] > 0
    assert (tmp_path / "run" / "round_001" / "config.yaml").read_text().startswith("# Architecture of a neurorack "
                                                                                   "PercussionModel")
