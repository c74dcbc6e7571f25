"""Power cuts, proven by crash states: every state a power cut could leave during a settings
save, a calibration save or reset, and a model install loads as the old state or the new one
(and, once the save has returned, as the new one)."""

from __future__ import annotations

import os

import pytest

from neurorack.app.facade import installed_models
from neurorack.atomic import atomic_write_bytes
from neurorack.config.board import load_board
from neurorack.config.state import ModuleState, StateStore
from neurorack.controls.calibration import (
    CalibrationResult,
    load_calibration,
    reset_calibration,
    save_calibration,
)
from neurorack.ml.export import export_run
from neurorack.runtime.loader import load_model
from neurorack_bench.crash_states import check, record
from tests.instrument.model_fixture import make_model

OLD = ModuleState().with_value("sound", "Kick").with_value("levels.gain_db", -6.0)
NEW = OLD.with_value("sound", "Snare " + "x" * 300).with_value("routing.cv2.amount", 0.25)


def load_settings(folder):
    store = StateStore(folder)
    state = store.load()
    assert store.warning is None, store.warning
    return state


def load_models(folder):
    """What the module would offer: each listed model, loaded, by folder and training run."""
    return sorted((path.name, load_model(path).card["training"]["run"]) for _, path in installed_models(folder))


def assert_survives(report):
    assert report.failures == [], "\n".join(report.failures[:5] + ["steps:", *report.steps])


def test_settings_save(tmp_path):
    StateStore(tmp_path).save(OLD)
    report = check(tmp_path, lambda: StateStore(tmp_path).save(NEW), load_settings)
    assert_survives(report)
    assert [step.split()[0] for step in report.steps] == ["create", "fsync", "rename", "fsyncdir"]


def test_first_settings_save_into_a_new_state_folder(tmp_path):
    """The folder the save creates must survive too, or the first save can vanish."""
    folder = tmp_path / "var" / "neurorack"
    (tmp_path / "var").mkdir()
    report = check(tmp_path, lambda: StateStore(folder).save(NEW), lambda root: load_settings(root / "var" / "neurorack"))
    assert_survives(report)


def test_calibration_save_and_reset(tmp_path):
    board = load_board("mock")
    save_calibration(tmp_path, board, {})  # an empty file from an earlier save
    measured = {"cv1": CalibrationResult("cv1", 3.1, -4.9, 0.0, 0.0, 0.0)}

    def save():
        save_calibration(tmp_path, board, measured)

    assert_survives(check(tmp_path, save, lambda root: load_calibration(root, board)))
    assert_survives(check(tmp_path, lambda: reset_calibration(tmp_path, board),
                          lambda root: load_calibration(root, board)))


@pytest.fixture
def runs(tmp_path):
    """Two trained runs of a tiny model (no torch)."""
    make_model(tmp_path / "build" / "v1", seed=1)
    make_model(tmp_path / "build" / "v2", seed=2)
    return tmp_path / "build" / "v1-run", tmp_path / "build" / "v2-run"


def test_model_install(tmp_path, runs):
    models = tmp_path / "models"
    models.mkdir()
    report = check(models, lambda: export_run(runs[0], models / "tiny"), load_models)
    assert_survives(report)


def test_model_reinstall_over_the_playing_one(tmp_path, runs):
    models = tmp_path / "models"
    export_run(runs[0], models / "tiny")
    (models / "tiny" / "evaluation.json").write_text("{}")  # not the export's: kept
    report = check(models, lambda: export_run(runs[1], models / "tiny"), load_models)
    assert_survives(report)
    assert any(step.startswith("exchange") for step in report.steps)
    assert (models / "tiny" / "evaluation.json").read_text() == "{}"
    assert sorted(os.listdir(models)) == ["tiny"]


# -- the check can fail ------------------------------------------------------------------------


def test_a_save_without_the_folder_fsync_is_caught(tmp_path):
    """What kill -9 never shows: the rename is lost with the power, after the save returned."""
    StateStore(tmp_path).save(OLD)

    def save():
        temporary = tmp_path / ".state.yaml.x.tmp"
        descriptor = os.open(temporary, os.O_CREAT | os.O_WRONLY, 0o644)
        os.write(descriptor, NEW.to_yaml().encode())
        os.fsync(descriptor)
        os.close(descriptor)
        os.replace(temporary, tmp_path / "state.yaml")

    failures = check(tmp_path, save, load_settings).failures
    assert failures and all("the new state was not there" in failure for failure in failures)


def test_a_rename_before_the_data_is_fsynced_is_caught(tmp_path):
    StateStore(tmp_path).save(OLD)

    def save():
        temporary = tmp_path / ".state.yaml.x.tmp"
        temporary.write_text(NEW.to_yaml())
        os.replace(temporary, tmp_path / "state.yaml")
        descriptor = os.open(tmp_path, os.O_RDONLY)
        os.fsync(descriptor)
        os.close(descriptor)

    failures = check(tmp_path, save, load_settings).failures
    assert any("settings reset" in failure or "neither" in failure for failure in failures)


def test_a_model_rewritten_file_by_file_is_caught(tmp_path, runs):
    """Each file atomic, the folder not: new weights beside the old checksums."""
    models = tmp_path / "models"
    export_run(runs[0], models / "tiny")
    new = tmp_path / "new"
    export_run(runs[1], new)

    def save():
        for name in ("weights.safetensors", "config.yaml", "model.yaml", "SHA256SUMS"):
            atomic_write_bytes(models / "tiny" / name, (new / name).read_bytes())

    failures = check(models, save, load_models).failures
    assert any("corrupt or modified" in failure for failure in failures)


def test_changes_made_behind_the_wrapped_functions_are_noticed(tmp_path):
    (tmp_path / "a").write_text("x")

    def save():
        os.link(tmp_path / "a", tmp_path / "b")
        os.unlink(tmp_path / "a")

    steps = [str(step) for step in record(tmp_path, save).steps]
    assert steps == ["create b (noticed)", "unlink a"]
