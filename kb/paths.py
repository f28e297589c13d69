"""Which paths filmkb may open or write: the one guard every reader of a database or input file, and every
writer of output files, calls before it touches the path.

A knowledge base is never lost to an output: a path that resolves (symbolic links followed) to the open
database, to any DuckDB file, or to one of filmkb's own scratch, backup, lock or write-ahead-log names is
refused, whatever --force says. A database or input path that is not a regular file (a device, FIFO, socket
or symbolic-link loop) is refused before it is opened, so nothing reads /dev/zero or waits on a pipe, and
nothing ever replaces such a path.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path

from ..errors import FilmkbError
from .urls import is_url

DUCKDB_SIGNATURE = b"DUCK"  # bytes 8-12 of every DuckDB file
_FILMKB_NAMES = re.compile(r"(\.\d+\.(writing|building|backup)(\.wal)?|\.bak(\.\d+)?|\.lock|\.wal)$")
_KINDS = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory"))

__all__ = ["DUCKDB_SIGNATURE", "not_a_file", "require_file", "is_duckdb", "check_output", "check_output_dir"]


def not_a_file(path) -> str | None:
    """What `path` is when it exists but is not a regular file ('a named pipe (FIFO)', 'a symbolic link
    loop', ...); None for a regular file or a path that does not exist. Never opens the path."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        return "a symbolic link loop" if exc.errno == errno.ELOOP else None
    return None if stat.S_ISREG(mode) else next((kind for test, kind in _KINDS if test(mode)), "not a regular file")


def require_file(path, what: str = "database", directory_ok: bool = False) -> None:
    """FilmkbError (one line) if `path` exists and is a device, FIFO, socket or symbolic-link loop (or a
    directory, unless directory_ok): such a path is never read, waited on or replaced. A database server's
    URL is not a path: nothing to check."""
    if what == "database" and is_url(path):
        return
    kind = not_a_file(path)
    if kind and not (directory_ok and kind == "a directory"):
        raise FilmkbError(f"{path}: the {what} is {kind}, not a regular file; nothing was read or written")


def is_duckdb(path) -> bool:
    """True if `path` is a regular file starting with DuckDB's signature (reads 12 bytes)."""
    if not_a_file(path) or not os.path.exists(path):
        return False
    try:
        with open(path, "rb") as handle:
            return handle.read(12)[8:12] == DUCKDB_SIGNATURE
    except OSError:
        return False


def _companion_of(real: str) -> str | None:
    """The database a filmkb companion name belongs to (DB.<pid>.writing, DB.bak.2, DB.lock, DB.wal, ...)."""
    found = _FILMKB_NAMES.search(real)
    return real[:found.start()] if found else None


def _why_not(path, db) -> str | None:
    real = os.path.realpath(path)
    database = os.path.realpath(str(db)) if db is not None and not is_url(db) else None
    if real == database:
        return "is the knowledge base itself"
    if is_duckdb(real):
        return "is a DuckDB database file"
    stem = _companion_of(real)
    if stem and (stem == database or stem.endswith(".duckdb") or is_duckdb(stem)):
        return "is a name filmkb keeps beside a database (scratch, backup, lock or write-ahead log)"
    kind = not_a_file(real)
    if kind in ("a block device", "a symbolic link loop"):
        return f"is {kind}"
    return None


def check_output(path, db=None) -> None:
    """Refuse (one line, before anything is written) to write the file `path` when it resolves to the
    database `db`, to any DuckDB file or to a filmkb scratch/backup/lock/WAL name: no option overrides it."""
    why = _why_not(path, db)
    if why:
        raise FilmkbError(f"{path}: {why}; refusing to write over it (nothing was written; choose another output)")


def check_output_dir(directory, db=None, patterns: tuple[str, ...] = ("*",)) -> None:
    """`check_output` for an output directory: the directory must not be a database file, and no existing
    entry it holds matching `patterns` (the names the writer will write, globs allowed) may be one."""
    directory = Path(directory)
    if os.path.lexists(directory) and not directory.is_dir():
        check_output(directory, db)
        raise FilmkbError(f"{directory}: is a file, not a directory; nothing was written")
    if not directory.is_dir():
        return
    for pattern in patterns:
        for entry in sorted(directory.glob(pattern)):
            check_output(entry, db)
