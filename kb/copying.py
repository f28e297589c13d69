"""A whole knowledge base copied into a new one (`filmkb copy SRC DST`), between any two engines.

Every table of the SQLModel schema is copied, parents before children, ids as they are; the sequences of
the destination are then advanced past the largest id, so the next film, batch or prediction gets a new
one. The source is read through a read-only connection (on a server in one REPEATABLE READ snapshot); the
destination is written by `kb.build`, one transaction that replaces it only when every row is in and every
table holds as many rows as the source's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import FilmkbError
from . import migrations
from .db import apply_views, schema_version
from .engines import engine_for
from .knowledge import KnowledgeBase, build

__all__ = ["CopyReport", "schema_tables", "read_source", "copy_into"]
CHUNK = 20_000  # rows read and written at a time (memory stays at one chunk of the largest table)


@dataclass
class CopyReport:
    """What a copy did: rows per table (schema order) and where the old destination was kept, if anywhere."""

    rows: dict = field(default_factory=dict)
    backup: str | None = None

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def schema_tables() -> list:
    """The SQLAlchemy tables of filmkb's schema, parents before children."""
    from sqlmodel import SQLModel

    from ..schema import tables  # noqa: F401  (registers the tables on the metadata)

    return list(SQLModel.metadata.sorted_tables)


def read_source(src: str) -> KnowledgeBase:
    """The knowledge base at `src` opened read-only as it is: never upgraded (a copy reads, it does not
    write its source). A newer schema is refused; an older one is refused with the way to upgrade it."""
    from ..schema.version import SCHEMA_VERSION

    k = KnowledgeBase(src)
    con = k.engine.connect_read()
    k._con = con
    try:
        with k._engine_errors():
            migrations.refuse_newer(con, k.path)
            version = schema_version(con)
        if version is None:
            raise FilmkbError(f"{k.path}: no filmkb knowledge base to copy; nothing was written")
        if version < SCHEMA_VERSION:
            raise FilmkbError(f"{k.path}: made by an older filmkb (schema {version}, this one writes "
                              f"{SCHEMA_VERSION}); open it once with this filmkb (e.g. `filmkb --db SRC films`), which "
                              "upgrades it in place, then copy; nothing was written")
    except BaseException:
        k.close()
        raise
    return k


def _select(table) -> str:
    columns = ", ".join(f'"{c.name}"' for c in table.columns)
    order = ", ".join(f'"{c.name}"' for c in table.primary_key.columns) or "1"
    return f'SELECT {columns} FROM "{table.name}" ORDER BY {order}'


def _chunks(k: KnowledgeBase, table):
    """The rows of `table` in the source, CHUNK at a time."""
    with k._engine_errors():
        result = k.con.execute(_select(table))
        while True:
            rows = result.fetchmany(CHUNK)
            if not rows:
                return
            yield rows


def _copy_table(source: KnowledgeBase, engine, con, table) -> None:
    """The rows of one table, CHUNK at a time. A row that refers to another row of its own table (a film's
    duplicate_of) goes in a statement after the one that holds the row it refers to: DuckDB checks a foreign
    key against the rows present before the statement."""
    columns = [c.name for c in table.columns]
    own = [columns.index(fk.parent.name) for fk in table.foreign_keys if fk.column.table is table]
    if not own:
        for rows in _chunks(source, table):
            engine.copy_rows(con, table.name, columns, rows)
        return
    key = columns.index(next(iter(table.primary_key.columns)).name)
    present, waiting = set(), []
    for rows in _chunks(source, table):
        waiting += rows
        while waiting:
            ready = [r for r in waiting if all(r[i] is None or r[i] in present for i in own)]
            if not ready:
                break
            engine.copy_rows(con, table.name, columns, ready)
            present.update(r[key] for r in ready)
            waiting = [r for r in waiting if r[key] not in present]
    if waiting:  # refers to a row that is not there: the source's own constraint would not allow it
        raise FilmkbError(f"table {table.name}: {len(waiting)} rows refer to rows of the table that are not in the "
                          "source; nothing was written")


def copy_into(source: KnowledgeBase, dst: str, backup: bool) -> CopyReport:
    """Every table of `source` into a new knowledge base at `dst` (kept under a backup name first if
    `backup`), in one transaction on `dst`. The caller holds the destination's writer lock."""
    tables = schema_tables()
    report = CopyReport()
    with source.engine.snapshot(source.con), build(dst, backup=backup) as k:
        counts = {t.name: source._one(f'SELECT count(*) FROM "{t.name}"') for t in tables}
        engine, con = k.engine, k.con
        with k._engine_errors(), engine.without_triggers(con, [t.name for t in tables]):
            con.execute("DELETE FROM schema_migrations")  # the source's own history replaces build's stamp
            for table in tables:
                _copy_table(source, engine, con, table)
                report.rows[table.name] = k._one(f'SELECT count(*) FROM "{table.name}"')
                if report.rows[table.name] != counts[table.name]:
                    raise FilmkbError(f"{k.path}: table {table.name} holds {report.rows[table.name]} rows after the "
                                      f"copy, the source {counts[table.name]}; nothing was written")
            for table in tables:
                for column in table.columns:
                    sequence = column.default if hasattr(column.default, "increment") else None
                    if sequence is not None:
                        largest = k._one(f'SELECT max("{column.name}") FROM "{table.name}"')
                        if largest is not None:
                            engine.advance_sequence(con, sequence.name, int(largest))
            apply_views(con)
    report.backup = k.backup
    return report


def same_database(a: str, b: str) -> bool:
    """True when two --db values name the same knowledge base (one file, or one server database)."""
    ea, eb = engine_for(a), engine_for(b)
    if ea.is_server != eb.is_server:
        return False
    if ea.is_server:
        from urllib.parse import urlsplit

        from .engines.postgres import driver_url

        def where(url):
            parts = urlsplit(driver_url(url))
            return (parts.hostname or "localhost", parts.port or 5432, parts.path.lstrip("/"))

        return where(a) == where(b)
    import os

    if a == b:
        return True
    try:
        return os.path.exists(a) and os.path.exists(b) and os.path.samefile(a, b)
    except OSError:
        return False
