"""The DuckDB file: connect, create the schema from the SQLModel tables, apply the SQL views.

One native DuckDB connection serves reads and writes; DDL is compiled from the SQLModel
metadata by the duckdb-engine dialect so the schema is declared in one place only.
Engine-specific calls (DuckDB exceptions, CHECKPOINT) stay in kb/.
"""

from __future__ import annotations

import os
import re
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

import duckdb

from ..errors import FilmkbError
from .views import VIEWS_DIR, view_files, view_names, views  # noqa: F401  (VIEWS_DIR, view_files: kb's API)
from .paths import DUCKDB_SIGNATURE, is_duckdb, require_file  # noqa: F401  (is_duckdb: for the engine)

KBError = FilmkbError  # the name the notebook API has always exported
DEFAULT_DB = "filmkb.duckdb"
OPENED: list[str] = []  # every path this process connected to, in order (the benchmark counts them)


def default_path() -> str:
    """The database path: $FILMKB_DB, else filmkb.duckdb in the working directory."""
    return os.environ.get("FILMKB_DB") or DEFAULT_DB


def now() -> datetime:
    """UTC wall time without tzinfo (DuckDB TIMESTAMP)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


# A read-only connection is sealed: no file-system access (COPY ... TO, read_csv/read_parquet/read_text
# on paths), no ATTACH, no INSTALL/LOAD, and the configuration locked so a query cannot undo it.
SEALED = {"enable_external_access": False, "lock_configuration": True}


def connect(path: str | os.PathLike | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file; a held write lock becomes a clear 'database is busy' error, and a file that
    is empty, not DuckDB's or cut short (checked cheaply from its headers, size and DuckDB's count of
    blocks in use) a 'damaged' one."""
    path = str(path or default_path())
    if path != ":memory:":
        require_file(path)  # a device, FIFO, socket or link loop is never opened (no endless read, no hang)
    if read_only and path != ":memory:" and not Path(path).exists():
        raise FilmkbError(f"{path}: no such database; run `filmkb init` first")
    before = os.stat(path) if path != ":memory:" and Path(path).is_file() else None
    if before:
        problem = file_damage(path)
        if problem:
            raise damaged(path, problem)
    try:
        con = duckdb.connect(path, read_only=read_only, config=SEALED if read_only else {})
    except duckdb.Error as exc:
        if isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower():
            raise FilmkbError(f"{path}: database is busy (another filmkb process is writing); "
                              "retry when it finishes") from None
        if _is_damage(exc):
            raise damaged(path, _engine_detail(exc)) from None
        raise FilmkbError(f"{path}: {first_line(exc)}") from None
    if before and _same_file(before, path):  # not replaced meanwhile by a writer's atomic rename
        problem = missing_blocks(con, path)
        if problem:
            con.close()
            raise damaged(path, problem)
    OPENED.append(path)
    return con


def first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


# ---------------------------------------------------------------------------- damaged files
# DuckDB's file: a 4096-byte main header (checksum, b"DUCK", version, flags, ...), two 4096-byte database
# headers (checksum, iteration, meta block, free list, block count, block size, ...), then blocks of
# `block size` bytes, each an 8-byte checksum of the rest. DuckDB verifies a block's checksum when it
# reads it, but it reads only what a statement needs (index blocks only on writes); file_damage reads
# them all. The checksum: 5381 XOR, over each little-endian uint64 x, x * 0xbf58476d1ce4e5b9 (mod 2^64).
_HEADER_SIZE = 4096
_FIRST_BLOCK = 3 * _HEADER_SIZE
_CHECKSUM_FACTOR = 0xBF58476D1CE4E5B9
_DAMAGE_MESSAGES = ("corrupt database file", "could not read enough bytes", "not a valid duckdb database file")


def damaged(path: str, detail: str) -> FilmkbError:
    """The one-line error for a damaged database file, with the two ways out."""
    return FilmkbError(f"{path}: the database file looks damaged ({detail}); nothing was changed; restore a good "
                       f"copy (e.g. {path}.bak) or rebuild it with `filmkb init --force` (which keeps this file "
                       "under a new .bak name)")


def _is_damage(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.Error) and any(m in str(exc).lower() for m in _DAMAGE_MESSAGES)


def _engine_detail(exc: BaseException) -> str:
    """DuckDB's first line without the file name (a transaction's is the private copy's)."""
    return re.sub(r' (from |in )?(the )?file "[^"]*"', "", first_line(exc))


def _checksums(blocks):
    """DuckDB's checksum of each row of a (n, size) uint8 array, checksum bytes excluded."""
    import numpy as np

    words = np.ascontiguousarray(blocks[:, 8:]).view("<u8")
    with np.errstate(over="ignore"):
        return np.bitwise_xor.reduce(words * np.uint64(_CHECKSUM_FACTOR), axis=1) ^ np.uint64(5381)


def _header_ok(raw: bytes) -> bool:
    import numpy as np

    return int.from_bytes(raw[:8], "little") == int(_checksums(np.frombuffer(raw, np.uint8)[None, :])[0])


def file_damage(path: str, full: bool = False) -> str | None:
    """Why the file at `path` is not an intact DuckDB database, in a few words; None if it looks intact.

    Always checked (reads 12 KiB): empty file, no DuckDB signature, cut short (the size is not the
    headers plus whole blocks). `full` also verifies the checksum of every block in the file, as
    DuckDB does for the blocks it reads. Where the headers do not verify with this checksum (an
    encrypted file or a format this code does not know), only the signature is checked and DuckDB's
    own checks decide, so a format change cannot make a healthy file look damaged.
    """
    with open(path, "rb") as handle:  # one handle: a concurrent atomic rename cannot mix two files
        size = os.fstat(handle.fileno()).st_size
        head = handle.read(_FIRST_BLOCK)
        return _damage(handle, size, head, full)


def _damage(handle, size: int, head: bytes, full: bool) -> str | None:
    if size == 0:
        return "empty file, 0 bytes"
    if head[8:12] != DUCKDB_SIGNATURE:
        return "not a DuckDB database file"
    if len(head) < _FIRST_BLOCK:
        return f"cut short: {size} bytes, less than DuckDB's headers"
    main = head[:_HEADER_SIZE]
    if any(main[20:52]) or not _header_ok(main):  # flags set (encryption, ...) or unknown format: DuckDB decides
        return None
    headers = [head[o:o + _HEADER_SIZE] for o in (_HEADER_SIZE, 2 * _HEADER_SIZE)]
    headers = [h for h in headers if _header_ok(h)]
    if not headers:
        return None
    active = max(headers, key=lambda h: int.from_bytes(h[8:16], "little"))
    block_size = int.from_bytes(active[40:48], "little")
    if block_size < _HEADER_SIZE or block_size & (block_size - 1) or block_size > 1 << 30:
        return None
    if (size - _FIRST_BLOCK) % block_size:
        return f"cut short: {size} bytes, not the headers plus whole {block_size}-byte blocks"
    return _bad_block(handle, size, block_size) if full else None


def _same_file(before: os.stat_result, path: str) -> bool:
    after = os.stat(path)
    return (before.st_ino, before.st_dev, before.st_size, before.st_mtime_ns) == \
        (after.st_ino, after.st_dev, after.st_size, after.st_mtime_ns)


def missing_blocks(con: duckdb.DuckDBPyConnection, path: str) -> str | None:
    """'cut short: ...' if the file holds fewer blocks than DuckDB counts in use (a cut at a block boundary)."""
    ((used, block_size),) = con.execute("SELECT used_blocks, block_size FROM pragma_database_size() "
                                        "WHERE database_name = current_database()").fetchall()
    present = max(0, os.path.getsize(path) - _FIRST_BLOCK) // block_size
    return f"cut short: {present} blocks in the file, {used} in use" if present < used else None


def _bad_block(handle, size: int, block_size: int) -> str | None:
    """The first block whose stored checksum does not match its bytes (all-zero, i.e. freed, blocks skipped)."""
    import numpy as np

    per_read = max(1, (64 << 20) // block_size)
    handle.seek(_FIRST_BLOCK)
    first = 0
    while first * block_size < size - _FIRST_BLOCK:
        raw = np.frombuffer(handle.read(per_read * block_size), np.uint8)
        blocks = raw[: len(raw) // block_size * block_size].reshape(-1, block_size)
        if not len(blocks):
            break
        stored = np.ascontiguousarray(blocks[:, :8]).view("<u8")[:, 0]
        used = blocks[:, 8:].any(axis=1)
        bad = np.flatnonzero(used & (stored != _checksums(blocks)))
        if len(bad):
            block = first + int(bad[0])
            return f"block {block} at byte {_FIRST_BLOCK + block * block_size} fails its checksum"
        first += len(blocks)
    return None


# ---------------------------------------------------------------------------- statements with a time limit

class QueryTimeout(FilmkbError):
    """A statement ran longer than its time limit and was interrupted (nothing was written)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        super().__init__(f"query interrupted after {seconds:g} s (timeout {seconds:g} s; 0 or None for no limit)")


@contextmanager
def interrupt_after(con: duckdb.DuckDBPyConnection, seconds: float | None):
    """Interrupt whatever `con` runs inside the block once `seconds` have passed (None or 0: no limit);
    the interrupted statement raises QueryTimeout and the connection stays usable."""
    if not seconds:
        yield
        return
    guard, state = threading.Lock(), {"inside": True, "fired": False}

    def stop() -> None:
        with guard:  # never interrupt a later statement on the same connection
            if state["inside"]:
                state["fired"] = True
                con.interrupt()

    timer = threading.Timer(seconds, stop)
    timer.daemon = True
    timer.start()
    try:
        yield
    except duckdb.InterruptException:
        if state["fired"]:
            raise QueryTimeout(seconds) from None
        raise
    finally:
        with guard:
            state["inside"] = False
        timer.cancel()


def engine_error(exc: BaseException, path: str) -> FilmkbError | None:
    """A one-line FilmkbError for a DuckDB error (None for anything else)."""
    if _is_damage(exc):
        return damaged(path, _engine_detail(exc))
    if isinstance(exc, duckdb.PermissionException) or (
            isinstance(exc, duckdb.InvalidInputException) and "configuration has been locked" in str(exc)):
        return FilmkbError(f"query is sealed: it may read the knowledge base only (no files, ATTACH, extensions or "
                           f"settings); nothing was read or written ({first_line(exc)})")
    if isinstance(exc, duckdb.ConstraintException):
        return FilmkbError(f"{path}: {first_line(exc)}; nothing was written")
    if isinstance(exc, duckdb.InvalidInputException) and "read-only" in str(exc):
        return FilmkbError("query is read-only: only SELECT-like statements are allowed; nothing was changed")
    if isinstance(exc, (duckdb.IOException, duckdb.FatalException)):  # no space, a file-size limit, ...
        return FilmkbError(f"{path}: the write failed ({_engine_detail(exc).removeprefix('FATAL Error: ')}); "
                           "nothing was written")
    if isinstance(exc, duckdb.Error):
        return FilmkbError(first_line(exc))
    return None


def schema_ddl(only: tuple[str, ...] | None = None, dialect: str = "duckdb") -> list[str]:
    """CREATE SEQUENCE / CREATE TABLE statements for every SQLModel table (or the tables named in `only`,
    for a migration that adds them), in dependency order, compiled by the SQLAlchemy dialect of the
    engine ('duckdb': duckdb-engine's, 'postgresql': SQLAlchemy's own) from the one set of declarations."""
    from sqlalchemy.schema import CreateSequence, CreateTable
    from sqlmodel import SQLModel

    from ..schema import tables  # noqa: F401  (registers the tables on the metadata)

    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql.psycopg import dialect as pg_dialect

        dialect = pg_dialect()
    else:
        from duckdb_engine import Dialect

        dialect = Dialect()
    stmts = []
    for table in [t for t in SQLModel.metadata.sorted_tables if only is None or t.name in only]:
        for col in table.columns:
            if col.default is not None and hasattr(col.default, "increment"):
                stmts.append(str(CreateSequence(col.default, if_not_exists=True).compile(dialect=dialect)))
        stmts.append(str(CreateTable(table, if_not_exists=True).compile(dialect=dialect)))
    return stmts


def stamped_columns() -> dict[str, list[str]]:
    """table -> which of created_by / created_at the database fills by default (schema 5), per table."""
    from sqlmodel import SQLModel

    from ..schema import tables  # noqa: F401

    out = {}
    for table in SQLModel.metadata.sorted_tables:
        filled = [c.name for c in table.columns if c.name in ("created_by", "created_at") and c.server_default is not None]
        if filled:
            out[table.name] = filled
    return out


def table_names() -> list[str]:
    """Every table of the schema, parents before children."""
    from sqlmodel import SQLModel

    from ..schema import tables  # noqa: F401

    return [t.name for t in SQLModel.metadata.sorted_tables]


def create_schema(con, dialect: str = "duckdb") -> None:
    """Create sequences, tables, the migrations row and the Alembic stamp at head (idempotent)."""
    from ..schema.version import SCHEMA_VERSION

    for stmt in schema_ddl(dialect=dialect):
        con.execute(stmt)
    con.execute(
        "INSERT INTO schema_migrations (version, description, applied_at) "
        "SELECT ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?)",
        [SCHEMA_VERSION, "initial schema", now(), SCHEMA_VERSION],
    )
    from . import revisions

    revisions.stamp(con)  # the Alembic revision these tables equal: the head


def apply_views(con) -> list[str]:
    """(Re)create every view: schema/views/*.sql, then the descriptor sets' own (kb/views.py); returns where
    each was written (a file, or a set's module and the view's name)."""
    applied = []
    for view in views():
        con.execute(view.statement)
        applied.append(view.source if view.source.endswith(".sql") else f"{view.source}:{view.name}")
    return applied


@lru_cache(maxsize=None)
def view_query(name: str) -> str:
    """The SELECT that defines view `name` (comments removed), to run on other inputs."""
    pattern = re.compile(rf"CREATE OR REPLACE VIEW {re.escape(name)} AS\s+(.*);\s*$", re.S | re.I)  # one view each
    for view in views():
        found = pattern.search(re.sub(r"--[^\n]*", "", view.statement))
        if found:
            return found.group(1).strip()
    raise KeyError(f"no view {name} in {VIEWS_DIR} or a descriptor set's views")


def base_tables(con) -> list[str]:
    """The names of the tables in a database (to say what a database that is not filmkb's holds)."""
    return [t for (t,) in con.execute("SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
                                      "AND table_schema = current_schema() ORDER BY 1").fetchall()]


def dialect_of(con) -> str:
    """'postgresql' for a server's connection (kb/engines/pg_connection.py answers has_table), else 'duckdb':
    the dialect a migration step compiles its DDL for."""
    return "postgresql" if hasattr(con, "has_table") else "duckdb"


def schema_version(con) -> int | None:
    """The highest applied schema version, or None for a database without filmkb tables."""
    if dialect_of(con) == "postgresql":  # ask the catalogue (an error would end the server's transaction)
        if not con.has_table("schema_migrations"):
            return None
        return con.execute("SELECT max(version) FROM schema_migrations").fetchall()[0][0]
    try:
        return con.execute("SELECT max(version) FROM schema_migrations").fetchall()[0][0]
    except duckdb.CatalogException:
        return None


def describe_tables(tables: list[str], version: int | None, kind: str) -> str | None:
    """What a database holding `tables` (stamped `version`) is when it is not a filmkb knowledge base this
    code can open ('a DuckDB database without filmkb's tables (2 tables: a, b)'); None if it is one."""
    if version is None:
        shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
        count = f"{len(tables)} table{'' if len(tables) == 1 else 's'}"
        return f"{kind} without filmkb's tables ({count}{': ' if tables else ''}{shown})"
    later = ("suggestions", "audit_log", "run_artifacts")  # added by the upgrades to versions 4, 5 and 6
    missing = [t for t in table_names() if t not in tables and t not in later]
    return f"a filmkb database missing the tables {', '.join(missing)}" if missing else None
