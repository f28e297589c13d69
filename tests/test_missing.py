"""Every film counted: a film with a missing descriptor is modelled and predicted (multiple imputation
fitted on the training rows only, or a family that takes NaN), with a wider interval; without a gap
the wrapped model's numbers are untouched. Small real fits; one knowledge base with films lacking a
thickness, ingested into a real DuckDB file."""

import shutil

import numpy as np
import pytest

import filmkb
from filmkb import kb
from filmkb.jobs import ingest
from filmkb.ml.baselines import ForestModel, GPModel, RidgeModel
from filmkb.ml.boosting import HGBModel
from filmkb.ml.imputation import Imputed
from filmkb.ml.select import Candidate

NO_THICKNESS = """doi,authors,year,journal,title,composition,method,deposition_temp_c,substrate,substrate_orientation,phase,thickness_nm,conductivity_s_cm,measurement_temp_c
10.5555/gaps-1,"Gap, A.",2024,J,No thickness,LLZO,pulsed laser deposition,700,MgO,100,c-LLZO,,1.0e-5,25
10.5555/gaps-1,"Gap, A.",2024,J,No thickness,LLZO,pulsed laser deposition,600,MgO,100,amorphous,,2.0e-7,25
10.5555/gaps-2,"Hole, B.",2025,J,No thickness,LLZO,RF sputtering,300,SrTiO3,100,amorphous,,3.0e-8,25
"""


def _data(n=24, seed=0):
    """x1 follows x0 closely, so a missing x1 is well imputed from x0; y depends on both."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    X[:, 1] = 2 * X[:, 0] + 0.1 * rng.normal(size=n)
    return X, X @ [1.0, 0.5, 0.3, 0.0] + 0.2 * rng.normal(size=n)


@pytest.mark.parametrize("make", [lambda: RidgeModel(0), lambda: GPModel(0, restarts=0, max_iter=5),
                                  lambda: ForestModel(0, n_estimators=5)], ids=["ridge", "gp", "rf"])
def test_without_a_gap_imputed_is_the_wrapped_model_bit_for_bit(make):
    X, y = _data()
    bare, wrapped = make().fit(X[:20], y[:20]).predict_members(X[20:]), Imputed(make()).fit(X[:20], y[:20])
    got = wrapped.predict_members(X[20:])
    assert np.array_equal(got.mean, bare.mean) and np.array_equal(got.var, bare.var)
    masks = np.ones((2, 24), dtype=bool)
    masks[0, :6], masks[1, 6:12] = False, False
    a = make().fit_copies(X, y, masks, [1, 2], ~masks)
    b = Imputed(make()).fit_copies(X, y, masks, [1, 2], ~masks)
    assert np.array_equal(a.mean, b.mean, equal_nan=True) and np.array_equal(a.var, b.var, equal_nan=True)
    assert (wrapped.name, wrapped.stochastic, wrapped.timing_key) == (make().name, False, "baselines_s")


def test_an_imputed_descriptor_widens_the_interval():
    X, y = _data()
    known = X[20:].copy()
    gap = known.copy()
    gap[:, 1] = np.nan
    for train in (X[:20], np.where(np.arange(20)[:, None] % 4 == 0, np.where([0, 1, 0, 0], np.nan, X[:20]), X[:20])):
        model = Imputed(RidgeModel(0)).fit(train, y[:20])
        with_value, imputed = model.predict_members(known), model.predict_members(gap)
        assert np.all(np.isfinite(imputed.mean)) and np.all(imputed.var > with_value.var)
        assert np.max(np.abs(imputed.mean - with_value.mean)) < 0.5  # x1 is imputed from x0, not from the mean
        again = model.predict_members(gap[::-1])  # a row's imputations do not depend on the rows asked with it
        assert np.allclose(again.mean[0][::-1], imputed.mean[0], rtol=0, atol=1e-12)


def test_the_imputer_never_sees_held_out_rows():
    """Film 0 (with a gap) and film 1 are held out together. Had the imputer been fitted on them too,
    making film 1 extreme would move the imputations of the training rows and so film 0's prediction."""
    X, y = _data(30)
    X[2:30:5, 1] = np.nan  # gaps in training rows
    X[0, 1] = np.nan
    masks = np.ones((1, 30), dtype=bool)
    masks[0, :2] = False
    before = Imputed(GPModel(0, restarts=0, max_iter=5)).fit_copies(X, y, masks, [3], ~masks)
    X2 = X.copy()
    X2[1] = [40.0, -80.0, 40.0, 40.0]
    after = Imputed(GPModel(0, restarts=0, max_iter=5)).fit_copies(X2, y, masks, [3], ~masks)
    assert before.mean[0, 0] == after.mean[0, 0] and before.var[0, 0] == after.var[0, 0]
    # the test has power: an imputer that also saw film 1 imputes film 0 differently
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer

    train = X2[masks[0]]
    alone = IterativeImputer(random_state=0).fit(train).transform(X2[:1])[0, 1]
    seen = IterativeImputer(random_state=0).fit(np.vstack([train, X2[1:2]])).transform(X2[:1])[0, 1]
    assert abs(alone - seen) > 0.1


def test_hgb_takes_missing_descriptors_and_is_a_candidate_as_it_is():
    X, y = _data(40)
    X[::3, 2] = np.nan
    model = HGBModel(0, n_bags=3, max_iter=20).fit(X, y)
    query = X[:6].copy()
    query[:, 0] = np.nan
    m = model.predict_members(query)
    assert m.mean.shape == (1, 6) and np.all(np.isfinite(m.mean)) and np.all(m.var >= model.noise_var_) and model.noise_var_ > 0
    again = HGBModel(0, n_bags=3, max_iter=20).fit(X, y).predict_members(query)  # seeded: the same numbers
    assert np.array_equal(again.mean, m.mean)
    assert type(Candidate("hgb", "paper7").model(0, 1)) is HGBModel  # takes NaN itself: not wrapped
    assert type(Candidate("ridge", "paper7").model(0, 1)) is Imputed
    assert type(Candidate("mean", "").model(0, 1)).__name__ == "MeanModel"


@pytest.fixture(scope="module")
def gaps_db(built_db, tmp_path_factory):
    """The curated films and three films without a thickness (two papers), in a real DuckDB file."""
    folder = tmp_path_factory.mktemp("gaps")
    path, csv = str(folder / "filmkb.duckdb"), folder / "no_thickness.csv"
    shutil.copy2(built_db, path)
    csv.write_text(NO_THICKNESS, encoding="utf-8")
    ingest(path, [str(csv)])
    return path


def test_films_without_a_thickness_are_counted_by_evaluate(gaps_db):
    from filmkb.ml.evaluate import run_evaluation

    with kb.open(gaps_db) as k:
        matrix, complete = k.model_matrix(gaps=True), k.model_matrix()
    gap_ids = [int(i) for i in matrix.index if i not in complete.index]
    assert len(matrix) == len(complete) + 3 and len(gap_ids) == 3
    assert matrix.loc[gap_ids, "film_elastic_per_h"].isna().all()
    papers = matrix["reference_id"].loc[gap_ids].unique().tolist() + complete["reference_id"].value_counts().index[:1].tolist()
    few = matrix[matrix["reference_id"].isin(papers)]  # three papers: a cheap evaluation
    res = run_evaluation(few, models="baselines", folds="reference", repeats=1)
    assert res.config["films_used"] == {m: len(few) for m in ("mean", "ridge", "gp", "rf")}
    assert res.metrics["all"]["ridge"]["films_used"] == len(few) and res.n_films == len(few) - 3
    held = res.predictions[res.predictions["film_id"].isin(gap_ids)]
    assert len(held) == 4 * 3 and np.isfinite(held[["mean", "std"]].to_numpy()).all()


@pytest.mark.slow
def test_a_condition_without_a_thickness_is_predicted_with_a_wider_interval(gaps_db, tmp_path):
    path = str(tmp_path / "filmkb.duckdb")
    shutil.copy2(gaps_db, path)
    trained = filmkb.train(path, model="recommended", candidates="mean,ridge:paper7,ridge:extended")
    assert trained.n_films == 29
    cells = dict(substrate="MgO", deposition_temp_c="700", phase="c-LLZO", method="PLD", composition="LLZO")
    known = filmkb.predict(db=path, cells={**cells, "thickness_nm": "300"}, store=False).frame
    unknown = filmkb.predict(db=path, cells=cells, store=False).frame
    assert np.isnan(unknown["thickness_nm"].iloc[0]) and np.isfinite(unknown["neg_log10_sigma_mean"].iloc[0])
    stored = filmkb.predict(db=path, films=[29, 30, 31], store=False).frame  # the films without a thickness
    assert stored["thickness_nm"].isna().all() and np.isfinite(stored["neg_log10_sigma_mean"]).all()
    assert stored["in_training"].all()
    sd_known, sd_unknown = known["neg_log10_sigma_std"].iloc[0], unknown["neg_log10_sigma_std"].iloc[0]
    if trained.config["chosen"] == "mean":  # chosen on the curated films: it reads no descriptor
        assert sd_unknown == sd_known
    else:
        assert sd_unknown > sd_known


def test_imputed_forwards_the_papers_to_a_family_that_uses_them():
    from filmkb.ml.recommended import Recommended

    X, y = _data(24)
    groups = np.repeat(np.arange(8), 3)
    rec = Recommended("mean,ridge:paper7", {"paper7": [0, 1], "extended": [0, 1, 2, 3]}, [0, 1, 2, 3], inner_folds=3)
    wrapped = Imputed(rec)
    assert wrapped.uses_groups and not Imputed(RidgeModel(0)).uses_groups
    X[::5, 1] = np.nan
    wrapped.fit(X, y, groups=groups)
    assert len(wrapped.models_) == 5 and all(np.array_equal(m.fitted_.groups, groups) for m in wrapped.models_)


def test_rows_without_a_gap_keep_the_wrapped_models_numbers_beside_rows_with_one():
    X, y = _data()
    query = X[18:].copy()
    query[::2, 1] = np.nan
    bare = RidgeModel(0).fit(X[:18], y[:18]).predict_members(query[1::2])
    got = Imputed(RidgeModel(0)).fit(X[:18], y[:18]).predict_members(query)
    assert np.array_equal(got.mean[0, 1::2], bare.mean[0]) and np.array_equal(got.var[0, 1::2], bare.var[0])


@pytest.mark.parametrize("family", ["hgb", "ridge"])
def test_a_saved_model_with_gaps_reloads_to_the_same_predictions(family, tmp_path):
    from filmkb.ml import model_state
    from filmkb.ml.artifacts import load_npz, save_npz

    X, y = _data(30)
    X[::4, 1] = np.nan
    model = Candidate(family, "paper7").model(0, 1)
    if family == "hgb":
        model.set_params(n_bags=2, max_iter=10)
    model.fit(X, y)
    save_npz(tmp_path / "f.npz", *model_state.dump(family, model))
    back = model_state.build(family, *load_npz((tmp_path / "f.npz").read_bytes(), "f.npz"))
    query = np.vstack([X[:4], [[0.5, np.nan, 0.1, -0.2]]])
    for a, b in zip(model.predict_dist(query), back.predict_dist(query)):
        np.testing.assert_array_equal(b, a)
    assert type(back) is type(model)
