"""Safe writes: one writer at a time, readers never blocked, nothing half-written.

A write works on a private copy of the database file and atomically renames it over the
original when it succeeds. DuckDB locks a file for its writer, which would also shut out
readers (`filmkb query`) for the duration; working on a copy keeps them reading the last
committed state. A second writer finds the advisory lock `REALPATH.lock` taken and gets a
clear "database is busy" error (or waits up to `wait` seconds). The lock and the rename follow
the resolved real path, so a symbolic link or another spelling of the path is the same database.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import stat
import threading
import time
from contextlib import contextmanager

from ..errors import FilmkbError
from .db import damaged, file_damage
from .paths import require_file

_HELD: dict = {}  # (real path, thread) -> depth: re-entrant within one thread; other threads wait their turn
COPIES: list[str] = []  # every database copy this process made (the benchmark counts them)


def real_path(path: str) -> str:
    """The file a path names, symbolic links resolved."""
    return os.path.realpath(path)


@contextmanager
def writer_lock(path: str, wait: float = 0.0):
    """Hold the advisory write lock of `path`; FilmkbError('database is busy') if another writer has it."""
    require_file(path)  # a device, FIFO, socket or link loop is never locked, copied or replaced
    target = real_path(path)
    held = (target, threading.get_ident())
    if _HELD.get(held):
        _HELD[held] += 1
        try:
            yield
        finally:
            _HELD[held] -= 1
        return
    handle = _open_lock(path, f"{target}.lock")
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise FilmkbError(f"{path}: database is busy (another filmkb process is writing); "
                                      "nothing was written, retry when it has finished") from None
                time.sleep(0.1)
        remove_dead_scratch(target)
        _HELD[held] = 1
        try:
            yield
        finally:
            _HELD.pop(held, None)
    finally:
        handle.close()


def _open_lock(path: str, lock: str):
    """The lock file, opened without truncating or following a link (a link or pipe put in its place
    never makes the lock write over, or wait on, another file)."""
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(lock, flags, 0o644)
    except OSError as exc:
        raise FilmkbError(f"{path}: cannot create the lock file {lock}: {exc.strerror}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise FilmkbError(f"{path}: the lock file {lock} is not a regular file; remove it and retry")
    return os.fdopen(fd, "r+")


def scratch_name(path: str, suffix: str) -> str:
    """A temporary file beside the database, unique to this process."""
    return f"{real_path(path)}.{os.getpid()}.{suffix}"


def remove_dead_scratch(target: str) -> list[str]:
    """Remove the scratch files (TARGET.<pid>.writing / .building / .backup, and .wal) of writers killed
    mid-write (SIGKILL, OOM killer). Only the lock holder makes them, so the caller, holding the lock,
    removes any whose process is gone; returns what it removed."""
    directory, name = os.path.split(target)
    pattern = re.compile(re.escape(name) + r"\.(\d+)\.(writing|building|backup)(\.wal)?")
    removed = []
    try:
        entries = os.listdir(directory or ".")
    except OSError:
        return removed
    for entry in entries:
        match = pattern.fullmatch(entry)
        if match and int(match.group(1)) != os.getpid() and not _alive(int(match.group(1))):
            try:
                os.remove(os.path.join(directory, entry))
                removed.append(entry)
            except OSError:
                pass
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: someone else's live process
        return True
    return True


def remove_quietly(*paths: str) -> None:
    """Remove each scratch file and its write-ahead log, if there (a failure to remove is not raised)."""
    for p in paths:
        for f in (p, f"{p}.wal"):
            try:
                os.remove(f)
            except OSError:  # not there (the usual case), or already gone
                pass


def copy_for_writing(path: str) -> str:
    """Copy the database (and any write-ahead log) to a private scratch file; returns its path.
    A damaged copy (any block failing its checksum, a cut-short file) is removed and refused, so
    no write ever publishes over a damaged database."""
    require_file(path)
    source = real_path(path)
    if not os.path.exists(source):
        raise FilmkbError(f"{path}: no such database; run `filmkb init` first")
    tmp = scratch_name(path, "writing")
    remove_quietly(tmp)
    try:
        shutil.copy2(source, tmp)
        if os.path.exists(f"{source}.wal"):
            shutil.copy2(f"{source}.wal", f"{tmp}.wal")
    except OSError as exc:  # no space, a file-size limit, no permission: no half copy is left behind
        remove_quietly(tmp)
        raise FilmkbError(f"{path}: cannot make the private copy a write works on ({exc.strerror or exc}); "
                          "nothing was written") from None
    except BaseException:
        remove_quietly(tmp)
        raise
    COPIES.append(tmp)
    problem = file_damage(tmp, full=True)
    if problem:
        remove_quietly(tmp)
        raise damaged(path, problem)
    return tmp


def next_backup(path: str) -> str:
    """PATH.bak, else PATH.bak.1, PATH.bak.2, ...: the first of these names that no file holds."""
    candidate, n = f"{path}.bak", 0
    while os.path.lexists(candidate) or os.path.lexists(f"{candidate}.wal"):
        n += 1
        candidate = f"{path}.bak.{n}"
    return candidate


def keep_backup(path: str) -> str:
    """Copy the database file (and any write-ahead log) to a backup name no earlier backup holds
    (`next_backup`); returns that name. Copied whole under a scratch name, then linked into place,
    which fails rather than replace a file: a kill never leaves half a backup, nor loses an old one."""
    target = real_path(path)
    partial = scratch_name(path, "backup")
    try:
        shutil.copy2(target, partial)
        if os.path.exists(f"{target}.wal"):
            shutil.copy2(f"{target}.wal", f"{partial}.wal")
        while True:
            kept = next_backup(path)
            try:
                _place(partial, kept)
                break
            except FileExistsError:  # taken meanwhile (by hand): the next free name
                continue
        if os.path.exists(f"{partial}.wal"):
            _place(f"{partial}.wal", f"{kept}.wal")
    finally:
        remove_quietly(partial)
    return kept


def _place(source: str, name: str) -> None:
    """Give `source` the new name `name` without ever replacing a file there (FileExistsError)."""
    try:
        os.link(source, name)
    except FileExistsError:
        raise
    except OSError:  # PATH (a symbolic link) on another file system than the database, or no hard links
        with open(source, "rb") as src, open(name, "xb") as out:
            shutil.copyfileobj(src, out)
        shutil.copystat(source, name)


def publish(tmp: str, path: str, backup: bool = False) -> str | None:
    """Atomically put the finished scratch file in place of the database; with `backup`, the old file is
    first kept under a new backup name (`keep_backup`), which is returned."""
    target = real_path(path)
    kept = keep_backup(path) if backup and os.path.exists(target) else None
    os.replace(tmp, target)
    remove_quietly(f"{tmp}")
    if os.path.exists(f"{target}.wal"):  # replayed into the copy before it was checkpointed
        os.remove(f"{target}.wal")
    return kept
