"""The DuckDB file: connect, create the schema from the SQLModel tables, apply the SQL views.

One native DuckDB connection serves reads and writes; DDL is compiled from the SQLModel
metadata by the duckdb-engine dialect so the schema is declared in one place only.
Engine-specific calls (DuckDB exceptions, CHECKPOINT) stay in kb/.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

import duckdb

from ..errors import FilmkbError

KBError = FilmkbError  # the name the notebook API has always exported
DEFAULT_DB = "filmkb.duckdb"
VIEWS_DIR = Path(__file__).resolve().parent.parent / "schema" / "views"
OPENED: list[str] = []  # every path this process connected to, in order (the benchmark counts them)


def default_path() -> str:
    """The database path: $FILMKB_DB, else filmkb.duckdb in the working directory."""
    return os.environ.get("FILMKB_DB") or DEFAULT_DB


def now() -> datetime:
    """UTC wall time without tzinfo (DuckDB TIMESTAMP)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def connect(path: str | os.PathLike | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file; a held write lock becomes a clear 'database is busy' error."""
    path = str(path or default_path())
    if read_only and path != ":memory:" and not Path(path).exists():
        raise FilmkbError(f"{path}: no such database; run `filmkb init` first")
    try:
        con = duckdb.connect(path, read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise FilmkbError(f"{path}: database is busy (another filmkb process is writing); "
                              "retry when it finishes") from None
        raise FilmkbError(f"{path}: {str(exc).splitlines()[0]}") from None
    OPENED.append(path)
    return con


def first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def engine_error(exc: BaseException, path: str) -> FilmkbError | None:
    """A one-line FilmkbError for a DuckDB error (None for anything else)."""
    if isinstance(exc, duckdb.ConstraintException):
        return FilmkbError(f"{path}: {first_line(exc)}; nothing was written")
    if isinstance(exc, duckdb.InvalidInputException) and "read-only" in str(exc):
        return FilmkbError("query is read-only: only SELECT-like statements are allowed; nothing was changed")
    if isinstance(exc, duckdb.Error):
        return FilmkbError(first_line(exc))
    return None


def schema_ddl() -> list[str]:
    """CREATE SEQUENCE / CREATE TABLE statements for every SQLModel table, in dependency order."""
    from duckdb_engine import Dialect
    from sqlalchemy.schema import CreateSequence, CreateTable
    from sqlmodel import SQLModel

    from ..schema import tables  # noqa: F401  (registers the tables on the metadata)

    dialect, stmts = Dialect(), []
    for table in SQLModel.metadata.sorted_tables:
        for col in table.columns:
            if col.default is not None and hasattr(col.default, "increment"):
                stmts.append(str(CreateSequence(col.default, if_not_exists=True).compile(dialect=dialect)))
        stmts.append(str(CreateTable(table, if_not_exists=True).compile(dialect=dialect)))
    return stmts


def table_names() -> list[str]:
    """Every table of the schema, parents before children."""
    from sqlmodel import SQLModel

    from ..schema import tables  # noqa: F401

    return [t.name for t in SQLModel.metadata.sorted_tables]


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create sequences, tables and the migrations row (idempotent)."""
    from ..schema.tables import SCHEMA_VERSION

    for stmt in schema_ddl():
        con.execute(stmt)
    con.execute(
        "INSERT INTO schema_migrations (version, description, applied_at) "
        "SELECT ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?)",
        [SCHEMA_VERSION, "initial schema", now(), SCHEMA_VERSION],
    )


def view_files() -> list[Path]:
    """The view definitions, applied in file-name order (010_, 020_, ...)."""
    return sorted(VIEWS_DIR.glob("*.sql"))


def apply_views(con: duckdb.DuckDBPyConnection) -> list[str]:
    """(Re)create every view from schema/views/*.sql; returns the files applied."""
    applied = []
    for path in view_files():
        con.execute(path.read_text())
        applied.append(path.name)
    return applied


@lru_cache(maxsize=None)
def view_query(name: str) -> str:
    """The SELECT that defines view `name` in schema/views (comments removed), to run on other inputs."""
    pattern = re.compile(rf"CREATE OR REPLACE VIEW {re.escape(name)} AS\s+(.*);\s*$", re.S | re.I)  # one view a file
    for path in view_files():
        text = re.sub(r"--[^\n]*", "", path.read_text())
        found = pattern.search(text)
        if found:
            return found.group(1).strip()
    raise KeyError(f"no view {name} in {VIEWS_DIR}")


def schema_version(con: duckdb.DuckDBPyConnection) -> int | None:
    """The highest applied schema version, or None for a file without filmkb tables."""
    try:
        return con.execute("SELECT max(version) FROM schema_migrations").fetchall()[0][0]
    except duckdb.CatalogException:
        return None
