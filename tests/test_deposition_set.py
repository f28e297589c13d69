"""The deposition descriptor set (schema/descriptor_sets/deposition.py), added as one module carrying its own
views: listed with its coverage, its view equal to the growth recipe computed independently, in the model matrix,
unchanged by the checked substrate properties (it reads none), and usable by the recommended model; in no
family's candidate list, so nothing chosen by default changes."""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from filmkb import kb
from filmkb.cli import main
from filmkb.jobs import properties
from filmkb.kb.views import views
from filmkb.schema.descriptors import SETS

DEPOSITION = SETS["deposition"]


def test_the_set_is_one_module_with_its_views_and_in_no_candidate_list():
    from filmkb.ml.registry import families
    from filmkb.ml.select import CANDIDATE_SETS

    own = [v for v in views() if v.source == "schema/descriptor_sets/deposition.py"]
    assert [v.name for v in own] == [DEPOSITION.all_view, DEPOSITION.view]
    assert all(f"[{d.unit}]" in own[0].header for d in DEPOSITION.descriptors)  # the docs' column units
    assert all("deposition" not in f.descriptor_sets for f in families().values())
    assert all(c.descriptors != "deposition" for cands in CANDIDATE_SETS.values() for c in cands)


def test_descriptors_sets_lists_it_with_its_coverage(built_db):
    out = CliRunner().invoke(main, ["--db", built_db, "descriptors", "--sets", "--format", "json"])
    assert out.exit_code == 0, out.output
    row = {r["set"]: r for r in json.loads(out.output)}["deposition"]
    assert row["view"] == "film_descriptors_deposition_complete"
    assert [(c["name"], c["unit"]) for c in row["columns"]][:2] == [("inv_t_dep", "1/K"),
                                                                     ("log10_thickness_nm", "log10(nm)")]
    with kb.open(built_db) as k:
        complete = len(k.descriptor_matrix(descriptors="deposition"))
    assert row["films_with_target"] == row["films_complete"] == complete == 26


def test_its_view_is_the_growth_recipe_and_the_model_matrix_carries_it(kbase):
    view = kbase.descriptor_matrix(descriptors="deposition")[list(DEPOSITION.columns)]
    films = kbase.films(include_duplicates=False).set_index("film_id").loc[view.index]
    family = films["method"].map(kbase.method_families())
    independent = pd.DataFrame({
        "inv_t_dep": 1.0 / (films["deposition_temp_c"] + 273.15),
        "log10_thickness_nm": np.log10(films["thickness_nm"]),
        **{f"phase_{p}": (films["phase"] == p).astype(float) for p in ("cubic", "tetragonal", "mixed")},
        **{f"method_{m.lower()}": (family == m).astype(float) for m in ("PVD", "CVD", "ALD")}})
    pd.testing.assert_frame_equal(view, independent, check_names=False, check_index_type=False)
    assert view["phase_cubic"].sum() > 0 and view["method_pvd"].sum() > 0  # the flags are not all 0
    matrix = kbase.model_matrix()
    pd.testing.assert_frame_equal(matrix.loc[view.index, list(DEPOSITION.columns)], view, check_names=False)
    conditions = kbase.sql("""SELECT f.film_id, f.substrate_id, s.name AS substrate, f.deposition_temp_c,
                                     f.thickness_nm, f.phase, f.method_family
                              FROM film_conditions f JOIN substrates s ON s.id = f.substrate_id ORDER BY f.film_id""")
    new = kbase.condition_descriptors(conditions, "deposition").set_index(conditions.film_id)[list(DEPOSITION.columns)]
    pd.testing.assert_frame_equal(new.loc[view.index], view, check_names=False, check_index_type=False)


def test_checked_properties_leave_it_as_it_is(built_db):
    with kb.open(built_db) as k:
        paper = k.descriptor_matrix(descriptors="deposition")
        extended = k.descriptor_matrix(descriptors="extended")
        properties.use(k, "checked")
        checked = k.descriptor_matrix(descriptors="deposition")
        checked_extended = k.descriptor_matrix(descriptors="extended")
    assert not checked_extended["misfit"].equals(extended["misfit"])  # the checked set is in use
    pd.testing.assert_frame_equal(checked, paper)  # and the deposition set reads no substrate property


def test_the_recommended_model_evaluates_with_it_on_checked_properties(db_path):
    from filmkb.jobs.evaluation import evaluate

    run_id, res = evaluate(db_path, models=["recommended"], folds="reference", repeats=1, properties="checked",
                           recommended={"candidates": "mean,ridge:deposition", "n_jobs": 1})
    assert res.config["recommended"]["candidates"] == ["mean", "ridge:deposition"]
    assert res.config["substrate_properties"] == "checked"
    rmse = {m: v["rmse"] for m, v in res.metrics["all"].items()}
    assert {"recommended", "ridge:deposition+cal"} <= set(rmse) and all(np.isfinite(list(rmse.values())))
    assert res.metrics["all"]["recommended"]["n"] == 26
    with kb.open(db_path) as k:
        assert k.sql("SELECT count(*) AS n FROM model_runs WHERE id = ?", [run_id])["n"][0] == 1


def test_a_misspelt_set_is_refused_naming_it_among_the_known_ones():
    from filmkb.ml.select import candidates

    with pytest.raises(kb.FilmkbError, match=r"unknown descriptor set 'depositon' .*known: .*\bdeposition\b"):
        candidates("mean,ridge:depositon")
