"""`filmkb query` reads the knowledge base and nothing else: DuckDB's external access is disabled and
its configuration locked on every read-only connection, so SQL cannot read or write files, attach
databases or load extensions."""

import pytest
from click.testing import CliRunner

from filmkb.cli import main

ESCAPES = {
    "copy_to": "COPY (SELECT 1 AS x) TO '{out}'",
    "read_csv": "SELECT * FROM read_csv('{secret}')",
    "read_text": "SELECT * FROM read_text('{secret}')",
    "read_parquet": "SELECT * FROM read_parquet('{out}')",
    "replacement_scan": "SELECT * FROM '{secret}'",
    "attach": "ATTACH '{out}.duckdb' AS other",
    "install": "INSTALL httpfs",
    "load": "LOAD httpfs",
    "unlock": "SET enable_external_access = true",
    "httpfs": "SELECT * FROM read_csv('https://example.org/x.csv')",
}


@pytest.mark.parametrize("name", ESCAPES)
def test_query_cannot_reach_the_file_system(db_path, tmp_path, name):
    secret = tmp_path / "secret.csv"
    secret.write_text("token\nhunter2\n")
    out = tmp_path / "leak.csv"
    sql = ESCAPES[name].format(out=out, secret=secret)
    result = CliRunner().invoke(main, ["--db", db_path, "query", sql, "--format", "csv"])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: query is sealed"), result.output
    assert "hunter2" not in result.output
    assert not out.exists() and not (tmp_path / "leak.csv.duckdb").exists()


def test_sealed_connection_still_reads_the_knowledge_base(db_path):
    result = CliRunner().invoke(main, ["--db", db_path, "query", "SELECT count(*) AS n FROM film_overview", "--format", "csv"])
    assert result.exit_code == 0 and result.output.split() == ["n", "28"]
