"""One contract for every model family: fit on X, y and seeds; predict a mean and a variance.

In the style of scikit-learn (parameters kept as given in ``__init__``, learned state ending in
``_``, ``fit`` returns self), so that ``sklearn.base.clone``, model selection and conformal
wrappers (MAPIE, crepes) can use any family directly. The base class implements the parameter
protocol itself (:class:`Estimator`: get_params, set_params, repr, tags) instead of inheriting
scikit-learn's BaseEstimator, so that reading a trained model (a prediction) does not import
scikit-learn (about 1 s) unless the model itself is one of its estimators:

    model.fit(X, y, seeds=None)         # seeds: one per member (default: from random_state)
    model.fit(X, y, groups=papers)      # families with uses_groups: each film's paper too
    mean, var = model.predict_dist(Xq)  # predictive mean and variance of -log10 sigma
    mean = model.predict(Xq)            # or (mean, std) with return_std=True, like GaussianProcessRegressor

For evaluation, :meth:`Model.cross_predict` trains every copy of a fold layout and returns each
film's held-out member predictions; families that can train many copies at once (the vmapped
LSTM engine, PBP's ``fit_many``) override it, the rest inherit the fold-by-fold default.
"""

from __future__ import annotations

import inspect
import time
from typing import NamedTuple

import numpy as np

from .folds import Layout, held_out
from .members import member_seeds, mixture

__all__ = ["Members", "Estimator", "Model", "EvalRows", "timed", "padded", "FITS"]


class Members(NamedTuple):
    """Predictions of a model's members: means (R, m) and, for Gaussian members, variances (R, m)."""

    mean: np.ndarray
    var: np.ndarray | None = None


class EvalRows(NamedTuple):
    """One model's held-out predictions as the evaluation stores them (per_seed: each seed's own point
    predictions (R, n), for the spread of the metrics over seeds of a stochastic model)."""

    name: str
    mean: np.ndarray
    std: np.ndarray
    extra: dict
    per_seed: np.ndarray | None = None


class Estimator:
    """scikit-learn's estimator protocol (the parts `clone`, grid searches and wrappers use), written out:
    parameters are the arguments of ``__init__``, kept as attributes of the same name."""

    _estimator_type = "regressor"

    @classmethod
    def _get_param_names(cls) -> list[str]:
        if cls.__init__ is object.__init__:
            return []
        params = inspect.signature(cls.__init__).parameters.values()
        if any(p.kind == p.VAR_POSITIONAL for p in params):
            raise RuntimeError(f"{cls.__name__}.__init__ takes *args: estimators name every parameter")
        return sorted(p.name for p in params if p.name != "self" and p.kind != p.VAR_KEYWORD)

    def get_params(self, deep: bool = True) -> dict:
        """The parameters (and with deep, those of nested estimators as `name__param`)."""
        out = {}
        for key in self._get_param_names():
            value = getattr(self, key)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{key}__{k}", v) for k, v in value.get_params().items())
            out[key] = value
        return out

    def set_params(self, **params):
        """Set parameters (nested ones as `name__param`); returns self."""
        valid = self.get_params(deep=True)
        nested = {}
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in valid:
                raise ValueError(f"invalid parameter {name!r} for estimator {type(self).__name__}; "
                                 f"valid parameters are: {sorted(self._get_param_names())}")
            if sub:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
                valid[name] = value
        for name, sub in nested.items():
            valid[name].set_params(**sub)
        return self

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params(deep=False).items())
        return f"{type(self).__name__}({params})"

    def __sklearn_tags__(self):
        from sklearn.utils import InputTags, RegressorTags, Tags, TargetTags

        return Tags(estimator_type="regressor", target_tags=TargetTags(required=True), regressor_tags=RegressorTags(),
                    input_tags=InputTags())

    def score(self, X, y, sample_weight=None) -> float:
        """R^2 of the predicted mean (scikit-learn's regressor score)."""
        from sklearn.metrics import r2_score

        return float(r2_score(y, self.predict(X), sample_weight=sample_weight))


class Model(Estimator):
    """Base of every family. Subclasses set `name`, `stochastic` and implement `fit` and
    `predict_members`; `cross_predict` may be overridden for speed."""

    name = "model"
    stochastic = False  # True: one member per seed; False: one deterministic fit (seed = random_state)
    # True: fit(X, y, seeds=None, groups=None) and predict_members(X, groups=None) take each row's paper
    # (reference id; a paper not seen in fit is a new one), and evaluation and the nested candidates pass it
    uses_groups = False
    # True: the evaluation gives X as every column any model uses (schema MODEL_COLUMNS), not one set's
    wants_model_columns = False
    timing_key = "baselines_s"  # where evaluation timings add up this family's seconds

    def _seeds(self, seeds) -> np.ndarray:
        if seeds is not None:
            return np.asarray(seeds, dtype=np.int64).reshape(-1)
        state = int(getattr(self, "random_state", 0) or 0)
        return member_seeds(state, self.repeats) if self.stochastic else np.array([state])

    def fit(self, X, y, seeds=None):
        raise NotImplementedError

    def predict_members(self, X) -> Members:
        raise NotImplementedError

    def predict_dist(self, X, groups=None) -> tuple[np.ndarray, np.ndarray]:
        """Predictive mean and variance at the rows of X (groups: their papers, for a family that uses them)."""
        X = np.asarray(X, dtype=np.float64)
        members = self.predict_members(X, groups=groups) if self.uses_groups else self.predict_members(X)
        mean, std, _ = mixture(members.mean, members.var)
        return mean, std**2

    def predict(self, X, return_std: bool = False, groups=None):
        mean, var = self.predict_dist(X, groups) if self.uses_groups else self.predict_dist(X)
        return (mean, np.sqrt(var)) if return_std else mean

    def cross_predict(self, X, y, layout: Layout, progress=None, cache=None, timings=None) -> Members:
        """Held-out member predictions (R, n) of every film: one fit per fold (and per repeat if stochastic).
        `cache` (a dict shared by one evaluation) lets composite models reuse their parts' predictions."""
        cache = {} if cache is None else cache
        if self.name not in cache:
            L = layout if self.stochastic else layout.single()
            with timed(timings, self.timing_key):
                m = self.fit_copies(X, y, L.masks, L.seeds, L.test[L.fold_of], progress,
                                    **({"groups": L.groups} if self.uses_groups else {}))
            cache[self.name] = Members(held_out(m.mean, L), None if m.var is None else held_out(m.var, L))
        return cache[self.name]

    def fit_copies(self, X, y, masks, seeds, tests, progress=None, n_jobs: int = 1, groups=None,
                   new_papers: bool = False) -> Members:
        """Fit one copy per row of `masks` (its training rows) with its seed; predictions (C, n) of each
        copy on its `tests` rows (other entries NaN). n_jobs > 1 spreads the copies over processes.
        groups (n,), each row's paper, for a family that uses them: a copy's fit gets those of its training
        rows, its predictions those of its test rows (new_papers: none, every test row is predicted as a new
        paper's, for a caller that adds known papers' offsets itself).
        A deterministic family's fit is a function of its parameters, seed and data, so a copy whose
        training and test rows were fitted before in this process is taken from :data:`FITS` (the
        main job's two evaluations share every fold that leaves out a paper's only film).
        Overridden by families that train many copies in one call."""
        X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
        jobs = list(zip(masks, seeds, tests))
        groups = np.asarray(groups) if self.uses_groups and groups is not None else None
        keys = [FITS.key(self, X, y, *job, groups, new_papers) for job in jobs] if not self.stochastic else [None] * len(jobs)
        todo = [i for i, key in enumerate(keys) if key not in FITS]
        if n_jobs > 1 and len(todo) >= 4 * n_jobs:
            from joblib import Parallel, delayed

            parts = np.array_split(np.asarray(todo), 4 * n_jobs)
            done = Parallel(n_jobs=n_jobs)(delayed(_fit_some)(self, X, y, [jobs[i] for i in part], groups, new_papers)
                                           for part in parts)
            fitted = dict(zip(todo, [r for part in done for r in part]))
        else:
            with _single_threaded():
                fitted = {i: _fit_some(self, X, y, [jobs[i]], groups, new_papers)[0] for i in todo}
        for i, key in enumerate(keys):
            if i in fitted and key is not None:
                FITS[key] = fitted[i]
        if progress is not None:
            progress(len(jobs))
        mean, var = np.full(masks.shape, np.nan), np.full(masks.shape, np.nan)
        for c, (_, _, test) in enumerate(jobs):
            mean[c, test], var[c, test] = fitted[c] if c in fitted else FITS[keys[c]]
        return Members(mean, None if np.isnan(var[np.asarray(tests)]).all() else var)

    def evaluation_rows(self, members: Members) -> list[EvalRows]:
        """What the evaluation stores for held-out members: by default the mixture mean and sd."""
        mean, std, spread = mixture(members.mean, members.var)
        return [EvalRows(self.name, mean, std, {})]


class _Fits:
    """Held-out predictions of deterministic fits, keyed by a digest of the family, its parameters, the
    seed and the rows it saw and predicted (bounded: the oldest go first)."""

    def __init__(self, size: int = 50_000):
        from collections import OrderedDict

        self.size, self.store = size, OrderedDict()

    @staticmethod
    def key(model, X, y, mask, seed, test, groups=None, new_papers: bool = False) -> bytes:
        import hashlib

        mask, test = np.asarray(mask, dtype=bool), np.asarray(test, dtype=bool)
        h = hashlib.blake2b(digest_size=20)
        h.update(f"{type(model).__module__}.{type(model).__qualname__}{sorted(model.get_params().items())!r}".encode())
        for part in (np.int64(seed), mask, test, X[mask], y[mask], X[test]):
            h.update(np.ascontiguousarray(part).tobytes())
        if groups is not None:  # the papers the copy was given
            h.update(repr((groups[mask].tolist(), None if new_papers else groups[test].tolist())).encode())
        return h.digest()

    def __contains__(self, key) -> bool:
        return key is not None and key in self.store

    def __getitem__(self, key):
        return self.store[key]

    def __setitem__(self, key, value) -> None:
        self.store[key] = value
        while len(self.store) > self.size:
            self.store.popitem(last=False)


FITS = _Fits()


class _single_threaded:
    """BLAS and OpenMP pools at one thread for the block: the matrices here are ~25 x 25, where extra
    threads only cost (measured: 77 against 55 core-seconds for the nested film-fold evaluation)."""

    def __enter__(self):
        from threadpoolctl import threadpool_limits

        self.limits = threadpool_limits(1)
        return self

    def __exit__(self, *exc):
        self.limits.unregister()


def _fit_some(model, X, y, jobs, groups=None, new_papers: bool = False) -> list:
    """(mean, variance) on the test rows of each (mask, seed, test) job, each fitted from a clone (with
    the papers of its training rows and, unless new_papers, of its test rows when groups is given)."""
    from sklearn.base import clone

    out = []
    for mask, seed, test in jobs:
        if groups is None:
            m = clone(model).fit(X[mask], y[mask], seeds=[seed]).predict_members(X[test])
        else:
            m = clone(model).fit(X[mask], y[mask], seeds=[seed], groups=groups[mask]).predict_members(
                X[test], groups=None if new_papers else groups[test])
        out.append((m.mean[0], m.var[0] if m.var is not None else np.full(int(np.sum(test)), np.nan)))
    return out


class timed:
    """Adds the seconds of the block to timings[key] (a no-op without a timings dict)."""

    def __init__(self, timings: dict | None, key: str):
        self.timings, self.key = timings, key

    def __enter__(self):
        self.t0 = time.perf_counter()

    def __exit__(self, *exc):
        if self.timings is not None:
            self.timings[self.key] = self.timings.get(self.key, 0.0) + time.perf_counter() - self.t0


def padded(X) -> tuple[np.ndarray, int]:
    """X with rows repeated up to a power of two (>= 64), and the true row count: one XLA compile per
    size class when batched predictions come in many sizes (SHAP)."""
    X = np.asarray(X, dtype=np.float64)
    m = X.shape[0]
    rows = 1 << max(6, (m - 1).bit_length())
    return (np.concatenate([X, np.repeat(X[:1], rows - m, axis=0)]) if rows > m else X), m
