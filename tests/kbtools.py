"""Helpers the test files share: run the CLI on a database, and snapshot a database file."""

import hashlib
from pathlib import Path

import duckdb
from click.testing import CliRunner

from filmkb.cli import main


def run(db, *args, input=None, catch_exceptions=True):
    """`filmkb --db DB ARGS...` in this process; the click Result."""
    return CliRunner().invoke(main, ["--db", db, *args], input=input, catch_exceptions=catch_exceptions)


def content(path) -> dict:
    """Every row of every table, for 'nothing changed' comparisons."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [t for (t,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'").fetchall()]
        return {t: con.execute(f'SELECT * FROM "{t}" ORDER BY ALL').fetchall() for t in tables}
    finally:
        con.close()


def digest(path) -> str:
    """SHA-256 of the file's bytes, for 'byte-for-byte unchanged' comparisons."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
