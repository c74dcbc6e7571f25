import os

import pytest

from neurorack.atomic import atomic_open, atomic_remove, atomic_write_text


def test_replaces_the_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "state.yaml"
    target.write_text("old")
    atomic_write_text(target, "new")
    assert target.read_text() == "new"
    assert os.listdir(tmp_path) == ["state.yaml"]


def test_a_failure_while_writing_keeps_the_old_file(tmp_path):
    target = tmp_path / "state.yaml"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_open(target, "w") as stream:
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
