"""One open knowledge base: the queries the layers above need and one `transaction()`.

    with kb.open("filmkb.duckdb") as k:          # read-only until a transaction starts
        X = k.descriptor_matrix()
        with k.transaction(wait=30):             # lock, private copy, commit = atomic rename
            k.store_run(...)

`kb.open(path, write=True)` is one transaction for the object's whole life (what `reproduce`
uses: one copy of the file for all its writes). `kb.build(path)` makes a new file from scratch.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

from ..errors import FilmkbError
from . import migrations, writer
from .db import (base_tables, connect, create_schema, default_path, engine_error, file_damage, schema_version,
                 table_names)
from .paths import is_duckdb, require_file
from .queries import Queries
from .results import Results
from .store import Writes
from .suggestions import Suggestions


class KnowledgeBase(Queries, Writes, Results, Suggestions):
    """An open knowledge base (read-only unless inside `transaction()`)."""

    def __init__(self, path: str, con=None, writing: bool = False):
        self.path = path
        self.backup = None  # the name the old file was kept under, after `build(path, backup=True)` replaced it
        self._con = con
        self._scratch = None  # the private copy a transaction writes to
        self.writing = writing

    # ---------------------------------------------------------------- connection

    @property
    def con(self):
        """The DuckDB connection (opened read-only on first use outside a transaction)."""
        if self._con is None:
            self._con = connect(self.path, read_only=True)
            with self._engine_errors():
                try:
                    migrations.refuse_newer(self._con, self.path)
                except FilmkbError:
                    self.close()
                    raise
                stale = migrations.pending(self._con)
            if stale:  # made by an older filmkb: upgrade in place, atomically
                with self.transaction():
                    pass
                self._con = connect(self.path, read_only=True)
        return self._con

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _require_writing(self) -> None:
        if not self.writing:
            raise FilmkbError(f"{self.path}: writes need `with kb.transaction():`")

    # ---------------------------------------------------------------- writes

    @contextmanager
    def transaction(self, wait: float = 0.0):
        """Everything in the block commits together or not at all: the writer lock, a private copy of
        the file, BEGIN ... COMMIT on it, then an atomic rename over the original. Re-entrant."""
        if self.writing:
            yield self
            return
        with writer.writer_lock(self.path, wait):
            self.close()
            self._scratch = writer.copy_for_writing(self.path)
            try:
                self._con, self.writing = connect(self._scratch), True
                with self._engine_errors():
                    migrations.refuse_newer(self._con, self.path)
                    self._con.begin()
                    migrations.upgrade(self._con)
                    yield self
                    self._con.commit()
                    self._con.execute("CHECKPOINT")
                self.close()
                writer.publish(self._scratch, self.path)
            finally:
                self.close()
                writer.remove_quietly(self._scratch)
                self._scratch, self.writing = None, False

    @contextmanager
    def _engine_errors(self):
        try:
            yield
        except Exception as exc:
            translated = engine_error(exc, self.path)
            if translated is None:
                raise
            raise translated from None


def open(path: str | os.PathLike | None = None, write: bool = False, wait: float = 0.0):  # noqa: A001
    """Open the knowledge base (default $FILMKB_DB or ./filmkb.duckdb); read-only unless write=True,
    which makes the whole `with` block one transaction."""
    path = str(path or default_path())
    if not write:
        k = KnowledgeBase(path)
        k.con  # noqa: B018  (fail now, with the fix, if the file does not exist)
        return k
    return _writing(path, wait)


@contextmanager
def _writing(path: str, wait: float):
    k = KnowledgeBase(path)
    try:
        with k.transaction(wait):
            yield k
    finally:
        k.close()


@contextmanager
def build(path: str, backup: bool = False):
    """A new knowledge base written to a private scratch file (schema created) that replaces `path`
    atomically when the block succeeds (keeping the old file under a new backup name, PATH.bak, PATH.bak.1,
    ..., if `backup`: `k.backup` names it). The caller holds the writer lock (`kb.locked`)."""
    tmp = writer.scratch_name(path, "building")
    writer.remove_quietly(tmp)
    k = KnowledgeBase(path, writing=True)
    try:
        k._con = connect(tmp)
        with k._engine_errors():
            create_schema(k.con)
            k.con.begin()
            yield k
            k.con.commit()
            k.con.execute("CHECKPOINT")
        k.close()
        k.backup = writer.publish(tmp, path, backup=backup)
    finally:
        k.close()
        writer.remove_quietly(tmp)


def not_a_knowledge_base(path: str) -> str | None:
    """What is at `path` when it is not a filmkb database this code can open, in a few words ('a file that
    is not a DuckDB database (1,234 bytes)', 'a DuckDB database without filmkb's tables (2 tables: a, b)',
    'a damaged database (...)'); None for a missing file or a filmkb database (this schema or an older
    one). A device, FIFO or socket, and a database made by a newer filmkb, raise FilmkbError."""
    require_file(path)
    if not os.path.exists(path):
        return None
    size = os.path.getsize(path)
    if size == 0:
        return "an empty file (0 bytes)"
    if not is_duckdb(path):
        return f"a file that is not a DuckDB database ({size:,} bytes)"
    problem = file_damage(path, full=True)
    if problem:
        return f"a damaged database ({problem})"
    try:
        con = connect(path, read_only=True)
    except FilmkbError as exc:
        if "busy" in str(exc):
            raise
        return f"a database that cannot be opened ({str(exc).removeprefix(f'{path}: ')})"
    try:
        migrations.refuse_newer(con, path)
        tables = base_tables(con)
        version = schema_version(con) if "schema_migrations" in tables else None
    finally:
        con.close()
    if version is None:
        shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
        count = f"{len(tables)} table{'' if len(tables) == 1 else 's'}"
        return f"a DuckDB database without filmkb's tables ({count}{': ' if tables else ''}{shown})"
    missing = [t for t in table_names() if t not in tables and t != "suggestions"]  # suggestions: added in version 4
    return f"a filmkb database missing the tables {', '.join(missing)}" if missing else None


def locked(path: str | os.PathLike | None = None, wait: float = 0.0):
    """Hold the writer lock of the database (re-entrant): for a job that reads, decides and writes."""
    return writer.writer_lock(str(path or default_path()), wait)
