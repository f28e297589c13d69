"""filmkb ingest / ingest-bib / add / add-substrate / history / retract, as a user runs them."""

import json
import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kbtools import content, run
from filmkb.ingest.datafiles import DATA_DIR
from filmkb.ingest.entries import TEMPLATE_COLUMNS

TEMPLATE = DATA_DIR / "templates" / "films.csv"
HEADER = ",".join(TEMPLATE_COLUMNS)
GOOD = "10.5555/good.1,,,,,Li7La3Zr2O12,PLD,700 °C,MgO (100),,c-LLZO,0.2 µm,0.12 mS/cm,,,,"




def write(tmp_path, name, *rows, header=HEADER):
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return str(path)


def test_template_has_exactly_the_contract_columns():
    assert TEMPLATE.read_text(encoding="utf-8").splitlines()[0] == HEADER
    assert len(TEMPLATE.read_text(encoding="utf-8").splitlines()) == 3


def test_template_ingests_and_shows_up_everywhere(db_path):
    result = run(db_path, "ingest", str(TEMPLATE))
    assert result.exit_code == 0, result.output
    assert "added 2 films (ids 29, 30)" in result.output
    films = json.loads(run(db_path, "films", "--substrate", "SrTiO3", "--format", "json").output)
    new = [f for f in films if f["film_id"] == 30][0]
    assert (new["method"], new["orientation"], new["thickness_nm"], new["conductivity_s_cm"]) == (
        "RF magnetron sputtering", "100", 450.0, 1.2e-7)
    assert new["measurement_temp_assumed"] is True and new["measurement_temp_c"] == 25.0
    mgo = [f for f in json.loads(run(db_path, "films", "--substrate", "MgO", "--format", "json").output) if f["film_id"] == 29][0]
    assert (mgo["deposition_temp_c"], mgo["thickness_nm"], mgo["conductivity_s_cm"], mgo["family"]) == (700.0, 200.0, 1.2e-4, "Ta-LLZO")
    assert mgo["doi"] == "10.5555/filmkb-example-1"
    desc = json.loads(run(db_path, "query", "SELECT film_id FROM film_descriptors_complete WHERE film_id > 28", "--format", "json").output)
    assert [d["film_id"] for d in desc] == [29, 30]


def test_same_file_twice_is_a_no_op(db_path):
    run(db_path, "ingest", str(TEMPLATE))
    before = content(db_path)
    result = run(db_path, "ingest", str(TEMPLATE))
    assert result.exit_code == 0
    assert "already in the database as film 29: skipped" in result.output
    assert "nothing added" in result.output
    assert content(db_path) == before


def test_duplicate_within_file_and_near_duplicate(db_path, tmp_path):
    near = GOOD.replace("0.12 mS/cm", "0.30 mS/cm")
    path = write(tmp_path, "dups.csv", GOOD, GOOD, near)
    result = run(db_path, "ingest", path)
    assert result.exit_code == 0, result.output
    assert f"{path}:3: already in the database as film line 2: skipped" in result.output
    assert "added 2 films" in result.output
    again = write(tmp_path, "near.csv", GOOD.replace("0.12 mS/cm", "0.5 mS/cm"))
    result = run(db_path, "ingest", again)
    assert "near-duplicate of film 29" in result.output and "added 1 films" in result.output


def test_seed_film_reentered_by_author_and_year_is_a_duplicate(db_path, tmp_path):
    row = ',"Park, J.S.",2015,,,Li7La3Zr2O12,pulsed laser deposition,600,MgO (100),,mixed,200 nm,1.61e-6 S/cm,,,'
    result = run(db_path, "ingest", write(tmp_path, "park.csv", row))
    assert "already in the database as film 22" in result.output


def test_units_and_empty_thickness(db_path, tmp_path):
    row = "10.5555/units.1,,,,,LLZTO,RF magnetron sputtering,973.15 K,SrTiO3,001,amorphous,,1.2 × 10−7 S cm⁻¹,300 K,,"
    result = run(db_path, "ingest", write(tmp_path, "units.csv", row))
    assert result.exit_code == 0, result.output
    film = json.loads(run(db_path, "query", "SELECT * FROM film_overview WHERE film_id = 29", "--format", "json").output)[0]
    assert film["deposition_temp_c"] == pytest.approx(700.0) and film["measurement_temp_c"] == pytest.approx(26.85)
    assert film["thickness_nm"] is None and film["conductivity_s_cm"] == pytest.approx(1.2e-7)
    desc = run(db_path, "query", "SELECT count(*) AS n FROM film_descriptors_complete WHERE film_id = 29", "--format", "json")
    assert json.loads(desc.output) == [{"n": 0}]


def test_yaml_with_line_numbers(db_path, tmp_path):
    path = tmp_path / "films.yaml"
    path.write_text(textwrap.dedent("""\
        - doi: https://doi.org/10.5555/YAML.1
          composition: Li₇La₃Zr₂O₁₂
          method: PLD
          deposition_temp_c: 650 °C
          substrate: GGG (111)
          phase: cubic
          thickness_nm: 50 nm
          conductivity_s_cm: 3e-6
        - doi: 10.5555/yaml.2
          composition: LLZO
          method: PLD
          deposition_temp_c: 650
          substrate: GGG
          phase: cubic
          conductivity_s_cm: 12 S/cm
        """), encoding="utf-8")
    before = content(db_path)
    result = run(db_path, "ingest", str(path))
    assert result.exit_code == 1
    assert f"{path}:9: conductivity_s_cm: '12 S/cm': fails expect_column_values_to_be_between" in result.output
    assert content(db_path) == before


MALFORMED = {
    "wrong_dimension.csv": (GOOD.replace("0.12 mS/cm", "0.12 nm"), "3: conductivity_s_cm: '0.12 nm': unit 'nm' is not a conductivity unit"),
    "bad_formula.csv": (GOOD.replace("Li7La3Zr2O12", "Li7La3Zr2Q12"), "3: composition: 'Li7La3Zr2Q12': pymatgen cannot parse"),
    "unknown_substrate.csv": (GOOD.replace("MgO (100)", "Unobtainium (100)"), "3: substrate: 'Unobtainium': unknown substrate 'Unobtainium'; add it with `filmkb add-substrate --name Unobtainium ...` or use a known alias (listed by `filmkb substrates`)"),
    "unknown_method.csv": (GOOD.replace("PLD", "telekinesis"), "3: method: 'telekinesis': unknown method 'telekinesis'; add it with `filmkb add-method telekinesis --family ...` or use a known alias (listed by `filmkb methods`)"),
    "missing_required.csv": (GOOD.replace("c-LLZO", ""), "3: phase: '': required but empty"),
    "no_reference.csv": (GOOD.replace("10.5555/good.1", ""), "3: doi: '': a reference is required"),
    "bad_doi.csv": (GOOD.replace("10.5555/good.1", "good"), "3: doi: 'good': not a DOI"),
    "out_of_range.csv": (GOOD.replace("0.12 mS/cm", "5 S/cm"), "3: conductivity_s_cm: '5 S/cm': fails expect_column_values_to_be_between"),
    "too_hot.csv": (GOOD.replace("700 °C", "3000 °C"), "3: deposition_temp_c: '3000 °C': fails expect_column_values_to_be_between"),
    "negative_thickness.csv": (GOOD.replace("0.2 µm", "-5"), "3: thickness_nm: '-5': thickness must be positive"),
    "orientation_clash.csv": (GOOD.replace("MgO (100),", "MgO (100),111"), "3: substrate_orientation: '111': contradicts"),
    "bad_phase.csv": (GOOD.replace("c-LLZO", "plasma"), "3: phase: 'plasma': unknown phase"),
    "extra_cell.csv": (GOOD + ",extra", f"3: row has more cells ({len(TEMPLATE_COLUMNS) + 1}) than the header has "
                                        f"columns ({len(TEMPLATE_COLUMNS)})"),
}


@pytest.mark.parametrize("name", MALFORMED)
def test_malformed_files_fail_precisely_and_change_nothing(db_path, tmp_path, name):
    row, message = MALFORMED[name]
    path = write(tmp_path, name, GOOD.replace("good.1", "good.0"), row)
    before = content(db_path)
    result = run(db_path, "ingest", path)
    assert result.exit_code == 1, result.output
    assert f"{path}:{message}" in result.output
    assert content(db_path) == before


def test_every_bad_row_reported_at_once(db_path, tmp_path):
    rows = [MALFORMED["wrong_dimension.csv"][0], GOOD.replace("good.1", "ok.2"), MALFORMED["out_of_range.csv"][0],
            MALFORMED["bad_formula.csv"][0]]
    path = write(tmp_path, "many.csv", *rows)
    result = run(db_path, "ingest", path)
    import re

    assert re.findall(re.escape(path) + r":(\d+):", result.output) == ["2", "4", "5"]


def test_unreadable_inputs(db_path, tmp_path):
    assert "no such file" in run(db_path, "ingest", str(tmp_path / "nope.csv")).output
    odd = tmp_path / "films.xlsx"
    odd.write_text("x")
    assert "unsupported file type '.xlsx'" in run(db_path, "ingest", str(odd)).output
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("composition: LLZO\n")
    assert "expected a list of mappings" in run(db_path, "ingest", str(bad_yaml)).output


def test_dry_run_writes_nothing(db_path):
    before = content(db_path)
    result = run(db_path, "ingest", str(TEMPLATE), "--dry-run")
    assert result.exit_code == 0 and "2 would be added" in result.output
    assert content(db_path) == before


def test_history_and_retract_remove_only_that_batch(db_path, tmp_path):
    run(db_path, "ingest", str(TEMPLATE))
    run(db_path, "ingest", write(tmp_path, "one.csv", GOOD))
    batches = json.loads(run(db_path, "history", "--format", "json").output)
    assert [(b["batch"], b["kind"], b["films"]) for b in batches] == [(3, "user", 1), (2, "user", 2), (1, "curated", 28)]
    result = run(db_path, "retract", "2")
    assert result.exit_code == 0 and "removed 2 films" in result.output
    ids = [r["film_id"] for r in json.loads(run(db_path, "query", "SELECT film_id FROM film_overview ORDER BY film_id", "--format", "json").output)]
    assert ids == list(range(1, 29)) + [31]
    assert "only user batches" in run(db_path, "retract", "1").output


def test_ingest_bib_adds_and_completes(db_path, tmp_path):
    bib = tmp_path / "refs.bib"
    bib.write_text('@article{chen2014, doi = {10.5555/CHEN}, title = {T}}\n'
                   '@article{new2025, author = {Smith, A. and Jones, B.}, year = {2025}, doi = "https://doi.org/10.5555/New"}\n')
    result = run(db_path, "ingest", str(bib))
    assert result.exit_code == 0 and "1 added, 1 completed" in result.output
    rows = json.loads(run(db_path, "query", "SELECT key, doi, authors FROM publications WHERE key IN ('chen2014', 'new2025') ORDER BY key", "--format", "json").output)
    by_key = {r["key"]: r for r in rows}
    assert by_key["new2025"] == {"key": "new2025", "doi": "10.5555/new", "authors": "Smith, A.; Jones, B."}
    assert by_key["chen2014"]["doi"] == "10.5555/chen" and by_key["chen2014"]["authors"].startswith("Chen, R.J.")


def test_add_substrate_then_ingest_on_it(db_path, tmp_path):
    args = ["add-substrate", "--name", "LiNbO3", "--formula", "LiNbO3", "--crystalline", "--space-group", "Pm-3m",
            "--sites", "Li 0 0 0", "--lattice-a", "0.4 nm", "--cte", "15e-6", "--poisson", "0.25", "--youngs", "170 GPa",
            "--shear", "68", "--dielectric", "29", "--melting-point", "1257 °C", "--source", "test", "--alias", "LNO"]
    result = run(db_path, *args)
    assert result.exit_code == 0, result.output
    sub = json.loads(run(db_path, "query", "SELECT * FROM substrates WHERE name = 'LiNbO3'", "--format", "json").output)[0]
    assert sub["lattice_a_angstrom"] == pytest.approx(4.0) and sub["melting_point_k"] == pytest.approx(1530.15)
    assert sub["misfit"] == pytest.approx((3 * 4.0 - 12.9682) / 12.9682)
    assert run(db_path, "ingest", write(tmp_path, "lno.csv", GOOD.replace("MgO (100)", "LNO"))).exit_code == 0
    assert "already known: linbo3" in run(db_path, *args).output


def test_add_substrate_rejects_bad_values(db_path):
    before = content(db_path)
    result = run(db_path, "add-substrate", "--name", "X", "--formula", "X", "--amorphous", "--cte", "1e-5 GPa",
                 "--poisson", "0.2", "--youngs", "100", "--shear", "40", "--dielectric", "5", "--melting-point", "2000",
                 "--source", "s")
    assert result.exit_code == 1 and "cte: '1e-5 GPa': unit 'GPa' is not a 1/temperature unit" in result.output
    result = run(db_path, "add-substrate", "--name", "X", "--formula", "X", "--amorphous", "--cte", "1e-5",
                 "--poisson", "0.7", "--youngs", "100", "--shear", "40", "--dielectric", "5", "--melting-point", "2000",
                 "--source", "s")
    assert result.exit_code == 1 and "poisson_ratio: 0.7" in result.output
    assert content(db_path) == before


def test_add_interactive(db_path):
    answers = ["10.5555/typed", "", "", "", "", "Li7La3Zr2O12", "PLD", "650 C", "STO (100)", "", "cubic",
               "300 nm", "2e-6 S/cm", "", "", "", ""]
    result = run(db_path, "add", input="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.output
    assert "added film 29" in result.output


def test_second_writer_is_told_busy_and_readers_keep_working(db_path, tmp_path):
    """A real second process holds an open write session (mid-transaction) while we read and write."""
    import subprocess
    import sys
    import time

    flag = tmp_path / "holding"
    code = (
        "import sys, time, pathlib\n"
        "from filmkb import kb\n"
        "with kb.open(sys.argv[1], write=True) as k:\n"
        "    k.con.execute(\"UPDATE films SET notes = 'half-written' WHERE id = 1\")\n"
        "    pathlib.Path(sys.argv[2]).touch()\n"
        "    time.sleep(4)\n"
        "    raise SystemExit(3)\n"  # the writer dies: its change must not land
    )
    before = content(db_path)
    holder = subprocess.Popen([sys.executable, "-c", code, db_path, str(flag)])
    try:
        for _ in range(200):
            if flag.exists():
                break
            time.sleep(0.05)
        assert flag.exists()
        result = run(db_path, "ingest", str(TEMPLATE))
        assert result.exit_code == 1 and "database is busy" in result.output
        rows = json.loads(run(db_path, "query", "SELECT count(*) AS n, max(notes) AS notes FROM films WHERE id = 1", "--format", "json").output)
        assert rows == [{"n": 1, "notes": None}]
    finally:
        holder.wait(timeout=30)
    assert content(db_path) == before
    assert run(db_path, "ingest", str(TEMPLATE), "--wait", "1").exit_code == 0


cells = st.one_of(st.text(max_size=12), st.sampled_from(["", "700 °C", "0.2 µm", "1e-5 S/cm", "MgO (100)", "PLD",
                                                         "c-LLZO", "LLZO", "12 kg", "-3", "nan", "1e400"]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(row=st.fixed_dictionaries({c: cells for c in TEMPLATE_COLUMNS}))
def test_arbitrary_cells_either_ingest_or_fail_cleanly(built_db, tmp_path_factory, row):
    import csv
    import shutil

    from filmkb.errors import FilmkbError
    from filmkb.ingest.batch import IngestError
    from filmkb.jobs import ingest as ingest_files

    work = tmp_path_factory.mktemp("hyp")
    db = str(work / "kb.duckdb")
    shutil.copy2(built_db, db)
    path = work / "row.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, TEMPLATE_COLUMNS)
        writer.writeheader()
        writer.writerow(row)
    before = content(db)
    try:
        report = ingest_files(db, [str(path)])
    except (IngestError, FilmkbError):
        assert content(db) == before
    else:
        after = content(db)
        assert len(after["films"]) == len(before["films"]) + report.counts["added"]
        assert all(after[t] == before[t] for t in ("substrates", "film_phases", "deposition_methods"))
