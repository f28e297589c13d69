"""Simple baselines (scikit-learn) behind the model contract, fitted on the same folds as the rest.

Inputs are standardised with the training rows only, and every choice a baseline makes (ridge
penalty, GP kernel hyper-parameters) is made on the training rows only.

- ``mean``: the training mean; std = training std (population) x sqrt(1 + 1/n).
- ``ridge``: RidgeCV (penalty by efficient leave-one-out on the training rows, alphas 1e-3..1e3);
  std = sqrt of its leave-one-out mean squared error on the training rows.
- ``gp``: GaussianProcessRegressor, Constant x RBF (one length scale per descriptor, ARD) + White
  noise, normalize_y, 2 optimiser restarts; std = predictive std (noise included). (As a candidate
  of the recommended model: no restarts and at most 30 L-BFGS-B iterations, see ml/select.py.)
  Above GP_KERNEL_ROWS training rows the kernel's hyper-parameters are chosen on that many of them (a
  seeded random subset; every marginal-likelihood gradient costs O(n^2 d) + O(n^3)) and the posterior
  is then conditioned on every row with that kernel: a fit costs one O(n^3) solve instead of ~30-100.
- ``rf``: RandomForestRegressor, 200 trees, min_samples_leaf 2; std = spread of the trees.
"""

from __future__ import annotations

import numpy as np

from .contract import Members, Model

__all__ = ["BASELINES", "baselines", "MeanModel", "RidgeModel", "GPModel", "ForestModel", "baseline", "GP_KERNEL_ROWS"]

GP_KERNEL_ROWS = 128  # most training rows the GP's kernel hyper-parameters are optimised on (a cost bound)


class _Standardised(Model):
    """A deterministic family whose inputs are standardised with its training rows."""

    def _scale(self, X_train):
        self.x_mean_ = X_train.mean(axis=0)
        sd = X_train.std(axis=0)
        self.x_std_ = np.where(sd > 0, sd, 1.0)
        return (X_train - self.x_mean_) / self.x_std_

    def _scaled(self, X):
        return (np.asarray(X, dtype=np.float64) - self.x_mean_) / self.x_std_

    def fit(self, X, y, seeds=None):
        self.seed_ = int(self._seeds(seeds)[0])
        X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
        self._fit(self._scale(X), y)
        return self

    def predict_members(self, X) -> Members:
        mean, std = self._predict(self._scaled(X))
        return Members(mean[None, :], (std**2)[None, :])


class MeanModel(Model):
    """The training mean, with the spread of the training targets as its uncertainty."""

    name = "mean"

    def __init__(self, random_state: int = 0):
        self.random_state = random_state

    def fit(self, X, y, seeds=None):
        y = np.asarray(y, dtype=np.float64)
        self.mean_ = y.mean()
        self.std_ = y.std() * np.sqrt(1 + 1 / len(y))
        return self

    def predict_members(self, X) -> Members:
        m = len(X)
        return Members(np.full((1, m), self.mean_), np.full((1, m), self.std_) ** 2)


class RidgeModel(_Standardised):
    """Ridge regression with its penalty chosen by efficient leave-one-out on the training rows."""

    name = "ridge"

    def __init__(self, random_state: int = 0):
        self.random_state = random_state

    @staticmethod
    def _regressor():
        from sklearn.linear_model import RidgeCV

        return RidgeCV(alphas=np.logspace(-3, 3, 25), store_cv_results=True)

    def _fit(self, Xs, y):
        self.model_ = self._regressor().fit(Xs, y)
        alphas = list(self.model_.alphas)
        self.loo_rmse_ = np.sqrt(float(np.mean(self.model_.cv_results_[:, alphas.index(self.model_.alpha_)])))

    def _predict(self, Xs):
        return self.model_.predict(Xs), np.full(len(Xs), self.loo_rmse_)


class GPModel(_Standardised):
    """Gaussian process, ARD RBF kernel + white noise, hyper-parameters by marginal likelihood."""

    name = "gp"

    def __init__(self, random_state: int = 0, restarts: int = 2, max_iter: int | None = None):
        self.random_state = random_state
        self.restarts = restarts
        self.max_iter = max_iter  # L-BFGS-B iterations per optimisation (None: scikit-learn's default)

    def _regressor(self, n_features: int):
        """The unfitted regressor: Constant x ARD RBF + White kernel, normalize_y, this model's optimiser."""
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

        kernel = (ConstantKernel(1.0, (1e-2, 1e2)) * RBF(np.ones(n_features), (1e-2, 1e3))
                  + WhiteKernel(0.1, (1e-4, 1e1)))
        optimizer = "fmin_l_bfgs_b" if self.max_iter is None else _capped_lbfgs(self.max_iter)
        return GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=self.restarts,
                                        random_state=self.seed_, optimizer=optimizer)

    def _fit(self, Xs, y):
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        self.model_ = self._regressor(Xs.shape[1])
        rows = np.arange(len(y))
        if len(y) > GP_KERNEL_ROWS:
            rows = np.sort(np.random.default_rng(self.seed_).choice(len(y), GP_KERNEL_ROWS, replace=False))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model_.fit(Xs[rows], y[rows])
        if len(rows) < len(y):  # the chosen kernel, conditioned on every training row
            from sklearn.gaussian_process import GaussianProcessRegressor

            self.model_ = GaussianProcessRegressor(self.model_.kernel_, normalize_y=True, optimizer=None).fit(Xs, y)

    def _predict(self, Xs):
        return self.model_.predict(Xs, return_std=True)


class _capped_lbfgs:
    """scikit-learn's GP optimiser (L-BFGS-B on the log marginal likelihood) with at most `max_iter`
    iterations: a picklable callable, as GaussianProcessRegressor(optimizer=...) takes."""

    def __init__(self, max_iter: int):
        self.max_iter = max_iter

    def __call__(self, obj_func, initial_theta, bounds):
        from scipy.optimize import minimize

        res = minimize(obj_func, initial_theta, method="L-BFGS-B", jac=True, bounds=bounds,
                       options={"maxiter": self.max_iter})
        return res.x, res.fun


class ForestModel(_Standardised):
    """Random forest (or extra trees); the spread of the trees is its uncertainty."""

    @property
    def name(self) -> str:
        return "et" if self.extra else "rf"

    def __init__(self, random_state: int = 0, n_estimators: int = 200, min_samples_leaf: int = 2,
                 extra: bool = False):
        self.random_state = random_state
        self.n_estimators = n_estimators
        self.min_samples_leaf = min_samples_leaf
        self.extra = extra

    def _regressor(self):
        from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor

        cls = ExtraTreesRegressor if self.extra else RandomForestRegressor
        return cls(n_estimators=self.n_estimators, min_samples_leaf=self.min_samples_leaf, random_state=self.seed_,
                   n_jobs=1)

    def _fit(self, Xs, y):
        self.model_ = self._regressor().fit(Xs, y)

    def _predict(self, Xs):
        # each tree's own prediction through its Tree object, as DecisionTreeRegressor.predict computes it
        # (float32 rows) without its per-call input checks: 0.01 against 0.28 ms a tree, the same numbers
        Xf = np.ascontiguousarray(Xs, dtype=np.float32)
        trees = np.stack([t.tree_.predict(Xf).reshape(len(Xf), -1)[:, 0] for t in self.model_.estimators_])
        return trees.mean(axis=0), trees.std(axis=0)


def baselines() -> tuple:
    """The families of `evaluate --models baselines` (registered with baseline=True), simplest first."""
    from .registry import families

    return tuple(name for name, fam in families().items() if fam.baseline)


def __getattr__(name):
    """BASELINES (mean, ridge, gp, rf), read from the registry when first asked for: a family module may
    import this one while the registry is still discovering it."""
    if name == "BASELINES":
        return baselines()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def baseline(name: str, seed: int = 0) -> Model:
    """The family called `name` as evaluated on its own (ml/families/NAME.py), seeded."""
    from .registry import evaluated

    return evaluated(name, seed)
