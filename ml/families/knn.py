"""k nearest neighbours (scikit-learn KNeighborsRegressor) on standardised descriptors: the mean target of
the k films nearest in descriptor space; sd = its leave-one-out RMSE on the training rows. A family added
as one file (this one) plus its test: it names no candidate list, so `--candidates knn:paper7,...` or
`evaluate --models knn` asks for it."""

from __future__ import annotations

import numpy as np

from ..baselines import _Standardised
from ..registry import Family


class KNNModel(_Standardised):
    """The mean of the k nearest training films (Euclidean, standardised descriptors)."""

    name = "knn"

    def __init__(self, random_state: int = 0, n_neighbors: int = 5):
        self.random_state = random_state
        self.n_neighbors = n_neighbors

    def _regressor(self, Xs, y):
        from sklearn.neighbors import KNeighborsRegressor

        return KNeighborsRegressor(n_neighbors=min(self.n_neighbors, len(y))).fit(Xs, y)

    def _fit(self, Xs, y):
        self.X_train_, self.y_train_ = Xs, y
        self.model_ = self._regressor(Xs, y)
        if len(y) > 1:  # leave-one-out: each training film from its k nearest others
            k = min(self.n_neighbors, len(y) - 1)
            _, idx = self.model_.kneighbors(Xs, n_neighbors=k + 1)
            others = np.array([[j for j in row if j != i][:k] for i, row in enumerate(idx)])
            self.loo_rmse_ = float(np.sqrt(np.mean((y[others].mean(axis=1) - y) ** 2)))
        else:
            self.loo_rmse_ = 1.0

    def _predict(self, Xs):
        return self.model_.predict(Xs), np.full(len(Xs), self.loo_rmse_)


def make(seed: int, repeats: int):
    return KNNModel(seed)


def _dump(m):
    return ({"params": m.get_params(), "seed": int(m.seed_)},
            {"x_mean": m.x_mean_, "x_std": m.x_std_, "X_train": m.X_train_, "y_train": m.y_train_,
             "loo_rmse": np.asarray(m.loo_rmse_)})


def _build(meta, a):
    m = KNNModel(**meta["params"])
    m.seed_, m.x_mean_, m.x_std_ = int(meta["seed"]), a["x_mean"], a["x_std"]
    m.X_train_, m.y_train_, m.loo_rmse_ = a["X_train"], a["y_train"], float(a["loo_rmse"])
    m.model_ = m._regressor(m.X_train_, m.y_train_)  # a neighbour search holds its training rows: refitted as it was
    return m


FAMILY = Family("knn", make, order=15, title="k nearest neighbours",
                summary="mean of the 5 nearest films (standardised descriptors); sd = its leave-one-out RMSE",
                candidate_lists=(), files=lambda: (_dump, _build),
                citation="Cover & Hart (1967), IEEE Trans. Inf. Theory 13, 21")
