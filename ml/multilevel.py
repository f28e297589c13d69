"""A linear multilevel model: ridge-shrunk film-level descriptors plus a random intercept per paper,
fitted by REML, predicting with its empirical-Bayes predictive distribution.

    y = mu + Xs b + u_paper + e,   b ~ N(0, sig2 / alpha_k) per column kind k,
                                   u ~ N(0, tau2 = lam sig2),   e ~ N(0, sig2),   mu flat

Xs: the descriptors standardised with the training rows. The ridge penalties (one for the 0/1 flag
columns such as the film's phase, one for the continuous ones) and lam are chosen together by
restricted maximum likelihood on the training rows only (the ridge prior makes b a random effect,
so this is the evidence of the ridge penalty too); sig2 is profiled out. Everything is a (1 + p + G)
square linear system (the paper block is diagonal and eliminated first), solved in closed form:
deterministic, milliseconds a fit, no sampler.

Prediction for a row of a paper seen in fit uses that paper's shrunken offset and the posterior
covariance of (mu, b, u); a paper not seen in fit (or groups None) gets offset 0 and tau2 added to
its variance, so a known paper's interval is narrower than a new one's. The variance is widened to the
95 % interval of the Student-t predictive with n - edf degrees of freedom (edf: trace of the hat
matrix), since sig2, tau2 and the penalties are estimated from the same few rows. groups None in fit: every
row is its own paper (the two variance components cannot be told apart there: lam is fixed at 1,
as ml/paper_effects.py splits them).
"""

from __future__ import annotations

import numpy as np

from .contract import Members, Model

__all__ = ["MultilevelModel", "LOG_BOUNDS"]

# Search bounds of log(alpha) (ridge penalties on standardised columns) and log(lam) (tau2 / sig2).
LOG_BOUNDS = {"alpha": (np.log(1e-3), np.log(1e4)), "lam": (np.log(1e-4), np.log(1e4))}


class MultilevelModel(Model):
    """Ridge fixed effects + a paper random intercept by REML (see the module docstring).

    penalties: "kind" (one ridge penalty for flag columns, one for continuous ones), "one" (a single
    penalty), or a float (that penalty, fixed). columns: indices of X used as fixed effects (None:
    every column; () : none, i.e. the mean plus paper offsets)."""

    name = "multilevel"
    stochastic = False
    uses_groups = True  # fit and predict take each row's paper (ml/contract.py)

    def __init__(self, random_state: int = 0, penalties="kind", columns=None):
        self.random_state = random_state
        self.penalties = penalties
        self.columns = columns

    # ------------------------------------------------------------------ fit

    def _design(self, X):
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"X must be a 2-D matrix (got shape {X.shape})")
        return X if self.columns is None else X[:, list(self.columns)]

    def fit(self, X, y, seeds=None, groups=None):
        X, y = self._design(X), np.asarray(y, dtype=np.float64).reshape(-1)
        if len(X) != len(y) or len(y) < 2:
            raise ValueError(f"multilevel: need at least 2 rows with one target each (X {len(X)}, y {len(y)})")
        if np.isnan(X).any() or np.isnan(y).any():
            raise ValueError("multilevel: NaN in the descriptors or targets (impute them first)")
        self.seed_ = int(self._seeds(seeds)[0])
        # groups None: every row its own paper, lam fixed at 1; the intercepts then only double the noise, so
        # they are folded into it (no n x n block) and every query is a new paper
        self.papers_, gi = np.unique(np.zeros(0) if groups is None else np.asarray(groups), return_inverse=True)
        self.x_mean_ = X.mean(axis=0)
        sd = X.std(axis=0)
        self.x_std_ = np.where(sd > 0, sd, 1.0)
        Xs = (X - self.x_mean_) / self.x_std_
        keep = sd > 0  # constant columns carry nothing
        Xs = Xs[:, keep]
        self.keep_ = keep
        flags = np.all((X[:, keep] == 0) | (X[:, keep] == 1), axis=0)
        kinds = np.zeros(Xs.shape[1], dtype=int) if self.penalties != "kind" else flags.astype(int)
        n, G = len(y), len(self.papers_)
        if groups is not None and len(groups) != n:
            raise ValueError(f"multilevel: {len(groups)} groups for {n} rows")
        Z = np.zeros((n, G))
        if G:
            Z[np.arange(n), gi] = 1.0
        W = np.hstack([np.ones((n, 1)), Xs, Z])
        WtW, Wty, yty = W.T @ W, W.T @ y, float(y @ y)
        p = Xs.shape[1]
        used_kinds = sorted(set(kinds.tolist()))
        identifiable = G > 1 and np.bincount(gi).max() > 1

        def prior(theta):
            """Prior precision diagonal (sig2 units) and its log-determinant over the random part."""
            if isinstance(self.penalties, (int, float)) and not isinstance(self.penalties, bool):
                alphas = np.full(p, float(self.penalties))
                lam = np.exp(theta[0]) if identifiable else 1.0
            else:
                a = dict(zip(used_kinds, np.exp(theta[:len(used_kinds)])))
                alphas = np.array([a[k] for k in kinds]) if p else np.zeros(0)
                lam = np.exp(theta[len(used_kinds)]) if identifiable else 1.0
            d = np.concatenate([[0.0], alphas, np.full(G, 1.0 / lam)])
            return d, float(np.sum(np.log(alphas))) - G * np.log(lam), lam

        k = 1 + p  # the intercept and the descriptors; the G paper intercepts have a diagonal block
        B0, C, n_g = WtW[:k, :k], WtW[:k, k:], np.diag(WtW)[k:]
        b, dv = Wty[:k], Wty[k:]

        def objective(theta):
            """-2 restricted log-likelihood, sig2 profiled out; the paper block eliminated (Schur complement)."""
            d, logdet_p, _ = prior(theta)
            D = n_g + d[k:]
            CD = C / D
            try:
                L = np.linalg.cholesky(B0 + np.diag(d[:k]) - CD @ C.T)
            except np.linalg.LinAlgError:
                return 1e300
            z = np.linalg.solve(L, b - CD @ dv)
            S = max(yty - float(dv @ (dv / D)) - float(z @ z), 1e-12)
            logdet_a = float(np.sum(np.log(D))) + 2 * float(np.sum(np.log(np.diag(L))))
            return (n - 1) * np.log(S / (n - 1)) + logdet_a - logdet_p

        fixed = isinstance(self.penalties, (int, float)) and not isinstance(self.penalties, bool)
        bounds = ([] if fixed or not p else [LOG_BOUNDS["alpha"]] * len(used_kinds)) + \
                 ([LOG_BOUNDS["lam"]] if identifiable else [])
        theta = self._optimise(objective, bounds)
        d, _, lam = prior(theta)
        A = WtW + np.diag(d)
        self.cov_ = np.linalg.inv(A)  # posterior covariance of (mu, b, u) in sig2 units
        self.coef_ = self.cov_ @ Wty
        S = max(yty - float(Wty @ self.coef_), 1e-12)
        self.scale_ = self.sig2_ = max(S / (n - 1), 1e-6)  # scale_: the unit of cov_
        self.tau2_ = lam * self.sig2_
        if groups is None:  # the folded noise splits equally into sig2 and tau2
            self.sig2_ = self.tau2_ = self.sig2_ / 2
        self.alpha_ = d[1:1 + p]
        self.p_ = p
        # Student-t predictive with the fit's residual degrees of freedom (n - trace of the hat matrix), as the
        # Gaussian with the same 95 % interval: the scale and penalties were estimated from these few rows.
        from scipy.stats import t as student

        self.edf_ = float(np.einsum("ij,jk,ik->", W, self.cov_, W))
        self.dof_ = max(n - self.edf_, 1.0)
        self.t_scale_ = float(student.ppf(0.975, self.dof_) / student.ppf(0.975, np.inf))
        self.theta_ = theta
        return self

    @staticmethod
    def _optimise(objective, bounds) -> np.ndarray:
        """Minimise over log hyper-parameters: a coarse grid, then Powell's method from its best point (derivative
        free; 5-7x cheaper than L-BFGS-B's finite differences when a penalty sits at its bound)."""
        if not bounds:
            return np.zeros(0)
        from itertools import product

        from scipy.optimize import minimize

        axes = [np.linspace(lo, hi, 7 if len(bounds) <= 2 else 5) for lo, hi in bounds]
        start = min(product(*axes), key=lambda t: objective(np.asarray(t)))
        res = minimize(objective, np.asarray(start), method="Powell", bounds=bounds)
        return res.x if res.fun <= objective(np.asarray(start)) else np.asarray(start)

    # -------------------------------------------------------------- predict

    def _rows(self, X, groups):
        X = self._design(X)
        Xs = ((X - self.x_mean_) / self.x_std_)[:, self.keep_]
        m, G = len(X), len(self.papers_)
        Z = np.zeros((m, G))
        known = np.zeros(m, dtype=bool)
        if groups is not None and G:
            groups = np.asarray(groups)
            pos = np.searchsorted(self.papers_, groups)
            pos = np.clip(pos, 0, G - 1)
            known = self.papers_[pos] == groups
            Z[np.flatnonzero(known), pos[known]] = 1.0
        return np.hstack([np.ones((m, 1)), Xs, Z]), known

    def predict_parts(self, X, groups=None) -> dict:
        """Per row: mean, variance, whether its paper was seen in fit, and that paper's offset."""
        W, known = self._rows(X, groups)
        mean = W @ self.coef_
        var = (self.sig2_ + self.scale_ * np.einsum("ij,jk,ik->i", W, self.cov_, W)
               + np.where(known, 0.0, self.tau2_))
        var = var * self.t_scale_**2
        offset = W[:, 1 + self.p_:] @ self.coef_[1 + self.p_:]
        return {"mean": mean, "var": var, "known_paper": known, "offset": offset}

    def predict_dist(self, X, groups=None):
        p = self.predict_parts(X, groups)
        return p["mean"], p["var"]

    def predict_members(self, X, groups=None) -> Members:
        mean, var = self.predict_dist(X, groups)
        return Members(mean[None, :], var[None, :])

    # ---------------------------------------------------------------- state

    _ARRAYS = ("x_mean_", "x_std_", "keep_", "papers_", "coef_", "cov_", "alpha_", "theta_")
    _SCALARS = ("seed_", "p_", "sig2_", "tau2_", "scale_", "edf_", "dof_", "t_scale_")

    def to_state(self) -> tuple[dict, dict]:
        """(JSON-able values, named arrays) holding everything predictions read (for ml/model_state.py)."""
        meta = {"params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.get_params().items()},
                **{k.rstrip("_"): float(getattr(self, k)) for k in self._SCALARS}}
        papers = np.asarray(self.papers_)
        arrays = {k.rstrip("_"): np.asarray(getattr(self, k)) for k in self._ARRAYS}
        arrays["papers"] = papers.astype(str) if papers.dtype == object else papers
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict, arrays: dict) -> "MultilevelModel":
        """The fitted model :meth:`to_state` described."""
        m = cls(**meta["params"])
        for k in cls._ARRAYS:
            setattr(m, k, np.asarray(arrays[k.rstrip("_")]))
        for k in cls._SCALARS:
            setattr(m, k, int(meta[k.rstrip("_")]) if k in ("seed_", "p_") else float(meta[k.rstrip("_")]))
        m.keep_ = m.keep_.astype(bool)
        return m
