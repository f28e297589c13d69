"""Who wrote what: the login a write is attributed to, the audited tables, and the audit on a DuckDB file.

Every row records `created_by` and `created_at` (column defaults, schema/tables.py). Each insert, update and
delete of an audited table is kept in audit_log with the old and new row, who and when:
- on a PostgreSQL server by triggers (kb/engines/pg_roles.py); who is the login (session_user);
- on a DuckDB file, which has no triggers, by the write transaction itself (`snapshot` when it starts,
  `record` before it commits: the rows of the audited tables that differ, by primary key); who is the OS
  user. A file's audit therefore holds each transaction's net change of a row (a row inserted and then
  updated in one transaction is one INSERT with its final values); a server's holds every statement's.
The derived rows (predictions, SHAP values, suggestions, interface matches) are not audited: their model run
or batch is.
"""

from __future__ import annotations

import getpass
import os

# audited table -> its primary key column
AUDITED = {
    "ingest_batches": "id", "publications": "id", "substrates": "id", "substrate_aliases": "alias",
    "deposition_methods": "id", "method_aliases": "alias", "film_materials": "id", "film_phases": "id",
    "property_sources": "id", "films": "id", "model_runs": "id",
}
AUDIT_COLUMNS = ["id", "table_name", "op", "row_key", "old_values", "new_values", "changed_by", "changed_at"]
_BEFORE = "_audit_before_"


def os_login() -> str:
    """The OS user running filmkb (a DuckDB file's `created_by` and `changed_by`)."""
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no USER variable and no passwd entry (a bare container)
        return f"uid {os.getuid()}"


def set_login(con) -> None:
    """Tell a DuckDB write connection whom its rows are by (the column default reads the variable)."""
    con.execute("SET VARIABLE filmkb_login = ?", [os_login()])


def snapshot(con) -> None:
    """Keep the audited tables as they are at the start of a DuckDB write transaction (temporary tables)."""
    for table in AUDITED:
        con.execute(f'CREATE OR REPLACE TEMP TABLE "{_BEFORE}{table}" AS SELECT * FROM "{table}"')


def record(con) -> int:
    """Write to audit_log every row of an audited table that the transaction inserted, changed or deleted
    (compared with `snapshot`, by primary key), by the login of the connection; returns how many."""
    total = 0
    for table, key in AUDITED.items():
        before = f'"{_BEFORE}{table}"'
        total += con.execute(f"""
            INSERT INTO audit_log (table_name, op, row_key, old_values, new_values, changed_by, changed_at)
            SELECT ?, CASE WHEN o."{key}" IS NULL THEN 'INSERT' WHEN n."{key}" IS NULL THEN 'DELETE' ELSE 'UPDATE' END,
                   CAST(coalesce(n."{key}", o."{key}") AS VARCHAR),
                   CASE WHEN o."{key}" IS NOT NULL THEN to_json(o) END,
                   CASE WHEN n."{key}" IS NOT NULL THEN to_json(n) END,
                   getvariable('filmkb_login'), current_timestamp
            FROM {before} o FULL JOIN "{table}" n ON o."{key}" = n."{key}"
            WHERE o."{key}" IS NULL OR n."{key}" IS NULL OR o IS DISTINCT FROM n
            ORDER BY coalesce(n."{key}", o."{key}")""", [table]).fetchall()[0][0]
        con.execute(f"DROP TABLE {before}")
    return total


def query(table: str | None = None, limit: int | None = None) -> tuple[str, list]:
    """The SELECT (and its parameters) of the audit, newest first: every table, or `table` only."""
    where, params = "", []
    if table:
        where, params = " WHERE table_name = ?", [table]
    tail = f" LIMIT {int(limit)}" if limit else ""
    columns = ", ".join(AUDIT_COLUMNS)
    return f"SELECT {columns} FROM audit_log{where} ORDER BY id DESC{tail}", params
