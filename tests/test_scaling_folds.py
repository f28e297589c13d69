"""The fold protocol that grows with the knowledge base: leave-one-out up to LOO_MAX_PAPERS papers,
K-fold grouped by film or paper above; the evaluation's JSON names the protocol that ran."""

import numpy as np
import pandas as pd
import pytest

from filmkb.errors import FilmkbError
from filmkb.ml.evaluate import run_evaluation
from filmkb.ml.folds import DEFAULT_K, LOO_MAX_PAPERS, Layout, make_folds, protocol
from filmkb.schema.descriptors import PAPER7, TARGET


def _matrix(papers: int, per_paper: int = 3, seed: int = 0) -> pd.DataFrame:
    """A model matrix of `papers` papers with `per_paper` films each (paper offset + a linear dependence)."""
    rng = np.random.default_rng(seed)
    n = papers * per_paper
    X = rng.normal(size=(n, len(PAPER7)))
    ref = np.repeat(np.arange(100, 100 + papers), per_paper)
    y = 5 + X[:, 0] - 0.5 * X[:, 3] + rng.normal(0, 0.4, papers)[ref - 100] + rng.normal(0, 0.1, n)
    frame = pd.DataFrame(X, columns=list(PAPER7), index=pd.Index(np.arange(1, n + 1), name="film_id"))
    return frame.assign(**{TARGET: y, "reference_id": ref, "figure6_subset": np.arange(n) % 2 == 0})


def test_leave_one_out_up_to_the_threshold():
    m = _matrix(LOO_MAX_PAPERS)
    for kind in ("film", "reference"):
        plan = protocol(m, kind)
        assert plan["scheme"] == "leave-one-out" and plan["k"] is None
        labels, folds = make_folds(m, kind, k=5)  # K applies only above the threshold
        assert len(folds) == (len(m) if kind == "film" else LOO_MAX_PAPERS)
    assert make_folds(m, "film")[0][0] == "film:1" and make_folds(m, "reference")[0][0] == "reference:100"


def test_grouped_k_fold_above_the_threshold():
    m = _matrix(LOO_MAX_PAPERS + 1)
    for kind in ("film", "reference"):
        plan = protocol(m, kind)
        assert plan == {**plan, "folds": kind, "scheme": "group-k-fold", "k": DEFAULT_K, "groups": kind}
        labels, folds = make_folds(m, kind)
        assert len(folds) == DEFAULT_K and set(labels) == set(folds)
    assert len(make_folds(m, "reference", k=4)[1]) == 4


def test_no_paper_is_split_between_training_and_test():
    m = _matrix(40, per_paper=4)
    layout = Layout.of(m, "reference", repeats=2, seed=0, k=7)
    assert layout.protocol["k"] == 7 and layout.masks.shape == (14, len(m))
    refs = m["reference_id"].to_numpy()
    for mask in layout.masks:
        assert not set(refs[mask]) & set(refs[~mask])
    assert np.all(layout.test.sum(axis=0) == 1)  # every film is held out exactly once
    film = Layout.of(m, "film", repeats=1, seed=0)
    assert any(set(refs[mask]) & set(refs[~mask]) for mask in film.masks)  # film folds do split papers


def test_folds_k_below_two_is_refused():
    with pytest.raises(FilmkbError, match="--folds-k"):
        protocol(_matrix(31), "film", k=1)


def test_evaluation_json_names_the_protocol():
    from filmkb.jobs.evaluation import metrics_document

    res = run_evaluation(_matrix(32, per_paper=2), models="baselines", folds="reference", repeats=1, folds_k=4)
    doc = metrics_document("run", res)
    assert doc["protocol"]["scheme"] == "group-k-fold" and doc["protocol"]["k"] == 4
    assert doc["config"]["n_folds"] == 4 and doc["models"]["ridge"]["rmse"] < doc["models"]["mean"]["rmse"]
    small = run_evaluation(_matrix(6, per_paper=2), models="baselines", folds="film", repeats=1)
    assert metrics_document("run", small)["protocol"]["scheme"] == "leave-one-out"
    assert small.config["n_folds"] == 12


def test_an_lstm_copy_takes_at_most_the_papers_steps():
    from filmkb.ml.engine import MAX_STEPS, effective_epochs

    assert effective_epochs(3200, 26) == 3200 and effective_epochs(3200, 32) == 3200  # the curated films: as published
    assert effective_epochs(3200, 1000) == MAX_STEPS // 1000 == 102
    assert effective_epochs(3200, 1000, batch_size=50) == 3200  # 20 steps an epoch
    assert list(effective_epochs(np.array([50, 3200]), 400)) == [50, 256]


def test_calibration_scores_leave_one_out_up_to_the_threshold_and_k_fold_above():
    from filmkb.ml.paper_effects import calibration_scores
    from filmkb.ml.recommended import calibration_folds

    rng = np.random.default_rng(1)
    g = np.repeat(np.arange(12), 3)  # 12 papers of 3 films
    r = rng.normal(0, 0.5, 12)[g] + rng.normal(0, 0.2, len(g))
    assert calibration_folds(np.arange(LOO_MAX_PAPERS)) is None and calibration_folds(np.arange(LOO_MAX_PAPERS + 1)) == DEFAULT_K
    z_loo, kind_loo = calibration_scores(r, g)
    # as many folds as papers and as films: the same scores as leaving one paper and one film out
    z_k, kind_k = calibration_scores(r, g, k=len(g))
    for kind in ("new", "known"):
        np.testing.assert_allclose(np.sort(z_k[kind_k == kind]), np.sort(z_loo[kind_loo == kind]), rtol=1e-12)
    # 4 folds: every film scored as from a new paper once; a known-paper score for the films whose siblings
    # are not all in their own fold; different components, so different values
    z4, kind4 = calibration_scores(r, g, k=4)
    assert np.sum(kind4 == "new") == len(g) and 0 < np.sum(kind4 == "known") <= len(g)
    assert np.all(np.isfinite(z4)) and not np.allclose(np.sort(z4[kind4 == "new"]), np.sort(z_loo[kind_loo == "new"]))
