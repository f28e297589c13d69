"""The engines a knowledge base runs on, picked from the `--db` value: a PostgreSQL URL
(`postgresql://user@host:port/dbname`, `postgresql+psycopg://...`) is a database server
(engines/postgres.py), anything else a DuckDB file path (engines/duckdb_file.py).

Every engine offers the same small set of operations (`Engine` below); the rest of kb/ speaks
portable SQL with `?` placeholders through the connection an engine hands out, and nothing above
kb/ knows which engine it runs on. A password in a URL is never shown: `shown(db)` masks it.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

URL_SCHEMES = ("postgresql", "postgresql+psycopg", "postgres")
_URL = re.compile(r"^(postgresql|postgresql\+psycopg|postgres)://", re.I)

__all__ = ["is_url", "shown", "without_secrets", "engine_for", "URL_SCHEMES"]


def is_url(db) -> bool:
    """True for a PostgreSQL URL, False for anything else (a DuckDB file path)."""
    return db is not None and bool(_URL.match(str(db)))


def shown(db) -> str:
    """`db` as it may be printed: a URL's password replaced by ***; a path as it is."""
    text = str(db)
    if not is_url(text):
        return text
    try:
        parts = urlsplit(text)
    except ValueError:
        return _URL.match(text).group(0) + "***"
    if parts.password is None:
        return text
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return urlunsplit((parts.scheme, f"{user}:***@{host}{port}", parts.path, parts.query, parts.fragment))


def without_secrets(text: str, db) -> str:
    """`text` (an error message) with the URL `db` and its password, wherever they occur, masked."""
    if not is_url(db):
        return text
    text = text.replace(str(db), shown(db))
    try:
        password = urlsplit(str(db)).password
    except ValueError:
        password = None
    if password:
        text = text.replace(password, "***")
    return text


def engine_for(db):
    """The engine of `db`: PostgreSQL for a URL, else the DuckDB file at that path."""
    if is_url(db):
        from .postgres import Postgres

        return Postgres(str(db))
    from .duckdb_file import DuckDBFile

    return DuckDBFile(str(db))
