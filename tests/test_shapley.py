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
