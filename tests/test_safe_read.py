"""Reading named files safely: FIFOs and devices refused without blocking, links out of the
folder refused, sizes capped."""

import os

import pytest

from neurorack.safe_read import FileRefused, check_file, read_file
from neurorack_bench.faults import time_limit


def test_a_regular_file_inside_its_folder_is_read(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "data.csv").write_bytes(b"1,2\n")
    (tmp_path / "link.csv").symlink_to("sub/data.csv")  # a link that stays inside is fine
    assert read_file(tmp_path / "link.csv", 4, tmp_path) == b"1,2\n"
    assert check_file(tmp_path / "link.csv", 4, tmp_path) == (tmp_path / "sub" / "data.csv").resolve()


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "template.csv"
    os.mkfifo(fifo)
    with time_limit(5), pytest.raises(FileRefused, match=f"^{fifo}: is not a regular file: a FIFO$"):
        read_file(fifo, 1000, tmp_path)


@pytest.mark.parametrize("linked", [False, True], ids=["direct", "symlink"])
def test_dev_zero_is_refused_as_a_device(tmp_path, linked):
    path = tmp_path / "weights.safetensors" if linked else "/dev/zero"
    if linked:
        path.symlink_to("/dev/zero")
    with time_limit(5), pytest.raises(FileRefused, match=f"^{path}: is not a regular file: a character device$"):
        read_file(path, 1000)


def test_a_symlink_leading_out_of_the_folder_is_refused_without_reading_it(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (tmp_path / "secret").write_text("s3cret")
    (folder / "kick.csv").symlink_to("../secret")
    with pytest.raises(FileRefused) as info:
        read_file(folder / "kick.csv", 1000, folder)
    assert str(info.value).startswith(f"{folder / 'kick.csv'}: leads to {tmp_path / 'secret'}, outside {folder};")
    assert "s3cret" not in str(info.value)
    with pytest.raises(FileRefused, match="outside"):
        check_file(folder / ".." / "secret", 1000, folder)
    assert read_file(folder / "kick.csv", 1000) == b"s3cret"  # no folder given: no confinement


def test_files_over_the_cap_are_refused_before_reading(tmp_path):
    huge = tmp_path / "huge.bin"
    with open(huge, "wb") as stream:
        stream.truncate(1 << 40)  # sparse: a terabyte that takes no room
    with pytest.raises(FileRefused, match=f"^{huge}: {1 << 40} bytes, more than the 1000 accepted$"):
        read_file(huge, 1000)
    (tmp_path / "just.bin").write_bytes(b"x" * 1000)
    assert len(read_file(tmp_path / "just.bin", 1000)) == 1000


def test_missing_files_raise_file_not_found_for_the_caller_to_word(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_file(tmp_path / "nothing", 10)
    (tmp_path / "dangling").symlink_to("nowhere")
    with pytest.raises(FileNotFoundError):
        check_file(tmp_path / "dangling", 10, tmp_path)


def test_a_folder_is_named_as_one(tmp_path):
    with pytest.raises(FileRefused, match="is not a regular file: a folder$"):
        read_file(tmp_path, 10)
