"""Reading the files a model folder or a sound bank names, without trusting them.

A name in a model folder or a bank can point at anything: a FIFO (opening it blocks until
someone writes), a device such as ``/dev/zero`` (reading it never ends), a huge file, or a
symlink to a file elsewhere on the system (whose content would reach the log in an error
message). ``check_file`` looks before anything is opened: the file must be a regular file,
no larger than a cap, and, when a folder is given, lie inside it once symlinks are resolved.
``read_file`` then reads it without blocking and never more than the cap.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from neurorack.errors import NeurorackError

KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
         (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


class FileRefused(NeurorackError):
    """A named file that is not read: not a regular file, too large, outside its folder or unreadable."""


def kind_of(mode: int) -> str:
    """What a file of this ``st_mode`` is, in words (``"a FIFO"``, ``"a character device"``, ...)."""
    return next((name for test, name in KINDS if test(mode)), "not a regular file")


def check_file(path: str | Path, limit: int, folder: str | Path | None = None) -> Path:
    """``path`` with its symlinks resolved, once it is known to be safe to read.

    Args:
        limit: the largest size accepted, in bytes.
        folder: when given, the file (symlinks resolved) must lie inside it (symlinks resolved).

    Raises:
        FileNotFoundError: there is no such file (or a symlink leads nowhere).
        FileRefused: naming ``path``: not a regular file (and what it is instead), larger than
            ``limit``, outside ``folder``, or not readable.
    """
    real = Path(os.path.realpath(path))
    try:
        info = os.stat(real)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise FileRefused(f"{path}: cannot read it: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise FileRefused(f"{path}: is not a regular file: {kind_of(info.st_mode)}")
    if folder is not None:
        root = Path(os.path.realpath(folder))
        if root not in real.parents:
            raise FileRefused(f"{path}: leads to {real}, outside {folder}; a model folder or sound bank "
                              "may only name files inside its folder")
    if info.st_size > limit:
        raise FileRefused(f"{path}: {info.st_size} bytes, more than the {limit} accepted")
    return real


def read_file(path: str | Path, limit: int, folder: str | Path | None = None) -> bytes:
    """The content of ``path``, checked as ``check_file`` does, read without blocking and never
    past ``limit`` bytes (a file that grew since it was checked is refused).

    Raises:
        FileNotFoundError, FileRefused: as ``check_file``.
    """
    real = check_file(path, limit, folder)
    try:
        handle = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise FileRefused(f"{path}: cannot read it: {exc.strerror or exc}") from None
    with os.fdopen(handle, "rb") as stream:
        mode = os.fstat(stream.fileno()).st_mode
        if not stat.S_ISREG(mode):  # swapped since it was checked
            raise FileRefused(f"{path}: is not a regular file: {kind_of(mode)}")
        try:
            data = stream.read(limit + 1)
        except OSError as exc:
            raise FileRefused(f"{path}: cannot read it: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise FileRefused(f"{path}: more than the {limit} bytes accepted")
    return data
