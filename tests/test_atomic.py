import os

import pytest

from neurorack.atomic import (
    atomic_folder,
    atomic_open,
    atomic_remove,
    atomic_write_text,
    exchange,
)


def test_replaces_the_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "state.yaml"
    target.write_text("old")
    atomic_write_text(target, "new")
    assert target.read_text() == "new"
    assert os.listdir(tmp_path) == ["state.yaml"]


def test_a_failure_while_writing_keeps_the_old_file(tmp_path):
    target = tmp_path / "state.yaml"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_open(target, "w") as stream:
        stream.write("half")
        raise RuntimeError("power cut")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["state.yaml"]


def test_creates_missing_folders(tmp_path):
    target = tmp_path / "a" / "b" / "c.txt"
    atomic_write_text(target, "x")
    assert target.read_text() == "x"


def test_the_new_file_is_readable_by_others(tmp_path):
    target = atomic_write_text(tmp_path / "demo.gif", "x")
    assert target.stat().st_mode & 0o777 == 0o644


def test_remove_deletes_the_file_and_says_whether_it_was_there(tmp_path):
    target = tmp_path / "calibration.yaml"
    target.write_text("x")
    assert atomic_remove(target) is True
    assert os.listdir(tmp_path) == []
    assert atomic_remove(target) is False


def test_folder_replaces_the_old_one_whole(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with atomic_folder(target) as folder:
        (folder / "new.txt").write_text("new")
        assert os.listdir(target) == ["old.txt"]  # untouched until the end
    assert os.listdir(target) == ["new.txt"]
    assert os.listdir(tmp_path) == ["model"]  # the old folder and the work folder are gone


def test_a_failure_while_filling_a_folder_keeps_the_old_one(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(RuntimeError), atomic_folder(target) as folder:
        (folder / "new.txt").write_text("half")
        raise RuntimeError("power cut")
    assert os.listdir(target) == ["old.txt"]
    assert os.listdir(tmp_path) == ["model"]


def test_folder_creates_a_new_one_and_removes_leftovers_of_earlier_cuts(tmp_path):
    (tmp_path / ".model.abcd1234.tmp" / "new").mkdir(parents=True)
    with atomic_folder(tmp_path / "models" / "model") as folder:
        (folder / "a").write_text("a")
    with atomic_folder(tmp_path / "model") as folder:
        (folder / "b").write_text("b")
    assert sorted(os.listdir(tmp_path)) == ["model", "models"]
    assert (tmp_path / "models" / "model" / "a").read_text() == "a"


def test_folder_refuses_to_replace_a_file(tmp_path):
    (tmp_path / "model").write_text("x")
    with pytest.raises(NotADirectoryError), atomic_folder(tmp_path / "model"):
        pass


def test_exchange_swaps_two_paths(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").write_text("b")
    try:
        exchange(tmp_path / "a", tmp_path / "b")
    except OSError as exc:
        pytest.skip(f"this filesystem cannot exchange: {exc}")
    assert (tmp_path / "a").read_text() == "b" and (tmp_path / "b").is_dir()
