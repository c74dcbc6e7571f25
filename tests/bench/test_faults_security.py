"""Fault family "security": pickled code, the unit's privileges, where the daemon writes."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest

from neurorack_bench import faults_security
from neurorack_bench.faults_security import (
    CHECKPOINT_CASES,
    MODEL_FILE_CASES,
    SAVED_PATHS,
    checkpoint_case,
    judge_start,
    model_file_case,
    parse_unit,
    pickle_case,
    saved_model_case,
    unit_case,
    unit_path,
    writes_case,
    written_paths,
)


def test_pickled_models_are_refused_and_no_package_loader_unpickles(tmp_path):
    ok, why = pickle_case(tmp_path, random.Random(0))
    assert ok, why


def test_the_scan_finds_a_loader_that_could_unpickle(tmp_path, monkeypatch):
    package = tmp_path / "neurorack"
    (package / "ml").mkdir(parents=True)
    (package / "ml" / "bad.py").write_text("import torch\n\nstate = torch.load(path, map_location='cpu')\n")
    monkeypatch.setattr(faults_security, "source_dirs", lambda: (package, tmp_path / "neurorack_bench"))
    ok, why = pickle_case(tmp_path / "work", random.Random(0))
    assert (ok, why) == (False, "neurorack/ml/bad.py:3 can unpickle: torch.load(path, map_location='cpu')")


def test_the_shipped_unit_runs_unprivileged():
    ok, why = unit_case(unit_path())
    assert ok, why


def test_a_unit_running_as_root_or_with_capabilities_is_lost(tmp_path):
    good = unit_path().read_text()
    root = tmp_path / "root.service"
    root.write_text(good.replace("User=neurorack", "User=root"))
    assert unit_case(root) == (False, "User=root; expected an unprivileged user")
    caps = tmp_path / "caps.service"
    caps.write_text(good.replace("CapabilityBoundingSet=\n", "CapabilityBoundingSet=CAP_SYS_ADMIN\n"))
    assert unit_case(caps) == (False, "CapabilityBoundingSet=CAP_SYS_ADMIN; expected CapabilityBoundingSet=")
    assert parse_unit("[Service]\nA=1\nA=2\n# B=3\n") == {"A": ["1", "2"]}


def test_written_paths_reads_successful_writes_from_strace_lines():
    lines = [
        '12 openat(AT_FDCWD, "/a/w", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0666) = 3',
        '12 openat(AT_FDCWD, "/a/r", O_RDONLY|O_CLOEXEC) = 4',
        '12 openat(AT_FDCWD, "/a/failed", O_RDWR|O_CREAT, 0600) = -1 EACCES (Permission denied)',
        '12 rename("/s/.state.yaml.1.tmp", "/s/state.yaml") = 0',
        '12 mkdir("/s/sub", 0777) = 0',
        '12 unlinkat(AT_FDCWD, "/s/old", 0) = 0',
    ]
    assert written_paths("\n".join(lines)) == {"/a/w", "/s/state.yaml", "/s/sub", "/s/old"}


def test_mock_run_writes_only_its_state_dir_and_wav(tmp_path):
    ok, why, shared = writes_case(tmp_path)
    assert ok, why
    assert all(path.startswith("/dev/shm/") for path in shared)


@pytest.mark.parametrize("case", MODEL_FILE_CASES)
def test_a_model_folder_naming_a_fifo_a_device_or_an_outside_file_cannot_hang_exhaust_or_leak(tmp_path, case):
    ok, why = model_file_case(tmp_path, case)
    assert ok, why


def test_the_start_judge_catches_hangs_leaks_missing_reports_and_silent_loads():
    named = Path("/m/victim/weights.safetensors")

    def started(stdout, stderr, code=0):
        return subprocess.CompletedProcess([], code, stdout, stderr)

    fallback = '{"sounds": null, "warnings": ["model failed: victim"]}\n'
    good = f"WARNING x: cannot play victim: {named}: is not a regular file: a FIFO\n"
    assert judge_start(started(fallback, good), named, "a FIFO", "S3CRET")[0]
    assert judge_start(None, named, "a FIFO", "S3CRET")[1].endswith("(hang)")
    assert judge_start(started(fallback, good + "got 'S3CRET'\n"), named, "a FIFO", "S3CRET") == (
        False, "the content of a file outside the model folder reached the log")
    missing = f"WARNING x: {named.parent}: weights.safetensors is missing\n".replace(f"{named.parent}:", f"{named}:")
    assert "does not say 'a FIFO'" in judge_start(started(fallback, missing), named, "a FIFO", "S3CRET")[1]
    played = '{"sounds": ["Kick", "Drone"], "warnings": []}\n'
    assert "as if nothing were wrong" in judge_start(started(played, ""), named, "a FIFO", "S3CRET")[1]
    assert "start-up failed: exit 1" in judge_start(started("", "Traceback ...\nMemoryError\n", 1), named,
                                                    "device", "S3CRET")[1]


@pytest.mark.parametrize("case", SAVED_PATHS)
def test_a_saved_model_that_is_a_path_never_loads_the_decoy_and_the_default_plays(tmp_path, case):
    ok, why = saved_model_case(tmp_path, case)
    assert ok, why
    assert "is not a model name" in why


def test_a_module_that_follows_a_saved_path_is_caught(tmp_path, monkeypatch):
    """The check can fail: with every saved name taken as a model name, the decoy is loaded."""
    monkeypatch.setattr(faults_security, "START_CODE",
                        "import neurorack.app.module as m; m.is_model_name = bool; " + faults_security.START_CODE)
    ok, why = saved_model_case(tmp_path, "saved_model_relative")
    assert not ok and why.startswith(f"opened {tmp_path / 'decoy'}/")


@pytest.mark.parametrize("case", CHECKPOINT_CASES)
def test_resuming_from_a_hostile_or_damaged_checkpoint_is_one_clear_error_and_runs_no_code(tmp_path, case):
    ok, why = checkpoint_case(tmp_path, case, random.Random(0))
    assert ok, why
    assert why.endswith("/run/checkpoint.pt is not a checkpoint neurorack wrote (or it is damaged): start a new run "
                        "with another --out")
    assert not (tmp_path / "marker").exists()


@pytest.mark.parametrize(("weights_only", "lost"), [
    (False, "code in the checkpoint's pickle ran: the marker file exists"),
    (True, "train --resume: a traceback or torch's advice reached the user"),
])
def test_a_checkpoint_loader_that_unpickles_or_lets_torch_speak_is_caught(tmp_path, monkeypatch, weights_only, lost):
    """The check can fail: a loader that unpickles runs the payload; the loader before the fix
    (weights_only=True, torch's error left as it is) shows a traceback and torch's advice."""
    loader = (f"import torch, neurorack.ml.train as t; "
              f"t.load_checkpoint = lambda path, *rest: torch.load(path, weights_only={weights_only}); ")
    monkeypatch.setattr(faults_security, "RESUME_CODE", loader + faults_security.RESUME_CODE)
    ok, why = checkpoint_case(tmp_path, "checkpoint_pickle", random.Random(0))
    assert not ok and why.startswith(lost)
