"""The same knowledge base on both engines: a DuckDB file and a real PostgreSQL server (tests/pgserver.py).

Every test marked with `any_db` runs once per engine; the comparisons build both and expect the same rows
and the same metrics. The server's errors (down, wrong password, missing database) are one line, exit 1,
with the password masked.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kbtools import run

from filmkb import kb

TEMPLATE = Path(__file__).resolve().parent.parent / "data" / "templates" / "films.csv"
SLOW_SQL = {"duckdb": "SELECT count(*) FROM range(1000000000000)",
            "postgresql": "SELECT count(*) FROM generate_series(1, 1000000000000)"}


@pytest.fixture(params=["duckdb", "postgresql"])
def any_db(request):
    """(engine, a private copy of the built knowledge base on that engine)."""
    return request.param, request.getfixturevalue("db_path" if request.param == "duckdb" else "pg_db")


def lines(result) -> list[str]:
    return result.output.splitlines()


def csv_of(db, *args) -> str:
    result = run(db, *args, "--format", "csv", "--raw")
    assert result.exit_code == 0, result.output
    return result.output


# ---------------------------------------------------------------------------------------- same rows

@pytest.mark.parametrize("command", [("films",), ("descriptors", "--complete"), ("descriptors",),
                                     ("substrates",), ("methods",)])
def test_both_engines_give_the_same_rows(db_path, pg_db, command):
    assert csv_of(pg_db, *command) == csv_of(db_path, *command)


def test_the_same_descriptors_for_conditions_not_in_the_database(built_db, pg_db):
    import pandas as pd

    conditions = pd.DataFrame({"substrate_id": [1, 2, 3], "substrate": ["a", "b", "c"], "deposition_temp_c": [700.0, 650.0, 800.0],
                               "thickness_nm": [300.0, 150.0, 1000.0], "phase": ["cubic", None, "amorphous"],
                               "method_family": ["PVD", "sol-gel", None], "li_per_o12": [7.0, 6.4, None]})
    with kb.open(built_db) as d, kb.open(pg_db) as p:
        on_file = d.condition_model_columns(conditions)
        on_server = p.condition_model_columns(conditions)
    pd.testing.assert_frame_equal(on_server, on_file, check_dtype=False)


@pytest.mark.slow
def test_init_on_an_empty_server_database_and_again(pg_url):
    result = run(pg_url, "init")
    assert result.exit_code == 0, result.output
    assert lines(result) == [f"{kb.shown(pg_url)}: built: 17 publications, 9 substrates, 17 methods, "
                             "2 film_phases, 28 films"]
    assert "s3cret-pw" not in result.output and ":***@" in result.output
    again = run(pg_url, "init")
    assert again.exit_code == 0 and "up to date" in again.output


# ---------------------------------------------------------------------------------------- writes

def test_ingest_duplicate_history_retract(any_db):
    engine, db = any_db
    added = run(db, "ingest", str(TEMPLATE))
    assert added.exit_code == 0, added.output
    assert "batch 2: added 2 films" in added.output
    again = run(db, "ingest", str(TEMPLATE))
    assert again.exit_code == 0 and "nothing added: all 2 entries are already in the database" in again.output
    history = csv_of(db, "history").splitlines()
    assert history[0].startswith("batch,kind,created_at,films") and history[1].startswith("2,user,")
    assert csv_of(db, "query", "SELECT count(*) AS n FROM films").splitlines() == ["n", "30"]
    retracted = run(db, "retract", "2")
    assert retracted.exit_code == 0 and "batch 2: removed 2 films" in retracted.output
    assert csv_of(db, "query", "SELECT count(*) AS n FROM films").splitlines() == ["n", "28"]
    assert csv_of(db, "query", "SELECT kind FROM ingest_batches WHERE id = 2").splitlines() == ["kind", "retracted"]


@pytest.mark.slow
def test_init_force_keeps_user_films_on_the_server(pg_db):
    assert run(pg_db, "ingest", str(TEMPLATE)).exit_code == 0
    refused = run(pg_db, "init")
    assert refused.exit_code == 1 and "holds 2 user-ingested films in 1 batches" in refused.output
    assert "schema filmkb_backup_1" in refused.output
    rebuilt = run(pg_db, "init", "--force")
    assert rebuilt.exit_code == 0 and "built (the old file kept as schema filmkb_backup_1)" in rebuilt.output
    assert csv_of(pg_db, "query", "SELECT count(*) AS n FROM films").splitlines() == ["n", "28"]
    kept = csv_of(pg_db, "query", "SELECT count(*) AS n FROM filmkb_backup_1.films")
    assert kept.splitlines() == ["n", "30"]


# ---------------------------------------------------------------------------------------- query

def test_query_is_read_only(any_db):
    _, db = any_db
    for statement in ("DELETE FROM films", "UPDATE films SET thickness_nm = 1", "DROP TABLE films CASCADE"):
        result = run(db, "query", statement)
        assert result.exit_code == 1
        assert lines(result) == ["Error: query is read-only: only SELECT-like statements are allowed; "
                                 "nothing was changed"]
    assert csv_of(db, "query", "SELECT count(*) AS n FROM films").splitlines() == ["n", "28"]


def test_a_server_query_cannot_unseal_its_connection(pg_db):
    for statement in ("BEGIN READ WRITE; DELETE FROM films", "SET default_transaction_read_only = off; "
                      "DELETE FROM films", "COMMIT; DELETE FROM films"):
        result = run(pg_db, "query", statement)
        assert result.exit_code == 1
        assert lines(result) == ["Error: query runs one statement at a time (no second statement after ';'); "
                                 "nothing was read or written"]
    with kb.open(pg_db) as k:  # a setting changed by one statement is undone with its transaction
        for statement in ("SET default_transaction_read_only = off", "BEGIN READ WRITE", "COMMIT"):
            k.sql(statement)
            with pytest.raises(kb.FilmkbError, match="query is read-only"):
                k.sql("DELETE FROM films")
    assert csv_of(pg_db, "query", "SELECT count(*) AS n FROM films").splitlines() == ["n", "28"]


def test_query_timeout(any_db):
    engine, db = any_db
    start = time.monotonic()
    result = run(db, "query", "--timeout", "1", SLOW_SQL[engine])
    assert time.monotonic() - start < 1 + 4
    assert result.exit_code == 1
    assert lines(result) == ["Error: query interrupted after 1 s (--timeout 1; use --timeout 0 for no limit)"]
    assert csv_of(db, "query", "SELECT count(*) AS n FROM films").splitlines() == ["n", "28"]


# ---------------------------------------------------------------------------------------- server errors

def test_server_errors_are_one_line_with_the_password_masked(pg_server, pg_db):
    port = pg_server.port
    cases = {
        pg_server.url("postgres", password="not-the-pw"): "the server refused the login (password authentication "
                                                          'failed for user "postgres")',
        pg_server.url("no_such_db"): 'database "no_such_db" does not exist on the server',
        pg_server.url("postgres", scheme="postgresql+psycopg").replace(f":{port}/", ":1/"):
            "cannot reach the database server (Connection refused",
        pg_server.url("postgres"): "no filmkb knowledge base in this database; run `filmkb init` first",
    }
    for url, expected in cases.items():
        for command in (("films",), ("ingest", str(TEMPLATE))):
            result = run(url, *command)
            assert result.exit_code == 1, result.output
            assert len(lines(result)) == 1 and expected in result.output, result.output
            assert lines(result)[0].startswith(f"Error: {kb.shown(url)}: ")
            assert "not-the-pw" not in result.output and "s3cret-pw" not in result.output


@pytest.mark.slow
def test_the_url_from_the_environment(pg_db, tmp_path):
    env = {**os.environ, "FILMKB_DB": pg_db}
    done = subprocess.run([sys.executable, "-m", "filmkb.cli", "query", "--format", "csv", "SELECT count(*) AS n "
                           "FROM films"], env=env, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    if done.returncode and "No module named filmkb.cli" in done.stderr:
        pytest.skip("filmkb.cli is not runnable with -m here")
    assert done.stdout.splitlines() == ["n", "28"], done.stderr


# ---------------------------------------------------------------------------------------- models

@pytest.mark.slow
def test_evaluate_gives_the_same_metrics_on_both_engines(db_path, pg_db, tmp_path):
    metrics = {}
    for name, db in (("duckdb", db_path), ("postgresql", pg_db)):
        out = tmp_path / f"{name}.json"
        result = run(db, "evaluate", "--models", "baselines", "--seed", "7", "--silent", "--json", str(out))
        assert result.exit_code == 0, result.output
        metrics[name] = {k: v for k, v in json.loads(out.read_text()).items() if k not in ("seconds", "run_id", "timings")}
    assert metrics["postgresql"] == metrics["duckdb"]


@pytest.mark.slow
def test_train_predict_suggest_on_the_server(pg_db, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    trained = run(pg_db, "train", "--candidates", "small", "--jobs", "1", "--silent")
    assert trained.exit_code == 0, trained.output
    assert (tmp_path / "models").is_dir()
    predicted = run(pg_db, "predict", "--film", "1", "--format", "csv")
    assert predicted.exit_code == 0 and predicted.output.splitlines()[1].startswith("film 1,Pt,600.0,307.0,")
    suggested = run(pg_db, "suggest", "--top", "2", "--format", "csv")
    assert suggested.exit_code == 0, suggested.output
    kinds = csv_of(pg_db, "query", "SELECT DISTINCT kind FROM model_runs ORDER BY kind").splitlines()
    assert {"suggest", "train"} <= set(kinds[1:])


# ---------------------------------------------------------------------------------------- concurrent writers

def _films_file(path: Path, n: int, first_temp: int, shared: bool) -> Path:
    """A films file of `n` distinct films (deposition temperatures from `first_temp`), plus, if `shared`,
    one film every concurrent file holds."""
    header = TEMPLATE.read_text().splitlines()[0]
    rows = [f"10.5555/filmkb-concurrent-{first_temp + i},\"Doe, J.\",2024,J,T,LLZO,PLD,{first_temp + i},MgO,100,"
            f"cubic,300,1e-5,25,,," for i in range(n)]
    if shared:
        rows.append('10.5555/filmkb-shared,"Roe, R.",2024,J,T,LLZO,PLD,555,MgO,100,cubic,300,2e-5,25,,,')
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


@pytest.mark.slow
def test_concurrent_ingests_all_land_once(pg_db, tmp_path):
    writers, per_writer = 4, 25
    files = [_films_file(tmp_path / f"w{i}.csv", per_writer, 100 + 100 * i, shared=True) for i in range(writers)]
    env = {**os.environ, "FILMKB_DB": pg_db}
    code = ("import sys; from filmkb.cli import main; sys.exit(main(['ingest', sys.argv[1], '--wait', '120']))")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(f)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for f in files]
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    counts = csv_of(pg_db, "query", "SELECT count(*) AS films, count(DISTINCT deposition_temp_c) AS temps, "
                                    "count(DISTINCT batch_id) AS batches FROM films WHERE batch_id > 1")
    assert counts.splitlines() == ["films,temps,batches", f"{writers * per_writer + 1},{writers * per_writer + 1},"
                                                          f"{writers}"]
    shared = csv_of(pg_db, "query", "SELECT count(*) AS n FROM films WHERE deposition_temp_c = 555")
    assert shared.splitlines() == ["n", "1"]
    assert sum("already in the database" in out for out in outputs) == writers - 1


def test_a_batch_whose_vocabulary_changed_before_the_lock_is_cleaned_again(pg_db, tmp_path):
    """An ingest normalises its batch before the writer lock; here another writer adds, while the ingest waits
    for the lock, the very method the batch's methods file adds. Under the lock the ingest sees the vocabulary
    changed, normalises again (the method is now stored as it is: nothing to add) and its films land."""
    import threading

    import psycopg

    from filmkb.jobs import add_method, ingest

    methods = tmp_path / "methods.csv"
    methods.write_text("name,family,description,aliases\nflash evaporation,PVD,,FE\n")
    films = tmp_path / "films.csv"
    header = TEMPLATE.read_text().splitlines()[0]
    films.write_text(header + "\n" + '10.5555/filmkb-reclean,"Doe, J.",2024,J,T,LLZO,FE,610,MgO,100,cubic,300,'
                     "1e-5,25,,,\n")
    outcome = {}

    def writer():
        try:
            outcome["report"] = ingest(pg_db, [methods, films], wait=60)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            outcome["error"] = exc

    with kb.locked(pg_db, 0), psycopg.connect(pg_db, autocommit=True) as watch:
        thread = threading.Thread(target=writer)
        thread.start()
        deadline = time.monotonic() + 120
        while not watch.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                                ).fetchone()[0]:  # cleaned, now queueing for the lock
            assert thread.is_alive() and time.monotonic() < deadline, outcome
            time.sleep(0.05)
        assert add_method(pg_db, "flash evaporation", "PVD", ["FE"]) == "flash evaporation"  # the other writer
    thread.join(timeout=120)
    assert "error" not in outcome, outcome
    report = outcome["report"]
    assert report.methods == [] and [m for _, _, m in report.known_methods] == ["flash evaporation"]
    assert len(report.film_ids) == 1
    rows = csv_of(pg_db, "query", "SELECT f.deposition_temp_c AS t, m.name AS method, m.family FROM films f "
                                  "JOIN deposition_methods m ON m.id = f.method_id WHERE m.name = 'flash evaporation'")
    assert rows.splitlines() == ["t,method,family", "610.0,flash evaporation,PVD"]
    stored = csv_of(pg_db, "query", "SELECT count(*) AS n FROM deposition_methods WHERE name = 'flash evaporation'")
    assert stored.splitlines() == ["n", "1"]


# roles, attribution and the audit: tests/test_roles.py


def test_a_writer_queues_then_is_told_the_database_is_busy(pg_db, monkeypatch):
    import psycopg

    from filmkb.kb.engines import postgres

    monkeypatch.setattr(postgres, "SERVER_WAIT", 1.0)
    with psycopg.connect(pg_db, autocommit=True) as other:  # another writer holding the lock
        other.execute("SELECT pg_advisory_lock(%s)", [postgres.LOCK_KEY])
        start = time.monotonic()
        result = run(pg_db, "ingest", str(TEMPLATE))
        assert 1 <= time.monotonic() - start < 1 + 10
    assert result.exit_code == 1
    assert lines(result) == [f"Error: {kb.shown(pg_db)}: database is busy (another filmkb process is writing); "
                             "nothing was written, retry when it has finished"]
    assert run(pg_db, "ingest", str(TEMPLATE)).exit_code == 0  # the lock went with the other session
