"""`filmkb export DIR`, then `filmkb init` + `filmkb ingest DIR/entries` into a new file: the same films,
substrates, methods, publications and batches (issue "Literature at scale", item 6)."""

import json

import duckdb

from kbtools import content, run

from filmkb.schema.version import SCHEMA_VERSION

FILMS_1 = """doi,authors,year,journal,title,composition,method,deposition_temp_c,substrate,substrate_orientation,phase,thickness_nm,conductivity_s_cm,measurement_temp_c,activation_energy_ev,precursors,notes
https://doi.org/10.5555/RT.1,"Ito, K.; Mori, S.",2023,J. Test,Mist CVD garnet films,Li6.4La3Zr1.4Ta0.6O12,FACVD,612.5 °C,LT wafer,,c-LLZO,0.35 µm,3.3e-7 S/cm,80 °C,0.52 eV,"LiNO3, La(NO3)3",first of two
,"Sato, A.",2022,,,Ta-LLZO,pulsed laser deposition,700,LiTaO3,,amorphous,123.456,1.234567890123e-6,,,,no measurement temperature
"""
FILMS_2 = """doi,composition,method,deposition_temp_c,substrate,phase,thickness_nm,conductivity_s_cm
10.5555/rt.1,LLZO,flame-assisted CVD,650,lithium tantalate,cubic,410 nm,0.021 mS/cm
"""
BIB = """@article{sato2022,
  author = {Sato, A.},
  title = {Sputtered garnet on tantalate},
  journal = {Thin Solid Films},
  year = {2022},
  volume = {7},
  pages = {1--9},
  doi = {10.5555/rt.2},
}

@article{kato2021,
  author = {Kato, B. and Endo, C.},
  title = {A paper with no films},
  journal = {Solid State Ionics},
  year = {2021},
  doi = {10.5555/rt.3},
}
"""

FILMS_SQL = """
    SELECT f.* EXCLUDE (id, reference_id, material_id, method_id, substrate_id, batch_id, duplicate_of, source_file,
                        source_line, created_by, created_at),
           p.key AS reference, m.* EXCLUDE (id, created_by, created_at), dm.name AS method, s.name AS substrate, b.sources, b.note
    FROM films f JOIN publications p ON p.id = f.reference_id JOIN film_materials m ON m.id = f.material_id
    JOIN deposition_methods dm ON dm.id = f.method_id JOIN substrates s ON s.id = f.substrate_id
    JOIN ingest_batches b ON b.id = f.batch_id ORDER BY f.id"""
# Compared without who wrote each row and when (created_by, created_at): a replay writes its rows anew.
COMPARED = {
    "films": FILMS_SQL,
    "substrates": """SELECT s.* EXCLUDE (id, batch_id, created_by, created_at), b.kind, b.sources, b.note FROM substrates s
                     LEFT JOIN ingest_batches b ON b.id = s.batch_id ORDER BY s.id""",
    "substrate_aliases": "SELECT a.alias, s.name FROM substrate_aliases a JOIN substrates s ON s.id = a.substrate_id "
                         "ORDER BY ALL",
    "property_sources": "SELECT * EXCLUDE (id, created_by, created_at) FROM property_sources ORDER BY id",
    "methods": """SELECT m.* EXCLUDE (id, batch_id, created_by, created_at), b.kind, b.sources, b.note FROM deposition_methods m
                  LEFT JOIN ingest_batches b ON b.id = m.batch_id ORDER BY m.id""",
    "method_aliases": "SELECT a.alias, m.name FROM method_aliases a JOIN deposition_methods m ON m.id = a.method_id "
                      "ORDER BY ALL",
    "publications": """SELECT p.* EXCLUDE (id, batch_id, created_by, created_at), b.kind, b.sources, b.note FROM publications p
                       LEFT JOIN ingest_batches b ON b.id = p.batch_id ORDER BY p.id""",
    "batches": """SELECT b.kind, b.sources, b.note, CASE WHEN b.kind = 'user' THEN b.created_at END AS created_at,
                         count(f.id) AS films FROM ingest_batches b
                  LEFT JOIN films f ON f.batch_id = b.id GROUP BY ALL ORDER BY min(b.id)""",
    "interface_matches": "SELECT * EXCLUDE (id, substrate_id, created_by, created_at) FROM interface_matches ORDER BY id",
}


def snapshot(path) -> dict:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {name: con.execute(sql).fetchall() for name, sql in COMPARED.items()}
    finally:
        con.close()


def ok(result):
    assert result.exit_code == 0, result.output
    return result.output


def add_user_batches(db, tmp_path) -> None:
    """add-method (alias), add-substrate (units), two film files using both, a small .bib."""
    ok(run(db, "add-method", "flame-assisted CVD", "--family", "CVD", "--alias", "FACVD",
           "--description", "ultrasonic mist of a nitrate solution", "--note", "round trip"))
    ok(run(db, "add-substrate", "--name", "LiTaO3", "--formula", "LiTaO3", "--amorphous", "--cte", "16e-6 1/K",
           "--poisson", "0.27", "--youngs", "230 GPa", "--bulk", "1.5e11 Pa", "--shear", "95000 MPa",
           "--dielectric", "43", "--melting-point", "1650 degC", "--source", "CRC Handbook p. 4-70",
           "--alias", "LT wafer", "--alias", "lithium tantalate", "--note", "Z-cut"))
    for name, text in (("films1.csv", FILMS_1), ("films2.csv", FILMS_2), ("refs.bib", BIB)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert "added 2 films" in ok(run(db, "ingest", str(tmp_path / "films1.csv")))
    assert "added 1 films" in ok(run(db, "ingest", str(tmp_path / "films2.csv")))
    assert "1 added, 1 completed" in ok(run(db, "ingest-bib", str(tmp_path / "refs.bib")))


def test_export_then_ingest_into_a_new_file_gives_the_same_knowledge_base(db_path, built_db, tmp_path):
    import shutil

    add_user_batches(db_path, tmp_path)
    out = tmp_path / "dump"
    ok(run(db_path, "export", str(out)))
    assert (out / "films.parquet").exists() and (out / "references.bib").exists()  # the analysis export stays
    manifest = json.loads((out / "entries" / "manifest.json").read_text())
    assert (manifest["format"], manifest["version"], manifest["schema_version"]) == ("filmkb-export", 1, SCHEMA_VERSION)
    assert [(b["sources"], b["films"], len(b["files"])) for b in manifest["batches"]] == [
        (["add-method"], 0, 1), (["add-substrate"], 0, 1), ([str(tmp_path / "films1.csv")], 2, 1),
        ([str(tmp_path / "films2.csv")], 1, 1), ([str(tmp_path / "refs.bib")], 0, 1)]
    films_csv = (out / "entries" / manifest["batches"][2]["files"][0]).read_text()
    assert "1.234567890123e-06" in films_csv and ",80.0," in films_csv  # repr-exact numbers

    new = str(tmp_path / "new.duckdb")
    shutil.copy2(built_db, new)  # a new file as `filmkb init` builds it (conftest's build, made once per run)
    assert "replayed 5 batches (3 films)" in ok(run(new, "ingest", str(out / "entries")))
    before, after = snapshot(db_path), snapshot(new)
    for name in COMPARED:
        assert after[name] == before[name], name
    assert len(after["films"]) == 31 and [b[-1] for b in after["batches"]] == [28, 0, 0, 2, 1, 0]
    assert len(after["methods"]) == len(before["methods"]) and after["publications"][-1][0] == "kato2021"

    # the new file now holds user batches: a second replay is refused in one line, nothing written
    kept = content(new)
    result = run(new, "ingest", str(out / "entries"))
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1, result.output
    assert "holds 5 batches besides the curated data" in result.output
    assert content(new) == kept


def test_replay_into_a_database_with_user_batches_is_refused(db_path, tmp_path):
    ok(run(db_path, "add-method", "flash evaporation", "--family", "PVD"))
    out = tmp_path / "dump"
    ok(run(db_path, "export", str(out)))
    kept = content(db_path)
    result = run(db_path, "ingest", str(out / "entries"))
    assert result.exit_code == 1, result.output
    assert len(result.output.strip().splitlines()) == 1 and "nothing was written" in result.output
    assert content(db_path) == kept


SUBSTRATES = """name,formula,amorphous,crystal_system,space_group,sites,aliases,note,source,cte,poisson_ratio,youngs_modulus,bulk_modulus,shear_modulus,dielectric_constant,melting_point
LiNbO3,LiNbO3,true,,,,LN wafer,Z-cut,CRC Handbook,{cte},0.25,170 GPa,,68 GPa,29,1257 degC
"""


def test_a_substrates_file_is_ingested_with_the_films_that_use_it(db_path, tmp_path):
    subs, films = tmp_path / "subs.csv", tmp_path / "films.csv"
    subs.write_text(SUBSTRATES.format(cte="abc"), encoding="utf-8")
    films.write_text(FILMS_2.replace("flame-assisted CVD", "PLD").replace("lithium tantalate", "LN wafer")
                     .replace("10.5555/rt.1", "10.5555/rt.9"), encoding="utf-8")
    kept = content(db_path)
    result = run(db_path, "ingest", str(subs))
    assert result.exit_code == 1 and result.output.count("\n") == 1, result.output
    assert f"{subs}:2: cte: 'abc'" in result.output and content(db_path) == kept
    subs.write_text(SUBSTRATES.format(cte="15e-6 1/K"), encoding="utf-8")
    output = ok(run(db_path, "ingest", str(subs), str(films)))
    assert "added 1 substrates" in output and "added 1 films" in output
    con = duckdb.connect(db_path, read_only=True)
    try:
        assert con.execute("SELECT s.cte_per_k, s.melting_point_k, b.note, b.sources FROM substrates s "
                           "JOIN ingest_batches b ON b.id = s.batch_id WHERE s.name = 'LiNbO3'").fetchall() == [
            (15e-6, 1530.15, "substrate LiNbO3", str(subs))]
        assert con.execute("SELECT s.name FROM films f JOIN substrates s ON s.id = f.substrate_id "
                           "ORDER BY f.id DESC LIMIT 1").fetchall() == [("LiNbO3",)]
    finally:
        con.close()
