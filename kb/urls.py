"""The `--db` value as a URL or a path: which values name a PostgreSQL server, and how one is shown without
its password. Below every engine and the file checks, so that both can ask."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

URL_SCHEMES = ("postgresql", "postgresql+psycopg", "postgres")
_URL = re.compile(r"^(postgresql|postgresql\+psycopg|postgres)://", re.I)

__all__ = ["is_url", "shown", "without_secrets", "URL_SCHEMES"]


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
