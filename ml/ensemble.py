"""The paper's averaged LSTM + PBP ensemble behind the model contract: fit and predict (its files:
:mod:`filmkb.ml.paper_run`).

The ensemble holds R LSTM copies and R PBP networks trained on the same films with the same
seeds. Its prediction for a row is the mean of the 2R member predictions; its uncertainty is the
standard deviation of the mixture of the 2R members, LSTM members as point predictions and PBP
members as their Gaussians (:func:`filmkb.ml.members.combine`). Reported beside it in
evaluations: ``ensemble_spread``, the same mean with the paper's uncertainty, the spread over
the 2R members alone (it ignores noise and is much too narrow).
"""

from __future__ import annotations

import numpy as np

from .contract import EvalRows, Members, Model
from .folds import Layout
from .members import combine
from .neural import LSTMModel, PBPModel

__all__ = ["PaperEnsemble", "DESCRIPTION"]

DESCRIPTION = "mean of R LSTM + R PBP members; std of their mixture = sqrt(spread_2R^2 + mean PBP variance / 2)"


class PaperEnsemble(Model):
    """R LSTM + R PBP members trained on one descriptor matrix, averaged."""

    stochastic = True

    def __init__(self, lstm: LSTMModel | None = None, pbp: PBPModel | None = None):
        self.lstm = lstm
        self.pbp = pbp

    @property
    def name(self) -> str:
        return "ensemble" + self.lstm.name[len("lstm"):]  # ensemble, ensemble_tuned

    @property
    def repeats(self) -> int:
        return int(self.lstm.repeats)

    def fit(self, X, y, seeds=None, progress=None, lstm_fitted: LSTMModel | None = None):
        """Fit both families (lstm_fitted: the LSTM members already trained on X, y with these seeds,
        e.g. by an :class:`~filmkb.ml.neural.LSTMBatch`)."""
        seeds = self.lstm._seeds(seeds)
        if lstm_fitted is not None:
            if not np.array_equal(lstm_fitted.seeds_, seeds):
                raise ValueError("the prefitted LSTM members have other seeds")
            self.lstm = lstm_fitted
        else:
            self.lstm.fit(X, y, seeds, progress=progress)
        self.pbp.fit(X, y, seeds, progress=progress)
        self.X_train_, self.y_train_ = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
        return self

    def parts(self, X) -> dict:
        """Per row of X: ensemble mean/std/spread of -log10 sigma and the LSTM and PBP means."""
        lstm, pbp = self.lstm.predict_members(X).mean, self.pbp.predict_members(X)
        mean, std, spread = combine(lstm, pbp.mean, pbp.var)
        return {"mean": mean, "std": std, "spread": spread, "lstm_mean": lstm.mean(axis=0),
                "lstm_spread": lstm.std(axis=0), "pbp_mean": pbp.mean.mean(axis=0),
                "pbp_std": np.sqrt(pbp.var.mean(axis=0) + pbp.mean.var(axis=0))}

    def predict_dist(self, X):
        p = self.parts(X)
        return p["mean"], p["std"] ** 2

    def predict_mean(self, X) -> np.ndarray:
        """The ensemble mean alone (what SHAP explains), for a batch of rows."""
        lstm, pbp = self.lstm.predict_members(X).mean, self.pbp.predict_members(X).mean
        return (lstm.sum(axis=0) + pbp.sum(axis=0)) / (lstm.shape[0] + pbp.shape[0])

    def cross_predict(self, X, y, layout: Layout, progress=None, cache=None, timings=None) -> Members:
        """Members (2R, n): the R LSTM members then the R PBP means; var (R, n): the PBP variances."""
        cache = {} if cache is None else cache
        lstm = self.lstm.cross_predict(X, y, layout, progress, cache, timings)
        pbp = self.pbp.cross_predict(X, y, layout, progress, cache, timings)
        return Members(np.concatenate([lstm.mean, pbp.mean]), pbp.var)

    def evaluation_rows(self, members: Members) -> list[EvalRows]:
        R = members.var.shape[0]
        lstm, pbp_means = members.mean[:R], members.mean[R:]
        mean, total, spread = combine(lstm, pbp_means, members.var)
        extra = {"spread_2r": spread, "pbp_variance": members.var.mean(axis=0), "lstm_mean": lstm.mean(axis=0),
                 "pbp_mean": pbp_means.mean(axis=0)}
        per_seed = (lstm + pbp_means) / 2  # seed r: its LSTM and its PBP member averaged
        return [EvalRows(self.name, mean, total, extra, per_seed), EvalRows(self.name + "_spread", mean, spread, extra)]

    def config(self) -> dict:
        return {"lstm": self.lstm.config.as_dict(), "pbp": {"hidden": list(self.pbp.hidden), "epochs": self.pbp.epochs},
                "repeats": self.repeats, "seeds": [int(s) for s in self.lstm.seeds_], "ensemble": DESCRIPTION}
