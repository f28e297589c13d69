"""A whole knowledge base copied between any two engines (a DuckDB file and a server, either way).

The destination is built anew (`kb.build`: one transaction on a server, a scratch file renamed into place
for a file); every table of the schema is copied row for row with its ids, parents before children, and
each id sequence is then advanced past the largest id copied, so later writes continue the numbering.
The server's audit trail (a server's own record of its writes) is not copied.
"""

from __future__ import annotations

from ..errors import FilmkbError
from .db import table_names
from .engines import shown
from .knowledge import build, exists
from .knowledge import open as open_kb

__all__ = ["copy"]


def copy(source: str, target: str, force: bool = False) -> dict:
    """Copy the knowledge base at `source` to `target` (refused when `target` holds one, unless `force`: it is
    then kept under a backup name first). Returns rows copied per table, and `backup` if one was kept."""
    if str(source) == str(target):
        raise FilmkbError(f"{shown(source)}: source and destination are the same; nothing was copied")
    with open_kb(source) as src:
        frames = {t: src.sql(f'SELECT * FROM "{t}" ORDER BY 1') for t in table_names()}
    if exists(target) and not force:
        raise FilmkbError(f"{shown(target)}: already holds a database; nothing was copied (`filmkb copy --force` "
                          "keeps it under a backup name and copies over it)")
    counts = {}
    with build(target, backup=exists(target)) as dst:
        dst.con.execute("DELETE FROM schema_migrations")  # the source's versions are copied with its rows
        for table, frame in frames.items():
            later = _self_references(table, frame)
            if not frame.empty:
                dst.insert_frame(table, frame.astype(object).where(frame.notna(), None))
            for column, rows in later.items():  # rows pointing at rows of the same table: set once all are in
                for row_id, value in rows:
                    dst.con.execute(f'UPDATE "{table}" SET "{column}" = ? WHERE id = ?', [value, row_id])
            counts[table] = len(frame)
        for table, column, sequence in _sequences():
            top = dst._one(f'SELECT coalesce(max("{column}"), 0) FROM "{table}"')
            if top:
                dst._one(f"SELECT count(nextval('{sequence}')) FROM generate_series(1, {int(top)})")
        dst.apply_views()
    if dst.backup:
        counts["backup"] = dst.backup
    return counts


def _self_references(table: str, frame) -> dict:
    """{column: [(id, value)]} of the columns of `table` that reference `table` itself, emptied in `frame`
    (an engine may check such a key against the rows before the statement only)."""
    from sqlmodel import SQLModel

    from ..schema import tables  # noqa: F401

    later = {}
    for fk in SQLModel.metadata.tables[table].foreign_keys:
        column = fk.parent.name
        if fk.column.table.name == table and column in frame.columns:
            held = frame[column].notna()
            later[column] = [(int(i), int(v)) for i, v in zip(frame.loc[held, "id"], frame.loc[held, column])]
            frame[column] = None
    return later


def _sequences() -> list[tuple[str, str, str]]:
    """(table, column, sequence) of every id column numbered by a sequence."""
    from sqlmodel import SQLModel

    from ..schema import tables  # noqa: F401

    return [(t.name, c.name, c.default.name) for t in SQLModel.metadata.sorted_tables for c in t.columns
            if c.default is not None and hasattr(c.default, "increment")]
