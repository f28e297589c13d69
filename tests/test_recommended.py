"""The recommended model: paper offsets (REML, empirical Bayes), the nested choice (beat the mean, then one standard error),
calibrated intervals, the domain check, and its jobs (evaluate, train, predict) on the real seed data."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from filmkb import kb
from filmkb.cli import main
from filmkb.ml.evaluate import recommended_model
from filmkb.ml.folds import Layout
from filmkb.ml.paper_effects import offset, reml
from filmkb.ml.select import choose
from filmkb.schema.descriptors import MODEL_COLUMNS


@pytest.fixture(scope="module")
def data(built_db):
    with kb.open(built_db) as db:
        m = db.model_matrix()
    return m, m[list(MODEL_COLUMNS)].to_numpy(), m[kb.TARGET].to_numpy()


@pytest.fixture(scope="module")
def fitted(data):
    """The recommended procedure (small candidates) fitted once on every film, for the tests that only read it."""
    m, X, y = data
    return recommended_model(candidates="small").fit(X, y, groups=m["reference_id"].to_numpy())


def test_reml_recovers_between_and_within_paper_variance():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(200), 4)
    r = 0.3 + rng.normal(0, 1.0, 200)[groups] + rng.normal(0, 0.5, 800)
    c = reml(r, groups)
    assert c.mu == pytest.approx(0.3, abs=0.2)
    assert c.tau2 == pytest.approx(1.0, rel=0.25) and c.sig2 == pytest.approx(0.25, rel=0.15)


def test_offsets_shrink_by_hand_and_new_papers_get_the_between_paper_variance():
    c = reml(np.array([1.0, 1.2, -1.0, -0.8, 0.1, 0.0]), np.array([1, 1, 2, 2, 3, 3]))
    u, v = offset(c, np.array([1.0, 1.2]))
    shrink = 2 * c.tau2 / (2 * c.tau2 + c.sig2)
    assert u == pytest.approx(shrink * (1.1 - c.mu)) and v == pytest.approx(c.tau2 * c.sig2 / (2 * c.tau2 + c.sig2))
    assert offset(c, np.array([])) == (0.0, c.tau2)


def test_one_standard_error_rule_prefers_the_simplest_close_candidate():
    y = np.array([0.0, 1, 2, 3, 4, 5])
    tests = np.array([[1, 1, 0, 0, 0, 0], [0, 0, 1, 1, 0, 0], [0, 0, 0, 0, 1, 1]], bool)
    groups = np.array([1, 1, 2, 2, 3, 3])
    ridge = y + np.array([0.5, 0.5, 0.1, 0.1, 0.9, 0.9])  # per-paper MSE 0.25, 0.01, 0.81: SE over papers 0.237
    close = choose(["mean", "ridge"], np.array([y + 0.6, ridge]), y, tests, groups)
    assert close.mse["ridge"] < close.mse["mean"] < close.mse["ridge"] + close.se["ridge"]
    assert close.name == "mean"  # within one SE of the best: the simpler one
    far = choose(["mean", "ridge"], np.array([y + [3, -3, 3, -3, 3, -3], y + 0.1]), y, tests, groups)
    assert far.name == "ridge"


def test_a_candidate_must_beat_the_mean_on_the_papers_not_only_on_average():
    groups = np.repeat(np.arange(5), 2)
    y = np.zeros(10)
    tests = np.array([np.isin(groups, [0, 1]), np.isin(groups, [2, 3]), groups == 4])
    mean = np.ones(10)  # per-paper MSE 1 everywhere
    lucky = np.sqrt(np.repeat([0.1, 0.1, 0.1, 0.1, 1.9], 2))  # far better on four papers, worse on the fifth
    c = choose(["mean", "ridge"], np.array([mean, lucky]), y, tests, groups)
    assert c.mse["ridge"] + c.se["ridge"] < c.mse["mean"]  # the one-SE rule alone would take ridge
    assert c.name == "mean" and not c.against_mean["ridge"]["passed"]
    assert c.against_mean["ridge"]["t"] == pytest.approx(0.54 / (np.std([0.9] * 4 + [-0.9], ddof=1) / np.sqrt(5)))
    steady = np.sqrt(np.repeat([0.1, 0.2, 0.1, 0.3, 0.5], 2))  # better on every paper
    assert choose(["mean", "ridge"], np.array([mean, steady]), y, tests, groups).name == "ridge"
    # one more candidate to compare raises the bar (Bonferroni): t = 2.33 passes 2.13 (one), not 2.78 (two)
    middling = np.sqrt(np.repeat([0.1, 0.9, 0.1, 0.8, 0.9], 2))
    assert choose(["mean", "ridge"], np.array([mean, middling]), y, tests, groups).name == "ridge"
    assert choose(["mean", "ridge", "gp"], np.array([mean, middling, mean + 1]), y, tests, groups).name == "mean"


@pytest.mark.parametrize("folds", [pytest.param("film", marks=pytest.mark.slow), "reference"])
def test_nested_procedure_never_sees_the_held_out_targets(data, folds):
    m, X, y = data
    layout = Layout.of(m, folds, 1, 0)
    first = recommended_model(candidates="small").cross_predict(X, y, layout)
    again = recommended_model(candidates="small").cross_predict(X, y, layout)
    np.testing.assert_array_equal(first.mean, again.mean)  # deterministic
    held = layout.test[3]
    moved = y.copy()
    moved[held] += 30.0
    shifted = recommended_model(candidates="small").cross_predict(X, moved, layout)
    np.testing.assert_allclose(shifted.mean[0, held], first.mean[0, held], atol=1e-9)
    np.testing.assert_allclose(shifted.var[0, held], first.var[0, held], atol=1e-9)
    assert not np.allclose(shifted.mean[0, ~held], first.mean[0, ~held])  # the others did see it


def test_known_papers_get_their_offset_and_a_narrower_interval(data, fitted):
    m, X, _ = data
    groups = m["reference_id"].to_numpy()
    known = fitted.predict_parts(X[:1], groups[:1])
    new = fitted.predict_parts(X[:1])
    assert known["known_paper"][0] and not new["known_paper"][0]
    assert known["sd"][0] < new["sd"][0]
    assert known["mean"][0] != pytest.approx(new["mean"][0])


def test_far_from_the_training_films_a_descriptor_model_shrinks_and_widens(data, fitted):
    _, X, y = data
    Z = fitted._Z(X, fitted.chosen_)
    ft = fitted.fitted_
    f = np.array([y.mean() + 2.0, y.mean() + 2.0])
    far = Z[:2].copy()
    far[1] += 50 * Z.std(axis=0)
    out = ft.predict(f, np.array([-1, -1]), far, uses_descriptors=True)
    assert out["in_domain"].tolist() == [True, False] and out["weight"][0] == 1 and out["weight"][1] < 0.2
    assert abs(out["mean"][1] - ft.y_mean) < abs(out["mean"][0] - ft.y_mean)  # shrunk toward the mean
    assert out["sd"][1] > out["sd"][0]  # and wider


def test_a_known_paper_far_from_its_films_does_not_keep_its_narrow_interval(data, fitted):
    m, X, _ = data
    groups = m["reference_id"].to_numpy()
    ft = fitted.fitted_
    Z = fitted._Z(X, fitted.chosen_)
    far = Z[:1] + 50 * Z.std(axis=0)
    f = np.full(1, ft.y_mean)
    near = ft.predict(f, groups[:1], Z[:1], uses_descriptors=False)
    away = ft.predict(f, groups[:1], far, uses_descriptors=False)
    new = ft.predict(f, np.array([-1]), far, uses_descriptors=False)
    assert near["known_paper"][0] and away["known_paper"][0] and near["weight"][0] == 1 and away["weight"][0] < 0.2
    assert near["sd"][0] < away["sd"][0] <= new["sd"][0] * 1.01  # the offset fades: close to a new paper's spread
    assert abs(away["offset"][0] - ft.components.mu) < abs(near["offset"][0] - ft.components.mu)


def test_cli_evaluate_recommended_writes_the_targets(db_path, tmp_path):
    out = tmp_path / "ref.json"
    result = CliRunner().invoke(main, ["--db", db_path, "evaluate", "--models", "recommended,baselines", "--folds",
                                       "reference", "--candidates", "small", "--jobs", "1", "--json", str(out),
                                       "--silent"])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    rec = doc["models"]["recommended"]
    for key in ("rmse", "coverage_1s", "coverage_2s", "nll", "crps", "width_95"):
        assert np.isfinite(rec[key])
    assert doc["models"]["mean"]["rmse"] > 0 and set(doc["config"]["recommended"]["choices"]) == set(
        f"reference:{r}" for r in kb.open(db_path).model_matrix()["reference_id"].unique())
    assert {"rmse_at_most_mean", "worst_paper_mae_excess", "coverage_95_within_0.90_0.98", "nll_below_mean"} <= set(
        doc["targets"])
    assert "targets:" in result.output


def test_train_recommended_then_predict_known_new_and_out_of_domain(db_path):
    train = CliRunner().invoke(main, ["--db", db_path, "train", "--candidates", "small", "--jobs", "1", "--silent"])
    assert train.exit_code == 0, train.output
    assert "chose" in train.output and "inner MSE by candidate" in train.output
    res = CliRunner().invoke(main, ["--db", db_path, "predict", "--film", "3", "--substrate", "SrTiO3", "--temp-c", "1400",
                                    "--thickness-nm", "5", "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = {r["source"]: r for r in json.loads(res.output)}
    film, far = rows["film 3"], rows["command line"]
    assert film["known_paper"] and not far["known_paper"] and film["model"] == "recommended"
    assert far["log10_sigma_std"] > film["log10_sigma_std"]
    assert not far["in_domain"] and "inv_t_dep" in far["extrapolation"] and "above" in far["extrapolation"]
    table = CliRunner().invoke(main, ["--db", db_path, "predict", "--substrate", "SrTiO3", "--temp-c", "1400",
                                      "--thickness-nm", "5", "--no-store"])
    assert table.exit_code == 0 and "outside what the data knows: inv_t_dep" in table.output


def test_an_older_database_is_upgraded_in_place_when_opened(db_path):
    import duckdb

    from filmkb.schema.tables import SCHEMA_VERSION

    con = duckdb.connect(db_path)  # make it look like a version-1 file (films reference film_materials, so
    # DuckDB will not drop its columns: empty them instead; the upgrade adds them IF NOT EXISTS)
    con.execute("UPDATE film_materials SET li_per_o12 = NULL, dopant_elements = NULL, dopant_per_o12 = NULL, "
                "ta_per_o12 = NULL, al_per_o12 = NULL, ga_per_o12 = NULL")
    con.execute("UPDATE schema_migrations SET version = 1")
    con.execute("DROP VIEW film_descriptors_extended_complete")
    con.execute("DROP VIEW film_descriptors_extended")
    con.close()
    with kb.open(db_path) as db:
        assert db.sql("SELECT max(version) AS v FROM schema_migrations")["v"].iloc[0] == SCHEMA_VERSION
        ext = db.descriptor_matrix(descriptors="extended")
    assert len(ext) == 26 and ext["li_per_o12"].notna().all()
