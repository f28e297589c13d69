"""The literature-checked substrate properties (`--properties checked`): the file names a source for every
value of every Table 2 substrate; the checked set changes exactly the descriptors that read a changed property
(for exactly the films on that substrate) and leaves the rest; the paper's set stays the default; a bad set name
is one line; substrates a user added keep their own values."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from filmkb import kb
from filmkb.cli import main
from filmkb.errors import FilmkbError
from filmkb.ingest.datafiles import DATA_DIR
from filmkb.ingest.property_sets import checked_entries
from filmkb.jobs import properties
from filmkb.schema.descriptors import MODEL_COLUMNS

# Which stored substrate column (data-file property name) each descriptor reads; none: film or deposition only.
READS = {"t_dep_over_t_m": {"melting_point"}, "norm_shear_modulus": {"shear_modulus"}, "misfit": {"lattice_a"},
         "substrate_dielectric": {"dielectric_constant"}, "log10_substrate_dielectric": {"dielectric_constant"},
         "thermal_stress_term": {"youngs_modulus", "poisson_ratio", "cte"}}


def _rows(name: str) -> dict:
    with open(DATA_DIR / name, newline="", encoding="utf-8") as handle:
        return {(r["substrate"], r["property"]): r for r in csv.DictReader(handle)}


PAPER, CHECKED = _rows("substrate_properties.csv"), _rows("substrate_properties_checked.csv")
CHANGED = {key for key, row in CHECKED.items() if float(row["value"]) != float(PAPER[key]["value"])}


@pytest.fixture(scope="module")
def matrices(built_db):
    """The model matrix with the paper's and with the checked properties, from one open knowledge base."""
    with kb.open(built_db) as k:
        paper = k.model_matrix()
        properties.use(k, "checked")
        checked = k.model_matrix()
        properties.use(k, "paper")
        again = k.model_matrix()
    return paper, checked, again


def test_the_checked_file_has_a_source_for_every_value_of_every_table2_substrate():
    with open(DATA_DIR / "substrates.csv", newline="", encoding="utf-8") as handle:
        substrates = {r["name"] for r in csv.DictReader(handle)}
    assert {s for s, _ in CHECKED} == substrates and set(CHECKED) == set(PAPER)
    for key, row in CHECKED.items():
        assert row["source"].strip(), key
        assert row["unit"] == PAPER[key]["unit"], key  # the same units as Table 2's file
        assert np.isfinite(float(row["value"])), key
    for key in CHANGED:  # a changed value says so and cites a source beyond Table 2
        assert "Table 2" in CHECKED[key]["note"] and CHECKED[key]["source"] != "kireeva2023 Table 2", key
    assert {("SrTiO3", "cte"), ("SrTiO3", "lattice_a"), ("MgO", "cte"), ("Si3N4", "bulk_modulus")} <= CHANGED
    assert float(CHECKED["SrTiO3", "cte"]["value"]) == pytest.approx(1.0e-5, rel=0.15)
    assert len(checked_entries()) == len(substrates)  # read and validated by the curated catalogue's path


def test_checked_changes_exactly_the_descriptors_that_read_a_changed_property(matrices):
    paper, checked, _ = matrices
    assert list(checked.index) == list(paper.index)
    for column in MODEL_COLUMNS:
        for film, substrate in paper["substrate"].items():
            expected = any((substrate, prop) in CHANGED for prop in READS.get(column, ()))
            a, b = paper.at[film, column], checked.at[film, column]
            moved = not (np.isclose(a, b, rtol=1e-12, atol=0) or (pd.isna(a) and pd.isna(b)))
            assert moved == expected, (column, film, substrate, a, b)
    assert (checked["neg_log10_sigma"] == paper["neg_log10_sigma"]).all()
    strontium = paper.index[paper["substrate"] == "SrTiO3"][0]  # a = 3.905 A: n = 3, against c-LLZO 12.9682 A
    assert checked.at[strontium, "misfit"] == pytest.approx((3 * 3.905 - 12.9682) / 12.9682, abs=1e-4)


def test_the_paper_set_is_the_default_and_comes_back(built_db, matrices):
    paper, _, again = matrices
    pd.testing.assert_frame_equal(again, paper)
    with kb.open(built_db) as k:
        assert k.properties == "paper"
        stored = k.sql("SELECT * FROM film_descriptors_complete ORDER BY film_id").set_index("film_id")
        assert properties.use(k, None) == "paper"
        pd.testing.assert_frame_equal(k.descriptor_matrix(), stored)  # the stored views: Table 2 as loaded


def test_new_conditions_get_the_descriptors_of_the_set_in_use(built_db, matrices):
    from filmkb.jobs.prediction import condition_frame

    paper, checked, _ = matrices
    film = paper.index[paper["substrate"] == "MgO"][0]
    with kb.open(built_db) as k:
        o = k.film_conditions([film]).loc[film]
        condition = {"substrate": o["substrate"], "deposition_temp_c": o["deposition_temp_c"],
                     "thickness_nm": o["thickness_nm"], "composition": o["composition"], "method": o["method"]}
        properties.use(k, "checked")
        frame = condition_frame(k, [condition])
    for column in ("norm_shear_modulus", "thermal_stress_term", "substrate_dielectric", "inv_t_dep"):
        assert frame.at[0, column] == pytest.approx(checked.at[film, column], rel=1e-9)
    assert frame.at[0, "norm_shear_modulus"] != pytest.approx(paper.at[film, "norm_shear_modulus"])


def test_a_substrate_the_user_added_keeps_its_own_values(db_path):
    from filmkb.jobs import add_substrate

    add_substrate(db_path, {"name": "LiNbO3", "formula": "LiNbO3", "amorphous": "true"},
                  {"cte": "1.5e-5", "poisson_ratio": "0.25", "youngs_modulus": "170 GPa", "shear_modulus": "68 GPa",
                   "dielectric_constant": "29", "melting_point": "1530 K"}, "a test")
    with kb.open(db_path) as k:
        paper = k.substrates().set_index("name")
        properties.use(k, "checked")
        checked = k.substrates().set_index("name")
    pd.testing.assert_series_equal(checked.loc["LiNbO3"], paper.loc["LiNbO3"])
    assert checked.at["SrTiO3", "cte_per_k"] != paper.at["SrTiO3", "cte_per_k"]


def test_a_bad_properties_value_is_refused_in_one_line(built_db):
    result = CliRunner().invoke(main, ["--db", built_db, "descriptors", "--properties", "tabel2"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "--properties" in lines[0] and "paper" in lines[0] and "checked" in lines[0]
    with kb.open(built_db) as k, pytest.raises(FilmkbError, match="unknown substrate property set"):
        properties.use(k, "tabel2")
    assert properties.of_run({"id": "r", "config_json": "{}"}) == "paper"  # runs from before the sets
    with pytest.raises(FilmkbError, match="--properties paper: run r was computed with the 'checked'"):
        properties.use_run(None, {"id": "r", "config_json": '{"substrate_properties": "checked"}'}, "paper")


@pytest.mark.slow
def test_checked_descriptors_are_the_same_on_the_server(built_db, pg_db):
    """PostgreSQL: the substrates CTE over the stored table, the inlined views, the bound VALUES."""
    with kb.open(built_db) as d, kb.open(pg_db) as p:
        for k in (d, p):
            properties.use(k, "checked")
        pd.testing.assert_frame_equal(p.model_matrix(), d.model_matrix(), check_dtype=False)
        conditions = pd.DataFrame({"substrate": ["SrTiO3", "MgO"], "deposition_temp_c": [700.0, 27.0],
                                   "thickness_nm": [100.0, 500.0]})
        for frame in (conditions,):
            ids = d.substrate_ids()
            frame["substrate_id"] = [ids[s] for s in frame["substrate"]]
        pd.testing.assert_frame_equal(p.condition_model_columns(conditions), d.condition_model_columns(conditions),
                                      check_dtype=False)


@pytest.mark.slow
def test_a_run_records_its_set_and_predict_and_explain_use_it(db_path, tmp_path):
    from filmkb.jobs import explain, predict, train

    run = train(db_path, model="recommended", candidates="small", properties="checked", models_dir=str(tmp_path))
    assert run.config["substrate_properties"] == "checked"
    condition = [{"substrate": "SrTiO3", "deposition_temp_c": 700, "thickness_nm": 100}]
    res = predict(condition, db=db_path, store=False)
    assert res.warnings == []  # the run's data hash is of the checked matrix: not stale
    assert res.frame.at[0, "misfit"] == pytest.approx((3 * 3.905 - 12.9682) / 12.9682, abs=1e-4)
    assert explain(db_path, store=False).warnings == []
    with pytest.raises(FilmkbError, match="was computed with the 'checked' substrate properties"):
        predict(condition, db=db_path, store=False, properties="paper")
