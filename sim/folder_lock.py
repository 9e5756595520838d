"""The lock of a results folder: one modsim command writes a folder at a time.

Two commands given the same ``--out`` (or resuming the same partial folder) would otherwise take
each other's work folder over. Each command therefore holds an exclusive ``flock`` on a small
file beside the folder (``.NAME.lock``) from the moment it opens the folder until it ends: a second
command refuses at once, naming the process that holds it. The lock file carries a mark, so a file
modsim did not make is never taken for one; one left behind by a kill is harmless (nobody holds
its ``flock``) and is reused.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from pathlib import Path
from typing import ClassVar

from sim.errors import OutputError, os_reason

LOCK_SUFFIX = ".lock"
_LOCK_MARK = b"modsim lock"


class FolderLock:
    """An exclusive ``flock`` on ``.NAME.lock`` beside a results folder, held by this process.

    A process holds the lock of a folder once: a second ``ResultsFolder`` of the same folder in the
    same process shares it (a command runs in a process of its own; in-process callers are tests).
    Released when its last user closes it (or at exit); the lock file is removed then.
    """

    held: ClassVar[dict[str, FolderLock]] = {}

    def __init__(self, path: str, fd: int):
        self.path, self.fd, self.users = path, fd, 1

    def release(self) -> None:
        """One user less; the last one unlocks and removes the lock file."""
        self.users -= 1
        if self.users > 0:
            return
        FolderLock.held.pop(self.path, None)
        try:
            if _same_file(self.path, self.fd):
                os.unlink(self.path)  # while still holding it: a waiting opener sees the inode is gone
        except OSError:
            pass
        finally:
            os.close(self.fd)


def _same_file(path: str, fd: int) -> bool:
    try:
        st = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    fs = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (fs.st_dev, fs.st_ino)


def lock_path(final: Path) -> Path:
    """Where the lock of the results folder ``final`` is: ``.NAME.lock`` beside it."""
    return final.parent / f".{final.name}{LOCK_SUFFIX}"


def acquire(path: Path, shown: str) -> FolderLock | str:
    """The lock at ``path``, or (a string) who holds it when another process does."""
    key = os.path.abspath(path)
    held = FolderLock.held.get(key)
    if held is not None:
        held.users += 1
        return held
    for _ in range(50):
        try:
            fd = os.open(key, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.EISDIR, errno.ENXIO):
                raise OutputError(f"{shown}: {key} is in the way (not a lock file modsim made); remove it") from None
            raise OutputError(f"{shown}: cannot lock the results folder ({key}): {os_reason(exc)}") from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OutputError(f"{shown}: {key} is in the way (not a lock file modsim made); remove it")
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                text = os.pread(fd, 64, 0).decode("ascii", "replace").split()
                pid = text[2] if len(text) == 3 and text[2].isdigit() else None
                os.close(fd)
                return f"process {pid}" if pid else "a process"
            if not _same_file(key, fd):  # removed (and perhaps made again) by its holder meanwhile: lock that
                os.close(fd)
                continue
            content = os.pread(fd, 64, 0)
            if content and not content.startswith(_LOCK_MARK):
                raise OutputError(f"{shown}: {key} is in the way (not a lock file modsim made); remove it")
            os.ftruncate(fd, 0)
            os.pwrite(fd, _LOCK_MARK + f" {os.getpid()}\n".encode(), 0)
        except OutputError:
            os.close(fd)
            raise
        except OSError as exc:
            os.close(fd)
            raise OutputError(f"{shown}: cannot lock the results folder ({key}): {os_reason(exc)}") from None
        lock = FolderLock(key, fd)
        FolderLock.held[key] = lock
        return lock
    raise OutputError(f"{shown}: cannot lock the results folder ({key}): it keeps being replaced")


def lock_folder(final: Path, shown: str, busy: str) -> FolderLock:
    """The lock of the results folder ``final``; one clear error (ending with ``busy``) when another command holds it."""
    got = acquire(lock_path(final), shown)
    if isinstance(got, str):
        raise OutputError(f"{shown}: another modsim command ({got}) is writing this results folder right now; {busy}")
    return got
