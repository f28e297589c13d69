"""The engines a knowledge base runs on, picked from the `--db` value: a PostgreSQL URL
(`postgresql://user@host:port/dbname`, `postgresql+psycopg://...`) is a database server
(engines/postgres.py), anything else a DuckDB file path (engines/duckdb_file.py).

Every engine offers the same small set of operations (`Engine` below); the rest of kb/ speaks
portable SQL with `?` placeholders through the connection an engine hands out, and nothing above
kb/ knows which engine it runs on. A password in a URL is never shown: `shown(db)` masks it.
"""

from __future__ import annotations

from ..urls import URL_SCHEMES, is_url, shown, without_secrets

__all__ = ["is_url", "shown", "without_secrets", "engine_for", "URL_SCHEMES"]


def engine_for(db):
    """The engine of `db`: PostgreSQL for a URL, else the DuckDB file at that path."""
    if is_url(db):
        from .postgres import Postgres

        return Postgres(str(db))
    from .duckdb_file import DuckDBFile

    return DuckDBFile(str(db))
