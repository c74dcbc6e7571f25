"""The model: streaming equals offline, unit groups match the tensors, shrinking rebuilds."""

import dataclasses

import numpy as np
import pytest
import torch

from neurorack.ml.model import (
    GRU,
    TINY_CONFIG,
    UNIT_GROUPS,
    DescriptorModel,
    ModelConfig,
    macs_per_second,
    parameter_count,
    shrink_state,
)


def trajectory(frames: int) -> torch.Tensor:
    """A hit with falling loudness, a pitch glide and a moving centroid: [1, frames, 5]."""
    t = torch.linspace(0.0, 1.0, frames)
    return torch.stack([-6.0 - 50.0 * t, 3000.0 - 2000.0 * t, 0.05 + 0.3 * t, 220.0 - 100.0 * t,
                        0.9 - 0.5 * t], dim=-1)[None]


@pytest.fixture
def model() -> DescriptorModel:
    torch.manual_seed(1)
    return DescriptorModel(TINY_CONFIG).eval()


@pytest.mark.parametrize("locked", [False, True], ids=["unlocked", "spectral-lock"])
def test_streaming_in_uneven_frame_chunks_equals_one_call(locked):
    torch.manual_seed(1)
    model = DescriptorModel(dataclasses.replace(TINY_CONFIG, spectral_lock=locked)).eval()
    descriptors = trajectory(60)
    with torch.no_grad():
        offline, _ = model(descriptors)
        state, pieces, start = model.initial_state(), [], 0
        for chunk in (1, 2, 5, 13, 39):
            audio, state = model(descriptors[:, start:start + chunk], state)
            pieces.append(audio)
            start += chunk
    streamed = torch.cat(pieces, dim=1)
    assert offline.shape == (1, 60 * 256)
    assert offline.abs().max() > 1e-3  # it makes sound
    assert torch.allclose(streamed, offline, atol=1e-5)


def test_louder_descriptor_gives_louder_audio(model):
    quiet, loud = trajectory(30), trajectory(30)
    quiet[..., 0] = -40.0
    loud[..., 0] = -10.0
    with torch.no_grad():
        quiet_rms = model(quiet)[0].pow(2).mean().sqrt()
        loud_rms = model(loud)[0].pow(2).mean().sqrt()
    # 30 dB more in, at least 30 - 2 * 13 dB of learned correction more out
    assert 20 * torch.log10(loud_rms / quiet_rms) > 4.0


def test_every_declared_slice_matches_its_tensor_size(model):
    state = model.state_dict()
    widths = TINY_CONFIG.widths()
    for group in UNIT_GROUPS:
        for piece in group.producers + group.consumers:
            assert state[piece.param].shape[piece.dim] == piece.blocks * widths[group.name], piece
    gru = next(g for g in UNIT_GROUPS if g.kind == GRU)
    assert {p.blocks for p in gru.producers} == {3}


def test_every_parameter_of_a_prunable_layer_is_declared(model):
    declared = {p.param for g in UNIT_GROUPS for p in g.producers + g.consumers}
    fixed = {"input.weight", "head.bias"}  # input columns are descriptors, head rows are synth controls
    assert set(model.state_dict()) - declared <= fixed | {"head.weight"}
    assert "head.weight" in declared  # its input columns belong to the trunk


def test_shrunk_model_equals_the_dense_one_with_those_units_zeroed():
    torch.manual_seed(2)
    dense = DescriptorModel(TINY_CONFIG).eval()
    keep = {"residual": np.array([0, 2, 5]), "input": np.arange(1, 8)}
    small_state, small_config = shrink_state(dense.state_dict(), TINY_CONFIG, keep)
    small = DescriptorModel(small_config).eval()
    small.load_state_dict(small_state)
    assert small_config.residual_width == 3 and small_config.input_width == 7
    assert parameter_count(small) < parameter_count(dense)
    # Zero the removed units' outgoing weights in the dense model: same function.
    with torch.no_grad():
        dense.residual_out.weight[:, [1, 3, 4, 6, 7]] = 0.0
        dense.gru.weight_ih_l0[:, 0] = 0.0
        descriptors = trajectory(20)
        assert torch.allclose(small(descriptors)[0], dense(descriptors)[0], atol=1e-5)


def test_shrinking_below_the_minimum_is_refused(model):
    with pytest.raises(ValueError, match="gru"):
        shrink_state(model.state_dict(), TINY_CONFIG, {"gru": np.array([0])})


def test_widths_round_trip_through_the_config():
    config = ModelConfig().with_widths({"gru": 40, "trunk": 12})
    assert config.gru_width == 40 and config.trunk_width == 12
    assert config.widths()["gru"] == 40
    assert dataclasses.replace(config) == config
    assert macs_per_second(config) < macs_per_second(ModelConfig())
