"""The DuckDB file engine: one file, one writer at a time (lock + private copy + atomic rename,
kb/writer.py), sealed read-only connections, and the checks of DuckDB's file format (kb/db.py).

Reads use a native DuckDB connection; DataFrames are bound as relations (`con.register`) for bulk
inserts and for descriptors of conditions that are not in the file.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from ...errors import FilmkbError
from .. import audit, db, migrations, writer


class DuckDBFile:
    """A knowledge base in the DuckDB file at `path`."""

    is_server = False

    def __init__(self, path: str):
        self.path = path
        self.name = path  # what messages call it

    # ---------------------------------------------------------------- connections and transactions

    def connect_read(self):
        """A sealed read-only connection (a missing, damaged or busy file: one-line FilmkbError)."""
        return db.connect(self.path, read_only=True)

    @contextmanager
    def transaction(self, k, wait: float):
        """The writer lock, a private copy of the file, BEGIN ... COMMIT on it, then an atomic rename."""
        with writer.writer_lock(self.path, wait):
            k.close()
            scratch = writer.copy_for_writing(self.path)
            try:
                k._con, k.writing = db.connect(scratch), True
                with k._engine_errors():
                    migrations.refuse_newer(k._con, self.path)
                    k._con.begin()
                    audit.set_login(k._con)  # created_by of the rows written: the OS user
                    migrations.upgrade(k._con)
                    audit.snapshot(k._con)  # no triggers in DuckDB: the transaction records its own changes
                    yield k
                    audit.record(k._con)
                    k._con.commit()
                    k._con.execute("CHECKPOINT")
                k.close()
                writer.publish(scratch, self.path)
            finally:
                k.close()
                writer.remove_quietly(scratch)
                k.writing = False

    @contextmanager
    def build(self, k, backup: bool):
        """A new knowledge base in a scratch file that replaces the file when the block succeeds."""
        tmp = writer.scratch_name(self.path, "building")
        writer.remove_quietly(tmp)
        try:
            k._con = db.connect(tmp)
            with k._engine_errors():
                audit.set_login(k._con)
                db.create_schema(k._con)
                k._con.begin()
                yield k
                k._con.commit()
                k._con.execute("CHECKPOINT")
            k.close()
            k.backup = writer.publish(tmp, self.path, backup=backup)
        finally:
            k.close()
            writer.remove_quietly(tmp)

    def write_refusal(self, con):
        """None: a file's writer is whoever may write the file (its permissions decide)."""
        return None

    def grant(self, k, login: str, role: str, password: str | None = None) -> str:
        raise FilmkbError(f"{self.path}: roles exist on a database server only (a DuckDB file has no logins: its "
                          "file permissions decide who reads and writes it); nothing was changed")

    def locked(self, wait: float):
        return writer.writer_lock(self.path, wait)

    def exists(self) -> bool:
        """True if there is a file at the path (a knowledge base or not)."""
        return os.path.exists(self.path)

    def next_backup(self) -> str:
        return writer.next_backup(self.path)

    def models_root(self) -> Path:
        """Where model runs are saved by default: `models/` beside the file."""
        return Path(self.path).resolve().parent / "models"

    # ---------------------------------------------------------------- statements

    def error(self, exc: BaseException) -> FilmkbError | None:
        return db.engine_error(exc, self.path)

    def interrupt_after(self, con, seconds: float | None):
        return db.interrupt_after(con, seconds)

    def insert_frame(self, con, table: str, frame, returning: str | None = None) -> list:
        """INSERT every row of `frame` into `table` in one statement (the frame bound as a relation)."""
        cols = ", ".join(f'"{c}"' for c in frame.columns)
        con.register("_frame", frame)
        try:
            sql = f'INSERT INTO "{table}" ({cols}) SELECT {cols} FROM _frame'
            if returning:
                return [r[0] for r in con.execute(sql + f" RETURNING {returning}").fetchall()]
            con.execute(sql)
            return []
        finally:
            _unregister(con, "_frame")

    @contextmanager
    def relation(self, con, frame):
        """`frame` as a relation a statement can read: yields (its SQL name, the parameters it needs)."""
        con.register("_relation", frame)
        try:
            yield "_relation", []
        finally:
            _unregister(con, "_relation")

    # ---------------------------------------------------------------- whole tables (filmkb copy)

    def copy_rows(self, con, table: str, columns: list[str], rows: list[tuple]) -> None:
        """INSERT `rows` (tuples in the order of `columns`) into `table` in one statement: the rows bound as an
        Arrow table, each column's type taken from all its values (a column of NULLs casts to anything)."""
        import pyarrow as pa

        data = pa.table({c: pa.array([r[i] for r in rows]) for i, c in enumerate(columns)})
        names = ", ".join(f'"{c}"' for c in columns)
        con.register("_copied", data)
        try:
            con.execute(f'INSERT INTO "{table}" ({names}) SELECT {names} FROM _copied')
        finally:
            con.unregister("_copied")

    def advance_sequence(self, con, sequence: str, value: int) -> None:
        """Make `sequence` hand out numbers above `value` (DuckDB has no setval: nextval is drawn until then)."""
        drawn = con.execute(f"SELECT nextval('{sequence}')").fetchall()[0][0]
        if drawn < value:
            con.execute(f"SELECT max(nextval('{sequence}')) FROM range(?)", [int(value - drawn)]).fetchall()

    def without_triggers(self, con, tables):
        """DuckDB has no triggers: nothing to hold back."""
        from contextlib import nullcontext

        return nullcontext()

    def snapshot(self, con):
        """A read-only connection to a file already reads one state of it (a writer publishes a new file)."""
        from contextlib import nullcontext

        return nullcontext()

    def check_integrity(self, k) -> None:
        """Every block's checksum, then a full read of every column of every table and view (hashing whole
        rows, so no column is skipped; DuckDB verifies each block it reads)."""
        if self.path != ":memory:":
            problem = db.file_damage(self.path, full=True)  # a cut at a block boundary: caught by connect()
            if problem:
                raise db.damaged(self.path, problem)
        views = [v for (v,) in k._rows("SELECT view_name FROM duckdb_views() WHERE NOT internal "
                                       "AND database_name = current_database() ORDER BY view_name")]
        for name in [*db.table_names(), *views]:
            k._rows(f'SELECT count(*), sum(hash(t)) FROM "{name}" t')

    # ---------------------------------------------------------------- what is there

    def not_a_knowledge_base(self) -> str | None:
        """What is at the path when it is not a filmkb database this code can open, in a few words; None
        for a missing file or a filmkb database (this schema or an older one)."""
        path = self.path
        db.require_file(path)
        if not os.path.exists(path):
            return None
        size = os.path.getsize(path)
        if size == 0:
            return "an empty file (0 bytes)"
        if not db.is_duckdb(path):
            return f"a file that is not a DuckDB database ({size:,} bytes)"
        problem = db.file_damage(path, full=True)
        if problem:
            return f"a damaged database ({problem})"
        try:
            con = db.connect(path, read_only=True)
        except FilmkbError as exc:
            if "busy" in str(exc):
                raise
            return f"a database that cannot be opened ({str(exc).removeprefix(f'{path}: ')})"
        try:
            migrations.refuse_newer(con, path)
            tables = db.base_tables(con)
            version = db.schema_version(con) if "schema_migrations" in tables else None
        finally:
            con.close()
        return db.describe_tables(tables, version, "a DuckDB database")


def _unregister(con, name: str) -> None:
    """Drop a bound DataFrame; after a failed statement (the transaction aborted) the error that failed it
    is the one raised, not this one."""
    try:
        con.unregister(name)
    except Exception:  # noqa: BLE001 - e.g. 'Current transaction is aborted': the statement's own error follows
        pass
