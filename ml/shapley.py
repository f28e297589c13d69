"""Exact Shapley values of a model over the descriptors.

"Feature absent" means averaged over a background (the training matrix): the value of a coalition
S for a row x is v(S) = sum over background rows b of w_b f(x on S, b elsewhere), the definition of
shap's Exact explainer with an Independent masker (weights w_b = 1/|B| for a plain background). With 7
descriptors all 2^7 coalitions are enumerated here, in one batched model evaluation (fixed-size
chunks: one XLA compile), and the values add up to prediction minus base value for every film. shap's
Exact explainer gives the same values (tests/test_shapley.py holds them side by side), but its numba
kernels compile for ~8 s in every new process, a tenth of the `reproduce` budget; it is still used
where enumeration is out of reach (more than MAX_ENUMERATED descriptors).

The cost is films x 2^d x background rows model evaluations, so two bounds keep it linear or flat in
the films (:func:`plan` says which ran; up to MAX_BACKGROUND films neither applies, so the curated data
is explained exactly as before, every film against every training film):

- Background: up to MAX_BACKGROUND rows, the training matrix as it is; beyond, summarised to
  BACKGROUND_SUMMARY weighted rows, as shap's own `shap.kmeans` summary does: k-means (scikit-learn,
  seeded) on the standardised descriptors, each cluster represented by its training film nearest the
  centroid (a real film, so categorical and paired descriptors stay consistent) and weighted by the
  cluster's share of the films. The values are exact against that weighted background and still add
  up to prediction minus base value.
- Films: above MAX_FILMS films, Shapley values are computed for MAX_FILMS of them, a seeded sample
  with every paper in proportion to its films (systematic within each paper); the others are left
  out of the values and said so. The mean |SHAP| ranking and the beeswarm are read off the sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import factorial

import numpy as np

__all__ = ["Explanation", "exact_shap", "shap_exact", "MAX_ENUMERATED", "CHUNK_ROWS", "MAX_BACKGROUND",
           "BACKGROUND_SUMMARY", "MAX_FILMS", "background_rows", "explained_films", "plan"]

MAX_ENUMERATED = 10  # up to 2^10 coalitions x background x films rows are enumerated in numpy
CHUNK_ROWS = 8192  # rows per model call (the last chunk padded): one compiled shape for a jitted model
MAX_BACKGROUND = 100  # background rows used as they are up to this many (summarised beyond)
BACKGROUND_SUMMARY = 32  # weighted k-means representatives of a larger background
MAX_FILMS = 300  # films explained at most (a sample proportional per paper beyond)
BLOCK_ROWS = 1 << 21  # enumerated rows held in memory at once (films are explained in blocks)


def background_rows(B: np.ndarray, seed: int = 0, max_rows: int = MAX_BACKGROUND,
                    summary: int = BACKGROUND_SUMMARY) -> tuple[np.ndarray, np.ndarray | None]:
    """(rows, weights) of the background: B as it is (weights None: equal) up to max_rows rows, else its
    `summary` k-means representatives (training films) weighted by their clusters' sizes (see the module
    docstring); a B of at most `summary` distinct rows is its distinct rows weighted by their counts."""
    B = np.asarray(B, dtype=np.float64)
    if len(B) <= max_rows:
        return B, None
    distinct, counts = np.unique(B, axis=0, return_counts=True)
    if len(distinct) <= summary:
        return distinct, counts.astype(np.float64)
    from sklearn.cluster import KMeans

    sd = B.std(axis=0)
    Z = (B - B.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    km = KMeans(n_clusters=summary, n_init=4, random_state=seed).fit(Z)
    rows, weights = [], []
    for c in range(summary):
        members = np.flatnonzero(km.labels_ == c)
        nearest = members[np.argmin(((Z[members] - km.cluster_centers_[c]) ** 2).sum(axis=1))]
        rows.append(nearest)
        weights.append(len(members))
    order = np.argsort(rows)
    return B[np.asarray(rows)[order]], np.asarray(weights, dtype=np.float64)[order]


def explained_films(groups, max_films: int = MAX_FILMS, seed: int = 0) -> np.ndarray:
    """Indices (ascending) of the films to explain: all of them up to max_films, else a seeded sample of
    max_films with every paper (group) in proportion to its films: films are shuffled, each gets its
    position within its paper as a fraction of the paper's films, and the lowest fractions are taken."""
    groups = np.asarray(groups)
    n = len(groups)
    if n <= max_films:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    position = np.empty(n)
    for g in np.unique(groups):
        mine = order[groups[order] == g]  # this paper's films in shuffled order
        position[mine] = (np.arange(len(mine)) + rng.random()) / len(mine)
    return np.sort(np.lexsort((np.argsort(order), position))[:max_films])


def plan(n_films: int, n_background: int, max_films: int = MAX_FILMS, max_background: int = MAX_BACKGROUND,
         summary: int = BACKGROUND_SUMMARY) -> dict:
    """Which bounds an explanation of n_films against n_background training rows runs under (for the
    report and the JSON): films explained, background rows and how they were chosen."""
    films = min(n_films, max_films)
    summarised = n_background > max_background
    return {"films": n_films, "explained": films,
            "films_rule": (f"all films (at most {max_films})" if films == n_films else
                           f"{films} of {n_films} films: a seeded sample, every paper in proportion to its films "
                           f"(above {max_films} films)"),
            "background": min(n_background, summary) if summarised else n_background,
            "background_rule": (f"{summary} k-means representatives of the {n_background} training films, weighted by "
                                f"cluster share (above {max_background} rows)" if summarised
                                else f"the {n_background} training films (up to {max_background})")}


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


def exact_shap(predict, X: np.ndarray, background: np.ndarray | None = None, weights=None,
               max_background: int = MAX_BACKGROUND, summary: int = BACKGROUND_SUMMARY) -> Explanation:
    """Shapley values of `predict` (a batched function (m, d) -> (m,)) for every row of X, by
    enumerating every coalition against the background (default X itself; beyond max_background rows
    summarised to `summary` weighted rows, see :func:`background_rows`). weights: the background rows'
    weights (e.g. counts) as given (no summary then; None: equal weights)."""
    X = np.asarray(X, dtype=np.float64)
    B = np.asarray(X if background is None else background, dtype=np.float64)
    if weights is None:
        B, weights = background_rows(B, max_rows=max_background, summary=summary)
    n, d = X.shape
    if d > MAX_ENUMERATED:
        return shap_exact(predict, X, B, weights)
    if weights is not None:
        weights = np.asarray(weights, dtype=np.float64) / np.sum(weights)
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
        f = _chunked(predict, distinct)[back.ravel()].reshape(len(Xb), 2**d, len(B))
        value[start:start + len(Xb)] = f.mean(axis=2) if weights is None else f @ weights
    size = present.sum(axis=1)
    weight = np.array([factorial(s) * factorial(d - s - 1) / factorial(d) for s in range(d)])
    values = np.empty((n, d))
    for i in range(d):
        without = ~present[:, i]  # coalitions S not holding i; S with i is code | 2^i
        values[:, i] = (value[:, codes[without] | (1 << i)] - value[:, codes[without]]) @ weight[size[without]]
    base = value[:, 0]
    return Explanation(values, base, value[:, -1])


def shap_exact(predict, X: np.ndarray, background: np.ndarray, weights=None) -> Explanation:
    """The same values from shap's Exact explainer (Independent masker over the whole background; its
    masker weighs rows equally, so integer weights (counts) are given as repeated rows)."""
    import shap

    if weights is not None:
        background = np.repeat(background, np.rint(weights).astype(int), axis=0)
    masker = shap.maskers.Independent(background, max_samples=len(background))
    explainer = shap.explainers.Exact(lambda Z: np.asarray(predict(np.asarray(Z, dtype=np.float64))).ravel(), masker)
    result = explainer(X, silent=True)
    base = np.broadcast_to(np.asarray(result.base_values, dtype=np.float64), (len(X),)).copy()
    return Explanation(np.asarray(result.values, dtype=np.float64), base, np.asarray(predict(X)).ravel())
