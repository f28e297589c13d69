"""Domain of applicability: where a query lies relative to the films a model was trained on."""

from __future__ import annotations

import numpy as np

__all__ = ["ranges", "outside_range"]


def ranges(X_train, names) -> dict:
    """{descriptor: (min, max)} over the training rows."""
    X_train = np.asarray(X_train, dtype=np.float64)
    return {d: (float(X_train[:, j].min()), float(X_train[:, j].max())) for j, d in enumerate(names)}


def outside_range(X_train, X, names, tolerance: float = 1e-9) -> list[list[str]]:
    """Per row of X, the descriptors outside the training range (empty list: inside every range)."""
    X_train, X = np.asarray(X_train, dtype=np.float64), np.asarray(X, dtype=np.float64)
    lo, hi = X_train.min(axis=0), X_train.max(axis=0)
    slack = tolerance * np.maximum(1.0, np.abs(hi - lo))
    out = (X < lo - slack) | (X > hi + slack)
    return [[names[j] for j in np.flatnonzero(row)] for row in out]
