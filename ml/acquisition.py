"""Which candidate to measure next: acquisition scores from a Gaussian predictive mean and sd, ranking
with out-of-domain candidates kept apart, and a diversity filter. Pure functions of arrays.

The target is y = -log10(sigma / S cm^-1), so LOWER is better; every score is "higher is better":
  exploit   expected improvement over the best measured film y_best:
            EI = E[max(0, y_best - Y)] = (y_best - m) Phi(z) + s phi(z), z = (y_best - m) / s
            (in decades of conductivity; Jones, Schonlau & Welch 1998)
  explore   the predictive variance s^2 (most informative: where the model knows least)
  balanced  the upper confidence bound of log10 sigma, -(m - KAPPA s) (Srinivas et al. 2010)
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

__all__ = ["GOALS", "KAPPA", "expected_improvement", "variance", "upper_confidence_bound", "score", "rank",
           "diverse"]

GOALS = ("exploit", "explore", "balanced")
KAPPA = 1.96  # UCB width: the upper end of the two-sided 95 % interval of log10 sigma
_DECIMALS = 9  # scores equal to this many decimals are ties (broken by domain distance, see rank)


def expected_improvement(mean, sd, best: float) -> np.ndarray:
    """EI of y below `best` for Y ~ N(mean, sd^2) (minimisation); max(0, best - mean) where sd is 0."""
    mean, sd = np.asarray(mean, dtype=np.float64), np.asarray(sd, dtype=np.float64)
    gain = best - mean
    safe = np.where(sd > 0, sd, 1.0)
    z = gain / safe
    ei = gain * norm.cdf(z) + safe * norm.pdf(z)
    return np.where(sd > 0, np.maximum(ei, 0.0), np.maximum(gain, 0.0))


def variance(sd) -> np.ndarray:
    """The predictive variance sd^2."""
    return np.asarray(sd, dtype=np.float64) ** 2


def upper_confidence_bound(mean, sd, kappa: float = KAPPA) -> np.ndarray:
    """The optimistic log10 sigma -(mean - kappa sd): high where the prediction is good or uncertain."""
    return -(np.asarray(mean, dtype=np.float64) - kappa * np.asarray(sd, dtype=np.float64))


def score(goal: str, mean, sd, best: float, kappa: float = KAPPA) -> np.ndarray:
    """The acquisition score of `goal` (GOALS) for each candidate; higher is better."""
    if goal == "exploit":
        return expected_improvement(mean, sd, best)
    if goal == "explore":
        return variance(sd)
    if goal == "balanced":
        return upper_confidence_bound(mean, sd, kappa)
    raise ValueError(f"unknown goal {goal!r} (expected one of {', '.join(GOALS)})")


def rank(scores, in_domain, distance, goal: str, tested=None) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the in-domain candidates, best first, and of the out-of-domain ones, best first (a
    separate list: never ranked among the others). Ties (equal to _DECIMALS) go first to a candidate not
    `tested` yet, then to the one nearest the training films for exploit and balanced (best supported),
    farthest for explore (least known), then to the earlier index."""
    scores, distance = np.asarray(scores, dtype=np.float64), np.asarray(distance, dtype=np.float64)
    tested = np.zeros(len(scores), bool) if tested is None else np.asarray(tested, dtype=bool)
    tie = -distance if goal == "explore" else distance
    order = np.lexsort((np.arange(len(scores)), tie, tested, -np.round(scores, _DECIMALS)))
    inside = np.asarray(in_domain, dtype=bool)[order]
    return order[inside], order[~inside]


def diverse(order, substrate, temperature, gap: float, top: int | None = None) -> np.ndarray:
    """`order` (best first) without any candidate that shares its substrate with a better one kept and
    lies closer than `gap` to it in temperature (gap = the grid's temperature step); the first `top`."""
    substrate, temperature = np.asarray(substrate), np.asarray(temperature, dtype=np.float64)
    kept: list[int] = []
    for i in order:
        if top is not None and len(kept) >= top:
            break
        if all(substrate[j] != substrate[i] or abs(temperature[j] - temperature[i]) >= gap - 1e-9 for j in kept):
            kept.append(int(i))
    return np.array(kept, dtype=int)
