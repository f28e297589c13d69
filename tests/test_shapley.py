"""Exact SHAP on a real fitted model: values add up to prediction minus base value."""

import numpy as np

from filmkb import kb
from filmkb.ml.shapley import exact_shap
from filmkb.ml.pbp import PBP


def test_shap_is_additive_on_a_fitted_pbp(kbase):
    matrix = kbase.descriptor_matrix()
    X, y = matrix[list(kb.DESCRIPTORS)].to_numpy(), matrix[kb.TARGET].to_numpy()
    model = PBP(hidden=(5,), epochs=20, seed=0).fit(X, y)
    explanation = exact_shap(lambda Z: model.predict(Z)[0], X)
    assert explanation.values.shape == (len(X), 7)
    np.testing.assert_allclose(explanation.values.sum(axis=1) + explanation.base_values,
                               explanation.predictions, atol=1e-8)
    np.testing.assert_allclose(explanation.base_values, model.predict(X)[0].mean(), atol=1e-8)


def test_enumerated_values_equal_shap_exact_explainer(kbase):
    from filmkb.ml.shapley import shap_exact

    from filmkb.ml.baselines import baseline

    matrix = kbase.descriptor_matrix()
    X, y = matrix[list(kb.DESCRIPTORS)].to_numpy(), matrix[kb.TARGET].to_numpy()
    # a real fitted non-linear model without a compiled program per input shape (shap calls the
    # model with many batch sizes: a jitted PBP would compile for each; the PBP is checked above)
    model = baseline("gp", seed=1).fit(X, y)
    predict = lambda Z: model.predict_dist(Z)[0]  # noqa: E731
    background = X[::2]
    ours, theirs = exact_shap(predict, X[:6], background), shap_exact(predict, X[:6], background)
    np.testing.assert_allclose(ours.values, theirs.values, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(ours.base_values, theirs.base_values, rtol=1e-12)
    # and by hand on a function with an interaction: f = x0 * x1 + 2 x2, one background row at 0
    hand = exact_shap(lambda Z: Z[:, 0] * Z[:, 1] + 2 * Z[:, 2], np.array([[1.0, 3.0, 1.0]]), np.zeros((1, 3)))
    np.testing.assert_allclose(hand.values, [[1.5, 1.5, 2.0]])


def test_a_large_background_is_sampled_and_the_values_still_add_up():
    from filmkb.ml.shapley import MAX_BACKGROUND, background_rows

    rng = np.random.default_rng(0)
    X = rng.normal(size=(3 * MAX_BACKGROUND, 3))
    sample = background_rows(X)
    assert len(sample) == MAX_BACKGROUND and np.array_equal(sample, background_rows(X))
    ex = exact_shap(lambda Z: 2 * Z[:, 0] - Z[:, 2], X)
    assert np.allclose(ex.values.sum(axis=1), ex.predictions - ex.base_values)
    assert np.allclose(ex.values[:, 0], 2 * (X[:, 0] - sample[:, 0].mean()))  # linear: coefficient x (x - mean)
