"""Exact Shapley values of a model over the descriptors (shap's Exact explainer).

With 7 descriptors all 2^7 coalitions are enumerated, so the values are exact for the chosen
background (the training matrix: "feature absent" = averaged over the training films) and add
up to prediction minus base value for every film.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Explanation:
    """values (n_films, n_descriptors), base value per film, and the model output per film."""

    values: np.ndarray
    base_values: np.ndarray
    predictions: np.ndarray


def exact_shap(predict, X: np.ndarray, background: np.ndarray | None = None) -> Explanation:
    """Shapley values of `predict` (a batched function (m, d) -> (m,)) for every row of X."""
    import shap

    X = np.asarray(X, dtype=np.float64)
    background = X if background is None else np.asarray(background, dtype=np.float64)
    masker = shap.maskers.Independent(background, max_samples=len(background))
    explainer = shap.explainers.Exact(lambda Z: np.asarray(predict(np.asarray(Z, dtype=np.float64))).ravel(), masker)
    result = explainer(X, silent=True)
    base = np.broadcast_to(np.asarray(result.base_values, dtype=np.float64), (len(X),)).copy()
    return Explanation(np.asarray(result.values, dtype=np.float64), base, np.asarray(predict(X)).ravel())
