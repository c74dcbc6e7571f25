"""Trimming the WaveNet-style percussion model: a non-chain topology (gated units, a residual
stream every layer writes into and reads, skip channels summed over the layers).

What must hold, on the tiny instance (3 layers, dilations 1, 2, 4): removing units of any
group sounds exactly as masking them; a gated unit loses its tanh and its sigmoid row
together; a residual or skip channel goes from every layer at once; the trimmed model plays
in the NumPy runtime as in torch at any block size; every criterion scores every group; a
lottery round runs; per-layer gate widths live in one list field of the config.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from neurorack.config.schema import ConfigError
from neurorack.core.percussion_config import TINY_PERCUSSION, TINY_WAVENET, config_yaml
from neurorack.ml.export import read_card
from neurorack.ml.percussion_model import PercussionModel
from neurorack.ml.trim.groups import (
    GroupDeclarationError,
    UnitGroup,
    UnitSlice,
    validate_groups,
    width_of,
    with_widths,
)
from neurorack.ml.trim.lottery import TrimSettings, run_lottery
from neurorack.ml.trim.percussion_adapter import PercussionAdapter, percussion_groups
from neurorack.ml.trim.surgery import (
    remove_units,
    shapes_of,
    smaller_widths,
)
from neurorack.runtime.loader import load_config, load_model
from neurorack.runtime.numpy_model import streaming_model
from neurorack.runtime.voice import ModelVoice
from tests.core.test_percussion import hit_curves, one_shot
from tests.core.tiny_percussion import export_percussion, lively
from tests.ml.trim.test_percussion_adapter import (
    _task,
    scores_of_every_group,
    trimmed_like_masked,
)

ADAPTER = PercussionAdapter()
WAVENET_GROUPS = ("input", "wavenet_residual", "wavenet_gate_0", "wavenet_gate_1", "wavenet_gate_2", "wavenet_skip")
REMOVAL = {"encoder": [0, 5], "input": [0, 6], "wavenet_residual": [1], "wavenet_gate_0": [0, 3],
           "wavenet_gate_1": [2], "wavenet_gate_2": [1, 2, 3], "wavenet_skip": [1, 4], "trunk": [0, 7],
           "residual": [2], "hit_in": [4], "hit_mid": [1, 3], "atoms": [0, 2]}


def _lively(seed: int = 0) -> PercussionModel:
    return lively(TINY_WAVENET, seed)


def test_the_groups_match_the_parameters_and_each_layer_has_its_own_gate_width():
    model = PercussionModel(TINY_WAVENET)
    groups = percussion_groups(model.config)
    validate_groups(groups, shapes_of(model.state_dict()), model.config)
    names = {g.name: g for g in groups}
    assert "gru" not in names and set(WAVENET_GROUPS) <= set(names)
    assert [names[f"wavenet_gate_{layer}"].width_field for layer in range(3)] == [f"wavenet_gates[{layer}]"
                                                                                  for layer in range(3)]
    assert {names["wavenet_residual"].kind, names["wavenet_skip"].kind, names["wavenet_gate_1"].kind} == {
        "residual", "gated"}
    # the residual stream: written by the start conv and every layer but the last, read by every layer
    assert {p.param for p in names["wavenet_residual"].producers} == {
        "wavenet_start.weight", "wavenet_start.bias", "wavenet_residual.0.weight", "wavenet_residual.0.bias",
        "wavenet_residual.1.weight", "wavenet_residual.1.bias"}
    assert {p.param for p in names["wavenet_residual"].consumers} == {f"wavenet_dilated.{i}.weight" for i in range(3)}
    assert {p.param for p in names["wavenet_skip"].consumers} == {"trunk.weight"}
    # every parameter of the stack belongs to some group (nothing is left at its old width)
    claimed = {p.param for g in groups for p in g.slices}
    assert {key for key in model.state_dict() if key.startswith("wavenet")} <= claimed


def test_the_gru_model_keeps_its_groups():
    assert {g.name for g in percussion_groups(TINY_PERCUSSION)} == {
        "encoder", "input", "gru", "trunk", "residual", "hit_in", "hit_mid", "atoms"}


@pytest.mark.parametrize("group", [*WAVENET_GROUPS, "all"])
def test_removing_units_sounds_exactly_like_masking_them(group):
    model = _lively()
    trimmed_like_masked(model, REMOVAL if group == "all" else {group: REMOVAL[group]})


def test_a_gated_unit_loses_its_tanh_and_sigmoid_rows_and_its_readers_columns_together():
    model = _lively()
    trimmed = remove_units(model, {"wavenet_gate_1": [1]}, ADAPTER)
    assert trimmed.config.wavenet_gates == [4, 3, 4]
    kept_rows = [0, 2, 3, 4, 6, 7]  # unit 1 is rows 1 (tanh) and 4 + 1 (sigmoid)
    torch.testing.assert_close(trimmed.wavenet_dilated[1].weight, model.wavenet_dilated[1].weight[kept_rows])
    torch.testing.assert_close(trimmed.wavenet_dilated[1].bias, model.wavenet_dilated[1].bias[kept_rows])
    for reader in ("wavenet_residual", "wavenet_skip"):
        torch.testing.assert_close(getattr(trimmed, reader)[1].weight, getattr(model, reader)[1].weight[:, [0, 2, 3]])
    torch.testing.assert_close(trimmed.wavenet_dilated[0].weight, model.wavenet_dilated[0].weight)  # others whole


def test_a_residual_or_skip_channel_goes_from_every_layer_at_once():
    model = _lively()
    trimmed = remove_units(model, {"wavenet_residual": [2], "wavenet_skip": [5]}, ADAPTER)
    c = trimmed.config
    assert (c.wavenet_channels, c.wavenet_skip) == (3, 5)
    keep_r, keep_s = [0, 1, 3], [0, 1, 2, 3, 4]
    torch.testing.assert_close(trimmed.wavenet_start.weight, model.wavenet_start.weight[keep_r])
    for layer in range(3):
        torch.testing.assert_close(trimmed.wavenet_dilated[layer].weight, model.wavenet_dilated[layer].weight[:, keep_r])
        torch.testing.assert_close(trimmed.wavenet_skip[layer].bias, model.wavenet_skip[layer].bias[keep_s])
    for layer in range(2):
        torch.testing.assert_close(trimmed.wavenet_residual[layer].weight, model.wavenet_residual[layer].weight[keep_r])
    torch.testing.assert_close(trimmed.trunk.weight, model.trunk.weight[:, keep_s])


def _play(runtime, curves, z, block):
    voice = ModelVoice(runtime, curves, z=z)
    voice.trigger(1.0)
    out = np.zeros(len(curves) * runtime.hop + 3 * block, np.float32)
    for start in range(0, len(out) - block + 1, block):
        voice.render(out[start:start + block])
    return out[:len(curves) * runtime.hop]


@pytest.mark.parametrize("trim", [False, True])
def test_the_numpy_runtime_plays_the_wavenet_model_as_torch_at_any_block_size(tmp_path, trim):
    model = _lively()
    if trim:
        model = remove_units(model, REMOVAL, ADAPTER)
    folder, _ = export_percussion(tmp_path, model=model)
    card = read_card(folder)
    assert card["frame_network"] == "wavenet" and "gru_width" not in card["widths"]
    assert card["widths"]["wavenet_gates"] == model.config.wavenet_gates
    runtime = streaming_model(load_model(folder))
    z = runtime.encode(one_shot())
    curves = hit_curves(48)  # longer than the receptive field (8 frames)
    with torch.no_grad():
        expected = model.render(torch.from_numpy(curves)[None], torch.from_numpy(z)[None], noise_offset=5)[0].numpy()
    got = runtime.render(curves, runtime.initial_state(z, noise_offset=5))
    assert np.abs(expected).max() > 1e-3
    np.testing.assert_allclose(got, expected, atol=1e-4 * np.abs(expected).max())
    reference = runtime.render(curves, z=z)
    for block in (32, 64, 1024):
        np.testing.assert_allclose(_play(runtime, curves, z, block), reference, atol=1e-6)
    again = runtime.render(curves, z=z)  # a new hit starts from silence: its ring buffers are fresh
    np.testing.assert_array_equal(again, reference)


@pytest.mark.parametrize("criterion", ["mi", "activation", "gradient", "magnitude"])
def test_every_criterion_scores_every_wavenet_group(criterion):
    scores = scores_of_every_group(_lively(), criterion)
    if criterion != "mi":  # (a tiny random model's MI may be 0 for a whole group)
        for name in WAVENET_GROUPS:
            assert float(scores[name].max()) > 0.0, name


def test_a_lottery_round_trims_every_layer_and_records_the_widths(tmp_path):
    dense = _lively()
    early = {k: v.clone() for k, v in dense.state_dict().items()}
    task = _task(dense, sound_figures=False)
    settings = TrimSettings(criterion="magnitude", rate=0.5, rounds=1, retrain_steps=2, scope="local")
    records = run_lottery(dense, early, ADAPTER, task, settings, tmp_path / "run")
    assert records[1]["params"] < records[0]["params"]
    assert np.isfinite(records[1]["test_loss"]) and records[1]["realtime_factor"] > 0
    widths = json.loads((tmp_path / "run" / "round_001" / "round.json").read_text())["widths"]
    assert widths["frame_network"] == "wavenet"
    assert widths["wavenet_gates"] == [2, 2, 2] and widths["wavenet_channels"] == 2 and widths["wavenet_skip"] == 4
    config = load_config(tmp_path / "run" / "round_001" / "config.yaml")
    assert config.wavenet_gates == [2, 2, 2] and config.frame_network == "wavenet"


# -- indexed width fields and the config ----------------------------------------------------------------


@dataclass(frozen=True)
class _Widths:
    hidden: int = 3
    gates: list[int] | None = None
    pair: tuple[int, int] = (2, 5)


def test_indexed_width_fields_read_and_replace_one_element():
    widths = _Widths(gates=[4, 5, 6])
    assert width_of(widths, "gates[1]") == 5 and width_of(widths, "hidden") == 3 and width_of(widths, "pair[1]") == 5
    changed = with_widths(widths, {"gates[0]": 1, "gates[2]": 2, "pair[0]": 1, "hidden": 7})
    assert changed == _Widths(hidden=7, gates=[1, 5, 2], pair=(1, 5))
    assert widths.gates == [4, 5, 6]  # the original is untouched
    groups = [UnitGroup(f"g{i}", "linear", f"gates[{i}]", size, (UnitSlice(f"w{i}", 0),), (UnitSlice(f"v{i}", 1),))
              for i, size in enumerate(widths.gates)]
    shapes = {**{f"w{i}": (s, 2) for i, s in enumerate(widths.gates)}, **{f"v{i}": (2, s) for i, s in
                                                                         enumerate(widths.gates)}}
    validate_groups(groups, shapes, widths)
    assert smaller_widths(widths, groups, {"g0": [0, 1], "g2": [5]}).gates == [2, 5, 5]
    with pytest.raises(GroupDeclarationError, match=r"size 4 but gates\[0\] = 9"):
        validate_groups(groups, shapes, _Widths(gates=[9, 5, 6]))
    with pytest.raises(GroupDeclarationError, match=r"'gates\[2\]' is not a field"):
        validate_groups(groups, shapes, _Widths(gates=[4, 5]))


def test_the_wavenet_config_round_trips_and_old_configs_load_as_gru(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(config_yaml(TINY_WAVENET))
    assert load_config(path) == TINY_WAVENET
    old = "\n".join(line for line in config_yaml(TINY_PERCUSSION).splitlines()
                    if not line.startswith(("frame_network", "wavenet")) and not line.startswith("- 64"))
    path.write_text(old)
    assert load_config(path) == TINY_PERCUSSION and load_config(path).frame_network == "gru"
    path.write_text(config_yaml(TINY_WAVENET).replace("frame_network: wavenet", "frame_network: lstm"))
    with pytest.raises(ConfigError, match="expected one of gru, wavenet"):
        load_config(path)
    path.write_text(config_yaml(TINY_WAVENET.replace(wavenet_gates=[4, 0])))
    with pytest.raises(ConfigError, match="item 2: expected a whole number of at least 1"):
        load_config(path)
