"""Roles and attribution (issue 22, item 3): `filmkb grant` on a real PostgreSQL server (tests/pgserver.py),
readers refused every write in one line, `created_by` / `created_at` of every row, the audit_log fed by
triggers on the server and by the write transaction on a DuckDB file, and the upgrade of a schema-4 file.
"""

import getpass
import json
import uuid
from pathlib import Path

import duckdb
import pytest
from kbtools import digest, run

from filmkb import kb

TEMPLATE = Path(__file__).resolve().parent.parent / "data" / "templates" / "films.csv"
SUBSTRATE = ["add-substrate", "--name", "LiNbO3", "--formula", "LiNbO3", "--amorphous", "--cte", "15e-6", "--poisson",
             "0.25", "--youngs", "170", "--shear", "68", "--dielectric", "29", "--melting-point", "1257 degC",
             "--source", "test"]
COUNTED = ("films", "ingest_batches", "substrates", "model_runs", "audit_log")


def _login(pg_server, database: str, name: str, password: str = "pw-of-" + "x") -> str:
    return f"postgresql://{name}:{password}@127.0.0.1:{pg_server.port}/{database}"


def _granted(pg_server, pg_db: str, role: str) -> tuple[str, str]:
    """(login name, its URL) of a new login granted `role` on the database of `pg_db` with a password."""
    name = f"{role}_{uuid.uuid4().hex[:8]}"
    result = run(pg_db, "grant", name, "--role", role, "--password", input="pw-of-x\npw-of-x\n")
    assert result.exit_code == 0, result.output
    assert "pw-of-x" not in result.output  # the password is never echoed
    assert f"{name}: created login {name} with a password; granted filmkb_{role}" in result.output
    return name, _login(pg_server, pg_db.rsplit("/", 1)[1], name)


def _counts(db) -> dict:
    with kb.open(db) as k:
        return {t: k.sql(f"SELECT count(*) AS n FROM {t}")["n"].iloc[0] for t in COUNTED}


def _audit(db, table=None):
    with kb.open(db) as k:
        frame = k.audit(table)
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


# ---------------------------------------------------------------------------------------- readers and writers

def test_a_reader_reads_and_is_refused_every_write_in_one_line(pg_server, pg_db, tmp_path):
    name, reader = _granted(pg_server, pg_db, "reader")
    for command in (("films",), ("query", "SELECT count(*) AS n FROM films"), ("history",), ("history", "--audit"),
                    ("substrates",), ("methods",), ("descriptors", "--complete")):
        result = run(reader, *command, "--format", "csv")
        assert result.exit_code == 0, (command, result.output)
    for command in (("validate",), ("export", str(tmp_path / "out"))):
        result = run(reader, *command)
        assert result.exit_code == 0, (command, result.output)
    assert run(reader, "query", "SELECT count(*) AS n FROM films", "--format", "csv").output.splitlines() == ["n", "28"]
    before = _counts(pg_db)
    for command in (("ingest", str(TEMPLATE)), SUBSTRATE, ("retract", "1"), ("add-method", "Foo", "--family", "PVD"),
                    ("train", "--candidates", "small", "--silent")):
        result = run(reader, *command)
        assert result.exit_code == 1, (command, result.output)
        verb = command[0]
        assert result.output.splitlines() == [
            f"Error: {kb.shown(reader)}: permission denied: filmkb_writer is needed to {verb} (role {name} has "
            "filmkb_reader); nothing was written"], result.output
        assert "pw-of-x" not in result.output
    assert _counts(pg_db) == before


@pytest.mark.slow
def test_a_reader_uses_a_stored_run_without_storing(pg_server, pg_db, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the run's model files stay in models/ here
    assert run(pg_db, "train", "--candidates", "small", "--jobs", "1", "--silent").exit_code == 0
    name, reader = _granted(pg_server, pg_db, "reader")
    before = _counts(pg_db)
    for command in (("predict", "--film", "1"), ("suggest", "--top", "2"), ("explain", "--out", str(tmp_path / "f"))):
        read = run(reader, *command, "--no-store", "--format", "csv")
        assert read.exit_code == 0, (command, read.output)
        refused = run(reader, *command)
        assert refused.exit_code == 1 and refused.output.splitlines() == [
            f"Error: {kb.shown(reader)}: permission denied: filmkb_writer is needed to {command[0]} (role {name} has "
            "filmkb_reader); --no-store reads without writing; nothing was written"], refused.output
    assert _counts(pg_db) == before


def test_a_writer_writes_and_every_row_names_the_login(pg_server, pg_db):
    name, writer = _granted(pg_server, pg_db, "writer")
    result = run(writer, "ingest", str(TEMPLATE))
    assert result.exit_code == 0, result.output
    with kb.open(pg_db) as k:
        films = k.sql("SELECT created_by, created_at FROM films WHERE batch_id = 2")
        batch = k.sql("SELECT created_by FROM ingest_batches WHERE id = 2")
        curated = k.sql("SELECT DISTINCT created_by FROM films WHERE batch_id = 1")
    assert list(films["created_by"]) == [name, name] and films["created_at"].notna().all()
    assert list(batch["created_by"]) == [name] and list(curated["created_by"]) == ["postgres"]
    audit = _audit(pg_db, "films")
    assert [(a["op"], a["changed_by"]) for a in audit] == [("INSERT", name)] * 2
    assert json.loads(audit[0]["new_values"])["created_by"] == name


def test_a_reader_granted_again_as_reader_stops_being_a_writer(pg_server, pg_db):
    name, writer = _granted(pg_server, pg_db, "writer")
    again = run(pg_db, "grant", name, "--role", "reader")
    assert again.exit_code == 0 and "revoked filmkb_writer; granted filmkb_reader (may read, not write)" in again.output
    refused = run(writer, "retract", "1")
    assert refused.exit_code == 1 and f"(role {name} has filmkb_reader)" in refused.output


def test_only_the_owner_grants_and_nobody_but_the_owner_changes_the_audit(pg_server, pg_db):
    import psycopg

    name, writer = _granted(pg_server, pg_db, "writer")
    refused = run(writer, "grant", "someone", "--role", "reader")
    assert refused.exit_code == 1
    assert f"only the owner of the knowledge base (postgres) may grant roles; role {name} is not" in refused.output
    assert run(writer, "ingest", str(TEMPLATE)).exit_code == 0
    with psycopg.connect(writer) as con:
        assert con.execute("SELECT count(*) FROM audit_log").fetchone()[0] > 0  # readers (and writers) read it
    for statement in ("DELETE FROM audit_log", "UPDATE audit_log SET changed_by = 'nobody'",
                      "INSERT INTO audit_log (table_name, op, row_key, changed_by, changed_at) "
                      "VALUES ('films', 'DELETE', '1', 'nobody', now())"):
        with psycopg.connect(writer) as con, pytest.raises(psycopg.errors.InsufficientPrivilege):
            con.execute(statement)
    assert {a["changed_by"] for a in _audit(pg_db)} == {name}


# ---------------------------------------------------------------------------------------- the audit, both engines

@pytest.fixture(params=["duckdb", "postgresql"])
def any_db(request):
    return request.param, request.getfixturevalue("db_path" if request.param == "duckdb" else "pg_db")


def test_audit_keeps_inserts_updates_and_deletes_with_old_and_new_values(any_db):
    engine, db = any_db
    who = getpass.getuser() if engine == "duckdb" else "postgres"
    assert _audit(db) == []  # the curated load of init is the curated batch, not audit rows
    assert run(db, "ingest", str(TEMPLATE)).exit_code == 0
    assert run(db, "retract", "2").exit_code == 0
    audit = _audit(db)
    films = [a for a in audit if a["table_name"] == "films"]
    assert sorted((a["op"], a["row_key"]) for a in films) == [("DELETE", "29"), ("DELETE", "30"),
                                                              ("INSERT", "29"), ("INSERT", "30")]
    deleted = next(a for a in films if a["op"] == "DELETE" and a["row_key"] == "29")
    assert deleted["new_values"] is None and json.loads(deleted["old_values"])["batch_id"] == 2
    (update,) = [a for a in audit if a["table_name"] == "ingest_batches" and a["op"] == "UPDATE"]
    assert json.loads(update["old_values"])["kind"] == "user" and json.loads(update["new_values"])["kind"] == "retracted"
    assert {a["changed_by"] for a in audit} == {who} and all(a["changed_at"] is not None for a in audit)
    assert audit[0]["id"] > audit[-1]["id"]  # newest first
    with kb.open(db) as k:
        assert k.sql("SELECT created_by FROM ingest_batches WHERE id = 2")["created_by"].iloc[0] == who
    shown = run(db, "history", "--audit", "--table", "films", "--limit", "2", "--format", "json")
    assert shown.exit_code == 0, shown.output
    assert [(r["op"], r["table_name"]) for r in json.loads(shown.output)] == [("DELETE", "films")] * 2
    csv = run(db, "history", "--audit", "--format", "csv")
    assert csv.output.splitlines()[0] == "id,table_name,op,row_key,old_values,new_values,changed_by,changed_at"
    unknown = run(db, "history", "--audit", "--table", "nope")
    assert unknown.exit_code == 1 and "--table: 'nope' is not an audited table" in unknown.output


def test_grant_on_a_duckdb_file_is_refused_in_one_line(db_path):
    before = digest(db_path)
    result = run(db_path, "grant", "alice", "--role", "reader", "--password")
    assert result.exit_code == 1
    assert result.output.splitlines() == [f"Error: {db_path}: roles exist on a database server only (a DuckDB file "
                                          "has no logins: its file permissions decide who reads and writes it); "
                                          "nothing was changed"]
    assert digest(db_path) == before


# ---------------------------------------------------------------------------------------- schema 4 -> 5

def _schema_4_copy(built_db: str, path: str) -> None:
    """A schema-4 file: the tables without created_by, the new created_at columns and audit_log, the built rows
    copied in (DuckDB will not drop columns of tables others reference, hence a fresh file)."""
    from sqlmodel import SQLModel

    from filmkb.kb.db import schema_ddl, table_names

    con = duckdb.connect(path)
    try:
        for statement in schema_ddl():
            if "audit_log" in statement:
                continue
            con.execute("\n".join(line for line in statement.splitlines()
                                  if "filmkb_login" not in line and "DEFAULT CURRENT_TIMESTAMP" not in line))
        con.execute(f"ATTACH '{built_db}' AS src (READ_ONLY)")
        for table in [t for t in table_names() if t != "audit_log"]:
            columns = [c for (c,) in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() AND table_name = ?",
                [table]).fetchall()]
            listed = ", ".join(f'"{c}"' for c in columns)
            values = ", ".join("NULL" if c == "duplicate_of" else f'"{c}"' for c in columns)
            con.execute(f'INSERT INTO "{table}" ({listed}) SELECT {values} FROM src."{table}"')
        con.execute("UPDATE films SET duplicate_of = s.duplicate_of FROM src.films s "
                    "WHERE films.id = s.id AND s.duplicate_of IS NOT NULL")
        con.execute("DETACH src")
        for table in [t for t in SQLModel.metadata.sorted_tables if t.name != "audit_log"]:  # sequences past the ids
            for column in (c for c in table.columns if c.default is not None and hasattr(c.default, "increment")):
                top = con.execute(f'SELECT coalesce(max("{column.name}"), 0) FROM "{table.name}"').fetchall()[0][0]
                con.execute(f"SELECT max(nextval('{column.default.name}')) FROM range({top})")
        con.execute("DELETE FROM schema_migrations")
        con.execute("INSERT INTO schema_migrations VALUES (4, 'suggestions', now())")
        assert "created_by" not in {c for (c,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = 'films'").fetchall()}
    finally:
        con.close()


@pytest.mark.slow
def test_a_schema_4_file_is_upgraded_in_place_and_keeps_every_film(built_db, tmp_path):
    from filmkb.schema.version import SCHEMA_VERSION

    path = str(tmp_path / "v4.duckdb")
    _schema_4_copy(built_db, path)
    with kb.open(path) as k:
        assert k.sql("SELECT max(version) AS v FROM schema_migrations")["v"].iloc[0] == SCHEMA_VERSION
        films = k.sql("SELECT f.*, b.created_at AS batch_time FROM films f JOIN ingest_batches b ON b.id = f.batch_id "
                      "ORDER BY f.id")
        assert k.sql("SELECT count(*) AS n FROM audit_log")["n"].iloc[0] == 0
    with kb.open(built_db) as k:
        built = k.sql("SELECT * FROM films ORDER BY id")
    assert len(films) == 28 and list(films["id"]) == list(built["id"])
    kept = [c for c in built.columns if c not in ("created_by", "created_at")]
    assert films[kept].equals(built[kept])
    assert films["created_by"].isna().all() and (films["created_at"] == films["batch_time"]).all()
    assert run(path, "ingest", str(TEMPLATE)).exit_code == 0
    with kb.open(path) as k:
        new = k.sql("SELECT created_by, created_at FROM films WHERE id > 28")
        assert k.sql("SELECT count(*) AS n FROM films")["n"].iloc[0] == 30
    assert list(new["created_by"]) == [getpass.getuser()] * 2 and new["created_at"].notna().all()


@pytest.mark.slow
def test_a_schema_4_server_database_is_upgraded_by_its_owner(pg_server, pg_db):
    import psycopg

    from filmkb.kb.audit import AUDITED
    from filmkb.kb.db import stamped_columns, view_files
    from filmkb.schema.version import SCHEMA_VERSION

    name, reader = _granted(pg_server, pg_db, "reader")
    with psycopg.connect(pg_db) as con:  # back to schema 4: no audit, no attribution columns
        con.execute("DROP TABLE audit_log; DROP SEQUENCE audit_log_id_seq; DROP FUNCTION filmkb_audit() CASCADE")
        con.execute("DROP TABLE run_artifacts")  # schema 6
        for view in (p.stem.split("_", 1)[1] for p in view_files()):  # the upgrade makes them again
            con.execute(f'DROP VIEW IF EXISTS "{view}" CASCADE')
        for table, columns in stamped_columns().items():
            for column in columns:
                con.execute(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
        con.execute("DELETE FROM schema_migrations WHERE version >= 5")
        con.execute("INSERT INTO schema_migrations VALUES (4, 'suggestions', now()) ON CONFLICT DO NOTHING")
    refused = run(reader, "films")
    assert refused.exit_code == 1 and len(refused.output.splitlines()) == 1
    assert f"needs an upgrade to schema {SCHEMA_VERSION}, which only its owner (postgres) may make" in refused.output
    with kb.open(pg_db) as k:  # the owner's first command upgrades it
        assert k.sql("SELECT max(version) AS v FROM schema_migrations")["v"].iloc[0] == SCHEMA_VERSION
        assert k.sql("SELECT count(*) AS n FROM films")["n"].iloc[0] == 28
        assert k.sql("SELECT count(*) AS n FROM films WHERE created_by IS NULL")["n"].iloc[0] == 28
        triggers = k.sql("SELECT count(DISTINCT event_object_table) AS n FROM information_schema.triggers "
                         "WHERE trigger_name LIKE 'filmkb_audit%'")["n"].iloc[0]
    assert triggers == len(AUDITED)
    assert run(pg_db, "retract", "1").exit_code == 1  # the curated batch: refused, but by the rule, not a right
    assert run(pg_db, "ingest", str(TEMPLATE)).exit_code == 0
    assert [a["op"] for a in _audit(pg_db, "films")] == ["INSERT", "INSERT"]
    assert run(reader, "films").exit_code == 0
