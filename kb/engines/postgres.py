"""The PostgreSQL engine: the same knowledge base on a database server, through psycopg 3.

- Reads: every statement alone in its own READ ONLY transaction, rolled back after it (`PgConnection`), so
  `filmkb query` can never write nor change a setting for the next statement; `--timeout` adds
  `SET LOCAL statement_timeout` to that transaction.
- Writes: one server transaction per `transaction()`, serialised by a transaction-level advisory lock
  (`pg_advisory_xact_lock`): concurrent writers queue and all land, each batch atomic, and each one's
  duplicate check reads what the writers before it committed (no check-then-insert race).
- The schema is compiled by SQLAlchemy's postgresql dialect from the same SQLModel tables; the views
  are the same (schema/views/*.sql and the descriptor sets' own, kb/views.py).
- kb/ writes `?` placeholders; `PgConnection` turns them into psycopg's `%s` in one place.
- Errors (server down, wrong password, missing database, no right, a constraint) become one-line
  FilmkbErrors; the password of the URL is never shown.
"""

from __future__ import annotations

import os
import re
import threading
from contextlib import contextmanager
from pathlib import Path

from ...errors import FilmkbError
from .. import db, migrations
from . import pg_roles, shown, without_secrets
from .pg_connection import PgConnection, _array_type, _python, driver_url

LOCK_KEY = 0x46494C4D4B42  # 'FILMKB': the advisory lock every filmkb writer of a database takes
SERVER_WAIT = 60.0  # seconds a writer queues for the one before it at least (writers on a server take turns)
CONNECT_TIMEOUT = 10  # seconds to reach the server
BACKUP_SCHEMA = "filmkb_backup_"
_HELD: dict = {}  # (database, thread) -> depth: this process holds the writer lock (`locked`)


class Postgres:
    """A knowledge base in the PostgreSQL database a URL names."""

    is_server = True

    def __init__(self, url: str):
        self.url = url
        self.name = shown(url)

    # ---------------------------------------------------------------- connections

    def connect(self, read_only: bool) -> PgConnection:
        """A connection (UTC session time zone; read-only transactions unless writing); a server that cannot
        be reached, a refused login or a missing database: one-line FilmkbError."""
        import psycopg

        options = "-c TimeZone=UTC" + (" -c default_transaction_read_only=on" if read_only else "")
        try:
            raw = psycopg.connect(driver_url(self.url), autocommit=read_only, connect_timeout=CONNECT_TIMEOUT,
                                  options=options)
        except psycopg.Error as exc:
            raise self.connect_error(exc) from None
        from psycopg.types.string import TextLoader

        for json_type in ("json", "jsonb"):  # JSON read as its text, as DuckDB gives it (audit_log)
            raw.adapters.register_loader(json_type, TextLoader)
        db.OPENED.append(self.name)
        return PgConnection(raw, read_only)

    def connect_error(self, exc) -> FilmkbError:
        text = without_secrets(" ".join(str(exc).split()), self.url)
        reason = re.sub(r"^connection failed: ", "", text)
        reason = re.sub(r"^connection to server at .*? failed: ", "", reason)
        reason = reason.replace("FATAL: ", "").strip()
        if "password authentication failed" in reason or "no password supplied" in reason:
            return FilmkbError(f"{self.name}: the server refused the login ({reason}); check the user and password "
                               "(in the URL, PGPASSWORD or ~/.pgpass); nothing was read or written")
        if re.search(r'database ".*" does not exist', reason):
            return FilmkbError(f"{self.name}: {reason} on the server; create it first (e.g. `createdb NAME`); "
                               "nothing was read or written")
        if "permission denied" in reason:
            return FilmkbError(f"{self.name}: {reason}; nothing was read or written")
        reason = reason.split(" Is the server running")[0].strip()
        return FilmkbError(f"{self.name}: cannot reach the database server ({reason}; is it running?); "
                           "nothing was read or written")

    def connect_read(self) -> PgConnection:
        """A read-only connection to a filmkb knowledge base (an empty database: run `filmkb init` first)."""
        con = self.connect(read_only=True)
        try:
            if not con.has_table("schema_migrations"):
                raise FilmkbError(f"{self.name}: no filmkb knowledge base in this database; run `filmkb init` first")
        except BaseException:
            con.close()
            raise
        return con

    # ---------------------------------------------------------------- the writer lock

    def _key(self):
        return (driver_url(self.url), threading.get_ident())

    def _take_lock(self, con: PgConnection, wait: float, session: bool) -> None:
        """Take the writer lock on `con` (for the transaction, or the session with `session`), queueing behind
        the writers before it (the server's lock queue: first come, first served) for up to max(wait,
        SERVER_WAIT) seconds; 'database is busy' after that."""
        from psycopg import errors

        milliseconds = int(max(wait, SERVER_WAIT) * 1000)
        scope = "" if session else "LOCAL "
        function = "pg_advisory_lock" if session else "pg_advisory_xact_lock"
        try:
            con.raw.execute(f"SET {scope}lock_timeout = {milliseconds}")
            con.raw.execute(f"SELECT {function}(%s)", [LOCK_KEY])
            con.raw.execute(f"SET {scope}lock_timeout = 0")
        except errors.LockNotAvailable:
            raise FilmkbError(f"{self.name}: database is busy (another filmkb process is writing); "
                              "nothing was written, retry when it has finished") from None

    @contextmanager
    def locked(self, wait: float):
        """Hold the writer lock for the block (re-entrant): other processes' writers wait their turn."""
        key = self._key()
        if _HELD.get(key):
            _HELD[key] += 1
            try:
                yield
            finally:
                _HELD[key] -= 1
            return
        con = self.connect(read_only=True)
        try:
            self._take_lock(con, wait, session=True)
            _HELD[key] = 1
            try:
                yield
            finally:
                _HELD.pop(key, None)
        finally:
            con.close()  # ends the session: the lock goes with it

    # ---------------------------------------------------------------- transactions

    @contextmanager
    def _server_transaction(self, k, wait: float):
        """A write connection in one server transaction holding the writer lock; commit when the block ends."""
        k.close()
        con = self.connect(read_only=False)
        k._con, k.writing = con, True
        try:
            with k._engine_errors():
                if not _HELD.get(self._key()):
                    self._take_lock(con, wait, session=False)
                yield con
                con.raw.commit()
        except BaseException:
            try:
                con.raw.rollback()
            except Exception:  # noqa: BLE001 - the connection is gone: the server rolled back
                pass
            raise
        finally:
            k.close()
            k.writing = False

    @contextmanager
    def transaction(self, k, wait: float):
        with self._server_transaction(k, wait) as con:
            if not con.has_table("schema_migrations"):
                raise FilmkbError(f"{self.name}: no filmkb knowledge base in this database; run `filmkb init` "
                                  "first; nothing was written")
            migrations.refuse_newer(con, self.name)
            refusal = pg_roles.upgrade_refusal(con, self.name) or pg_roles.write_refusal(con, self.name)
            if refusal is not None:
                raise refusal
            if 5 in migrations.upgrade(con):  # the audit's triggers and the group roles' rights, on a server only
                pg_roles.install(con)
            yield k

    @contextmanager
    def build(self, k, backup: bool):
        """A new knowledge base in one transaction: filmkb's tables, views and sequences already there are
        moved to a new schema filmkb_backup_N with `backup` (else dropped), then the schema is created."""
        with self._server_transaction(k, 0.0) as con:
            present = self._filmkb_objects(con)
            if present and backup:
                k.backup = self._keep(con, present)
            else:
                for kind, name in present:
                    con.execute(f'DROP {kind} IF EXISTS "{name}" CASCADE')
            db.create_schema(con, dialect="postgresql")
            yield k
            pg_roles.install(con)  # after the curated load: the audit starts with the first write after init

    def _filmkb_objects(self, con) -> list[tuple[str, str]]:
        """(VIEW | TABLE | SEQUENCE, name) of every object of filmkb's schema in the current schema."""
        tables = set(db.table_names())
        sequences = {c.default.name for t in _metadata_tables() for c in t.columns
                     if c.default is not None and hasattr(c.default, "increment")}
        rows = con.execute("""SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
                                     c.relname
                              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                              WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'v', 'S')
                              ORDER BY 1 DESC, 2""").fetchall()
        views = set(db.view_names())
        return [(kind, name) for kind, name in rows
                if (kind == "TABLE" and name in tables) or (kind == "VIEW" and name in views)
                or (kind == "SEQUENCE" and name in sequences)]

    def _keep(self, con, present) -> str:
        """Move `present` to a new schema filmkb_backup_N; returns its name."""
        taken = {n for (n,) in con.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'filmkb\\_backup\\_%'")
                 .fetchall()}
        n = 1
        while f"{BACKUP_SCHEMA}{n}" in taken:
            n += 1
        schema = f"{BACKUP_SCHEMA}{n}"
        con.execute(f'CREATE SCHEMA "{schema}"')
        for kind, name in present:
            con.execute(f'ALTER {kind} "{name}" SET SCHEMA "{schema}"')
        return f"schema {schema}"

    def write_refusal(self, con):
        """None if the login may write; else the one-line WriteRefused (a reader, or no filmkb role)."""
        return pg_roles.write_refusal(con, self.name)

    def grant(self, k, login: str, role: str, password: str | None = None) -> str:
        """Make `login` a reader or writer (kb/engines/pg_roles.py), in one transaction of the owner."""
        with k.transaction():
            return pg_roles.grant(k.con, self.name, login, role, password)

    def exists(self) -> bool:
        """True if the database holds filmkb's tables (an empty database is where `init` builds one)."""
        con = self.connect(read_only=True)
        try:
            return con.has_table("schema_migrations")
        finally:
            con.close()

    def next_backup(self) -> str:
        con = self.connect(read_only=True)
        try:
            taken = {n for (n,) in con.execute("SELECT nspname FROM pg_namespace").fetchall()}
        finally:
            con.close()
        n = 1
        while f"{BACKUP_SCHEMA}{n}" in taken:
            n += 1
        return f"schema {BACKUP_SCHEMA}{n}"

    def models_root(self) -> Path:
        """Model runs of a server's knowledge base are saved in `models/` of the working directory."""
        return Path(os.getcwd()) / "models"

    # ---------------------------------------------------------------- statements

    def error(self, exc: BaseException) -> FilmkbError | None:
        """A one-line FilmkbError for a psycopg error (None for anything else)."""
        import psycopg
        from psycopg import errors

        if not isinstance(exc, psycopg.Error):
            return None
        text = without_secrets(db.first_line(exc), self.url)
        if "multiple commands into a prepared statement" in text:
            return FilmkbError("query runs one statement at a time (no second statement after ';'); nothing was "
                               "read or written")
        if isinstance(exc, errors.ReadOnlySqlTransaction):
            return FilmkbError("query is read-only: only SELECT-like statements are allowed; nothing was changed")
        if isinstance(exc, errors.InsufficientPrivilege):
            login = _login(self.url)
            return FilmkbError(f"{self.name}: {text}: the login {login or ''} lacks this right; nothing was written "
                               f"(the database owner can grant it: filmkb grant {login or 'NAME'} --role writer)")
        if isinstance(exc, psycopg.IntegrityError):
            return FilmkbError(f"{self.name}: {text}; nothing was written")
        if isinstance(exc, psycopg.OperationalError) and not isinstance(exc, errors.QueryCanceled):
            return FilmkbError(f"{self.name}: the connection to the database server failed ({text}); "
                               "nothing was written")
        return FilmkbError(text)

    @contextmanager
    def interrupt_after(self, con: PgConnection, seconds: float | None):
        """The statements of the block in one READ ONLY transaction with `SET LOCAL statement_timeout` (inside
        a write transaction: that transaction, with the limit); past it, QueryTimeout."""
        from psycopg import errors

        if not seconds:
            yield
            return
        milliseconds = max(1, int(round(seconds * 1000)))
        try:
            if con.read_only:
                with con.read_transaction(milliseconds):
                    yield
            else:
                con.raw.execute(f"SET LOCAL statement_timeout = {milliseconds}")
                yield
                con.raw.execute("SET LOCAL statement_timeout = 0")
        except errors.QueryCanceled:
            raise db.QueryTimeout(seconds) from None

    def insert_frame(self, con: PgConnection, table: str, frame, returning: str | None = None) -> list:
        """INSERT the rows of `frame` (one pipelined statement per row, ids returned in order)."""
        cols = ", ".join(f'"{c}"' for c in frame.columns)
        sql = f'INSERT INTO "{table}" ({cols}) VALUES ({", ".join("%s" for _ in frame.columns)})'
        rows = [[_python(v) for v in row] for row in frame.itertuples(index=False, name=None)]
        cursor = con.raw.cursor()
        if not returning:
            cursor.executemany(sql, rows)
            return []
        cursor.executemany(sql + f" RETURNING {returning}", rows, returning=True)
        ids = []
        while True:
            ids.append(cursor.fetchone()[0])
            if not cursor.nextset():
                break
        return ids

    @contextmanager
    def relation(self, con: PgConnection, frame):
        """`frame` as a relation: unnest() of one typed array per column (one parameter per column)."""
        columns = list(frame.columns)
        arrays = ", ".join(f"?::{_array_type(frame[c])}" for c in columns)
        names = ", ".join(f'"{c}"' for c in columns)
        params = [[_python(v) for v in frame[c].tolist()] for c in columns]
        yield f"(SELECT * FROM unnest({arrays}) AS _relation({names}))", params

    # ---------------------------------------------------------------- whole tables (filmkb copy)

    def copy_rows(self, con: PgConnection, table: str, columns: list[str], rows: list[tuple]) -> None:
        """The rows into `table` with COPY ... FROM STDIN (one stream, no statement per row)."""
        names = ", ".join(f'"{c}"' for c in columns)
        with con.raw.cursor().copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)

    def advance_sequence(self, con: PgConnection, sequence: str, value: int) -> None:
        """Make `sequence` hand out numbers above `value`."""
        if value >= 1:
            con.execute("SELECT setval(?, ?)", [sequence, int(value)])

    @contextmanager
    def without_triggers(self, con: PgConnection, tables):
        """The tables' own triggers (an audit trail) held back for the block, inside the transaction: copied rows
        are not new changes, and a copied audit table already records them (foreign keys stay checked)."""
        for table in tables:
            con.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER USER')
        yield
        for table in tables:
            con.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER USER')

    @contextmanager
    def snapshot(self, con: PgConnection):
        """The block's reads in one READ ONLY, REPEATABLE READ transaction: every table as of one moment, while
        other writers go on."""
        with con.raw.transaction():
            con.raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield

    def check_integrity(self, k) -> None:
        """A full read of every table and view (the server verifies its own pages)."""
        views = db.view_names()
        for name in [*db.table_names(), *views]:
            k._rows(f'SELECT count(*) FROM "{name}"')

    # ---------------------------------------------------------------- what is there

    def not_a_knowledge_base(self) -> str | None:
        """None for an empty database or a filmkb knowledge base; else what the database holds."""
        con = self.connect(read_only=True)
        try:
            tables = db.base_tables(con)
            version = db.schema_version(con) if "schema_migrations" in tables else None
            if version is not None:
                migrations.refuse_newer(con, self.name)
        finally:
            con.close()
        if not tables:
            return None
        return db.describe_tables(tables, version, "a PostgreSQL database")


def _login(url: str) -> str | None:
    from urllib.parse import unquote, urlsplit

    try:
        user = urlsplit(url).username
    except ValueError:
        return None
    return unquote(user) if user else None


def _metadata_tables():
    from sqlmodel import SQLModel

    from ...schema import tables  # noqa: F401

    return SQLModel.metadata.sorted_tables
