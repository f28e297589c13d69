"""Films with a missing descriptor, modelled: any family wrapped in multiple imputation.

:class:`Imputed` follows the model contract (ml/contract.py). On its training rows only it fits
``n_imputations`` scikit-learn IterativeImputers (chained Bayesian-ridge regressions over the
descriptors missing there, IMPUTATION_ROUNDS rounds, each drawing its imputations from the posterior
with its own seed, on descriptors standardised with the training rows) and fits one copy of the
wrapped model per imputed training set. A query's gaps are drawn from imputers fitted on those
training sets (a held-out film reaches no imputer's fit) and each imputation is predicted by its copy;
the copies are combined by Rubin's rules (Rubin 1987, *Multiple Imputation for Nonresponse in
Surveys*): mean = average of the copies' means, variance = average within-copy variance
+ (1 + 1/M) x between-copy variance of the means. What is not known widens the interval.

When neither the training rows nor a query row has a missing value, the wrapped model is fitted
and asked as it is: the same numbers bit for bit. A query row's imputations depend on that row only
(each is drawn from its imputer's seed afresh), so a film's prediction never depends on which other
films are asked with it.
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np

from .contract import Members, Model
from .members import mixture

__all__ = ["Imputed", "for_missing"]

_IMPUTER_SEED_STRIDE = 7919  # imputation j of a model seeded s draws with seed s * stride + j
# Rounds of chained equations for the training rows: mice's default (van Buuren & Groothuis-Oudshoorn
# 2011, maxit = 5); with posterior draws no convergence test applies. A cost bound, fixed before any score.
IMPUTATION_ROUNDS = 5


def for_missing(family_name: str, model):
    """`model` as it is when its family accepts missing descriptors (ml/registry.py Family.accepts_missing),
    else wrapped in :class:`Imputed`: the one call where a candidate's model is made."""
    from .registry import families

    fam = families().get(family_name)
    return model if fam is not None and fam.accepts_missing else Imputed(model)


def _takes_groups(method) -> bool:
    return "groups" in inspect.signature(method).parameters


class Imputed(Model):
    """`model` fitted on multiply imputed training rows and combined by Rubin's rules (module docstring)."""

    def __init__(self, model, n_imputations: int = 5, random_state: int = 0):
        self.model = model
        self.n_imputations = n_imputations
        self.random_state = random_state

    # the wrapped family's identity: evaluation rows, timings and repeats are its own
    @property
    def name(self) -> str:
        return self.model.name

    @property
    def stochastic(self) -> bool:
        return bool(self.model.stochastic)

    @property
    def timing_key(self) -> str:
        return self.model.timing_key

    @property
    def uses_groups(self) -> bool:
        return _takes_groups(self.model.fit)

    # ------------------------------------------------------------------ imputers

    def _seed(self, j: int) -> int:
        return int(self.random_state) * _IMPUTER_SEED_STRIDE + j

    def _scale(self, X) -> None:
        self.x_mean_ = _nanmean(X)
        sd = _nanstd(X)
        self.x_std_ = np.where(sd > 0, sd, 1.0)

    def _training_sets(self, X) -> list:
        """M imputed copies of the training rows X: chained equations over the descriptors missing there
        (skip_complete), each drawing from the posterior with its own seed. Shared by the candidates that
        impute the same rows (a bounded cache keyed by the rows' bytes, as contract.FITS)."""
        key = (X.shape, X.tobytes(), int(self.n_imputations), int(self.random_state))
        if key in _SETS:
            return _SETS[key]
        Z = (X - self.x_mean_) / self.x_std_
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", _convergence_warning())
            sets = [_imputer(self._seed(j), skip_complete=True, max_iter=IMPUTATION_ROUNDS).fit_transform(Z) * self.x_std_
                    + self.x_mean_ for j in range(int(self.n_imputations))]
        sets = [np.where(np.isnan(X), s, X) for s in sets]  # observed values exactly as given
        _SETS[key] = sets
        _trim()
        return sets

    def _query_imputer(self, j: int, missing: tuple):
        """The imputer of query gaps in the descriptors `missing`, fitted on training set j (complete:
        the rows as given, or their imputation j). IterativeImputer with skip_complete regresses only
        the descriptors that have a gap in what it is fitted on, so it is fitted on the training rows plus
        one placeholder row holding exactly those gaps (and the training means elsewhere): a regression
        is fitted on the rows where its descriptor is known, which the placeholder never is, so each
        descriptor's regression is the one on the training rows alone (one round: the rows are complete).
        Shared by the candidates that impute the same rows (the bounded cache)."""
        sets = [self.X_train_] if len(self.models_) == 1 else self._training_sets(self.X_train_)
        Zj = (sets[j] - self.x_mean_) / self.x_std_
        key = ("query", Zj.shape, Zj.tobytes(), missing, self._seed(j))
        if key not in _SETS:
            placeholder = Zj.mean(axis=0)
            placeholder[list(missing)] = np.nan
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", _convergence_warning())
                _SETS[key] = _imputer(self._seed(j), skip_complete=True, max_iter=1).fit(np.vstack([Zj, placeholder]))
            _trim()
        return _SETS[key]

    def _impute_row(self, row) -> np.ndarray:
        """(M, d) imputations of one query row, each drawn from its own seed afresh (so a row's imputations
        never depend on the rows asked with it)."""
        missing = tuple(int(i) for i in np.flatnonzero(np.isnan(row)))
        z = ((row - self.x_mean_) / self.x_std_)[None, :]
        out = np.empty((int(self.n_imputations), len(row)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", _convergence_warning())
            for j in range(len(out)):
                imp = self._query_imputer(j if len(self.models_) > 1 else 0, missing)
                imp.random_state_ = np.random.RandomState(self._seed(j) + 1)
                out[j] = imp.transform(z)[0] * self.x_std_ + self.x_mean_
        return np.where(np.isnan(row), out, row)  # observed values exactly as given

    # ------------------------------------------------------------------ contract

    def _kw(self, method, groups) -> dict:
        return {"groups": groups} if groups is not None and _takes_groups(method) else {}

    def fit(self, X, y, seeds=None, groups=None):
        from sklearn.base import clone

        X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
        self.X_train_ = X
        self._scale(X)
        self.n_missing_ = int(np.isnan(X).any(axis=1).sum())  # training rows with a gap
        sets = [X] if not self.n_missing_ else self._training_sets(X)
        self.models_ = [clone(self.model).fit(Xj, y, seeds=seeds, **self._kw(self.model.fit, groups)) for Xj in sets]
        return self

    def _members(self, model, X, groups) -> Members:
        return model.predict_members(X, **self._kw(model.predict_members, groups))

    def predict_members(self, X, groups=None) -> Members:
        X = np.asarray(X, dtype=np.float64)
        gaps = np.isnan(X).any(axis=1)
        if len(self.models_) == 1 and not gaps.any():
            return self._members(self.models_[0], X, groups)  # nothing imputed: the wrapped model itself
        M = int(self.n_imputations)
        Xs = np.repeat(X[None], M, axis=0)  # (M, n, d): imputation j of every row
        for i in np.flatnonzero(gaps):
            Xs[:, i] = self._impute_row(X[i])
        parts = [self._members(self.models_[j if len(self.models_) > 1 else 0], Xs[j], groups) for j in range(M)]
        if any(p.var is None for p in parts):  # a family of point predictions: its members, imputations stacked
            return Members(np.concatenate([p.mean for p in parts]), None)
        means, sds = zip(*[mixture(p.mean, p.var)[:2] for p in parts])
        means, within = np.asarray(means), np.mean(np.square(sds), axis=0)
        between = means.var(axis=0, ddof=1) if M > 1 else np.zeros(len(X))
        mean, var = means.mean(axis=0), within + (1 + 1 / M) * between
        if len(self.models_) == 1 and not gaps.all():  # training rows complete: rows without a gap are the wrapped model's own
            own = self._members(self.models_[0], X[~gaps], None if groups is None else np.asarray(groups)[~gaps])
            if len(own.mean) == 1:
                mean[~gaps], var[~gaps] = own.mean[0], own.var[0]
            else:
                m0, s0, _ = mixture(own.mean, own.var)
                mean[~gaps], var[~gaps] = m0, s0**2
        return Members(mean[None, :], var[None, :])

    # ------------------------------------------------------------------ evaluation: the wrapped model's own when nothing is missing

    def fit_copies(self, X, y, masks, seeds, tests, progress=None, n_jobs: int = 1, **papers) -> Members:
        """papers: the contract's groups and new_papers, passed on as they came."""
        if not np.isnan(np.asarray(X, dtype=np.float64)).any():
            return self.model.fit_copies(X, y, masks, seeds, tests, progress, n_jobs=n_jobs, **papers)
        return super().fit_copies(X, y, masks, seeds, tests, progress, n_jobs=n_jobs, **papers)

    def cross_predict(self, X, y, layout, progress=None, cache=None, timings=None) -> Members:
        if not np.isnan(np.asarray(X, dtype=np.float64)).any():
            return self.model.cross_predict(X, y, layout, progress, cache, timings)
        return super().cross_predict(X, y, layout, progress, cache, timings)

    def evaluation_rows(self, members: Members):
        return self.model.evaluation_rows(members)


_SETS: dict = {}  # imputed training sets and query imputers by the rows they came from (oldest out first)
_SETS_SIZE = 2_000


def _trim() -> None:
    while len(_SETS) > _SETS_SIZE:
        _SETS.pop(next(iter(_SETS)))


def _convergence_warning():
    from sklearn.exceptions import ConvergenceWarning

    return ConvergenceWarning


def _imputer(seed: int, skip_complete: bool, max_iter: int):
    """scikit-learn's IterativeImputer (Bayesian ridge per descriptor), drawing from the posterior (its
    convergence warnings are expected: with posterior draws it runs every round; callers silence them)."""
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer

    return IterativeImputer(sample_posterior=True, max_iter=max_iter, random_state=seed, skip_complete=skip_complete,
                  keep_empty_features=True)


def _nanmean(X) -> np.ndarray:
    seen = ~np.isnan(X)
    n = seen.sum(axis=0)
    return np.where(n > 0, np.where(seen, X, 0.0).sum(axis=0) / np.maximum(n, 1), 0.0)


def _nanstd(X) -> np.ndarray:
    seen = ~np.isnan(X)
    n = seen.sum(axis=0)
    dev = np.where(seen, X - _nanmean(X), 0.0)
    return np.where(n > 1, np.sqrt((dev**2).sum(axis=0) / np.maximum(n, 1)), 1.0)
