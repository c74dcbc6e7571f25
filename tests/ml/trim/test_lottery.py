import itertools
import json
import shutil

import pytest
import torch

from neurorack.errors import NeurorackError
from neurorack.ml.trim.lottery import TrimSettings, rewound_model, run_lottery
from neurorack.ml.trim.surgery import SelfDescribingAdapter
from tests.ml.trim.tiny_models import TinySynth
from tests.ml.trim.tiny_task import TeacherTask

ADAPTER = SelfDescribingAdapter()


def _parent(task, steps=15):
    torch.manual_seed(3)
    dense = TinySynth()
    early = {k: v.clone() for k, v in dense.state_dict().items()}
    task.retrain(dense, steps, 0, None)
    return dense, early


def _kept(run, round_index):
    return json.loads((run / f"round_{round_index:03d}" / "round.json").read_text())["kept"]


def test_whole_pipeline_shrinks_every_round_and_keeps_minimums(tmp_path):
    task = TeacherTask()
    dense, early = _parent(task)
    settings = TrimSettings(criterion="mi", scope="global", rate=0.3, rounds=4, retrain_steps=15, max_samples=300)
    records = run_lottery(dense, early, ADAPTER, task, settings, tmp_path / "run")
    assert [r["round"] for r in records] == [0, 1, 2, 3, 4]
    for before, after in itertools.pairwise(records):
        assert after["params"] < before["params"]
        assert after["bytes"] < before["bytes"]
        assert after["macs_per_second"] < before["macs_per_second"]
    assert records[0]["error_multiplier"] == 1.0
    assert records[-1]["params_removed_pct"] > 40
    assert records[-1]["error_multiplier"] == pytest.approx(records[-1]["test_loss"] / records[0]["test_loss"])
    minimums = {g.name: g.minimum for g in dense.unit_groups()}
    for name, ids in _kept(tmp_path / "run", 4).items():
        assert len(ids) >= minimums[name]
    assert (tmp_path / "run" / "records.csv").read_text().startswith("round,criterion,scope")


def test_rate_at_minimum_everywhere_stops_with_a_clear_error(tmp_path):
    task = TeacherTask()
    dense, early = _parent(task, steps=0)
    settings = TrimSettings(criterion="magnitude", scope="local", rate=0.9, rounds=8, retrain_steps=0)
    with pytest.raises(NeurorackError, match="at its minimum"):
        run_lottery(dense, early, ADAPTER, task, settings, tmp_path / "run")
    assert not (tmp_path / "run" / "round_002").exists()
    for name, ids in _kept(tmp_path / "run", 1).items():  # local 0.9 reaches every minimum at once
        assert len(ids) == next(g.minimum for g in dense.unit_groups() if g.name == name)


def test_kept_weights_equal_the_rewound_slice_of_the_early_snapshot():
    task = TeacherTask()
    dense, early = _parent(task)
    kept = {"embed": [1, 2, 5, 9], "hidden": [0, 3, 4, 8, 15], "gated": list(range(0, 12, 2)), "stream": [2, 3, 7]}
    model = rewound_model(dense, early, ADAPTER, dense.unit_groups(), kept)
    hidden = torch.tensor(kept["hidden"])
    embed = torch.tensor(kept["embed"])
    rows = torch.cat([hidden + 16 * block for block in range(3)])
    torch.testing.assert_close(model.gru.weight_ih_l0, early["gru.weight_ih_l0"][rows][:, embed], rtol=0, atol=0)
    torch.testing.assert_close(model.gru.weight_hh_l0, early["gru.weight_hh_l0"][rows][:, hidden], rtol=0, atol=0)
    gated = torch.tensor(kept["gated"])
    torch.testing.assert_close(model.gate.bias, early["gate.bias"][torch.cat([gated, gated + 12])], rtol=0, atol=0)
    stream = torch.tensor(kept["stream"])
    torch.testing.assert_close(model.res.weight, early["res.weight"][stream][:, stream], rtol=0, atol=0)
    assert not torch.equal(dense.gru.weight_hh_l0, early["gru.weight_hh_l0"])  # training moved the parent


@pytest.mark.parametrize("criterion", ["magnitude", "activation", "gradient", "mi"])
def test_same_seed_keeps_the_same_units(tmp_path, criterion):
    task = TeacherTask()
    dense, early = _parent(task)
    settings = TrimSettings(criterion=criterion, rate=0.3, rounds=1, retrain_steps=2, max_samples=200, seed=5)
    run_lottery(dense, early, ADAPTER, task, settings, tmp_path / "a")
    run_lottery(dense, early, ADAPTER, task, settings, tmp_path / "b")
    assert _kept(tmp_path / "a", 1) == _kept(tmp_path / "b", 1)
    assert _kept(tmp_path / "a", 1) != _kept(tmp_path / "a", 0)


def test_reinit_control_starts_from_fresh_weights_with_the_same_widths(tmp_path):
    task = TeacherTask()
    dense, early = _parent(task)
    rewind = run_lottery(dense, early, ADAPTER, task, TrimSettings(rounds=1, retrain_steps=0), tmp_path / "rewind")
    reinit = run_lottery(dense, early, ADAPTER, task, TrimSettings(rounds=1, retrain_steps=0, rewind="reinit"),
                         tmp_path / "reinit")
    assert rewind[1]["params"] == reinit[1]["params"]
    assert rewind[1]["test_loss"] != reinit[1]["test_loss"]


def test_an_interrupted_run_resumes_from_its_last_round(tmp_path):
    task = TeacherTask()
    dense, early = _parent(task)
    settings = TrimSettings(criterion="magnitude", rounds=3, retrain_steps=5)
    first = run_lottery(dense, early, ADAPTER, task, settings, tmp_path / "run")
    shutil.rmtree(tmp_path / "run" / "round_003")
    steps_before = task.retrained_steps
    again = run_lottery(dense, early, ADAPTER, task, settings, tmp_path / "run")
    assert task.retrained_steps - steps_before == 5  # only round 3 retrained
    assert [r["params"] for r in again] == [r["params"] for r in first]
    with pytest.raises(NeurorackError, match="other settings"):
        run_lottery(dense, early, ADAPTER, task, TrimSettings(rounds=4), tmp_path / "run")


def test_floors_keep_a_group_wide_while_the_others_shrink(tmp_path):
    task = TeacherTask()
    dense, early = _parent(task, steps=0)
    settings = TrimSettings(criterion="magnitude", scope="global", rate=0.5, rounds=3, retrain_steps=0,
                            floors={"hidden": 12})
    run_lottery(dense, early, ADAPTER, task, settings, tmp_path / "run")
    kept = _kept(tmp_path / "run", 3)
    assert len(kept["hidden"]) >= 12
    assert len(kept["gated"]) < 12 and len(kept["embed"]) < 16  # the others paid for it
    unfloored = TrimSettings(criterion="magnitude", scope="global", rate=0.5, rounds=3, retrain_steps=0)
    run_lottery(dense, early, ADAPTER, task, unfloored, tmp_path / "plain")
    assert len(_kept(tmp_path / "plain", 3)["hidden"]) < 12  # without the floor it would have gone lower


def test_a_floor_on_an_unknown_group_names_the_groups_there_are(tmp_path):
    task = TeacherTask()
    dense, early = _parent(task, steps=0)
    settings = TrimSettings(rounds=1, retrain_steps=0, floors={"gru": 4})
    with pytest.raises(NeurorackError, match="unknown unit group.*gru.*embed, hidden, gated, stream"):
        run_lottery(dense, early, ADAPTER, task, settings, tmp_path / "run")
    with pytest.raises(NeurorackError, match="floor of group 'hidden'"):
        TrimSettings(floors={"hidden": 0})
