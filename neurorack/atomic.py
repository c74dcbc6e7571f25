"""Write files so that a power cut leaves the old file or the new one, never a broken one.

The data goes to a temporary file in the same folder, is flushed and fsynced, then renamed
over the target (atomic on POSIX), and the folder is fsynced so the rename itself survives.
Folders it has to create are fsynced into their parents too. ``atomic_remove`` deletes a file
the same way: it is there or gone, and the removal is fsynced. ``atomic_folder`` does it for a
whole folder (a model): filled beside the target, then swapped in with one rename.

``tests/bench/test_crash_states.py`` proves it: it records each save's file operations and
loads every state a power cut could leave (see ``neurorack_bench.crash_states``).
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

RENAME_EXCHANGE = 2  # renameat2(2) flag, Linux 3.15+
AT_FDCWD = -100


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "wb", permissions: int = 0o644) -> Iterator[IO]:
    """Open a temporary file beside ``path``; on a clean exit it replaces ``path``.

    On an exception the temporary file is removed and ``path`` is untouched. The new file
    gets ``permissions`` (mkstemp alone would leave it readable by its owner only).
    """
    path = Path(path)
    _make_folders(path.parent)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(handle, permissions)
        with os.fdopen(handle, mode) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _fsync_folder(path.parent)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    with atomic_open(path, "wb") as stream:
        stream.write(data)
    return Path(path)


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_remove(path: str | Path) -> bool:
    """Remove ``path`` (unlink is atomic on POSIX) and fsync its folder so the removal
    survives a power cut; returns whether it existed."""
    path = Path(path)
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    _fsync_folder(path.parent)
    return True


@contextlib.contextmanager
def atomic_folder(path: str | Path) -> Iterator[Path]:
    """A new, empty folder beside ``path``; on a clean exit it replaces ``path`` whole.

    Fill it as you like: on exit every file and folder in it is fsynced, then it is swapped
    with ``path`` in one step (``exchange``; a plain rename when ``path`` is new) and the
    parent fsynced, so a power cut leaves the old folder or the new one. The old one is then
    deleted. On an exception ``path`` is untouched. Where the filesystem cannot exchange
    (not Linux, or vfat), the old folder is renamed away first: a power cut between the two
    renames leaves neither.

    Raises:
        NotADirectoryError: ``path`` is a file.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(path))
    _make_folders(path.parent)
    for leftover in path.parent.glob(f".{glob.escape(path.name)}.????????.tmp"):  # cut short by a power loss
        shutil.rmtree(leftover, ignore_errors=True)
    work = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    staged = work / "new"  # one level down: never listed as a model by 'models/*/model.yaml'
    try:
        staged.mkdir()
        yield staged
        _fsync_tree(staged)
        if not path.exists():
            os.rename(staged, path)
        else:
            try:
                exchange(staged, path)
            except OSError as exc:
                if exc.errno not in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
                    raise
                os.rename(path, work / "old")
                os.rename(staged, path)
        _fsync_folder(path.parent)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def exchange(first: str | Path, second: str | Path) -> None:
    """Swap two paths (files or folders) in one atomic step: Linux's renameat2 with
    RENAME_EXCHANGE.

    Raises:
        OSError: ENOSYS where the C library or kernel lacks it, EINVAL where the filesystem
            does, or why the swap failed.
    """
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        raise OSError(errno.ENOSYS, "renameat2 is not available", str(first))
    renameat2.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint)
    if renameat2(AT_FDCWD, os.fsencode(first), AT_FDCWD, os.fsencode(second), RENAME_EXCHANGE) != 0:
        number = ctypes.get_errno()
        raise OSError(number, os.strerror(number), str(first), None, str(second))


def _make_folders(folder: Path) -> None:
    """Create ``folder`` and missing parents, each fsynced into its parent so it survives a power cut."""
    if folder.is_dir():
        return
    _make_folders(folder.parent)
    with contextlib.suppress(FileExistsError):
        folder.mkdir()
    _fsync_folder(folder.parent)


def _fsync_tree(folder: Path) -> None:
    """fsync every file and folder under ``folder``, then ``folder`` itself."""
    for entry in folder.iterdir():
        if entry.is_symlink():
            continue
        if entry.is_dir():
            _fsync_tree(entry)
        else:
            descriptor = os.open(entry, os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
    _fsync_folder(folder)


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):  # some filesystems refuse to open folders
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
