"""The curated seed data: Table 1 and Table 2 as published, provenance, metadata checksums."""

import csv

import pytest

from filmkb.ingest.datafiles import CURATED_FILES, DATA_DIR, PROPERTY_FILES, check_metadata
from filmkb.ingest.normalise import parse_quantity

SEED = list(csv.DictReader(open(DATA_DIR / "seed_films.csv", encoding="utf-8")))


def test_metadata_checksums_and_row_counts_match():
    assert check_metadata() == []


def test_metadata_detects_an_edit(tmp_path):
    for name in [*CURATED_FILES, "metadata.json"]:
        (tmp_path / name).write_bytes((DATA_DIR / name).read_bytes())
    with open(tmp_path / "seed_films.csv", "a") as handle:
        handle.write("\n")
    assert any("sha256" in p for p in check_metadata(tmp_path))


def test_table1_has_28_rows_and_two_marked_duplicates():
    assert len(SEED) == 28
    assert [int(r["source_row"]) for r in SEED] == list(range(1, 29))
    dups = {int(r["source_row"]): int(r["duplicate_of_row"]) for r in SEED if r["duplicate_of_row"]}
    assert dups == {19: 15, 20: 16}


@pytest.mark.parametrize("row", SEED, ids=lambda r: f"row{r['source_row']}")
def test_normalised_values_equal_the_published_cells(row):
    assert parse_quantity(row["conductivity_as_published"], "S/cm") == pytest.approx(float(row["conductivity_s_cm"]), rel=1e-12)
    assert parse_quantity(row["thickness_as_published"], "nm") == pytest.approx(float(row["thickness_nm"]), rel=1e-12)


def test_figure6_subset_has_19_films():
    assert sum(r["figure6_subset"] == "true" for r in SEED) == 19


def test_database_counts(kbase):
    one = lambda sql: kbase.con.execute(sql).fetchall()[0][0]  # noqa: E731
    assert one("SELECT count(*) FROM films") == 28
    assert one("SELECT count(*) FROM films WHERE duplicate_of IS NULL") == 26
    assert one("SELECT count(*) FROM substrates") == 9
    assert one("SELECT count(*) FROM films WHERE figure6_subset") == 19


def test_duplicates_point_to_first_occurrence(kbase):
    rows = kbase.con.execute("""SELECT d.source_row, o.source_row FROM films d JOIN films o ON o.id = d.duplicate_of
                                ORDER BY 1""").fetchall()
    assert rows == [(19, 15), (20, 16)]


def test_every_film_records_where_it_came_from(kbase):
    rows = kbase.con.execute("SELECT source_table, source_row, source_file, source_line FROM films").fetchall()
    assert all(t == "kireeva2023 Table 1" and r and f.endswith("seed_films.csv") and ln == r + 1 for t, r, f, ln in rows)


def test_every_substrate_and_phase_value_has_a_source(kbase):
    from filmkb.ingest.catalogue import PROPERTIES

    missing = []
    for table, entity in (("substrates", "substrate"), ("film_phases", "film_phase")):
        cols = [c for c, _ in PROPERTIES.values()
                if c in kbase.sql(f"SELECT * FROM {table} LIMIT 0").columns and not c.startswith("lattice_")]
        for col in cols:
            names = kbase.con.execute(f"SELECT name FROM {table} WHERE {col} IS NOT NULL").fetchall()
            for (name,) in names:
                found = kbase.con.execute("SELECT source FROM property_sources WHERE entity=? AND entity_name=? AND property=?",
                                          [entity, name, col]).fetchall()
                if not found or not found[0][0]:
                    missing.append((table, name, col))
    assert missing == []


def test_measured_values_are_64_bit(kbase):
    types = dict(kbase.con.execute("""SELECT table_name || '.' || column_name, data_type FROM information_schema.columns
                                      WHERE data_type IN ('FLOAT', 'REAL')""").fetchall())
    assert types == {}
    value = kbase.con.execute("SELECT conductivity_s_cm FROM films WHERE source_row = 1").fetchall()[0][0]
    assert value == 1.67e-6


def test_schema_version_recorded(kbase):
    from filmkb.schema.tables import SCHEMA_VERSION

    assert kbase.con.execute("SELECT max(version) FROM schema_migrations").fetchall()[0][0] == SCHEMA_VERSION


def test_seed_paper_table2_values_loaded(kbase):
    sto = kbase.sql("SELECT * FROM substrates WHERE name = 'SrTiO3'").iloc[0]
    assert (sto.cte_per_k, sto.poisson_ratio, sto.youngs_modulus_gpa, sto.dielectric_constant) == (2.98e-5, 0.24, 277.0, 300.0)
    sro = kbase.sql("SELECT * FROM substrates WHERE name = 'SrRuO3'").iloc[0]
    assert sro.dielectric_imputed and sro.dielectric_constant == 58.0


def test_every_table_has_a_quality_suite():
    from filmkb.kb.db import table_names
    from filmkb.schema.expectations import SUITES

    assert set(table_names()) <= set(SUITES)
    assert "descriptors" in SUITES


def test_metadata_names_a_missing_file_a_changed_row_count_and_is_re_recorded(tmp_path):
    import json

    from filmkb.ingest.datafiles import curated_stamp, data_hash, update_metadata

    assert check_metadata(tmp_path) == [f"{tmp_path / 'metadata.json'}: missing; run `python -m filmkb.ingest.datafiles`"]
    for name in [*CURATED_FILES, *PROPERTY_FILES, "metadata.json"]:
        (tmp_path / name).write_bytes((DATA_DIR / name).read_bytes())
    assert check_metadata(tmp_path) == [] and data_hash(tmp_path) == data_hash()
    meta = json.loads((tmp_path / "metadata.json").read_text())
    meta["files"]["methods.csv"]["rows"] += 1
    (tmp_path / "metadata.json").write_text(json.dumps(meta))
    rows = meta["files"]["methods.csv"]["rows"]
    assert check_metadata(tmp_path) == [f"{tmp_path / 'methods.csv'}: {rows - 1} rows, metadata.json says {rows}"]
    (tmp_path / "substrates.csv").unlink()
    assert f"{tmp_path / 'substrates.csv'}: missing from data/ or from metadata.json" in check_metadata(tmp_path)
    # an edit, re-recorded: checksums and rows follow the files, the hand-written descriptions stay
    (tmp_path / "substrates.csv").write_bytes((DATA_DIR / "substrates.csv").read_bytes() + b"\n")
    assert any("sha256 differs" in p for p in check_metadata(tmp_path))
    again = update_metadata(tmp_path)
    assert check_metadata(tmp_path) == []
    assert {k: v for k, v in again["files"]["methods.csv"].items() if k != "rows"} == \
        {k: v for k, v in meta["files"]["methods.csv"].items() if k != "rows"}
    assert again["files"]["methods.csv"]["rows"] == rows - 1
    assert curated_stamp(tmp_path) == f"data sha256 {data_hash(tmp_path)}" != curated_stamp()
