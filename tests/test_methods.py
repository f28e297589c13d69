"""Deposition methods as data: `filmkb add-method`, methods files through `filmkb ingest`, the shipped
methods and aliases, and error messages that name the command that fixes them."""

import json

import pytest

from kbtools import content, run

FILM_HEADER = "doi,composition,method,deposition_temp_c,substrate,phase,thickness_nm,conductivity_s_cm"
CSD_FILM = "10.5555/csd.1,Al-LLZO,chemical solution deposition,750 °C,Pt (111),cubic,400 nm,1.2e-6 S/cm"
METHODS_HEADER = "name,family,description,aliases"




def write(tmp_path, name, header, *rows):
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return str(path)


def query(db, sql):
    result = run(db, "query", sql, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def methods(db):
    return {m["name"]: m for m in json.loads(run(db, "methods", "--format", "json").output)}


def test_add_method_then_ingest_films_with_it(db_path, tmp_path):
    result = run(db_path, "add-method", "polymer-assisted deposition", "--family", "solution", "--alias", "PAD",
                 "--description", "metal-polymer solution, spun and annealed")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "method polymer-assisted deposition added"
    listed = methods(db_path)["polymer-assisted deposition"]
    assert listed["family"] == "solution" and listed["aliases"] == "pad | polymer-assisted deposition"
    pad_film = "10.5555/pad.1,LLZO,PAD,650,MgO (100),cubic,300 nm,2e-6"
    result = run(db_path, "ingest", write(tmp_path, "films.csv", FILM_HEADER, CSD_FILM, pad_film))
    assert result.exit_code == 0, result.output
    assert "added 2 films (ids 29, 30)" in result.output
    films = query(db_path, "SELECT film_id, method, method_family, substrate, orientation, deposition_temp_c, "
                           "conductivity_s_cm FROM film_overview WHERE film_id > 28 ORDER BY film_id")
    assert [(f["method"], f["method_family"], f["substrate"], f["orientation"]) for f in films] == [
        ("chemical solution deposition", "solution", "Pt", "111"), ("polymer-assisted deposition", "solution", "MgO", "100")]
    assert films[0]["deposition_temp_c"] == 750.0 and films[0]["conductivity_s_cm"] == pytest.approx(1.2e-6)
    flags = query(db_path, "SELECT method_pvd, method_cvd, method_ald FROM film_descriptors_extended WHERE film_id > 28")
    assert flags == [{"method_pvd": 0.0, "method_cvd": 0.0, "method_ald": 0.0}] * 2  # solution: no flag of its own
    assert run(db_path, "validate").exit_code == 0


SHIPPED = {
    "CSD": ("chemical solution deposition", "solution"),
    "MOD": ("chemical solution deposition", "solution"),
    "metal-organic decomposition": ("chemical solution deposition", "solution"),
    "aerosol deposition": ("aerosol deposition", "powder"),
    "AD": ("aerosol deposition", "powder"),
    "e-beam evaporation": ("e-beam evaporation", "PVD"),
    "electron beam evaporation": ("e-beam evaporation", "PVD"),
    "EBE": ("e-beam evaporation", "PVD"),
    "MOCVD": ("MOCVD", "CVD"),
    "metal-organic chemical vapor deposition": ("MOCVD", "CVD"),
    "Metal-organic chemical vapour deposition": ("MOCVD", "CVD"),
    "mist CVD": ("mist CVD", "CVD"),
    "spray pyrolysis": ("spray pyrolysis", "solution"),
    "DC magnetron sputtering": ("DC magnetron sputtering", "PVD"),
    "dc sputtering": ("DC magnetron sputtering", "PVD"),
    "sputtering": ("magnetron sputtering", "PVD"),
    "RF sputtering": ("RF magnetron sputtering", "PVD"),
    "tape casting": ("tape casting", "powder"),
    "sol-gel dip coating": ("sol-gel dip coating", "sol-gel"),
    "spin coating": ("sol-gel spin coating", "sol-gel"),
}


@pytest.mark.parametrize("alias", SHIPPED)
def test_each_shipped_alias_resolves(kbase, alias):
    name, family = SHIPPED[alias]
    assert kbase.vocabulary().resolve("method", alias) == name
    assert kbase.method_families()[name] == family


def test_shipped_methods_leave_the_curated_films_as_they_were(kbase):
    import csv

    from filmkb.ingest.datafiles import DATA_DIR

    with open(DATA_DIR / "seed_films.csv", encoding="utf-8") as handle:
        table1 = [row["method"] for row in csv.DictReader(handle)]
    stored = kbase.sql("SELECT method FROM film_overview ORDER BY film_id")["method"].tolist()
    assert stored == table1 and "DC magnetron sputtering" not in stored


@pytest.mark.parametrize("args, line", [
    (["PLD", "--family", "PVD"], "add-method NAME 'PLD': already the name of method 'PLD'"),
    (["Pulsed Laser Deposition", "--family", "PVD"], "NAME 'Pulsed Laser Deposition': already an alias of method 'PLD'"),
    (["new method", "--family", "PVD", "--alias", "MOD"],
     "add-method --alias 'MOD': already an alias of method 'chemical solution deposition'"),
    (["new method", "--family", "plasma"], "add-method --family 'plasma': unknown method family; expected one of PVD, "
                                           "CVD, ALD, sol-gel, solution, powder, other"),
])
def test_duplicate_or_bad_method_is_one_line_and_changes_nothing(db_path, args, line):
    before = content(db_path)
    result = run(db_path, "add-method", *args)
    assert result.exit_code == 1
    assert line in result.output and len(result.output.strip().splitlines()) == 1, result.output
    assert "see `filmkb methods`" in result.output or "family" in args[-2]
    assert content(db_path) == before


def test_family_is_matched_case_insensitively(db_path):
    assert run(db_path, "add-method", "flash evaporation", "--family", "pvd").exit_code == 0
    assert methods(db_path)["flash evaporation"]["family"] == "PVD"


def test_add_method_is_recorded_with_provenance(db_path):
    result = run(db_path, "add-method", "flash evaporation", "--family", "PVD", "--alias", "flash-evaporation",
                 "--alias", "FE", "--note", "Smith et al. 2024, Table 2")
    assert result.exit_code == 0, result.output
    newest = json.loads(run(db_path, "history", "--format", "json").output)[0]
    assert (newest["batch"], newest["kind"], newest["films"], newest["sources"]) == (2, "user", 0, "add-method")
    assert newest["note"] == "method flash evaporation (PVD; aliases flash-evaporation, FE); note: Smith et al. 2024, Table 2"


def test_unknown_method_names_the_command_that_adds_it(db_path, tmp_path):
    path = write(tmp_path, "spray.csv", FILM_HEADER, CSD_FILM.replace("chemical solution deposition", "sol-gel spraying"))
    before = content(db_path)
    result = run(db_path, "ingest", path)
    assert result.exit_code == 1
    assert (f"{path}:2: method: 'sol-gel spraying': unknown method 'sol-gel spraying'; add it with "
            "`filmkb add-method 'sol-gel spraying' --family ...` or use a known alias (listed by `filmkb methods`)"
            ) in result.output
    assert content(db_path) == before
    assert run(db_path, "add-method", "sol-gel spraying", "--family", "sol-gel").exit_code == 0
    assert run(db_path, "ingest", path).exit_code == 0


def test_no_message_asks_to_edit_package_files(db_path, tmp_path):
    row = "10.5555/x.1,LLZO,telekinesis,700,Unobtainium,cubic,300,1e-6"
    path = write(tmp_path, "bad.csv", "reference_key," + FILM_HEADER, "nokey2020," + row)
    result = run(db_path, "ingest", path)
    assert result.exit_code == 1
    assert "data/" not in result.output and ".csv +" not in result.output
    assert "`filmkb add-substrate --name Unobtainium ...`" in result.output
    assert "reference_key: 'nokey2020': unknown reference key; give the paper's DOI" in result.output


def test_methods_file_and_films_in_one_ingest(db_path, tmp_path):
    methods_file = write(tmp_path, "methods.csv", METHODS_HEADER,
                         'flash evaporation,PVD,"flash, of powder",flash-evaporation|FE', "solvothermal,other,,")
    films_file = write(tmp_path, "films.csv", FILM_HEADER, CSD_FILM.replace("chemical solution deposition", "FE"))
    before = content(db_path)
    result = run(db_path, "ingest", methods_file, films_file, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "2 methods valid, would be added: flash evaporation, solvothermal" in result.output
    assert content(db_path) == before
    result = run(db_path, "ingest", methods_file, films_file)
    assert result.exit_code == 0, result.output
    assert "batch 2: added 2 methods (flash evaporation, solvothermal)" in result.output
    assert "batch 3: added 1 films (ids 29)" in result.output
    listed = methods(db_path)
    assert listed["flash evaporation"]["aliases"] == "fe | flash evaporation | flash-evaporation"
    assert (listed["flash evaporation"]["description"], listed["solvothermal"]["family"]) == ("flash, of powder", "other")
    assert query(db_path, "SELECT method FROM film_overview WHERE film_id = 29") == [{"method": "flash evaporation"}]
    batches = json.loads(run(db_path, "history", "--format", "json").output)
    assert (batches[1]["sources"], batches[1]["note"]) == (
        methods_file, "methods flash evaporation (PVD; aliases flash-evaporation, FE), solvothermal (other)")
    after = content(db_path)
    result = run(db_path, "ingest", methods_file, films_file)  # the same files again: a no-op
    assert result.exit_code == 0, result.output
    assert f"{methods_file}:2: method flash evaporation is already in the database as it is: skipped" in result.output
    assert content(db_path) == after


def test_yaml_methods_file(db_path, tmp_path):
    path = tmp_path / "methods.yaml"
    path.write_text("- name: hydrothermal\n  family: solution\n  aliases: hydrothermal synthesis|HT\n", encoding="utf-8")
    result = run(db_path, "ingest", str(path))
    assert result.exit_code == 0, result.output
    assert methods(db_path)["hydrothermal"]["aliases"] == "ht | hydrothermal | hydrothermal synthesis"


def test_bad_methods_file_lists_every_bad_row_and_writes_nothing(db_path, tmp_path):
    path = write(tmp_path, "bad_methods.csv", METHODS_HEADER,
                 "flash evaporation,PVD,,FE",          # fine
                 "PLD,CVD,,",                          # a stored name (in another family: not a repeat)
                 "new one,plasma,,",                   # not a family
                 ",PVD,,",                             # no name
                 "another,CVD,,fe|CSD")                # an alias of line 2 and a stored alias
    films_file = write(tmp_path, "films.csv", FILM_HEADER, CSD_FILM.replace("750 °C", "750 kg"))
    before = content(db_path)
    result = run(db_path, "ingest", path, films_file)
    assert result.exit_code == 1
    lines = result.output.replace("Error: ", "").strip().splitlines()
    assert lines == [
        f"{path}:3: name: 'PLD': already the name of method 'PLD' (see `filmkb methods`)",
        f"{path}:4: family: 'plasma': unknown method family; expected one of PVD, CVD, ALD, sol-gel, solution, powder, other",
        f"{path}:5: name: '': required but empty",
        f"{path}:6: aliases: 'fe': already an alias of method 'flash evaporation' (see `filmkb methods`)",
        f"{path}:6: aliases: 'CSD': already an alias of method 'chemical solution deposition' (see `filmkb methods`)",
        f"{films_file}:2: deposition_temp_c: '750 kg': unit 'kg' is not a temperature unit (expected e.g. degC)",
    ]
    assert content(db_path) == before


def test_methods_file_column_typo_is_named(db_path, tmp_path):
    path = write(tmp_path, "typo.csv", "name,famly,aliases", "x,PVD,")
    result = run(db_path, "ingest", path)
    assert result.exit_code == 1
    assert (f"{path}:1: famly: unknown column of a methods file (expected name, family, description, aliases); "
            "did you mean `family`?") in result.output


def test_the_shipped_methods_file_ingests_as_a_no_op(db_path):
    from filmkb.ingest.datafiles import DATA_DIR

    before = content(db_path)
    result = run(db_path, "ingest", str(DATA_DIR / "methods.csv"))
    assert result.exit_code == 0, result.output
    assert "nothing added: every method is already in the database" in result.output
    assert content(db_path) == before


def test_kb_refuses_a_clashing_method_from_any_caller(db_path):
    from filmkb import kb
    from filmkb.ingest.catalogue import MethodEntry

    before = content(db_path)
    with pytest.raises(kb.FilmkbError, match="already known: 'mod' \\(method 'chemical solution deposition'\\)"):
        with kb.open(db_path, write=True) as k:
            k.write_methods([MethodEntry("new", "PVD", None, ["MOD"])])
    assert content(db_path) == before


def test_rows_of_one_file_may_not_share_an_alias():
    from filmkb.ingest.catalogue import method_entries
    from filmkb.ingest.readers import Record

    rows = [Record("m.csv", 2, {"name": "a", "family": "PVD", "aliases": "x"}),
            Record("m.csv", 3, {"name": "b", "family": "PVD", "aliases": "X"})]
    entries, problems = method_entries(rows)
    assert [e.name for e in entries] == ["a"]
    assert [str(p) for p in problems] == ["m.csv:3: aliases: 'X': already an alias of method 'a' (see `filmkb methods`)"]


def test_hexagonal_substrate_needs_and_takes_lattice_c(db_path):
    common = ["add-substrate", "--name", "Al2O3", "--formula", "Al2O3", "--space-group", "R-3c", "--sites",
              "Al 0 0 0.352; O 0.306 0 0.25", "--lattice-a", "4.759", "--cte", "7.5e-6", "--poisson", "0.29",
              "--youngs", "400 GPa", "--shear", "160 GPa", "--dielectric", "9.4", "--melting-point", "2072 degC",
              "--source", "CRC Handbook", "--alias", "sapphire"]
    before = content(db_path)
    missing = run(db_path, *common)
    assert missing.exit_code == 1 and "needs c; nothing was written" in missing.output
    assert missing.exception is None or isinstance(missing.exception, SystemExit)
    assert content(db_path) == before
    added = run(db_path, *common, "--lattice-c", "12.991")
    assert added.exit_code == 0, added.output
