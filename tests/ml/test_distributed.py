"""torchrun: two CPU processes train as one process does with the same global batch, and only
the main process writes the run folder and prints."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from neurorack.cli import main
from tests.cli.test_ml import write_kit

ROOT = Path(__file__).resolve().parents[2]
RUN_FILES = {"config.yaml", "data.json", "checkpoint.pt", "rewind.safetensors", "weights.safetensors",
             "history.json", "losses.png"}
LEARNING_RATE = 2e-3


def options(kit: Path, cache: Path, family: str) -> list[str]:
    """``train``, three steps of a tiny model, global batch 4; rewind step 0 keeps the initial weights."""
    return ["train", str(kit), "--cache", str(cache), "--family", family, "--tiny", "--steps", "3", "--batch", "4",
            "--crop-frames", "24", "--checkpoint-every", "2", "--rewind-step", "0", "--lr", str(LEARNING_RATE),
            "--threads", "1", "--device", "cpu"]


def torchrun(args: list[str]) -> subprocess.CompletedProcess:
    """``torchrun --standalone --nproc_per_node=2 -m neurorack ARGS`` with this interpreter."""
    env = {key: value for key, value in os.environ.items() if key not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
    env.update(OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])))
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m",
               "neurorack", *args]
    done = subprocess.run(command, check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def assert_same_run(one: Path, two: Path, atol: float) -> None:
    """Same losses (float rounding apart), and weights whose difference is a sliver of what
    training changed, and at most ``atol`` anywhere."""
    h1, h2 = (json.loads((run / "history.json").read_text()) for run in (one, two))
    assert h1["step"] == h2["step"] and h1["valid_step"] == h2["valid_step"]
    assert np.allclose(h1["train"], h2["train"], rtol=1e-5) and np.allclose(h1["valid"], h2["valid"], rtol=1e-5)
    start, w1, w2 = (load_file(path) for path in (one / "rewind.safetensors", one / "weights.safetensors",
                                                  two / "weights.safetensors"))
    assert set(w1) == set(w2)
    assert all(np.array_equal(start[key], value) for key, value in load_file(two / "rewind.safetensors").items())
    difference = np.sqrt(sum(np.sum((w1[key] - w2[key]) ** 2) for key in w1))
    change = np.sqrt(sum(np.sum((w1[key] - start[key]) ** 2) for key in w1))
    assert difference < 0.02 * change, (difference, change)
    for key in w1:
        assert np.allclose(w1[key], w2[key], rtol=1e-5, atol=atol), (key, np.abs(w1[key] - w2[key]).max())


def test_two_processes_train_as_one_with_the_same_global_batch(tmp_path, capsys):
    kit, cache = write_kit(tmp_path / "Kit"), tmp_path / "cache.npz"
    args = options(kit, cache, "percussion")
    done = torchrun([*args, "--out", str(tmp_path / "two")])  # also builds the cache, on the main process
    summary = json.loads(done.stdout)  # one summary: the main process alone prints
    assert summary["steps"] == 3 and summary["processes"] == 2 and summary["device"] == "cpu"
    assert done.stderr.count("cached in") == 1
    assert main([*args, "--out", str(tmp_path / "one")]) == 0
    assert json.loads(capsys.readouterr().out)["processes"] == 1
    assert {p.name for p in (tmp_path / "two").iterdir()} == {p.name for p in (tmp_path / "one").iterdir()} == RUN_FILES
    info = json.loads((tmp_path / "two" / "data.json").read_text())
    assert info["options"]["processes"] == 2 and info["options"]["batch_per_process"] == 2
    # Adam's first steps move a weight whose gradient is float noise (some transient atoms) by up to
    # the learning rate either way, so here the weights agree in norm more closely than everywhere
    assert_same_run(tmp_path / "one", tmp_path / "two", atol=LEARNING_RATE / 4)


def test_a_run_stopped_by_the_time_limit_resumes_under_torchrun(tmp_path, capsys):
    kit, cache = write_kit(tmp_path / "Kit"), tmp_path / "cache.npz"
    args = options(kit, cache, "descriptor")
    stopped = torchrun([*args, "--out", str(tmp_path / "two"), "--max-minutes", "0"])
    assert json.loads(stopped.stdout)["steps"] == 0  # both processes stopped before the first step
    assert main([*args, "--out", str(tmp_path / "one")]) == 0  # reads the cache as torchrun's processes did
    resumed = torchrun([*args, "--out", str(tmp_path / "two"), "--resume"])
    assert json.loads(resumed.stdout)["steps_this_session"] == 3
    assert {p.name for p in (tmp_path / "two").iterdir()} == RUN_FILES
    info = json.loads((tmp_path / "two" / "data.json").read_text())
    assert [entry["processes"] for entry in info["resumed_with"]] == [2]
    assert_same_run(tmp_path / "one", tmp_path / "two", atol=1e-5)


def test_a_batch_that_does_not_split_over_the_processes_is_one_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")  # as torchrun --nproc_per_node=2 sets it; the check comes first
    monkeypatch.setenv("RANK", "0")
    args = options(tmp_path / "Kit", tmp_path / "cache.npz", "percussion")
    assert main([*args, "--batch", "3", "--out", str(tmp_path / "run")]) == 2
    error = capsys.readouterr().err
    assert "--batch 3 does not split evenly over 2 processes" in error and "a multiple of 2" in error
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("world, rank, rows", [(1, 0, slice(0, 4)), (2, 0, slice(0, 2)), (2, 1, slice(2, 4))])
def test_each_process_takes_its_own_contiguous_rows(monkeypatch, world, rank, rows):
    from neurorack.ml import distributed

    monkeypatch.setenv("WORLD_SIZE", str(world))
    monkeypatch.setenv("RANK", str(rank))
    assert distributed.rows(4) == rows and distributed.is_main() == (rank == 0)
