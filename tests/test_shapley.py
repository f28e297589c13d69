"""Exact SHAP on a real fitted model: values add up to prediction minus base value."""

import numpy as np
import pytest

from filmkb import kb
from filmkb.ml.shapley import exact_shap
from filmkb.ml.pbp import PBP


@pytest.mark.slow  # compiles a PBP's fit and predict programs; the default tier checks additivity on the paper
# ensemble (LSTM + PBP: test_workflow, test_numpy_forward) and on a fitted GP below
def test_shap_is_additive_on_a_fitted_pbp(kbase):
    matrix = kbase.descriptor_matrix()
    X, y = matrix[list(kb.DESCRIPTORS)].to_numpy(), matrix[kb.TARGET].to_numpy()
    model = PBP(hidden=(5,), epochs=20, seed=0).fit(X, y)
    explanation = exact_shap(lambda Z: model.predict(Z)[0], X)
    assert explanation.values.shape == (len(X), 7)
    np.testing.assert_allclose(explanation.values.sum(axis=1) + explanation.base_values,
                               explanation.predictions, atol=1e-8)
    np.testing.assert_allclose(explanation.base_values, model.predict(X)[0].mean(), atol=1e-8)


def _gp(kbase):
    from filmkb.ml.baselines import baseline

    matrix = kbase.descriptor_matrix()
    X, y = matrix[list(kb.DESCRIPTORS)].to_numpy(), matrix[kb.TARGET].to_numpy()
    # a real fitted non-linear model without a compiled program per input shape (shap calls the
    # model with many batch sizes: a jitted PBP would compile for each; the PBP is checked above)
    model = baseline("gp", seed=1).fit(X, y)
    return X, lambda Z: model.predict_dist(Z)[0]


def test_enumerated_values_add_up_on_a_fitted_gp_and_by_hand(kbase):
    X, predict = _gp(kbase)
    background = X[::2]
    ours = exact_shap(predict, X[:6], background)
    np.testing.assert_allclose(ours.values.sum(axis=1) + ours.base_values, predict(X[:6]), atol=1e-9)
    np.testing.assert_allclose(ours.base_values, predict(background).mean(), rtol=1e-12)
    # by hand on a function with an interaction: f = x0 * x1 + 2 x2, one background row at 0
    hand = exact_shap(lambda Z: Z[:, 0] * Z[:, 1] + 2 * Z[:, 2], np.array([[1.0, 3.0, 1.0]]), np.zeros((1, 3)))
    np.testing.assert_allclose(hand.values, [[1.5, 1.5, 2.0]])
    # two background rows, weighted 1:3: the values are the weighted means of the one-row values
    B, w = np.array([[0.0, 0.0, 0.0], [1.0, -1.0, 2.0]]), np.array([1.0, 3.0])
    f = lambda Z: Z[:, 0] * Z[:, 1] + 2 * Z[:, 2]  # noqa: E731
    x = np.array([[1.0, 3.0, 1.0]])
    weighted = exact_shap(f, x, B, weights=w)
    one = [exact_shap(f, x, B[[i]]).values for i in range(2)]
    np.testing.assert_allclose(weighted.values, (one[0] + 3 * one[1]) / 4, atol=1e-12)


@pytest.mark.slow  # shap's Exact explainer compiles its numba kernels on first use (~7 CPU-s)
def test_enumerated_values_equal_shap_exact_explainer(kbase):
    from filmkb.ml.shapley import background_rows, shap_exact

    X, predict = _gp(kbase)
    background = X[::2]
    ours, theirs = exact_shap(predict, X[:6], background), shap_exact(predict, X[:6], background)
    np.testing.assert_allclose(ours.values, theirs.values, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(ours.base_values, theirs.base_values, rtol=1e-12)
    # a summarised (weighted) background: shap's values on the background with each row repeated by its weight
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(60, 3))
    f = lambda A: np.sin(A[:, 0]) * A[:, 1] - A[:, 2] ** 2  # noqa: E731  (with an interaction)
    rows, weights = background_rows(Z, max_rows=40, summary=8)
    ex = exact_shap(f, Z[:5], Z, max_background=40, summary=8)
    theirs = shap_exact(f, Z[:5], np.repeat(rows, weights.astype(int), axis=0))
    np.testing.assert_allclose(ex.values, theirs.values, atol=1e-9)
    np.testing.assert_allclose(shap_exact(f, Z[:5], rows, weights).values, theirs.values, atol=1e-12)


def test_a_large_background_is_summarised_and_the_values_still_add_up():
    from filmkb.ml.shapley import background_rows

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    # up to max_rows the background is X itself, equally weighted (the curated data's case)
    rows, weights = background_rows(X, max_rows=60, summary=8)
    assert weights is None and np.array_equal(rows, X)
    # beyond: `summary` real rows of X, weighted by their clusters' sizes, seeded
    rows, weights = background_rows(X, max_rows=40, summary=8)
    assert rows.shape == (8, 3) and weights.sum() == len(X) and np.all(weights >= 1)
    assert all(any(np.array_equal(r, x) for x in X) for r in rows)
    again = background_rows(X, max_rows=40, summary=8)
    assert np.array_equal(rows, again[0]) and np.array_equal(weights, again[1])
    predict = lambda Z: np.sin(Z[:, 0]) * Z[:, 1] - Z[:, 2] ** 2  # noqa: E731  (with an interaction)
    ex = exact_shap(predict, X[:5], X, max_background=40, summary=8)
    np.testing.assert_allclose(ex.values.sum(axis=1), ex.predictions - ex.base_values, atol=1e-12)
    np.testing.assert_allclose(ex.base_values, np.average(predict(rows), weights=weights), atol=1e-12)
    # (the weighted values equal shap's Exact explainer's on repeated rows: the slow tier checks it)
    # a background of few distinct rows is summarised exactly: those rows, weighted by their counts
    few = np.repeat(X[:3], [10, 20, 30], axis=0)
    rows, weights = background_rows(few, max_rows=40, summary=8)
    assert len(rows) == 3 and sorted(weights) == [10, 20, 30]


def test_above_max_films_a_sample_proportional_per_paper_is_explained_and_the_plan_says_so():
    from filmkb.ml.shapley import explained_films, plan

    groups = np.repeat(np.arange(10), np.arange(1, 11) * 2)  # 10 papers of 2, 4, ..., 20 films (110)
    assert np.array_equal(explained_films(groups, max_films=200), np.arange(110))
    picked = explained_films(groups, max_films=55, seed=3)
    assert len(picked) == 55 and len(set(picked)) == 55 and np.all(np.diff(picked) > 0)
    per_paper = np.bincount(groups[picked], minlength=10)
    assert np.all(np.abs(per_paper - np.arange(1, 11)) <= 1)  # half of each paper's films, give or take one
    assert np.array_equal(picked, explained_films(groups, max_films=55, seed=3))
    bounds = plan(110, 110, max_films=55, max_background=40, summary=8)
    assert bounds["explained"] == 55 and bounds["background"] == 8
    assert "55 of 110 films" in bounds["films_rule"] and "8 k-means representatives" in bounds["background_rule"]
    small = plan(26, 26)
    assert small["explained"] == 26 and small["background"] == 26 and "the 26 training films" in small["background_rule"]
