"""Metrics of predictions of -log10(sigma) with a Gaussian uncertainty, as the paper defines them.

``regression_metrics(y, mean, std)`` returns R2 (1 - SSE/SST over the films scored), RMSE,
MAE, MAPE (mean of |y - mean| / |y| on -log10 sigma, a fraction as in the paper: 0.054), the
Gaussian negative log-likelihood per film, and the share of films within 1, 2 and 3 standard
deviations (coverage_1s, coverage_2s, coverage_3s; nominal 0.683, 0.954, 0.997).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["regression_metrics", "METRIC_KEYS", "STD_FLOOR"]

METRIC_KEYS = ("r2", "rmse", "mae", "mape", "nll", "coverage_1s", "coverage_2s", "coverage_3s")
STD_FLOOR = 1e-6  # a zero spread would make the NLL infinite


def regression_metrics(y, mean, std=None) -> dict:
    """All metrics of one model on the films given (NaN for the uncertainty metrics if std is None)."""
    y = np.asarray(y, dtype=np.float64)
    mean = np.asarray(mean, dtype=np.float64)
    err = y - mean
    sst = float(np.sum((y - y.mean()) ** 2))
    out = {
        "n": int(y.size),
        "r2": float(1.0 - np.sum(err**2) / sst) if sst > 0 else float("nan"),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "mae": float(np.mean(np.abs(err))),
        "mape": float(np.mean(np.abs(err) / np.abs(y))),
    }
    if std is None:
        out.update(nll=float("nan"), coverage_1s=float("nan"), coverage_2s=float("nan"), coverage_3s=float("nan"))
        return out
    s = np.maximum(np.asarray(std, dtype=np.float64), STD_FLOOR)
    out["nll"] = float(np.mean(0.5 * math.log(2 * math.pi) + np.log(s) + 0.5 * (err / s) ** 2))
    for k in (1, 2, 3):
        out[f"coverage_{k}s"] = float(np.mean(np.abs(err) <= k * s))
    return out
