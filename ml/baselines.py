"""Simple baselines fitted on the same folds as the LSTM and PBP (scikit-learn).

Each baseline is ``fit_predict(X_train, y_train, X_test, seed) -> (mean, std)``; inputs are
standardised with the training rows only, and every choice a baseline makes (ridge penalty, GP
kernel hyper-parameters) is made on the training rows only.

- ``mean``: the training mean; std = training std (population) x sqrt(1 + 1/n).
- ``ridge``: RidgeCV (penalty by efficient leave-one-out on the training rows, alphas 1e-3..1e3);
  std = sqrt of its leave-one-out mean squared error on the training rows.
- ``gp``: GaussianProcessRegressor, Constant x RBF (one length scale per descriptor) + White
  noise, normalize_y, 2 optimiser restarts; std = predictive std (noise included).
- ``rf``: RandomForestRegressor, 200 trees, min_samples_leaf 2; std = spread of the trees.
"""

from __future__ import annotations

import numpy as np

__all__ = ["BASELINES", "fit_predict"]

BASELINES = ("mean", "ridge", "gp", "rf")


def _standardise(X_train, X_test):
    mu = X_train.mean(axis=0)
    sd = X_train.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return (X_train - mu) / sd, (X_test - mu) / sd


def fit_predict(name: str, X_train, y_train, X_test, seed: int = 0):
    """Fit baseline ``name`` on the training rows and return (mean, std) on X_test."""
    X_train = np.asarray(X_train, dtype=np.float64)
    X_test = np.asarray(X_test, dtype=np.float64)
    y_train = np.asarray(y_train, dtype=np.float64)
    n = len(y_train)
    if name == "mean":
        mean = np.full(len(X_test), y_train.mean())
        return mean, np.full(len(X_test), y_train.std() * np.sqrt(1 + 1 / n))
    Xs, Xq = _standardise(X_train, X_test)
    if name == "ridge":
        from sklearn.linear_model import RidgeCV

        model = RidgeCV(alphas=np.logspace(-3, 3, 25), store_cv_results=True).fit(Xs, y_train)
        loo_mse = float(np.mean(model.cv_results_[:, list(model.alphas).index(model.alpha_)]))
        return model.predict(Xq), np.full(len(X_test), np.sqrt(loo_mse))
    if name == "gp":
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

        kernel = (ConstantKernel(1.0, (1e-2, 1e2)) * RBF(np.ones(Xs.shape[1]), (1e-2, 1e3))
                  + WhiteKernel(0.1, (1e-4, 1e1)))
        gp = GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=2, random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            gp.fit(Xs, y_train)
        mean, std = gp.predict(Xq, return_std=True)
        return mean, std
    if name == "rf":
        from sklearn.ensemble import RandomForestRegressor

        rf = RandomForestRegressor(n_estimators=200, min_samples_leaf=2, random_state=seed, n_jobs=1).fit(Xs, y_train)
        trees = np.stack([t.predict(Xq) for t in rf.estimators_])
        return trees.mean(axis=0), trees.std(axis=0)
    raise ValueError(f"unknown baseline {name!r}; expected one of {', '.join(BASELINES)}")
