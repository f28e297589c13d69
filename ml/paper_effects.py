"""Films of one paper share a level: a random intercept per paper, estimated by REML and shrunk by
empirical Bayes.

Residuals r of a model (measured minus predicted, the prediction made without the film's paper)
are modelled as r = mu + u_paper + e, u ~ N(0, tau2), e ~ N(0, sig2). For a film whose paper has
k other films in training, the paper's offset is their mean residual shrunk toward mu by
k tau2 / (k tau2 + sig2); for a new paper the offset is 0 with variance tau2. So a user with
films from their own lab gets the lab's offset, and a new setup gets the between-paper spread.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["Components", "reml", "offset", "calibration_scores"]


class Components(NamedTuple):
    """Variance components of the residuals: mean, between-paper and within-paper variance."""

    mu: float
    tau2: float
    sig2: float
    var_mu: float  # variance of the estimate of mu


def _profile(r, g):
    """REML parts as a function of lam = tau2 / sig2 (one-way random effects, profiled)."""
    _, gi = np.unique(g, return_inverse=True)
    n_g = np.bincount(gi).astype(float)
    s_g = np.bincount(gi, weights=r)

    def parts(lam):
        w = n_g / (1.0 + n_g * lam)
        mu = np.sum(s_g / (1.0 + n_g * lam)) / np.sum(w)
        q = np.sum((r - mu) ** 2) - np.sum(lam / (1.0 + n_g * lam) * (s_g - n_g * mu) ** 2)
        return mu, q, np.sum(np.log1p(n_g * lam)), np.sum(w)

    return parts, n_g


def reml(r, g) -> Components:
    """REML estimate of the components of r grouped by paper g (lam bounded to 1e-4..1e4)."""
    from scipy.optimize import minimize_scalar

    r, g = np.asarray(r, dtype=np.float64), np.asarray(g)
    n = len(r)
    parts, n_g = _profile(r, g)

    def objective(log_lam):
        _, q, log_det, w = parts(np.exp(log_lam))
        return 0.5 * ((n - 1) * np.log(max(q, 1e-300) / (n - 1)) + log_det + np.log(w))

    if np.any(n_g > 1) and len(n_g) > 1:
        lam = float(np.exp(minimize_scalar(objective, bounds=(np.log(1e-4), np.log(1e4)), method="bounded",
                                           options={"xatol": 1e-4}).x))
    else:  # no paper with two films: the two components cannot be told apart; split equally
        lam = 1.0 if len(n_g) > 1 else 1e-4
    mu, q, _, w = parts(lam)
    sig2 = max(q / max(n - 1, 1), 1e-4)
    return Components(float(mu), lam * sig2, sig2, sig2 / w)


def offset(c: Components, sibling_residuals) -> tuple[float, float]:
    """Empirical-Bayes offset of a paper from its k training films' residuals: (offset - mu, variance)."""
    k = len(sibling_residuals)
    if k == 0:
        return 0.0, c.tau2
    shrink = k * c.tau2 / (k * c.tau2 + c.sig2)
    return shrink * (float(np.mean(sibling_residuals)) - c.mu), c.tau2 * c.sig2 / (k * c.tau2 + c.sig2)


def calibration_scores(r, g, k: int | None = None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Held-out normalised residuals z and their kind ("new" / "known") on the training films alone.
    k None (leave-one-out): each paper left out predicts its films as a new paper; each film with
    siblings left out is predicted with its paper's offset from the others. k folds (the grouped K-fold
    rule above ml.folds.LOO_MAX_PAPERS papers, where refitting the components once per paper and once
    per film grows with the square of the films): the papers in k groups (GroupKFold), each group
    predicted as new papers from the components of the others; the films in k seeded groups (KFold),
    each film predicted with its paper's offset from its siblings outside its group (films whose
    siblings are all in its group give no "known" score)."""
    r, g = np.asarray(r, dtype=np.float64), np.asarray(g)
    if k is not None:
        return _kfold_scores(r, g, int(k), seed)
    z, kind = [], []
    for paper in np.unique(g):
        out = g == paper
        c = reml(r[~out], g[~out])
        z += list((r[out] - c.mu) / np.sqrt(c.sig2 + c.tau2 + c.var_mu))
        kind += ["new"] * int(out.sum())
    for j in range(len(r)):
        siblings = (g == g[j]) & (np.arange(len(r)) != j)
        if not siblings.any():
            continue
        keep = np.arange(len(r)) != j
        c = reml(r[keep], g[keep])
        u, v = offset(c, r[siblings])
        z.append((r[j] - c.mu - u) / np.sqrt(c.sig2 + v + c.var_mu))
        kind.append("known")
    return np.asarray(z), np.asarray(kind)


def _kfold_scores(r, g, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """calibration_scores with k folds of papers and k folds of films (see there)."""
    from sklearn.model_selection import GroupKFold, KFold

    z, kind = [], []
    for keep, out in GroupKFold(n_splits=min(k, len(np.unique(g)))).split(r, groups=g):
        c = reml(r[keep], g[keep])
        z += list((r[out] - c.mu) / np.sqrt(c.sig2 + c.tau2 + c.var_mu))
        kind += ["new"] * len(out)
    for keep, out in KFold(n_splits=min(k, len(r)), shuffle=True, random_state=seed).split(r):
        c = reml(r[keep], g[keep])
        for j in out:
            siblings = r[keep][g[keep] == g[j]]
            if len(siblings):
                u, v = offset(c, siblings)
                z.append((r[j] - c.mu - u) / np.sqrt(c.sig2 + v + c.var_mu))
                kind.append("known")
    return np.asarray(z), np.asarray(kind)
