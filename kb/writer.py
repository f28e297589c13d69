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
import shutil
import time
from contextlib import contextmanager

from ..errors import FilmkbError

_HELD: dict = {}  # real path -> depth: the lock is re-entrant within one process
COPIES: list[str] = []  # every database copy this process made (the benchmark counts them)


def real_path(path: str) -> str:
    """The file a path names, symbolic links resolved."""
    return os.path.realpath(path)


@contextmanager
def writer_lock(path: str, wait: float = 0.0):
    """Hold the advisory write lock of `path`; FilmkbError('database is busy') if another writer has it."""
    target = real_path(path)
    if _HELD.get(target):
        _HELD[target] += 1
        try:
            yield
        finally:
            _HELD[target] -= 1
        return
    try:
        handle = open(f"{target}.lock", "w")
    except OSError as exc:
        raise FilmkbError(f"{path}: cannot create the lock file {target}.lock: {exc.strerror}") from None
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
        _HELD[target] = 1
        try:
            yield
        finally:
            _HELD.pop(target, None)
    finally:
        handle.close()


def scratch_name(path: str, suffix: str) -> str:
    """A temporary file beside the database, unique to this process."""
    return f"{real_path(path)}.{os.getpid()}.{suffix}"


def remove_quietly(*paths: str) -> None:
    for p in paths:
        for f in (p, f"{p}.wal"):
            if os.path.exists(f):
                os.remove(f)


def copy_for_writing(path: str) -> str:
    """Copy the database (and any write-ahead log) to a private scratch file; returns its path."""
    source = real_path(path)
    if not os.path.exists(source):
        raise FilmkbError(f"{path}: no such database; run `filmkb init` first")
    tmp = scratch_name(path, "writing")
    remove_quietly(tmp)
    shutil.copy2(source, tmp)
    if os.path.exists(f"{source}.wal"):
        shutil.copy2(f"{source}.wal", f"{tmp}.wal")
    COPIES.append(tmp)
    return tmp


def publish(tmp: str, path: str, backup: bool = False) -> None:
    """Atomically put the finished scratch file in place of the database (optionally keeping PATH.bak)."""
    target = real_path(path)
    if backup and os.path.exists(target):
        shutil.copy2(target, f"{path}.bak")
    os.replace(tmp, target)
    remove_quietly(f"{tmp}")
    if os.path.exists(f"{target}.wal"):  # replayed into the copy before it was checkpointed
        os.remove(f"{target}.wal")
