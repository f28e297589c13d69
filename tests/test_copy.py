"""`filmkb copy SRC DST`: a whole knowledge base between a DuckDB file and a real PostgreSQL server
(tests/pgserver.py) and back, every table compared row for row; ids preserved and the sequences advanced;
a destination that holds anything refused without --force (kept as a .bak with it); an older or newer
source refused in one line; a URL's password never shown.
"""

import json
import shutil

import duckdb
import psycopg
import pytest
import sqlalchemy
from kbtools import content, run

from filmkb import kb
from filmkb.kb.copying import schema_tables
from filmkb.kb.engines.postgres import driver_url

TEMPLATE = "data/templates/films.csv"


def rows_of(db) -> dict:
    """Every row of every table of filmkb's schema, in primary-key order, read with the engine's own driver."""
    con = psycopg.connect(driver_url(db)) if kb.engines.is_url(db) else duckdb.connect(db, read_only=True)
    try:
        out = {}
        for table in schema_tables():
            columns = ", ".join(f'"{c.name}"' for c in table.columns)
            order = ", ".join(f'"{c.name}"' for c in table.primary_key.columns)
            as_json = [isinstance(c.type, sqlalchemy.JSON) for c in table.columns]  # text on DuckDB, parsed by psycopg
            out[table.name] = [tuple(json.loads(v) if is_json and isinstance(v, str) else
                                     bytes(v) if isinstance(v, memoryview) else v for v, is_json in zip(row, as_json))
                               for row in con.execute(f'SELECT {columns} FROM "{table.name}" ORDER BY {order}').fetchall()]
        return out
    finally:
        con.close()


@pytest.fixture
def rich_db(recommended_db, tmp_path):
    """A copy of the trained knowledge base with something in every table: user films (one a duplicate of
    another), predictions, Shapley values and suggestions."""
    from pathlib import Path

    path = str(tmp_path / "source.duckdb")
    shutil.copy2(recommended_db, path)
    root = Path(__file__).resolve().parent.parent
    for args in (("ingest", str(root / TEMPLATE)), ("predict", "--film", "1"), ("explain",),
                 ("suggest", "--top", "2")):
        result = run(path, *args)
        assert result.exit_code == 0, result.output
    rows = rows_of(path)
    assert all(rows[t.name] for t in schema_tables()), [t for t, r in rows.items() if not r]
    return path


def test_a_round_trip_file_server_file_keeps_every_row(rich_db, pg_url, tmp_path):
    before = rows_of(rich_db)
    to_server = run(rich_db, "copy", rich_db, pg_url)
    assert to_server.exit_code == 0, to_server.output
    assert to_server.output.splitlines() == [
        f"{kb.shown(pg_url)}: copied from {rich_db}: {len(before['films'])} films, {len(before['publications'])} publications, 9 substrates, "
        f"17 methods, {len(before['ingest_batches'])} batches, {len(before['model_runs'])} model runs, "
        f"{len(before['run_artifacts'])} run files, {len(before['predictions'])} predictions, "
        f"{len(before['shap_values']):,} SHAP values, {len(before['suggestions'])} suggestions "
        f"({sum(map(len, before.values())):,} rows in {len(before)} tables)"]
    assert "s3cret-pw" not in to_server.output
    assert rows_of(pg_url) == before

    back = str(tmp_path / "back.duckdb")
    assert run(rich_db, "copy", pg_url, back).exit_code == 0
    assert rows_of(back) == before
    # the copies are knowledge bases like any other: views, reads, and the next ids follow the copied ones
    for db in (pg_url, back):
        assert run(db, "descriptors", "--complete", "--format", "csv").output == \
            run(rich_db, "descriptors", "--complete", "--format", "csv").output
        added = run(db, "add-method", "copy-test-method", "--family", "PVD")
        assert added.exit_code == 0, added.output
        with kb.open(db) as k:
            assert k.sql("SELECT max(id) AS m FROM deposition_methods")["m"].iloc[0] == \
                max(r[0] for r in before["deposition_methods"]) + 1


def test_a_destination_that_holds_anything_is_refused_unless_forced(rich_db, built_db, db_path, tmp_path):
    untouched = content(db_path)
    refused = run(rich_db, "copy", rich_db, db_path)
    assert refused.exit_code == 1
    assert refused.output.splitlines() == [
        f"Error: {db_path}: holds a knowledge base; copy left it as it is; `filmkb copy --force` keeps it as "
        f"{db_path}.bak and copies into a new one"]
    assert content(db_path) == untouched

    text = tmp_path / "notes.duckdb"
    text.write_text("not a database\n")
    refused = run(rich_db, "copy", rich_db, str(text))
    assert refused.exit_code == 1 and "holds a file that is not a DuckDB database" in refused.output
    assert text.read_text() == "not a database\n"

    forced = run(rich_db, "copy", rich_db, db_path, "--force")
    assert forced.exit_code == 0, forced.output
    assert f"(the old one kept as {db_path}.bak)" in forced.output
    assert content(db_path + ".bak") == untouched and rows_of(db_path) == rows_of(rich_db)

    same = run(rich_db, "copy", rich_db, rich_db)
    assert same.exit_code == 1 and "are the same knowledge base; nothing was written" in same.output


def test_a_server_destination_that_holds_a_knowledge_base_is_kept_in_a_backup_schema(pg_db, built_db, tmp_path):
    built_db = str(shutil.copy(built_db, tmp_path / "built.duckdb"))  # a private file: another test's reader may hold the shared one
    refused = run(built_db, "copy", built_db, pg_db)
    assert refused.exit_code == 1 and "`filmkb copy --force` keeps it as schema filmkb_backup_1" in refused.output
    assert "s3cret-pw" not in refused.output
    forced = run(built_db, "copy", built_db, pg_db, "--force")
    assert forced.exit_code == 0 and "(the old one kept as schema filmkb_backup_1)" in forced.output
    assert rows_of(pg_db) == rows_of(built_db)


def test_an_older_or_newer_source_is_refused_and_left_as_it_is(db_path, tmp_path):
    from filmkb.schema.version import SCHEMA_VERSION

    con = duckdb.connect(db_path)
    con.execute("UPDATE schema_migrations SET version = 4")
    con.close()
    before = content(db_path)
    target = str(tmp_path / "copy.duckdb")
    older = run(db_path, "copy", db_path, target)
    assert older.exit_code == 1
    assert older.output.splitlines() == [
        f"Error: {db_path}: made by an older filmkb (schema 4, this one writes {SCHEMA_VERSION}); open it once with "
        "this filmkb (e.g. `filmkb --db SRC films`), which upgrades it in place, then copy; nothing was written"]
    assert content(db_path) == before and not (tmp_path / "copy.duckdb").exists()

    con = duckdb.connect(db_path)
    con.execute(f"UPDATE schema_migrations SET version = {SCHEMA_VERSION + 1}")
    con.close()
    newer = run(db_path, "copy", db_path, target)
    assert newer.exit_code == 1 and "made by a newer filmkb" in newer.output
    assert not (tmp_path / "copy.duckdb").exists()
