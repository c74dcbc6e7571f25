"""Power cuts, proven by crash states rather than by kill -9.

``record(root, save)`` runs ``save`` with the ``os`` functions that change files wrapped
(``open`` with O_CREAT, ``mkdir``, ``rename``, ``replace``, ``unlink``, ``rmdir``, ``fsync``,
and ``neurorack.atomic.exchange``) and notes each operation under ``root``, with what each
file holds after it. Changes made another way (a hard link, Python's ``open``) are noticed
at the next operation.

``check(root, save, observe)`` then rebuilds, in fresh folders, every state the disk could
hold after a power cut at any point of the save, under the rules of a journaling filesystem:

* a name change (create, mkdir, rename, unlink, exchange) is on the disk for sure once its
  folder has been fsynced; the others reach it in the order they were made, so any first
  few of them may be there (a file whose folder's creation did not reach the disk is lost
  with it);
* a file holds what its last fsync wrote; data written since may be lost, half written
  (torn) or all there, whether or not a rename of the file reached the disk.

``observe`` loads each state as the module would at the next boot. It must find the state
from before the save or the one after it; once the save has returned, only the new one (a
save that returned must survive). A kill -9 only ever shows the first kind of state: it
cannot lose what the kernel already holds, so it never catches a missing fsync.
"""

from __future__ import annotations

import itertools
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from neurorack import atomic

NAME_OPS = ("create", "mkdir", "rename", "exchange", "unlink", "rmdir")
WRAPPED = ("open", "mkdir", "rename", "replace", "unlink", "remove", "rmdir", "fsync")
FOLDER = None  # a folder, in a rebuilt state's ``{path: data}``


@dataclass(frozen=True)
class Step:
    """One recorded operation.

    Attributes:
        op: one of ``NAME_OPS``, ``fsync`` (a file) or ``fsyncdir`` (a folder).
        paths: the paths it names, relative to the root.
        inode: the file or folder it created, moved (a rename), or fsynced.
        moved: an exchange's two inodes, as they are named after it.
        folders: inodes of the folders whose entries it changes (or the one it fsynced).
        data: for ``fsync``, what the file held: now on the disk.
        noticed: a change that no wrapped function made, noticed afterwards.
    """

    op: str
    paths: tuple[str, ...] = ()
    inode: int | None = None
    folders: tuple[int, ...] = ()
    data: bytes | None = None
    noticed: bool = False
    moved: tuple[int, ...] = ()

    def __str__(self) -> str:
        what = " -> ".join(self.paths) if self.paths else f"inode {self.inode or self.folders[0]}"
        return f"{self.op} {what}" + (" (noticed)" if self.noticed else "")


@dataclass
class Recording:
    """A save's operations.

    Attributes:
        names: before the save, ``{path: inode}`` under the root.
        folders: inodes that are folders.
        contents: before the save, ``{inode: data}`` of the files.
        steps: the operations, in order.
        snapshots: ``snapshots[k]`` holds ``{inode: data}`` after ``k`` steps (the last one: after
            the save returned).
    """

    names: dict[str, int]
    folders: set[int]
    contents: dict[int, bytes]
    steps: list[Step] = field(default_factory=list)
    snapshots: list[dict[int, bytes]] = field(default_factory=list)


@dataclass
class CrashReport:
    """What ``check`` tried: the recorded steps, the power cuts (one after each step, and
    one before the first), the distinct states they can leave, and the states the loader
    got wrong, as 'after step K (op): what went wrong'."""

    steps: list[str]
    cuts: int
    states: int
    failures: list[str]


class _Recorder:
    def __init__(self, root: Path):
        self.root = Path(os.path.realpath(root))
        self.root_inode = os.stat(self.root).st_ino
        self.names, self.folders = self._scan()
        self.recording = Recording(dict(self.names), set(self.folders), self._contents())
        self.recording.snapshots.append(dict(self.recording.contents))
        self.descriptors: dict[int, str] = {}
        self.real = {name: getattr(os, name) for name in WRAPPED}
        self.real_exchange = atomic.exchange

    def __enter__(self) -> Self:
        for name in WRAPPED:
            setattr(os, name, getattr(self, "_" + name))
        atomic.exchange = self._exchange
        return self

    def __exit__(self, *exc_info) -> None:
        for name in WRAPPED:
            setattr(os, name, self.real[name])
        atomic.exchange = self.real_exchange
        if exc_info[0] is None:
            self._notice()
            self.recording.snapshots[-1] = self._contents()

    # -- the wrapped functions ------------------------------------------------------------

    def _open(self, path, flags, mode=0o777, *, dir_fd=None):
        self._notice()
        where = self._absolute(path, dir_fd)
        existed = os.path.lexists(where)
        descriptor = self.real["open"](path, flags, mode, dir_fd=dir_fd)
        self.descriptors[descriptor] = where
        relative = self._relative(where)
        if relative is not None and not existed and flags & os.O_CREAT:
            self._add(Step("create", (relative,), inode=os.fstat(descriptor).st_ino))
        return descriptor

    def _mkdir(self, path, mode=0o777, *, dir_fd=None):
        self._notice()
        self.real["mkdir"](path, mode, dir_fd=dir_fd)
        where = self._absolute(path, dir_fd)
        relative = self._relative(where)
        if relative is not None:
            self._add(Step("mkdir", (relative,), inode=os.lstat(where).st_ino))

    def _rename(self, source, target, *, src_dir_fd=None, dst_dir_fd=None, real="rename"):
        self._notice()
        self.real[real](source, target, src_dir_fd=src_dir_fd, dst_dir_fd=dst_dir_fd)
        target = self._absolute(target, dst_dir_fd)
        paths = (self._relative(self._absolute(source, src_dir_fd)), self._relative(target))
        if None not in paths:
            self._add(Step("rename", paths, inode=os.lstat(target).st_ino))

    def _replace(self, source, target, *, src_dir_fd=None, dst_dir_fd=None):
        self._rename(source, target, src_dir_fd=src_dir_fd, dst_dir_fd=dst_dir_fd, real="replace")

    def _unlink(self, path, *, dir_fd=None, real="unlink", op="unlink"):
        self._notice()
        self.real[real](path, dir_fd=dir_fd)
        relative = self._relative(self._absolute(path, dir_fd))
        if relative is not None:
            self._add(Step(op, (relative,)))

    def _remove(self, path, *, dir_fd=None):
        self._unlink(path, dir_fd=dir_fd, real="remove")

    def _rmdir(self, path, *, dir_fd=None):
        self._unlink(path, dir_fd=dir_fd, real="rmdir", op="rmdir")

    def _fsync(self, descriptor):
        self._notice()
        descriptor = descriptor if isinstance(descriptor, int) else descriptor.fileno()
        self.real["fsync"](descriptor)
        info = os.fstat(descriptor)
        if stat.S_ISDIR(info.st_mode):
            if info.st_ino == self.root_inode or info.st_ino in self.folders:
                self._add(Step("fsyncdir", folders=(info.st_ino,)))
            return
        where = [path for path, inode in self.names.items() if inode == info.st_ino]
        if where:
            self._add(Step("fsync", inode=info.st_ino, data=(self.root / where[0]).read_bytes()))

    def _exchange(self, first, second):
        self._notice()
        self.real_exchange(first, second)
        paths = (self._relative(self._absolute(first, None)), self._relative(self._absolute(second, None)))
        if None not in paths:
            self._add(Step("exchange", paths, moved=(os.lstat(first).st_ino, os.lstat(second).st_ino)))

    # -- bookkeeping ----------------------------------------------------------------------

    def _absolute(self, path, dir_fd) -> str:
        path = os.fsdecode(path)
        if dir_fd is not None and not os.path.isabs(path):
            base = self.descriptors.get(dir_fd) or os.readlink(f"/proc/self/fd/{dir_fd}")
            path = os.path.join(base, path)
        folder, name = os.path.split(os.path.abspath(path))
        return os.path.join(os.path.realpath(folder), name)

    def _relative(self, where: str) -> str | None:
        relative = os.path.relpath(where, self.root)
        return None if relative == "." or relative.startswith("..") else relative

    def _scan(self) -> tuple[dict[str, int], set[int]]:
        names, folders = {}, set()
        for folder, subfolders, files in os.walk(self.root):
            for name in subfolders + files:
                info = os.lstat(os.path.join(folder, name))
                relative = os.path.relpath(os.path.join(folder, name), self.root)
                names[relative] = info.st_ino
                if stat.S_ISDIR(info.st_mode):
                    folders.add(info.st_ino)
        return names, folders

    def _contents(self) -> dict[int, bytes]:
        contents = {}
        for relative, inode in self.names.items():
            if inode not in self.folders:
                try:
                    contents[inode] = (self.root / relative).read_bytes()
                except OSError:
                    pass
        return contents

    def _notice(self) -> None:
        """Record the changes no wrapped function made (hard links, Python's ``open``)."""
        names, folders = self._scan()
        for relative in sorted(set(self.names) - set(names), key=len, reverse=True):
            self._add(Step("rmdir" if self.names[relative] in self.folders else "unlink", (relative,), noticed=True))
        for relative in sorted(set(names) - set(self.names), key=len):
            kind = "mkdir" if names[relative] in folders else "create"
            self._add(Step(kind, (relative,), inode=names[relative], noticed=True))

    def _add(self, step: Step) -> None:
        if step.op in NAME_OPS:
            step = Step(step.op, step.paths, step.inode, self._parents(step.paths), step.data, step.noticed, step.moved)
            if step.op == "mkdir":
                self.folders.add(step.inode)
            self.names = apply(self.names, step)
        self.recording.steps.append(step)
        self.recording.snapshots.append(self._contents())

    def _parents(self, paths: tuple[str, ...]) -> tuple[int, ...]:
        parents = {os.path.dirname(path) for path in paths}
        return tuple(sorted(self.names[parent] if parent else self.root_inode for parent in parents))


def record(root: str | Path, save: Callable[[], Any]) -> Recording:
    """Run ``save`` and record the file operations it makes under ``root`` (a folder that exists)."""
    with _Recorder(Path(root)) as recorder:
        save()
    return recorder.recording


def apply(names: dict[str, int], step: Step) -> dict[str, int]:
    """The ``{path: inode}`` names after a name operation."""
    names = dict(names)
    if step.op in ("create", "mkdir"):
        names[step.paths[0]] = step.inode
    elif step.op in ("unlink", "rmdir"):
        names = {path: inode for path, inode in names.items() if not _under(path, step.paths[0])}
    elif step.op == "rename":
        source, target = step.paths
        moved = {target + path[len(source):]: inode for path, inode in names.items() if _under(path, source)}
        names = {path: inode for path, inode in names.items() if not _under(path, source) and not _under(path, target)}
        names.update(moved)
        names[target] = step.inode  # there even if its creation did not reach the disk
    elif step.op == "exchange":
        first, second = step.paths
        swapped = {}
        for path, inode in names.items():
            if _under(path, first):
                path = second + path[len(first):]
            elif _under(path, second):
                path = first + path[len(second):]
            swapped[path] = inode
        names = {**swapped, first: step.moved[0], second: step.moved[1]}
    return names


def _under(path: str, top: str) -> bool:
    return path == top or path.startswith(top + os.sep)


def crash_states(recording: Recording) -> Iterator[tuple[int, dict[str, bytes | None]]]:
    """Every ``(steps done, {path: data, or FOLDER})`` a power cut could leave on the disk."""
    for done in range(len(recording.steps) + 1):
        steps = recording.steps[:done]
        synced = {step.inode: step.data for step in steps if step.op == "fsync"}
        latest: dict[int, bytes] = {}
        for snapshot in recording.snapshots[:done + 1]:
            latest.update(snapshot)  # a file no longer named keeps what it last held
        name_steps = [(index, step) for index, step in enumerate(steps) if step.op in NAME_OPS]
        durable = {index for index, step in name_steps
                   if any(later.op == "fsyncdir" and later.folders[0] in step.folders for later in steps[index:])}
        pending = [index for index, _ in name_steps if index not in durable]
        for count in range(len(pending) + 1):
            names = recording.names
            for index, step in name_steps:
                if index in durable or index in pending[:count]:
                    names = apply(names, step)
            names = _reachable(names, _folders(recording, steps))
            files = sorted(path for path, inode in names.items() if inode not in _folders(recording, steps))
            versions = []
            for path in files:
                inode = names[path]
                on_disk = synced.get(inode, recording.contents.get(inode, b""))
                versions.append(_versions(on_disk, latest.get(inode, on_disk)))
            folders = {path: FOLDER for path in names if path not in files}
            for chosen in itertools.product(*versions):
                yield done, {**folders, **dict(zip(files, chosen))}


def _reachable(names: dict[str, int], folders: set[int]) -> dict[str, int]:
    """Without the paths whose folder is not there (its creation did not reach the disk)."""
    return {path: inode for path, inode in names.items()
            if all(names.get(parent) in folders for parent in _parents_of(path))}


def _parents_of(path: str) -> list[str]:
    parts = path.split(os.sep)
    return [os.sep.join(parts[:end]) for end in range(1, len(parts))]


def _folders(recording: Recording, steps: list[Step]) -> set[int]:
    return recording.folders | {step.inode for step in steps if step.op == "mkdir"}


def _versions(on_disk: bytes, written: bytes) -> list[bytes]:
    """What a file can hold: what reached the disk, or (if more was written since) half of
    the newer data over the older, or all of it."""
    if written == on_disk:
        return [on_disk]
    half = len(written) // 2
    return [on_disk, written[:half] + on_disk[half:], written]


def rebuild(state: dict[str, bytes | None], folder: Path) -> Path:
    """Write a state into ``folder`` (which must not exist)."""
    folder.mkdir(parents=True)
    for path, data in sorted(state.items()):
        if data is FOLDER:
            (folder / path).mkdir(parents=True, exist_ok=True)
        else:
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            (folder / path).write_bytes(data)
    return folder


def check(root: str | Path, save: Callable[[], Any], observe: Callable[[Path], Any]) -> CrashReport:
    """Record ``save`` under ``root`` and load every crash state with ``observe``.

    Args:
        root: the folder the save writes in (it must exist).
        save: makes the save.
        observe: loads a folder as the module would and returns what it found (comparable with
            ``==``); raises when it cannot (a corrupt file, a missing model, a warning).

    Raises:
        ValueError: the save changed nothing ``observe`` can see (a check that proves nothing).
    """
    recording = record(root, save)
    with tempfile.TemporaryDirectory(prefix="neurorack-crash-") as scratch:
        folders = (Path(scratch) / str(index) for index in itertools.count())
        old = observe(rebuild({path: FOLDER if inode in recording.folders else recording.contents[inode]
                               for path, inode in recording.names.items()}, next(folders)))
        new = observe(rebuild(_final(recording), next(folders)))
        if new == old:
            raise ValueError("the save changed nothing the loader can see")
        seen: dict[tuple, tuple[str, Any]] = {}
        failures: list[str] = []
        for done, state in crash_states(recording):
            key = tuple(sorted(state.items(), key=lambda item: item[0]))
            if key not in seen:
                try:
                    seen[key] = ("ok", observe(rebuild(state, next(folders))))
                except Exception as exc:  # noqa: BLE001 - any failure to load is what this looks for
                    seen[key] = ("error", f"{type(exc).__name__}: {exc}")
            kind, found = seen[key]
            where = "before the first step" if done == 0 else f"after step {done} ({recording.steps[done - 1]})"
            if kind == "error":
                problem = f"the loader failed: {found}"
            elif done == len(recording.steps) and found != new:
                problem = "the save had returned, but the new state was not there (a missing fsync?)"
            elif found not in (old, new):
                problem = "neither the old state nor the new one"
            else:
                continue
            message = f"{where}: {problem}; files: {_describe(state)}"
            if message not in failures:
                failures.append(message)
    return CrashReport([str(step) for step in recording.steps], len(recording.steps) + 1, len(seen), failures)


def _final(recording: Recording) -> dict[str, bytes | None]:
    names = recording.names
    for step in recording.steps:
        if step.op in NAME_OPS:
            names = apply(names, step)
    folders = _folders(recording, recording.steps)
    latest = recording.snapshots[-1]
    return {path: FOLDER if inode in folders else latest[inode] for path, inode in names.items()}


def _describe(state: dict[str, bytes | None]) -> str:
    return ", ".join(f"{path}/" if data is FOLDER else f"{path} ({len(data)} B)" for path, data in sorted(state.items()))
