"""A trained run's files are stored with the run (table run_artifacts), so a model trained on one machine is
used from every machine that opens the same knowledge base: `predict` without the run's folder puts the stored
files in the user cache, checks them against the run's hashes and gives the same numbers; a changed stored
file is refused in one line.
"""

import shutil

import duckdb
import pytest
from kbtools import run

from filmkb import kb


def predicted(db, *extra) -> str:
    result = run(db, "predict", "--substrate", "MgO", "--temp-c", "700", "--thickness-nm", "300", "--format", "csv",
                 "--raw", *extra)
    assert result.exit_code == 0, result.output
    return result.output


def _train(db) -> str:
    trained = run(db, "train", "--candidates", "small", "--jobs", "1", "--silent")
    assert trained.exit_code == 0, trained.output
    with kb.open(db) as k:
        return k.model_run()["id"]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A private user cache directory (platformdirs reads $XDG_CACHE_HOME)."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    return folder / "filmkb" / "runs"


def test_a_run_is_used_without_its_folder_and_a_changed_stored_file_is_refused(db_path, tmp_path, cache, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run_id = _train(db_path)
    folder = tmp_path / "models" / run_id
    with kb.open(db_path) as k:
        stored = {name: size for name, _, size in k.artifact_names(run_id)}
    assert stored == {p.name: p.stat().st_size for p in folder.iterdir()}  # manifest.json and recommended.npz
    here = predicted(db_path)
    assert not cache.exists()  # the local folder was used

    shutil.move(folder, tmp_path / "elsewhere")  # a machine without the folder
    assert predicted(db_path) == here
    assert sorted(p.name for p in next(cache.iterdir()).iterdir()) == sorted(stored)
    assert predicted(db_path) == here  # from the cache now

    con = duckdb.connect(db_path)  # the stored weights changed behind filmkb's back
    con.execute("UPDATE run_artifacts SET content = content || '\\x00'::BLOB WHERE name = 'recommended.npz'")
    con.close()
    shutil.rmtree(cache)
    refused = run(db_path, "predict", "--substrate", "MgO", "--temp-c", "700", "--thickness-nm", "300")
    assert refused.exit_code == 1
    assert refused.output.splitlines() == [
        f"Error: {db_path}: run {run_id}: the stored file recommended.npz does not match the hash recorded for the run "
        "(changed in the knowledge base after training); nothing was loaded; retrain with `filmkb train`"]
    assert not cache.exists() or not any(cache.iterdir())  # nothing put in the cache


def test_a_changed_stored_manifest_is_refused_and_a_run_without_stored_files_says_so(db_path, tmp_path, cache,
                                                                                   monkeypatch):
    monkeypatch.chdir(tmp_path)
    run_id = _train(db_path)
    shutil.rmtree(tmp_path / "models")
    con = duckdb.connect(db_path)
    con.execute("UPDATE run_artifacts SET content = replace(content::VARCHAR, 'recommended', 'Recommended')::BLOB "
                "WHERE name = 'manifest.json'")
    con.close()
    refused = run(db_path, "explain")
    assert refused.exit_code == 1 and len(refused.output.splitlines()) == 1
    assert f"run {run_id}: the stored file manifest.json does not match the hash recorded" in refused.output

    con = duckdb.connect(db_path)
    con.execute("DELETE FROM run_artifacts")
    con.close()
    missing = run(db_path, "suggest", "--top", "2")
    assert missing.exit_code == 1 and len(missing.output.splitlines()) == 1
    assert "are missing" in missing.output and "not stored in the knowledge base" in missing.output


@pytest.mark.slow
def test_a_run_trained_on_the_server_predicts_from_a_second_working_folder(pg_db, tmp_path, cache, monkeypatch):
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    monkeypatch.chdir(tmp_path / "one")
    run_id = _train(pg_db)
    here = predicted(pg_db, "--run", run_id)
    monkeypatch.chdir(tmp_path / "two")  # another member's machine: no models/ folder, the first one's out of reach
    shutil.move(tmp_path / "one" / "models", tmp_path / "out-of-reach")
    assert predicted(pg_db, "--run", run_id) == here
    assert not (tmp_path / "two" / "models").exists() and len(list(cache.iterdir())) == 1


@pytest.mark.parametrize("engine", ["duckdb", "postgresql"])
def test_a_version_4_knowledge_base_gains_run_artifacts_on_open(engine, request):
    """Step 6 on both engines; a missing step number (5, from parallel work) is skipped by pending()."""
    import psycopg

    from filmkb.kb import migrations
    from filmkb.kb.engines.postgres import driver_url
    from filmkb.schema.version import SCHEMA_VERSION

    db = request.getfixturevalue("db_path" if engine == "duckdb" else "pg_db")
    con = duckdb.connect(db) if engine == "duckdb" else psycopg.connect(driver_url(db), autocommit=True)
    con.execute("DROP TABLE run_artifacts")
    con.execute("UPDATE schema_migrations SET version = 4")
    con.close()
    with kb.open(db) as k:
        assert migrations.pending(k.con) == []
        versions = [v for (v,) in k._rows("SELECT version FROM schema_migrations ORDER BY version")]
        assert versions[0] == 4 and versions[-1] == SCHEMA_VERSION and 6 in versions
        assert k.artifact_names("no-such-run") == []
