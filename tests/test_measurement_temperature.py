"""Conductivities measured away from 25 C: stored as measured, converted to 25 C with the activation
energy (Arrhenius, sigma*T form), or kept out of the descriptor matrix when there is none."""

import json
import math

import duckdb
import pytest

from kbtools import run
from filmkb import kb
from filmkb.ingest.entries import TEMPLATE_COLUMNS
from filmkb.ingest.normalise import CellError, parse_energy_ev
from filmkb.schema.arrhenius import conductivity_25c

# sigma 1.0e-4 S/cm measured at 80 C with Ea = 0.50 eV, converted by hand:
#   sigma_25 = sigma_m * (T_m / T_25) * exp(-Ea / k_B * (1 / T_25 - 1 / T_m))
#   T_m = 80 + 273.15 = 353.15 K, T_25 = 25 + 273.15 = 298.15 K, k_B = 8.617333262e-5 eV/K
SIGMA_25_BY_HAND = 1.0e-4 * (353.15 / 298.15) * math.exp(-0.50 / 8.617333262e-5 * (1.0 / 298.15 - 1.0 / 353.15))
HEADER = ",".join(TEMPLATE_COLUMNS)
NEW_COLUMNS = ("activation_energy_ev", "conductivity_25c_s_cm", "conductivity_25c_derived")




def film_row(doi: str, t_dep: str, measured_at: str, ea: str, sigma: str = "1.0e-4 S/cm") -> str:
    cells = dict(doi=doi, composition="Li7La3Zr2O12", method="PLD", deposition_temp_c=t_dep, substrate="MgO (100)",
                 phase="cubic", thickness_nm="200 nm", conductivity_s_cm=sigma, measurement_temp_c=measured_at,
                 activation_energy_ev=ea)
    return ",".join(cells.get(c, "") for c in TEMPLATE_COLUMNS)


def ingest(db, tmp_path, *rows) -> list[int]:
    path = tmp_path / "films.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    result = run(db, "ingest", str(path))
    assert result.exit_code == 0, result.output
    with kb.open(db) as k:
        return [int(i) for (i,) in k.con.execute("SELECT id FROM films WHERE id > 28 ORDER BY id").fetchall()]


def films_json(db) -> dict:
    """`filmkb films` as JSON (which rounds to 10 decimal places: exact values are read with kb)."""
    result = run(db, "films", "--format", "json")
    assert result.exit_code == 0, result.output
    return {f["film_id"]: f for f in json.loads(result.output)}


def stored(db, fid: int, column: str, view: str = "films", key: str = "id"):
    with kb.open(db) as k:
        return k.con.execute(f"SELECT {column} FROM {view} WHERE {key} = ?", [fid]).fetchall()[0][0]


def complete_matrix(db) -> dict:
    result = run(db, "descriptors", "--complete", "--format", "json")
    assert result.exit_code == 0, result.output
    return {r["film_id"]: r for r in json.loads(result.output)}


# ------------------------------------------------------------------------ the conversion itself


def test_conversion_to_25c_equals_the_hand_computed_value():
    sigma, derived = conductivity_25c(1.0e-4, 80.0, 0.50)
    assert derived is True
    assert sigma == pytest.approx(SIGMA_25_BY_HAND, rel=1e-12)
    assert SIGMA_25_BY_HAND == pytest.approx(5.7178e-6, rel=1e-4)  # lower at 25 C than at 80 C


def test_room_temperature_values_are_kept_and_others_need_an_activation_energy():
    for t_c in (20.0, 25.0, 26.85, 30.0):  # 20-30 C, bounds included: the measured value, not derived
        assert conductivity_25c(3e-6, t_c, 0.4) == (3e-6, False)
        assert conductivity_25c(3e-6, t_c, None) == (3e-6, False)
    assert conductivity_25c(3e-6, 80.0, None) == (None, False)
    assert conductivity_25c(3e-6, 80.0, float("nan")) == (None, False)
    below, derived = conductivity_25c(3e-6, 0.0, 0.4)  # measured below room temperature: converted upward
    assert derived and below > 3e-6


def test_activation_energy_units():
    assert parse_energy_ev("0.50 eV") == 0.5
    assert parse_energy_ev("500 meV") == pytest.approx(0.5, rel=1e-12)
    assert parse_energy_ev("0.5") == 0.5  # a plain number is eV
    per_ion = 48.2e3 / 6.02214076e23 / 1.602176634e-19  # J/mol -> J per ion -> eV
    assert parse_energy_ev("48.2 kJ/mol") == pytest.approx(per_ion, rel=1e-9)
    assert parse_energy_ev("48.2 kJ mol-1") == pytest.approx(per_ion, rel=1e-9)
    assert parse_energy_ev("") is None
    with pytest.raises(CellError, match="unit 'nm' is not an energy unit"):
        parse_energy_ev("3 nm")


@pytest.mark.parametrize("cell, reason", [
    ("5 eV", "activation energy must be above 0 and below 3 eV (read as 5 eV"),
    ("0", "activation energy must be above 0 and below 3 eV"),
    ("48.2", "read as 48.2 eV; a molar value needs its unit"),
    ("0.5 S/cm", "unit 'S/cm' is not an energy unit"),
])
def test_bad_activation_energies_are_one_line_naming_file_line_and_column(db_path, tmp_path, cell, reason):
    path = tmp_path / "bad.csv"
    path.write_text("\n".join([HEADER, film_row("10.5555/t.bad", "700", "80 C", cell)]) + "\n", encoding="utf-8")
    result = run(db_path, "ingest", str(path))
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {path}:2: activation_energy_ev: ")
    assert reason in lines[0]


# ------------------------------------------------------------------------ ingested films


def test_film_at_80c_with_activation_energy_is_converted(db_path, tmp_path):
    (fid,) = ingest(db_path, tmp_path, film_row("10.5555/t.80ea", "700 °C", "80 °C", "0.50 eV"))
    film = films_json(db_path)[fid]
    assert film["conductivity_s_cm"] == 1.0e-4 and film["measurement_temp_c"] == 80.0  # as the paper reports
    assert film["activation_energy_ev"] == 0.5 and film["measurement_temp_assumed"] is False
    assert film["conductivity_25c_s_cm"] == pytest.approx(SIGMA_25_BY_HAND, rel=1e-4)
    assert stored(db_path, fid, "conductivity_25c_s_cm") == pytest.approx(SIGMA_25_BY_HAND, rel=1e-12)
    assert film["conductivity_25c_derived"] is True
    assert "converted from 80.0 C to 25 C (Arrhenius, Ea 0.5 eV)" in film["conductivity_25c_note"]
    row = complete_matrix(db_path)[fid]
    assert row["neg_log10_sigma"] == pytest.approx(-math.log10(SIGMA_25_BY_HAND), rel=1e-9)
    assert stored(db_path, fid, "neg_log10_sigma", "film_descriptors_complete", "film_id") == pytest.approx(
        -math.log10(SIGMA_25_BY_HAND), rel=1e-12)
    assert "converted from 80.0 C to 25 C" in row["descriptor_choices"]
    with kb.open(db_path) as k:
        extended = k.descriptor_matrix(descriptors="extended")
    assert extended.loc[fid, "neg_log10_sigma"] == pytest.approx(-math.log10(SIGMA_25_BY_HAND), rel=1e-12)
    assert extended.loc[fid, "measurement_temp_c"] == 25.0  # the temperature the target refers to


def test_film_at_80c_without_activation_energy_is_stored_but_not_modelled(db_path, tmp_path):
    (fid,) = ingest(db_path, tmp_path, film_row("10.5555/t.80", "700", "80 C", ""))
    film = films_json(db_path)[fid]
    assert film["conductivity_s_cm"] == 1.0e-4 and film["measurement_temp_c"] == 80.0
    assert film["conductivity_25c_s_cm"] is None and film["conductivity_25c_derived"] is False
    why = "measured at 80.0 C without an activation energy: no 25 C conductivity"
    assert why in film["conductivity_25c_note"]
    table = run(db_path, "films", "--substrate", "MgO")
    assert table.exit_code == 0 and "activation" in table.output  # the note column, shown as a film has one
    assert fid not in complete_matrix(db_path)
    with kb.open(db_path) as k:
        assert fid not in k.descriptor_matrix(descriptors="extended").index
        assert k.descriptor_matrix(complete=False).loc[fid, "neg_log10_sigma"] != k.descriptor_matrix(
            complete=False).loc[fid, "neg_log10_sigma"]  # NaN: no target
    result = run(db_path, "validate")
    assert result.exit_code == 0, result.output
    assert f"films: row id {fid}: not in the descriptor matrix: {why}" in result.output
    assert "all expectations met" in result.output


def test_film_at_25c_is_unchanged(db_path, tmp_path):
    (fid,) = ingest(db_path, tmp_path, film_row("10.5555/t.25", "700", "25 °C", "0.50 eV", sigma="3.3e-6"))
    film = films_json(db_path)[fid]
    assert film["conductivity_25c_s_cm"] == film["conductivity_s_cm"] == 3.3e-6
    assert film["conductivity_25c_derived"] is False and film["conductivity_25c_note"] is None
    assert complete_matrix(db_path)[fid]["neg_log10_sigma"] == pytest.approx(-math.log10(3.3e-6), rel=1e-9)
    assert stored(db_path, fid, "neg_log10_sigma", "film_descriptors_complete", "film_id") == -math.log10(3.3e-6)


def test_curated_films_keep_their_measured_conductivity_as_the_target(kbase):
    rows = kbase.sql("SELECT conductivity_s_cm, conductivity_25c_s_cm, conductivity_25c_derived FROM films")
    assert len(rows) == 28 and (rows.conductivity_25c_s_cm == rows.conductivity_s_cm).all()
    assert not rows.conductivity_25c_derived.any()


# ------------------------------------------------------------------------ schema version 2 -> 3


def _version_2_copy(built_db: str, path: str) -> None:
    """A version-2 file: today's tables without the version-3 columns of films, the built rows copied in,
    schema_migrations at 2, and two films the upgrade must fill (80 C: no 25 C value; 26.85 C: kept).
    (DuckDB will not drop columns of films, which other tables reference, hence a fresh file.)"""
    from filmkb.kb.db import schema_ddl, table_names

    con = duckdb.connect(path)
    try:
        for statement in schema_ddl():
            con.execute("\n".join(line for line in statement.splitlines() if not line.strip().startswith(NEW_COLUMNS)))
        con.execute(f"ATTACH '{built_db}' AS src (READ_ONLY)")
        for table in table_names():
            columns = [c for (c,) in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() AND table_name = ?",
                [table]).fetchall()]
            values = ["NULL" if c == "duplicate_of" else f'"{c}"' for c in columns]  # set below, once all rows are in
            con.execute(f'INSERT INTO "{table}" ({", ".join(columns)}) SELECT {", ".join(values)} FROM src."{table}"')
        con.execute("UPDATE films SET duplicate_of = s.duplicate_of FROM src.films s "
                    "WHERE films.id = s.id AND s.duplicate_of IS NOT NULL")
        con.execute("DETACH src")
        con.execute("UPDATE schema_migrations SET version = 2")
        for film_id, t_meas in ((29, 80.0), (30, 26.85)):
            con.execute(f"""INSERT INTO films (id, reference_id, material_id, method_id, substrate_id, deposition_temp_c,
                                phase, thickness_nm, conductivity_s_cm, measurement_temp_c, measurement_temp_assumed,
                                figure6_subset, source_file, source_line, batch_id)
                            SELECT {film_id}, reference_id, material_id, method_id, substrate_id, 700.0 + {film_id},
                                phase, thickness_nm, 2e-5, {t_meas}, false, false, 'old.csv', {film_id}, batch_id
                            FROM films WHERE id = 22""")
        assert {c for (c,) in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = 'films'")
                .fetchall()}.isdisjoint(NEW_COLUMNS)
    finally:
        con.close()


def test_a_version_2_file_is_upgraded_on_open_and_its_25c_conductivities_filled(built_db, tmp_path):
    from filmkb.schema.tables import SCHEMA_VERSION

    path = str(tmp_path / "v2.duckdb")
    _version_2_copy(built_db, path)
    with kb.open(path) as k:
        assert k.sql("SELECT max(version) AS v FROM schema_migrations")["v"].iloc[0] == SCHEMA_VERSION
        films = k.sql("SELECT * FROM films ORDER BY id").set_index("id")
        matrix = k.descriptor_matrix()
    with kb.open(built_db) as k:
        built = k.descriptor_matrix()
    curated = films.loc[:28]
    assert (curated.conductivity_25c_s_cm == curated.conductivity_s_cm).all()
    assert not films.conductivity_25c_derived.any() and films.activation_energy_ev.isna().all()
    assert math.isnan(films.loc[29, "conductivity_25c_s_cm"]) and films.loc[29, "measurement_temp_c"] == 80.0
    assert films.loc[30, "conductivity_25c_s_cm"] == 2e-5
    assert 29 not in matrix.index and 30 in matrix.index
    assert matrix.drop(index=30).equals(built)  # the curated films' matrix is exactly as before
