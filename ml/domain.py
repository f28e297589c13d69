"""Domain of applicability: where a query lies relative to the films a model was trained on."""

from __future__ import annotations

import numpy as np

__all__ = ["ranges", "range_report", "Domain"]


def ranges(X_train, names) -> dict:
    """{descriptor: (min, max)} over the training rows (their known values)."""
    X_train = np.asarray(X_train, dtype=np.float64)
    if not np.isnan(X_train).any():
        return {d: (float(X_train[:, j].min()), float(X_train[:, j].max())) for j, d in enumerate(names)}
    return {d: (float(_nan_stat(np.nanmin, X_train[:, [j]], np.nan)[0]), float(_nan_stat(np.nanmax, X_train[:, [j]], np.nan)[0]))
            for j, d in enumerate(names)}


def range_report(training_ranges: dict, X, names) -> list[str]:
    """Per row of X, one line naming each descriptor outside its training range and by how much
    ('' inside every range): 'substrate_dielectric 300 above the training range 5.3-58 by 4.3x its width'."""
    X = np.asarray(X, dtype=np.float64)
    lines = []
    for row in X:
        parts = []
        for j, name in enumerate(names):
            lo, hi = training_ranges[name]
            width = max(hi - lo, 1e-12 * max(1.0, abs(hi)))
            v = row[j]
            if np.isnan(v) or np.isnan(lo) or lo - 1e-9 * width <= v <= hi + 1e-9 * width:
                continue
            side, gap = ("above", v - hi) if v > hi else ("below", lo - v)
            parts.append(f"{name} {v:.4g} {side} the training range {lo:.4g}-{hi:.4g} by {gap / width:.2g}x its width")
        lines.append("; ".join(parts))
    return lines


class Domain:
    """How far a query lies from the training films, in standardised descriptor space: the distance to
    the nearest training film, against a threshold set from the training films themselves (the 95th
    percentile of each film's distance to the nearest film of another paper)."""

    def __init__(self, quantile: float = 0.95):
        self.quantile = quantile

    def fit(self, Z, groups) -> "Domain":
        Z = np.asarray(Z, dtype=np.float64)
        gaps = np.isnan(Z).any()
        self.mean_ = _nan_stat(np.nanmean, Z, 0.0) if gaps else Z.mean(axis=0)
        sd = _nan_stat(np.nanstd, Z, 1.0) if gaps else Z.std(axis=0)
        self.scale_ = np.where(sd > 0, sd, 1.0)
        self.Z_ = (Z - self.mean_) / self.scale_
        d = _distances(self.Z_, self.Z_)
        d[np.asarray(groups)[:, None] == np.asarray(groups)[None, :]] = np.inf  # other papers only
        nearest = d.min(axis=1)
        finite = nearest[np.isfinite(nearest)]
        self.threshold_ = float(np.quantile(finite, self.quantile)) if len(finite) else float("inf")
        return self

    def distance(self, Z) -> np.ndarray:
        """Distance of each query row to its nearest training film (standardised units)."""
        Zq = (np.asarray(Z, dtype=np.float64) - self.mean_) / self.scale_
        return _distances(Zq, self.Z_).min(axis=1)


def _distances(A, B) -> np.ndarray:
    """Euclidean distances; with missing coordinates, scikit-learn's nan_euclidean_distances (the observed
    coordinates, scaled up by their share), and infinite where two rows share no observed coordinate."""
    if not (np.isnan(A).any() or np.isnan(B).any()):
        return np.sqrt(((A[:, None, :] - B[None, :, :]) ** 2).sum(axis=-1))
    from sklearn.metrics.pairwise import nan_euclidean_distances

    d = nan_euclidean_distances(A, B)
    return np.where(np.isnan(d), np.inf, d)


def _nan_stat(stat, Z, empty: float) -> np.ndarray:
    """stat over the observed values of each column (`empty` for a column with none)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = stat(Z, axis=0)
    return np.where(np.isnan(out), empty, out)
