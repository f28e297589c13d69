"""Metrics of predictions of -log10(sigma) with a Gaussian uncertainty.

``regression_metrics(y, mean, std)`` returns R2 (1 - SSE/SST over the films scored), RMSE, MAE,
MAPE (mean of |y - mean| / |y| on -log10 sigma, a fraction as in the paper: 0.054), the Gaussian
negative log-likelihood and CRPS per film, the share of films inside the central 68 % and 95 %
intervals (``coverage_1s``, ``coverage_2s``: mean -+ 0.994 sd and -+ 1.960 sd) and within 3 sd
(``coverage_3s``), and the mean widths of the 68 % and 95 % intervals in decades.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["regression_metrics", "METRIC_KEYS", "STD_FLOOR", "Z68", "Z95", "crps_gaussian"]

METRIC_KEYS = ("r2", "rmse", "mae", "mape", "nll", "crps", "coverage_1s", "coverage_2s", "coverage_3s",
               "width_68", "width_95")
STD_FLOOR = 1e-6  # a zero spread would make the NLL infinite
Z68 = 0.9944578832097535  # two-sided 68.27 % quantile of the standard normal (the 1-sd interval)
Z95 = 1.959963984540054  # two-sided 95 %


def crps_gaussian(y, mean, std) -> np.ndarray:
    """Continuous ranked probability score of N(mean, std^2) at y (closed form), per film."""
    from scipy.stats import norm

    z = (y - mean) / std
    return std * (z * (2 * norm.cdf(z) - 1) + 2 * norm.pdf(z) - 1 / math.sqrt(math.pi))


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
        return {**out, **{k: float("nan") for k in METRIC_KEYS if k not in out}}
    s = np.maximum(np.asarray(std, dtype=np.float64), STD_FLOOR)
    out["nll"] = float(np.mean(0.5 * math.log(2 * math.pi) + np.log(s) + 0.5 * (err / s) ** 2))
    out["crps"] = float(np.mean(crps_gaussian(y, mean, s)))
    out["coverage_1s"] = float(np.mean(np.abs(err) <= Z68 * s))
    out["coverage_2s"] = float(np.mean(np.abs(err) <= Z95 * s))
    out["coverage_3s"] = float(np.mean(np.abs(err) <= 3 * s))
    out["width_68"] = float(np.mean(2 * Z68 * s))
    out["width_95"] = float(np.mean(2 * Z95 * s))
    return out
