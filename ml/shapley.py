"""Exact Shapley values of a model over the descriptors.

"Feature absent" means averaged over a background (the training matrix): the value of a coalition
S for a row x is v(S) = mean over background rows b of f(x on S, b elsewhere), the definition of
shap's Exact explainer with an Independent masker. With 7 descriptors all 2^7 coalitions are
enumerated here, in one batched model evaluation (fixed-size chunks: one XLA compile), and the
values add up to prediction minus base value for every film. shap's Exact explainer gives the
same values (tests/test_shapley.py holds them side by side), but its numba kernels compile for
~8 s in every new process, a tenth of the `reproduce` budget; it is still used where enumeration
is out of reach (more than MAX_ENUMERATED descriptors).

The background is the training matrix up to MAX_BACKGROUND rows, a seeded random sample of it beyond
(shap's own default for its Independent masker, `max_samples=100`): the values are then exact against
that sample and still add up to prediction minus base value. Without the cap the cost (films x 2^d x
background model rows) grows with the square of the films (1,000 films: 128 million rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import factorial

import numpy as np

__all__ = ["Explanation", "exact_shap", "shap_exact", "MAX_ENUMERATED", "CHUNK_ROWS", "MAX_BACKGROUND", "background_rows"]

MAX_ENUMERATED = 10  # up to 2^10 coalitions x background x films rows are enumerated in numpy
CHUNK_ROWS = 8192  # rows per model call (the last chunk padded): one compiled shape for a jitted model
MAX_BACKGROUND = 100  # background rows at most (a seeded sample beyond; see the module docstring)
BLOCK_ROWS = 1 << 21  # enumerated rows held in memory at once (films are explained in blocks)


def background_rows(B: np.ndarray, seed: int = 0) -> np.ndarray:
    """The background rows: all of B up to MAX_BACKGROUND, else a seeded random sample (rows in order)."""
    if len(B) <= MAX_BACKGROUND:
        return B
    return B[np.sort(np.random.default_rng(seed).choice(len(B), MAX_BACKGROUND, replace=False))]


@dataclass(frozen=True)
class Explanation:
    """values (n_films, n_descriptors), base value per film, and the model output per film."""

    values: np.ndarray
    base_values: np.ndarray
    predictions: np.ndarray


def _chunked(predict, Z: np.ndarray) -> np.ndarray:
    """predict over the rows of Z in calls of CHUNK_ROWS rows (the last one padded with its first row, so
    a jitted model sees one shape whatever the number of rows)."""
    out = np.empty(len(Z))
    for start in range(0, len(Z), CHUNK_ROWS):
        part = Z[start:start + CHUNK_ROWS]
        m = len(part)
        if m < CHUNK_ROWS:
            part = np.concatenate([part, np.repeat(part[:1], CHUNK_ROWS - m, axis=0)])
        out[start:start + m] = np.asarray(predict(part), dtype=np.float64).ravel()[:m]
    return out


def exact_shap(predict, X: np.ndarray, background: np.ndarray | None = None) -> Explanation:
    """Shapley values of `predict` (a batched function (m, d) -> (m,)) for every row of X, by
    enumerating every coalition against the background (default X itself, at most MAX_BACKGROUND rows)."""
    X = np.asarray(X, dtype=np.float64)
    B = background_rows(X if background is None else np.asarray(background, dtype=np.float64))
    n, d = X.shape
    if d > MAX_ENUMERATED:
        return shap_exact(predict, X, B)
    codes = np.arange(2**d)
    present = ((codes[:, None] >> np.arange(d)[None, :]) & 1).astype(bool)  # (2^d, d): coalition of each code
    value = np.empty((n, 2**d))
    step = max(1, BLOCK_ROWS // (2**d * len(B)))
    for start in range(0, n, step):  # films in blocks: the enumerated rows of a block fit in memory
        Xb = X[start:start + step]
        rows = np.where(present[None, :, None, :], Xb[:, None, None, :], B[None, None, :, :])  # (m, 2^d, b, d)
        # films share descriptor values (a substrate's, a temperature), so many rows repeat: each distinct
        # row is predicted once (26 films: 86,528 rows, 25,506 distinct)
        distinct, back = np.unique(rows.reshape(-1, d), axis=0, return_inverse=True)
        value[start:start + len(Xb)] = (_chunked(predict, distinct)[back.ravel()]
                                        .reshape(len(Xb), 2**d, len(B)).mean(axis=2))
    size = present.sum(axis=1)
    weight = np.array([factorial(s) * factorial(d - s - 1) / factorial(d) for s in range(d)])
    values = np.empty((n, d))
    for i in range(d):
        without = ~present[:, i]  # coalitions S not holding i; S with i is code | 2^i
        values[:, i] = (value[:, codes[without] | (1 << i)] - value[:, codes[without]]) @ weight[size[without]]
    base = value[:, 0]
    return Explanation(values, base, value[:, -1])


def shap_exact(predict, X: np.ndarray, background: np.ndarray) -> Explanation:
    """The same values from shap's Exact explainer (Independent masker over the whole background)."""
    import shap

    masker = shap.maskers.Independent(background, max_samples=len(background))
    explainer = shap.explainers.Exact(lambda Z: np.asarray(predict(np.asarray(Z, dtype=np.float64))).ravel(), masker)
    result = explainer(X, silent=True)
    base = np.broadcast_to(np.asarray(result.base_values, dtype=np.float64), (len(X),)).copy()
    return Explanation(np.asarray(result.values, dtype=np.float64), base, np.asarray(predict(X)).ravel())
