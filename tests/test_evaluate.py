"""Leave-one-out evaluation: folds, honesty (no leakage), metrics, stored runs, `filmkb evaluate`."""

import json
import math

import numpy as np
import pytest

from filmkb import kb
from filmkb.ml.evaluate import copy_layout, make_folds, run_evaluation
from filmkb.ml.lstm import PAPER
from filmkb.ml.metrics import regression_metrics

QUICK = PAPER.replace(epochs=8)


@pytest.fixture(scope="module")
def matrix(built_db):
    with kb.open(built_db) as db:
        return db.model_matrix()


def test_metrics_by_hand():
    y = np.array([5.0, 6.0, 7.0, 8.0])
    m = np.array([5.0, 6.5, 6.0, 8.0])
    s = np.array([1.0, 1.0, 0.5, 1.0])
    out = regression_metrics(y, m, s)
    assert out["rmse"] == pytest.approx(math.sqrt((0.25 + 1.0) / 4))
    assert out["mae"] == pytest.approx(1.5 / 4)
    assert out["mape"] == pytest.approx((0.5 / 6 + 1 / 7) / 4)
    assert out["r2"] == pytest.approx(1 - 1.25 / 5.0)
    nll = np.mean(0.5 * np.log(2 * np.pi) + np.log(s) + 0.5 * ((y - m) / s) ** 2)
    assert out["nll"] == pytest.approx(nll)
    # coverage_1s / coverage_2s: inside the central 68 % / 95 % intervals (+-0.994 sd, +-1.960 sd): the
    # third film, 2.0 sd away, is inside 3 sd but outside the 95 % interval
    assert (out["coverage_1s"], out["coverage_2s"], out["coverage_3s"]) == (0.75, 0.75, 1.0)
    from scipy.stats import norm

    z = (y - m) / s
    crps = s * (z * (2 * norm.cdf(z) - 1) + 2 * norm.pdf(z) - 1 / np.sqrt(np.pi))
    assert out["crps"] == pytest.approx(np.mean(crps)) and out["width_95"] == pytest.approx(2 * 1.959964 * np.mean(s))


def test_folds_cover_every_film_once(matrix):
    for kind in ("film", "reference"):
        labels, folds = make_folds(matrix, kind)
        masks, fold_of, seeds, test = copy_layout(labels, folds, 3, seed=1)
        assert test.sum(axis=0).tolist() == [1] * len(matrix)  # each film held out exactly once
        assert masks.shape == (3 * len(folds), len(matrix)) and len(set(seeds)) == len(seeds)
        for row in range(masks.shape[0]):
            assert not np.any(masks[row] & test[fold_of[row]])  # held-out films never train their copy
    labels, folds = make_folds(matrix, "reference")
    assert len(folds) == matrix["reference_id"].nunique() < len(matrix)
    for ref, films in matrix.groupby("reference_id").groups.items():
        assert len({labels[matrix.index.get_loc(f)] for f in films}) == 1


def test_no_leakage_and_determinism(matrix):
    """A held-out film's own target cannot move its prediction, for any model; same seed -> same numbers."""
    paper_and_baselines = "lstm,pbp,ensemble,baselines"  # the recommended model has its own leakage test
    # one seed per fold: 16 LSTM copies, the program the other leave-one-paper-out tests compile too
    a = run_evaluation(matrix, paper_and_baselines, repeats=1, folds="reference", lstm=QUICK, seed=3)
    b = run_evaluation(matrix, paper_and_baselines, repeats=1, folds="reference", lstm=QUICK, seed=3)
    cols = ["film_id", "model", "mean", "std"]
    assert a.predictions[cols].equals(b.predictions[cols])
    target = matrix.index[0]
    changed = matrix.copy()
    changed.loc[target, kb.TARGET] += 30.0
    c = run_evaluation(changed, paper_and_baselines, repeats=1, folds="reference", lstm=QUICK, seed=3)
    models = set(a.predictions["model"])
    assert models == {"lstm", "pbp", "ensemble", "ensemble_spread", "mean", "ridge", "gp", "rf"}
    ref = matrix.loc[target, "reference_id"]
    same_fold = matrix.index[matrix["reference_id"] == ref]
    pa = a.predictions.set_index(["model", "film_id"])
    pc = c.predictions.set_index(["model", "film_id"])
    for model in models:
        for film in same_fold:
            assert pc.loc[(model, film), "mean"] == pytest.approx(pa.loc[(model, film), "mean"], abs=1e-5), model
    assert not np.isclose(pc.loc[("mean", matrix.index[-1]), "mean"], pa.loc[("mean", matrix.index[-1]), "mean"])
    # ensemble = average of the LSTM and PBP means; its published std is at least the 2R spread
    ens = pa.xs("ensemble")
    avg = (pa.xs("lstm")["mean"] + pa.xs("pbp")["mean"]) / 2
    np.testing.assert_allclose(ens["mean"], avg.loc[ens.index], atol=1e-9)
    assert np.all(ens["std"] >= pa.xs("ensemble_spread")["std"].loc[ens.index] - 1e-12)
    assert a.metrics["figure6"]["lstm"]["n"] == int(matrix["figure6_subset"].sum())
    assert a.metrics["all"]["pbp"]["n"] == len(matrix)


def test_cli_evaluate_stores_run_and_json(db_path, tmp_path):
    from click.testing import CliRunner

    from filmkb.cli import main
    from filmkb.kb.db import connect

    out = tmp_path / "eval.json"
    result = CliRunner().invoke(main, ["--db", db_path, "evaluate", "--repeats", "1", "--epochs", "5",
                                       "--models", "lstm,pbp,ensemble", "--json", str(out), "--silent"])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["n_films"] == 26 and doc["seconds"] > 0 and doc["folds"] == "film"
    for model in ("lstm", "pbp", "ensemble"):
        assert set(doc["models"][model]) >= {"r2", "rmse", "mae", "mape", "nll", "coverage_1s", "coverage_2s",
                                             "coverage_3s", "crps", "width_68", "width_95"}
        assert doc[model] == doc["models"][model]
    assert doc["subsets"]["figure6"]["lstm"]["n"] < 26
    con = connect(db_path, read_only=True)
    try:
        runs = con.execute("SELECT id, kind, n_films, data_hash, code_version, config_json FROM model_runs").fetchall()
        assert len(runs) == 1 and runs[0][0] == doc["run_id"] and runs[0][1] == "evaluate" and runs[0][2] == 26
        assert len(runs[0][3]) == 64 and runs[0][4] and json.loads(runs[0][5])["lstm"]["epochs"] == 5
        counts = dict(con.execute("SELECT model, count(*) FROM predictions WHERE run_id = ? GROUP BY model",
                                  [doc["run_id"]]).fetchall())
    finally:
        con.close()
    assert counts == {"lstm": 26, "pbp": 26, "ensemble": 26, "ensemble_spread": 26}
    bad = CliRunner().invoke(main, ["--db", db_path, "evaluate", "--models", "svm", "--silent"])
    assert bad.exit_code == 1 and "unknown models" in bad.output


TINY_SPACE = {"units": (6, 6, 1), "dropout": (0.0, 0.5), "epochs": (3, 6), "paper_epochs": None}


def test_tuning_is_nested_inside_the_training_films(matrix):
    """The hyper-parameters chosen for a fold do not depend on the held-out films' targets."""
    from filmkb.ml.tune import tune_lstm_per_fold

    X = matrix[list(kb.DESCRIPTORS)].to_numpy()
    y = matrix[kb.TARGET].to_numpy()
    labels, folds = make_folds(matrix, "reference")
    kw = dict(n_trials=2, repeats=1, seed=0, inner_k=5, space=TINY_SPACE)  # inner_k as run_evaluation: one program
    a = tune_lstm_per_fold(X, y, labels, folds, "reference", QUICK, **kw)
    y2 = y.copy()
    y2[labels == folds[0]] += 30.0
    b = tune_lstm_per_fold(X, y2, labels, folds, "reference", QUICK, **kw)
    assert a[folds[0]] == b[folds[0]]  # fold 0's choice never saw fold 0's films
    for c in a.values():
        assert c.units == 6 and 0.0 <= c.dropout <= 0.5 and 3 <= c.epochs <= 6
    res = run_evaluation(matrix, models="lstm", repeats=1, folds="reference", lstm=QUICK, tune=True,
                         tune_trials=1, tune_space=TINY_SPACE)
    assert {"lstm", "lstm_tuned"} == set(res.predictions["model"])
    assert set(res.config["lstm_per_fold"]) == set(folds)
