import json

import pytest
import torch
import yaml
from safetensors.torch import load_file

from neurorack.cli import main
from neurorack.errors import NeurorackError
from neurorack.ml.dataset import save_cache
from neurorack.ml.trim.lottery import TrimSettings, rewound_model, run_lottery
from neurorack.ml.trim.model_adapter import DescriptorTask
from neurorack.ml.trim.retrain import (
    RetrainSettings,
    default_steps,
    read_source,
    retrain_round,
)
from neurorack.ml.trim.surgery import SelfDescribingAdapter
from neurorack.runtime.loader import load_model
from tests.cli.test_trim import _parent_run
from tests.ml.trim.test_card import TINY_TRIM
from tests.ml.trim.test_lottery import _parent
from tests.ml.trim.test_model_adapter import _one_shots
from tests.ml.trim.tiny_models import TinySynth
from tests.ml.trim.tiny_task import TeacherTask

ADAPTER = SelfDescribingAdapter()


class RecordingTask(TeacherTask):
    """Keeps the weights each retraining started from."""

    def __init__(self):
        super().__init__()
        self.starts = []

    def retrain(self, model, steps, seed, progress, checkpoint=None, patience=0, deadline=None):
        self.starts.append({k: v.clone() for k, v in model.state_dict().items()})
        return super().retrain(model, steps, seed, progress, checkpoint)


@pytest.fixture()
def lottery(tmp_path):
    """A two-round lottery of the tiny synth, 10 retraining steps per round."""
    task = RecordingTask()
    dense, early = _parent(task)
    run_lottery(dense, early, ADAPTER, task, TrimSettings(criterion="magnitude", rounds=2, retrain_steps=10),
                tmp_path / "run")
    return task, dense, early, tmp_path / "run"


def _weights(folder):
    return load_file(str(folder / "weights.safetensors"))


def test_the_ticket_is_rewound_to_the_early_snapshot_then_trained_the_steps_asked(lottery, tmp_path):
    task, dense, early, run = lottery
    source = read_source(run / "round_002")
    steps_before = task.retrained_steps
    records = retrain_round(source, dense, early, ADAPTER, task, RetrainSettings(steps=40), tmp_path / "long")
    assert task.retrained_steps - steps_before == 40

    kept = source.document["kept"]
    start = task.starts[-1]
    expected = rewound_model(dense, early, ADAPTER, dense.unit_groups(), kept).state_dict()
    assert set(start) == set(expected)
    for name in expected:  # the early snapshot's slices, not the lottery round's trained weights
        torch.testing.assert_close(start[name], expected[name], rtol=0, atol=0)
    lottery_round, trained = _weights(run / "round_002"), _weights(tmp_path / "long" / "round_002")
    assert any(not torch.equal(start[n], lottery_round[n]) for n in start)
    assert all(trained[n].shape == start[n].shape for n in start)
    assert any(not torch.equal(start[n], trained[n]) for n in start)  # training moved it

    record = records[-1]
    started_from = TinySynth(dense.widths.__class__(**source.document["widths"]))
    started_from.load_state_dict(start)
    assert record["test_loss"] < task.test_loss(started_from)  # and made it better
    assert record["round"] == 2 and record["rewind"] == "rewind"
    assert record["retrain_steps"] == 40 and record["source_retrain_steps"] == 10
    assert record["retrained_from"] == "run/round_002"
    assert record["source_error_multiplier"] == source.document["record"]["error_multiplier"]
    assert record["params"] == source.records[2]["params"]
    assert record["bytes"] == (tmp_path / "long" / "round_002" / "weights.safetensors").stat().st_size
    assert record["error_multiplier"] == pytest.approx(record["test_loss"] / source.records[0]["test_loss"])
    assert record["macs_per_second"] > 0 and record["realtime_factor"] > 0
    assert records[:2] == source.records[:2]  # the lineage: the lottery's rounds 0 and 1, then the long ticket
    for index in (0, 1):
        assert (tmp_path / "long" / f"round_{index:03d}" / "round.json").read_bytes() == \
            (run / f"round_{index:03d}" / "round.json").read_bytes()
    lottery = tmp_path / "long" / "lottery"  # the whole lottery run, as it was
    assert sorted(p.name for p in lottery.iterdir()) == ["records.csv", "records.json", "round_000.json",
                                                         "round_001.json", "round_002.json", "settings.json"]
    assert (lottery / "records.json").read_bytes() == (run / "records.json").read_bytes()
    assert (lottery / "round_002.json").read_bytes() == (run / "round_002" / "round.json").read_bytes()
    saved = json.loads((tmp_path / "long" / "round_002" / "round.json").read_text())
    assert saved["record"] == record and saved["kept"] == kept
    settings = json.loads((tmp_path / "long" / "settings.json").read_text())
    assert settings["retrain"] == {"source": "run/round_002", "round": 2, "steps": 40, "rewind": "rewind", "seed": 0,
                                  "distil": 0.0, "patience": 0}
    assert settings["settings"] == json.loads((run / "settings.json").read_text())["settings"]


def test_the_reinit_control_starts_elsewhere_with_the_same_widths(lottery, tmp_path):
    task, dense, early, run = lottery
    source = read_source(run / "round_002")
    rewind = retrain_round(source, dense, early, ADAPTER, task, RetrainSettings(steps=5), tmp_path / "rewind")
    rewound_start = task.starts[-1]
    reinit = retrain_round(source, dense, early, ADAPTER, task, RetrainSettings(steps=5, rewind="reinit"),
                           tmp_path / "reinit")
    assert reinit[-1]["rewind"] == "reinit" and reinit[-1]["params"] == rewind[-1]["params"]
    assert any(not torch.equal(rewound_start[n], task.starts[-1][n]) for n in rewound_start)


def test_a_finished_retraining_is_not_redone_and_other_options_are_refused(lottery, tmp_path):
    task, dense, early, run = lottery
    source = read_source(run / "round_001")
    first = retrain_round(source, dense, early, ADAPTER, task, RetrainSettings(steps=5), tmp_path / "long")
    steps_before = task.retrained_steps
    assert retrain_round(source, dense, early, ADAPTER, task, RetrainSettings(steps=5), tmp_path / "long") == first
    assert task.retrained_steps == steps_before
    with pytest.raises(NeurorackError, match="other settings"):
        retrain_round(source, dense, early, ADAPTER, task, RetrainSettings(steps=6), tmp_path / "long")


def test_a_parent_other_than_the_source_runs_is_refused(lottery, tmp_path):
    task, dense, early, run = lottery
    source = read_source(run / "round_002")
    with pytest.raises(NeurorackError, match="source run's folder"):
        retrain_round(source, dense, early, ADAPTER, task, RetrainSettings(steps=1), run)
    other_data = TeacherTask(seed=1)  # another test set: the dense test loss differs
    with pytest.raises(NeurorackError, match="test loss"):
        retrain_round(source, dense, early, ADAPTER, other_data, RetrainSettings(steps=1), tmp_path / "a")
    wider = TinySynth(dense.widths.__class__(embed=11, hidden=16, gated=12, stream=8))
    with pytest.raises(NeurorackError, match="widths"):
        retrain_round(source, wider, wider.state_dict(), ADAPTER, task, RetrainSettings(steps=1), tmp_path / "b")
    with pytest.raises(NeurorackError, match="round 0 is the dense parent"):
        read_source(run / "round_000")
    with pytest.raises(NeurorackError, match="round folder"):
        read_source(run)


def test_default_steps_are_the_parents_after_its_rewind_point():
    assert default_steps({"steps": 2500, "rewind_step": 100}) == 2400
    assert default_steps({"steps": 2500}) is None
    assert default_steps(None) is None


# The command line, on the tiny DescriptorModel the other trimming tests use.

RETRAIN = ["--device", "cpu", "--batch", "2", "--crop-frames", "16", "--test-crops", "2", "--bench-seconds", "0.05",
           "--bench-paths", "numpy"]


@pytest.fixture(scope="module")
def trimmed(tmp_path_factory):
    root = tmp_path_factory.mktemp("retrain")
    assert main(["trim", str(_parent_run(root / "dense")), *TINY_TRIM, "--out", str(root / "trim"), "--json"]) == 0
    return root


def test_retrain_command_writes_a_round_that_exports_and_cards(trimmed, tmp_path, capsys):
    capsys.readouterr()
    long = tmp_path / "long"
    assert main(["trim", "retrain", str(trimmed / "trim" / "round_002"), "--steps", "3", *RETRAIN, "--out",
                 str(long), "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["retrain_steps"] == 3 and record["round"] == 2
    source = json.loads((trimmed / "trim" / "round_002" / "round.json").read_text())["record"]
    assert record["params"] == source["params"]
    assert (long / "checkpoint.pt").is_file()
    assert (long / "losses.png").read_bytes()[:4] == b"\x89PNG"  # the retraining's loss curve

    model = tmp_path / "model"
    assert main(["export", str(long / "round_002"), "--out", str(model)]) == 0
    assert load_model(model).parameters == record["params"]
    assert main(["bench", "model", str(model), "--seconds", "0.05", "--paths", "numpy", "--write", "--json"]) == 0
    assert main(["trim", "card", str(long / "round_002"), "--out", str(model), "--json"]) == 0
    card = yaml.safe_load((model / "model.yaml").read_text())
    assert card["trimming"]["retrain"]["steps"] == 3
    assert card["trimming"]["retrain"]["source"] == "trim/round_002"
    assert card["trimming"]["record"]["retrain_steps"] == 3
    assert card["metrics"]["error_multiplier"] == pytest.approx(record["error_multiplier"], abs=1e-4)
    assert [r["round"] for r in card["trimming"]["rounds"]] == [0, 1, 2]
    assert sorted(p.name for p in (model / "trimming").glob("round_*.json")) == \
        ["round_000.json", "round_001.json", "round_002.json"]
    lottery = json.loads((model / "trimming" / "lottery" / "records.json").read_text())
    assert lottery == json.loads((trimmed / "trim" / "records.json").read_text())
    assert load_model(model).parameters == record["params"]


def test_retrain_steps_batch_and_crops_default_to_the_parents(trimmed, tmp_path, capsys):
    info_path = trimmed / "dense" / "data.json"
    info = json.loads(info_path.read_text())
    assert main(["trim", "retrain", str(trimmed / "trim" / "round_001"), *RETRAIN, "--out", str(tmp_path / "x")]) == 2
    assert "give --steps N" in capsys.readouterr().err
    info["options"] = {"steps": 5, "rewind_step": 2, "batch": 3, "crop_frames": 16}
    info_path.write_text(json.dumps(info))
    try:
        assert main(["trim", "retrain", str(trimmed / "trim" / "round_001"), "--device", "cpu", "--test-crops", "2",
                     "--bench-seconds", "0.05", "--bench-paths", "numpy", "--out", str(tmp_path / "long"),
                     "--json"]) == 0
    finally:
        del info["options"]
        info_path.write_text(json.dumps(info))
    assert json.loads(capsys.readouterr().out)["retrain_steps"] == 3
    retrain = json.loads((tmp_path / "long" / "settings.json").read_text())["retrain"]
    assert retrain == {"source": "trim/round_001", "round": 1, "steps": 3, "rewind": "rewind", "seed": 0,
                       "distil": 0.0, "patience": 0, "parent_steps": 5, "rewind_step": 2, "batch": 3, "crop_frames": 16}


def test_another_test_set_is_refused(trimmed, tmp_path, capsys):
    save_cache(_one_shots(count=9, seconds=0.5), tmp_path / "other.npz")
    assert main(["trim", "retrain", str(trimmed / "trim" / "round_001"), "--steps", "1", *RETRAIN, "--data",
                 str(tmp_path / "other.npz"), "--out", str(tmp_path / "x")]) == 2
    assert "use the data cache and --test-crops of that run" in capsys.readouterr().err


def test_an_interrupted_retraining_continues_to_the_same_weights(trimmed, tmp_path, monkeypatch):
    args = ["trim", "retrain", str(trimmed / "trim" / "round_002"), "--steps", "4", "--checkpoint-every", "2",
            *RETRAIN, "--json"]
    assert main([*args, "--out", str(tmp_path / "straight")]) == 0
    batch, calls = DescriptorTask._batch, []

    def interrupted(self, rng):
        calls.append(1)
        if len(calls) == 3:  # Ctrl-C during step 3, after the step-2 checkpoint
            raise KeyboardInterrupt
        return batch(self, rng)

    monkeypatch.setattr(DescriptorTask, "_batch", interrupted)
    assert main([*args, "--out", str(tmp_path / "split")]) == 130
    assert not (tmp_path / "split" / "round_002" / "weights.safetensors").exists()
    monkeypatch.setattr(DescriptorTask, "_batch", batch)
    assert main([*args, "--out", str(tmp_path / "split")]) == 0
    straight, resumed = _weights(tmp_path / "straight" / "round_002"), _weights(tmp_path / "split" / "round_002")
    for name in straight:
        torch.testing.assert_close(resumed[name], straight[name], rtol=0, atol=1e-6)
    assert any(not torch.equal(straight[n], _weights(trimmed / "trim" / "round_002")[n]) for n in straight)


def test_a_retraining_stopped_by_its_time_limit_is_written_then_continues_to_the_same_weights(trimmed, tmp_path,
                                                                                                  capsys):
    args = ["trim", "retrain", str(trimmed / "trim" / "round_002"), "--steps", "4", "--checkpoint-every", "2",
            *RETRAIN, "--json"]
    assert main([*args, "--out", str(tmp_path / "straight")]) == 0
    capsys.readouterr()
    split = tmp_path / "split"
    assert main([*args, "--max-minutes", "1e-9", "--out", str(split)]) == 0  # stops after its first step
    cut = json.loads(capsys.readouterr().out)
    assert cut["time_limited"] is True and cut["retrain_steps"] == 1
    assert main(["export", str(split / "round_002"), "--out", str(tmp_path / "model")]) == 0  # usable as it stands
    assert load_model(tmp_path / "model").parameters == cut["params"]
    capsys.readouterr()
    assert main([*args, "--out", str(split)]) == 0  # the same command continues from the step-1 checkpoint
    done = json.loads(capsys.readouterr().out)
    assert "time_limited" not in done and done["retrain_steps"] == 4
    straight, resumed = _weights(tmp_path / "straight" / "round_002"), _weights(split / "round_002")
    for name in straight:
        torch.testing.assert_close(resumed[name], straight[name], rtol=0, atol=1e-6)
    assert main([*args, "--out", str(split)]) == 0  # finished: not redone
    assert json.loads(capsys.readouterr().out)["retrain_steps"] == 4


def test_a_round_saved_before_a_config_field_existed_still_retrains(lottery, tmp_path):
    task, dense, early, run = lottery
    dense_round = run / "round_000" / "round.json"
    document = json.loads(dense_round.read_text())
    del document["widths"]["stream"]  # as if the field came later: it reads as its default (10)
    dense_round.write_text(json.dumps(document))
    records = retrain_round(read_source(run / "round_002"), dense, early, ADAPTER, task, RetrainSettings(steps=2),
                            tmp_path / "after")
    assert records[-1]["round"] == 2
    document["widths"]["bottleneck"] = 4  # a field this config does not have
    dense_round.write_text(json.dumps(document))
    with pytest.raises(NeurorackError, match="widths"):
        retrain_round(read_source(run / "round_002"), dense, early, ADAPTER, task, RetrainSettings(steps=2),
                      tmp_path / "unknown")


def test_learning_rate_rewinding_starts_from_the_parents_trained_slices(lottery, tmp_path):
    task, dense, early, run = lottery
    source = read_source(run / "round_002")
    records = retrain_round(source, dense, early, ADAPTER, task, RetrainSettings(steps=3, rewind="lr-rewind"),
                            tmp_path / "lrr")
    start = task.starts[-1]
    kept = source.document["kept"]
    trained_slices = rewound_model(dense, dense.state_dict(), ADAPTER, dense.unit_groups(), kept).state_dict()
    early_slices = rewound_model(dense, early, ADAPTER, dense.unit_groups(), kept).state_dict()
    for name in trained_slices:
        torch.testing.assert_close(start[name], trained_slices[name], rtol=0, atol=0)
    assert any(not torch.equal(start[n], early_slices[n]) for n in start)
    assert records[-1]["rewind"] == "lr-rewind"


def test_early_stopping_keeps_the_weights_of_the_best_validation_loss(trimmed, tmp_path, monkeypatch, capsys):
    measured = DescriptorTask._loss_on
    script = iter([3.0, 2.0, 2.5, 2.7, 2.6, 2.4])  # the validation losses of steps 1, 2, 3, ...

    def scripted(self, model, batch):
        return measured(self, model, batch) if batch is self.test_batch else next(script)

    monkeypatch.setattr(DescriptorTask, "_loss_on", scripted)
    capsys.readouterr()
    out = tmp_path / "early"
    assert main(["trim", "retrain", str(trimmed / "trim" / "round_002"), "--steps", "50", "--checkpoint-every", "1",
                 "--patience", "2", *RETRAIN, "--out", str(out), "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert (record["retrain_steps"], record["best_step"], record["best_valid"]) == (4, 2, 2.0)
    kept, best = _weights(out / "round_002"), load_file(str(out / "best.safetensors"))
    last = torch.load(out / "checkpoint.pt", weights_only=True)["model"]
    for name in kept:
        torch.testing.assert_close(kept[name], best[name], rtol=0, atol=0)
    assert any(not torch.equal(kept[n], last[n]) for n in kept)  # steps 3 and 4 moved on; their weights are not kept


def test_checkpoints_since_best_counts_from_the_lowest_loss():
    from neurorack.ml.trim.model_adapter import checkpoints_since_best

    assert checkpoints_since_best([]) == 0
    assert checkpoints_since_best([3.0, 2.0]) == 0
    assert checkpoints_since_best([3.0, 2.0, 2.5, 2.1]) == 2
