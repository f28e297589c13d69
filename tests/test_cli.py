"""The CLI as a user runs it: init, query, films, substrates, descriptors, validate, export."""

import json
import subprocess
import sys

import duckdb
from click.testing import CliRunner

import kbtools
from kbtools import content
from filmkb.cli import main


def run(db, *args):
    return kbtools.run(db, *args, catch_exceptions=False)


def test_init_on_new_path_then_idempotent(db_path, tmp_path):
    new = str(tmp_path / "new.duckdb")
    first = run(new, "init")
    assert first.exit_code == 0, first.output
    assert "28 films" in first.output and "9 substrates" in first.output
    second = run(new, "init")
    assert second.exit_code == 0 and "up to date" in second.output


def test_init_refuses_to_clobber_user_rows(db_path):
    con = duckdb.connect(db_path)
    con.execute("INSERT INTO ingest_batches (kind, sources, created_at) VALUES ('user', 'x.csv', now())")
    con.close()
    before = content(db_path)
    result = run(db_path, "init")
    assert result.exit_code == 1 and "--force" in result.output
    assert content(db_path) == before


def test_query_cannot_write(db_path):
    before = content(db_path)
    result = run(db_path, "query", "DELETE FROM films")
    assert result.exit_code == 1
    assert "read-only" in result.output
    assert content(db_path) == before


def test_query_formats(built_db):
    result = run(built_db, "query", "SELECT count(*) AS n FROM films", "--format", "json")
    assert json.loads(result.output) == [{"n": 28}]
    assert run(built_db, "query", "SELECT 1 AS one", "--format", "csv").output == "one\n1\n"


def test_films_on_mgo_by_pld(built_db):
    result = run(built_db, "films", "--substrate", "MgO", "--method", "PLD", "--format", "json")
    rows = json.loads(result.output)
    assert sorted(r["reference"] for r in rows) == ["park2015", "reinacher2014"]
    assert all(r["substrate"] == "MgO" and r["method"] == "PLD" for r in rows)


def test_films_accepts_aliases(built_db):
    by_alias = json.loads(run(built_db, "films", "--substrate", "STO", "--method", "pulsed laser deposition", "--format", "json").output)
    assert len(by_alias) == 2 and {r["substrate"] for r in by_alias} == {"SrTiO3"}


def test_films_unknown_substrate_is_one_line_error(built_db):
    result = run(built_db, "films", "--substrate", "Unobtainium")
    assert result.exit_code == 1 and "unknown substrate 'Unobtainium'" in result.output


def test_substrates_and_descriptors(built_db, tmp_path):
    subs = json.loads(run(built_db, "substrates", "--format", "json").output)
    assert len(subs) == 9
    out = tmp_path / "X.csv"
    result = run(built_db, "descriptors", "--complete", "--out", str(out))
    assert result.exit_code == 0 and "26 rows" in result.output
    assert out.read_text().count("\n") == 27


def test_validate_passes_on_curated_data(built_db):
    result = run(built_db, "validate")
    assert result.exit_code == 0, result.output


def test_validate_fails_precisely_after_a_bad_value(db_path):
    con = duckdb.connect(db_path)
    con.execute("UPDATE films SET conductivity_s_cm = 5.0 WHERE source_row = 3")
    fid = con.execute("SELECT id FROM films WHERE source_row = 3").fetchall()[0][0]
    con.close()
    result = CliRunner().invoke(main, ["--db", db_path, "validate"])
    assert result.exit_code == 1
    assert f"films: row id {fid}: conductivity_s_cm: 5.0: expect_column_values_to_be_between(min_value=1e-12, max_value=0.1)" in result.output


def test_export_writes_parquet_csv_and_bib(built_db, tmp_path):
    result = run(built_db, "export", str(tmp_path / "dump"))
    assert result.exit_code == 0
    files = {p.name for p in (tmp_path / "dump").iterdir()}
    assert {"films.parquet", "films.csv", "substrates.parquet", "film_descriptors_complete.csv", "references.bib"} <= files
    assert "@article{chen2014," in (tmp_path / "dump" / "references.bib").read_text()


def test_every_command_has_help_with_an_example():
    for name, command in main.commands.items():
        assert "Example:" in (command.help or ""), name
        for param in command.params:
            if param.param_type_name == "option":
                assert param.help, f"{name} {param.name}"


def test_help_does_not_import_heavy_libraries():
    code = ("import sys; from filmkb.cli import main\n"
            "try: main(['--help'])\nexcept SystemExit: pass\n"
            "heavy = [m for m in ('pandas', 'pymatgen', 'great_expectations', 'keras', 'jax') if m in sys.modules]\n"
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert out.strip().endswith("[]")


def test_the_manual_documents_every_command():
    """Every command is named in the README or a page of the manual (docs/cli.md renders each one's
    options from the CLI itself)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    text = "\n".join(p.read_text() for p in [root / "README.md", *sorted((root / "docs").glob("*.md"))])
    for name in main.commands:
        assert f"filmkb {name}" in text, name


def test_install_pulls_no_cuda_or_torch():
    from importlib.metadata import distributions

    names = {d.metadata["Name"].lower() for d in distributions()}
    assert not {n for n in names if n.startswith("nvidia-") or n in ("torch", "tensorflow", "jax-cuda12-plugin")}


def test_init_force_rebuilds_and_keeps_a_backup(db_path):
    import os

    con = duckdb.connect(db_path)
    con.execute("INSERT INTO ingest_batches (kind, sources, created_at) VALUES ('user', 'x.csv', now())")
    con.close()
    result = run(db_path, "init", "--force")
    assert result.exit_code == 0 and "built" in result.output
    assert os.path.exists(db_path + ".bak")
    assert content(db_path + ".bak")["ingest_batches"][-1][1] == "user"
    assert [r[1] for r in content(db_path)["ingest_batches"]] == ["curated"]


def test_init_waits_for_the_writer_lock_with_wait(tmp_path):
    import threading

    from filmkb import kb

    path = str(tmp_path / "waiting.duckdb")
    held, release = threading.Event(), threading.Event()

    def holder():
        with kb.locked(path):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(10)
    busy = kbtools.run(path, "init")
    assert busy.exit_code == 1 and "database is busy" in busy.output
    threading.Timer(1.0, release.set).start()
    waited = kbtools.run(path, "init", "--wait", "60")
    thread.join()
    assert waited.exit_code == 0 and "28 films" in waited.output, waited.output
