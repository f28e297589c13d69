"""One open knowledge base: the queries the layers above need and one `transaction()`.

    with kb.open("filmkb.duckdb") as k:          # read-only until a transaction starts
        X = k.descriptor_matrix()
        with k.transaction(wait=30):             # all or nothing
            k.store_run(...)

The engine is picked from the `--db` value (kb/engines): a DuckDB file (lock, private copy, commit =
atomic rename) or a PostgreSQL server (a server transaction). `kb.open(db, write=True)` is one
transaction for the object's whole life (what `reproduce` uses). `kb.build(db)` makes a new knowledge
base from scratch.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from ..errors import FilmkbError
from . import migrations
from .artifacts import Artifacts
from .db import default_path
from .engines import engine_for
from .queries import Queries
from .results import Results
from .store import Writes
from .suggestions import Suggestions


class KnowledgeBase(Queries, Writes, Results, Suggestions, Artifacts):
    """An open knowledge base (read-only unless inside `transaction()`)."""

    def __init__(self, path: str, con=None, writing: bool = False):
        self.engine = engine_for(path)
        self.path = self.engine.name  # what messages call it (a URL's password masked)
        self.backup = None  # the name the old knowledge base was kept under, after `build(db, backup=True)`
        self._con = con
        self.writing = writing

    # ---------------------------------------------------------------- connection

    @property
    def con(self):
        """The connection (opened read-only on first use outside a transaction)."""
        if self._con is None:
            self._con = self.engine.connect_read()
            with self._engine_errors():
                try:
                    migrations.refuse_newer(self._con, self.path)
                except FilmkbError:
                    self.close()
                    raise
                stale = migrations.stale(self._con)
            if stale:  # made by an older filmkb (or lacking a set's views): upgrade in place, atomically
                with self.transaction():
                    pass
                self._con = self.engine.connect_read()
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

    def require_write(self) -> None:
        """Refuse now, in one line, a login that may read but not write (a server's reader), before a job
        computes what it would store (kb/engines/pg_roles.py); nothing on a DuckDB file."""
        with self._engine_errors():
            refusal = self.engine.write_refusal(self.con)
        if refusal is not None:
            raise refusal

    def grant(self, login: str, role: str, password: str | None = None) -> str:
        """Make the server login `login` a 'reader' or 'writer' of this knowledge base (`filmkb grant`); on a
        DuckDB file a one-line refusal."""
        return self.engine.grant(self, login, role, password)

    @contextmanager
    def transaction(self, wait: float = 0.0):
        """Everything in the block commits together or not at all (the engine's transaction: on a file the
        writer lock, a private copy and an atomic rename; on a server a server transaction). Re-entrant."""
        if self.writing:
            yield self
            return
        with self.engine.transaction(self, wait):
            yield self

    @contextmanager
    def snapshot(self):
        """The block's reads as of one moment while other writers go on (on a server one READ ONLY, REPEATABLE
        READ transaction; a file's read-only connection reads one state already); inside `transaction()`, it."""
        if self.writing:
            yield self
            return
        with self._engine_errors(), self.engine.snapshot(self.con):
            yield self

    @contextmanager
    def _engine_errors(self):
        try:
            yield
        except Exception as exc:
            translated = self.engine.error(exc)
            if translated is None:
                raise
            raise translated from None


def open(path: str | os.PathLike | None = None, write: bool = False, wait: float = 0.0):  # noqa: A001
    """Open the knowledge base (a DuckDB path or a PostgreSQL URL; default $FILMKB_DB or ./filmkb.duckdb);
    read-only unless write=True, which makes the whole `with` block one transaction."""
    path = str(path or default_path())
    if not write:
        k = KnowledgeBase(path)
        k.con  # noqa: B018  (fail now, with the fix, if there is no knowledge base)
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
    """A new knowledge base (schema created) that replaces the one at `path` when the block succeeds, keeping
    the old one under a new backup name if `backup` (`k.backup` names it: PATH.bak, PATH.bak.1, ... for a
    file; a schema filmkb_backup_N on a server). The caller holds the writer lock (`kb.locked`)."""
    k = KnowledgeBase(str(path), writing=True)
    try:
        with k.engine.build(k, backup):
            yield k
    finally:
        k.close()


def grant(path: str | os.PathLike | None, login: str, role: str, password: str | None = None) -> str:
    """Make the server login `login` a 'reader' or 'writer' of the knowledge base at the URL `path` (run by its
    owner; the login is created if missing); returns what was done. A DuckDB path: a one-line refusal."""
    k = KnowledgeBase(str(path or default_path()))
    try:
        return k.grant(login, role, password)
    finally:
        k.close()


def not_a_knowledge_base(path: str) -> str | None:
    """What is at `path` when it is not a filmkb database this code can open, in a few words ('a file that
    is not a DuckDB database (1,234 bytes)', 'a DuckDB database without filmkb's tables (2 tables: a, b)',
    'a damaged database (...)'); None for a missing file, an empty server database or a filmkb database
    (this schema or an older one). A device, FIFO or socket, and a database made by a newer filmkb, raise
    FilmkbError."""
    return engine_for(str(path)).not_a_knowledge_base()


def locked(path: str | os.PathLike | None = None, wait: float = 0.0):
    """Hold the writer lock of the knowledge base (re-entrant): for a job that reads, decides and writes."""
    return engine_for(str(path or default_path())).locked(wait)


def exists(path: str | os.PathLike | None = None) -> bool:
    """True if something is at `path` (a file for a DuckDB path; filmkb's tables in a server database)."""
    return engine_for(str(path or default_path())).exists()


def next_backup(path: str | os.PathLike | None = None) -> str:
    """The name `init --force` would keep the present knowledge base under (PATH.bak, PATH.bak.1, ... for a
    file; schema filmkb_backup_N on a server)."""
    return engine_for(str(path or default_path())).next_backup()


def models_root(path: str | os.PathLike | None = None) -> Path:
    """Where model runs are saved by default: `models/` beside a DuckDB file, or in the working directory
    for a server."""
    return engine_for(str(path or default_path())).models_root()


def shown(path: str | os.PathLike | None = None) -> str:
    """The knowledge base's name as it may be printed (a URL's password masked)."""
    return engine_for(str(path or default_path())).name
