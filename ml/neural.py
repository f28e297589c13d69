"""The paper's two neural families behind the model contract: the LSTM (many copies trained at once
by the vmapped engine) and PBP (many networks in one ``fit_many`` call); plus the LSTM whose
hyper-parameters are tuned per outer fold (nested, :mod:`filmkb.ml.tune`).

Evaluation uncertainty per family (column ``std``):
- ``lstm``: spread (std) of the R member predictions;
- ``pbp``: predictive std of the mixture of the R PBP members, sqrt(mean variance + spread^2)
  (the PBP variance includes its noise term).
"""

from __future__ import annotations

import numpy as np

from .contract import EvalRows, Members, Model, padded, timed
from .folds import Layout, held_out
from .lstm import PAPER, LSTMConfig

__all__ = ["LSTMModel", "TunedLSTMModel", "PBPModel", "lstm_predictions", "LSTMBatch"]


def _chunk(copies: int) -> int:
    """Copies per engine call: all of them up to 512, else five calls (bounds memory)."""
    return max(512, -(-copies // 5))


def lstm_predictions(X, y, layout: Layout, per_fold: dict, progress=None, variable: bool = False):
    """(F*R, n) LSTM predictions, every copy of the layout trained with its fold's configuration.

    variable=False: one engine call per distinct configuration (plain Keras Dropout);
    variable=True: one call per (units, ...) group, dropout rate and epochs given per copy.
    """
    from . import engine
    from .lstm import build_model

    pred = np.full(layout.masks.shape, np.nan)
    groups: dict = {}
    for fi, f in enumerate(layout.folds):
        c = per_fold[f]
        key = (c.units, c.arrangement, c.batch_size, c.learning_rate) + (() if variable else (c.dropout, c.epochs))
        groups.setdefault(key, []).append(fi)
    for fold_idx in groups.values():
        cfg = per_fold[layout.folds[fold_idx[0]]]
        sel = np.flatnonzero(np.isin(layout.fold_of, fold_idx))
        if not variable:
            pred[sel] = LSTMModel(cfg).fit_copies(X, y, layout.masks[sel], layout.seeds[sel], None, progress).mean
            continue
        cfgs = [per_fold[layout.folds[layout.fold_of[i]]] for i in sel]
        model = build_model(X.shape[1], cfg.units, 0.0, arrangement=cfg.arrangement, variable_dropout=True)
        pred[sel] = engine.fit_predict_many(model, X, y, layout.masks[sel], layout.seeds[sel], X,
                                            epochs=np.array([c.epochs for c in cfgs]), batch_size=cfg.batch_size,
                                            learning_rate=cfg.learning_rate, chunk=_chunk(len(sel)), progress=progress,
                                            nt_values={"rate": np.array([c.dropout for c in cfgs])})
    return pred


class LSTMModel(Model):
    """R copies of the paper's LSTM regressor, each with its own seed; members are point predictions."""

    name = "lstm"
    stochastic = True
    timing_key = "lstm_s"
    variable_dropout = False  # evaluation: True trains copies with per-copy dropout and epochs (tuning)

    def __init__(self, config: LSTMConfig = PAPER, repeats: int = 10, random_state: int = 0):
        self.config = config
        self.repeats = repeats
        self.random_state = random_state

    def _keras(self, n_features: int):
        from .lstm import build_model

        c = self.config
        return build_model(n_features, c.units, c.dropout, arrangement=c.arrangement)

    def fit(self, X, y, seeds=None, progress=None):
        from . import engine

        X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
        self.seeds_ = self._seeds(seeds)
        c = self.config
        mask = np.ones((len(self.seeds_), len(y)), dtype=bool)
        _, self.copies_ = engine.fit_predict_many(self._keras(X.shape[1]), X, y, mask, self.seeds_, X, epochs=c.epochs,
                                                  batch_size=c.batch_size, learning_rate=c.learning_rate,
                                                  progress=progress, return_weights=True)
        self.n_features_in_ = X.shape[1]
        return self

    def predict_members(self, X) -> Members:
        from .engine import predict_copies

        Xp, m = padded(X)
        return Members(predict_copies(self._keras(self.n_features_in_), self.copies_, Xp)[:, :m])

    def _per_fold(self, X, y, layout: Layout, progress, timings) -> dict:
        return {f: self.config for f in layout.folds}

    def cross_predict(self, X, y, layout: Layout, progress=None, cache=None, timings=None) -> Members:
        cache = {} if cache is None else cache
        if self.name not in cache:
            per_fold = self._per_fold(X, y, layout, progress, timings)
            with timed(timings, self.timing_key):
                pred = lstm_predictions(X, y, layout, per_fold, progress, variable=self.variable_dropout)
                cache[self.name] = Members(held_out(pred, layout))
        return cache[self.name]

    def fit_copies(self, X, y, masks, seeds, tests, progress=None, n_jobs: int = 1) -> Members:
        """Every copy in one vmapped engine call; predictions at every row."""
        from . import engine

        c = self.config
        X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
        return Members(engine.fit_predict_many(self._keras(X.shape[1]), X, y, masks, seeds, X, epochs=c.epochs,
                                               batch_size=c.batch_size, learning_rate=c.learning_rate,
                                               chunk=_chunk(len(seeds)), progress=progress))

    def evaluation_rows(self, members: Members) -> list[EvalRows]:
        spread = members.mean.std(axis=0)
        return [EvalRows(self.name, members.mean.mean(axis=0), spread, {"spread": spread}, members.mean)]


class LSTMBatch:
    """The paper LSTM's copies a job needs, trained in a background thread: the held-out copies of
    one or more evaluation layouts, in the order given, then the members of a final model, which
    ride with the last layout. The engine's cost is per optimiser step, not per copy (measured: 10
    copies alone cost 80 % of 260), so the members ride along almost free; each copy's numbers are
    those of a call of its own (own seed, own rows). One thread trains them all, one engine call
    after another: two LSTM programs side by side fight over the same two cores (measured with
    `reproduce --full`, whose paper folds ran their LSTM in a second thread: 738 s and 1,138 s for
    the two layouts' LSTMs against ~400 s for all of them in turn)."""

    def __init__(self, config: LSTMConfig, X, y, layout, member_seeds, progress=None):
        import threading

        self.layouts = list(layout) if isinstance(layout, (list, tuple)) else [layout]
        self.config, self.error = config, None
        self.member_seeds = np.asarray(member_seeds, dtype=np.int64)
        X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
        self.n_features = X.shape[1]
        self.ready = [threading.Event() for _ in self.layouts]
        self.pred_ = [None] * len(self.layouts)
        self.thread = threading.Thread(target=self._run, args=(X, y, progress), daemon=True)
        self.seconds = 0.0
        self.thread.start()

    @property
    def layout(self) -> Layout:
        """The last layout (the one the members ride with)."""
        return self.layouts[-1]

    def _run(self, X, y, progress):
        import time

        from . import engine

        t0 = time.perf_counter()
        c = self.config
        try:
            for i, layout in enumerate(self.layouts):
                last = i == len(self.layouts) - 1
                masks, seeds = layout.masks, layout.seeds
                if last:
                    masks = np.concatenate([masks, np.ones((len(self.member_seeds), len(y)), dtype=bool)])
                    seeds = np.concatenate([seeds, self.member_seeds])
                out = engine.fit_predict_many(LSTMModel(c)._keras(X.shape[1]), X, y, masks, seeds, X, epochs=c.epochs,
                                              batch_size=c.batch_size, learning_rate=c.learning_rate,
                                              chunk=_chunk(len(seeds)), progress=progress, return_weights=last)
                if last:
                    out, self.copies_ = out
                self.pred_[i] = out
                self.ready[i].set()
        except BaseException as exc:  # re-raised where the results are asked for
            self.error = exc
        finally:
            for event in self.ready:
                event.set()
            self.seconds = time.perf_counter() - t0

    def join(self) -> "LSTMBatch":
        self.thread.join()
        if self.error is not None:
            raise self.error
        return self

    def _index(self, config: LSTMConfig, layout: Layout) -> int | None:
        if config != self.config:
            return None
        for i, mine in enumerate(self.layouts):
            if (mine.folds == layout.folds and mine.repeats == layout.repeats
                    and np.array_equal(mine.masks, layout.masks) and np.array_equal(mine.seeds, layout.seeds)):
                return i
        return None

    def serves(self, config: LSTMConfig, layout: Layout) -> bool:
        """Whether this batch holds what an evaluation of `config` on `layout` would train."""
        return self._index(config, layout) is not None

    def held_out(self, layout: Layout | None = None) -> Members:
        """A layout's held-out predictions (R, n), as :meth:`LSTMModel.cross_predict` returns them, as soon
        as its copies are trained (default: the last layout)."""
        i = len(self.layouts) - 1 if layout is None else self._index(self.config, layout)
        if i is None:
            raise ValueError("this LSTMBatch does not train that layout (see serves())")
        self.ready[i].wait()
        if self.error is not None:
            raise self.error
        mine = self.layouts[i]
        return Members(held_out(self.pred_[i][: len(mine.seeds)], mine))

    def members(self) -> LSTMModel:
        """The final model's members as a fitted :class:`LSTMModel`."""
        from .engine import TrainedCopies

        self.join()
        k = len(self.layout.seeds)
        c = self.copies_
        model = LSTMModel(self.config, len(self.member_seeds))
        model.seeds_, model.n_features_in_ = self.member_seeds, self.n_features
        model.copies_ = TrainedCopies([w[k:] for w in c.trainable], [w[k:] for w in c.non_trainable], c.x_mean[k:],
                                      c.x_std[k:], c.y_mean[k:], c.y_std[k:])
        return model


class TunedLSTMModel(LSTMModel):
    """The LSTM with units, dropout and epochs chosen by optuna per outer fold, on that fold's
    training films only (evaluation only: a deployed model is trained with one configuration)."""

    name = "lstm_tuned"
    timing_key = "lstm_tuned_s"
    variable_dropout = True

    def __init__(self, config: LSTMConfig = PAPER, repeats: int = 10, random_state: int = 0, trials: int = 12,
                 tune_repeats: int = 1, space: dict | None = None):
        super().__init__(config, repeats, random_state)
        self.trials = trials
        self.tune_repeats = tune_repeats
        self.space = space

    def _per_fold(self, X, y, layout: Layout, progress, timings) -> dict:
        from .tune import tune_lstm_per_fold

        with timed(timings, "lstm_tune_s"):
            per_fold = tune_lstm_per_fold(X, y, layout.labels, layout.folds, layout.kind, self.config,
                                          n_trials=self.trials, repeats=self.tune_repeats, seed=layout.seed,
                                          space=self.space, progress=progress)
        self.per_fold_ = {f: c.as_dict() for f, c in per_fold.items()}
        return per_fold


class PBPModel(Model):
    """R Probabilistic Backpropagation networks, each with its own seed; members are Gaussians."""

    name = "pbp"
    stochastic = True
    timing_key = "pbp_s"

    def __init__(self, hidden=(5,), epochs: int = 100, repeats: int = 10, random_state: int = 0,
                 chunk: int | None = None):
        self.hidden = hidden
        self.epochs = epochs
        self.repeats = repeats
        self.random_state = random_state
        self.chunk = chunk  # copies per fit_many call (padded; None: pbp.CHUNK): one compile serves every call

    def fit(self, X, y, seeds=None, progress=None):
        from .pbp import fit_members

        self.seeds_ = self._seeds(seeds)
        self.members_ = fit_members(np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64), self.seeds_,
                                    hidden=tuple(self.hidden), epochs=int(self.epochs))
        if progress is not None:
            progress(len(self.seeds_))
        return self

    def predict_members(self, X) -> Members:
        Xp, m = padded(X)
        pm, pv = self.members_.predict(Xp)
        return Members(pm[:, :m], pv[:, :m])

    def fit_copies(self, X, y, masks, seeds, tests, progress=None, n_jobs: int = 1) -> Members:
        """Every copy through ``fit_many`` (in calls of `chunk` copies, the last one padded: one compile
        serves every layout); predictive means and variances at every row."""
        from .pbp import CHUNK, fit_many

        mean, var = fit_many(X, y, np.asarray(masks), np.asarray(seeds), X, hidden=tuple(self.hidden),
                             epochs=int(self.epochs), chunk=self.chunk or CHUNK)
        if progress is not None:
            progress(len(masks))
        return Members(mean, var)

    def evaluation_rows(self, members: Members) -> list[EvalRows]:
        spread, variance = members.mean.std(axis=0), members.var.mean(axis=0)
        return [EvalRows(self.name, members.mean.mean(axis=0), np.sqrt(variance + spread**2),
                         {"spread": spread, "pbp_variance": variance}, members.mean)]
