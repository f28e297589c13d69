"""Safe writes: one writer at a time, readers never blocked, nothing half-written.

A write works on a copy of the database file and atomically renames it over the original when
the transaction succeeds. DuckDB locks a file for its writer, which would also shut out readers
(`filmkb query`) for the duration; working on a copy keeps them reading the last committed
state. A second writer finds the advisory lock `PATH.lock` taken and gets a clear
"database is busy" error (or waits up to `wait` seconds).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from contextlib import contextmanager

from .db import KBError, connect


@contextmanager
def writer_lock(path: str, wait: float = 0.0):
    """Hold the advisory write lock of `path`; KBError('database is busy') if another writer has it."""
    handle = open(f"{path}.lock", "w")
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise KBError(f"{path}: database is busy (another filmkb process is writing); "
                                  "nothing was written, retry when it has finished") from None
                time.sleep(0.1)
        yield
    finally:
        handle.close()


@contextmanager
def write_session(path: str, wait: float = 0.0):
    """A writable connection to a copy of `path`; committed by atomic rename on success."""
    if not os.path.exists(path):
        raise KBError(f"{path}: no such database; run `filmkb init` first")
    with writer_lock(path, wait):
        tmp = f"{path}.writing"
        for leftover in (tmp, f"{tmp}.wal"):
            if os.path.exists(leftover):
                os.remove(leftover)
        shutil.copy2(path, tmp)
        if os.path.exists(f"{path}.wal"):
            shutil.copy2(f"{path}.wal", f"{tmp}.wal")
        con = connect(tmp)
        try:
            yield con
            con.execute("CHECKPOINT")
            con.close()
            os.replace(tmp, path)
            if os.path.exists(f"{path}.wal"):  # already replayed into the copy
                os.remove(f"{path}.wal")
        except BaseException:
            con.close()
            for leftover in (tmp, f"{tmp}.wal"):
                if os.path.exists(leftover):
                    os.remove(leftover)
            raise
