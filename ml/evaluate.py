"""Leave-one-out (or leave-one-reference-out) evaluation of LSTM, PBP, their ensemble and baselines.

Protocol (:func:`run_evaluation`):

- Folds: ``"film"`` leaves each film with complete descriptors out once (the paper);
  ``"reference"`` leaves out all films of one publication at a time (what predicting a new
  paper looks like: films of one paper share substrate, method and most conditions).
- The same folds serve every model. A held-out film never reaches its model: not through
  training, not through the input/target standardisation (training-fold statistics only), not
  through hyper-parameters (tuning, if on, is nested inside the training films of each fold,
  see :mod:`filmkb.ml.tune`; baselines choose their own penalties/kernels on the training rows).
- LSTM and PBP: each fold is fitted with R seeds (default 100). Copy ``r * F + f`` (repeat r,
  fold f) has seed ``seed * 1_000_003 + r * F + f``; all LSTM copies train in one vmapped
  engine call, all PBP copies in one ``fit_many`` call. Per film: the mean and the standard
  deviation over the R members.
- Uncertainty per model (column ``std``):
  - ``lstm``: spread (std) of the R member predictions;
  - ``pbp``: predictive std of the mixture of the R PBP members, sqrt(mean variance +
    spread^2) (the PBP variance includes its noise term);
  - ``ensemble`` (published): mean = (LSTM mean + PBP mean) / 2 = mean of the 2R members;
    std = the std of the mixture of the 2R members, with LSTM members as point predictions
    and PBP members as their Gaussians: sqrt(spread_2R^2 + mean PBP variance / 2);
  - ``ensemble_spread``: the same mean with the paper's uncertainty, the spread over the 2R
    members alone (reported beside it: it ignores noise and is much too narrow).
- Tuning (``tune=True``): the paper's defaults are still evaluated (``lstm``, ``ensemble``) and
  the tuned settings beside them (``lstm_tuned``, ``ensemble_tuned``): per outer fold an optuna
  study on that fold's training films only chooses units, dropout and epochs
  (:mod:`filmkb.ml.tune`), then R seeds of that fold are trained with its choice.
- Baselines (``mean``, ``ridge``, ``gp``, ``rf``): one deterministic fit per fold.
- Metrics (:mod:`filmkb.ml.metrics`) on all films and on the paper's Figure 6 subset.

Same matrix + same seed + same settings -> identical predictions (all randomness is seeded).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import numpy as np

from .ensemble import combine
from .lstm import PAPER, LSTMConfig

__all__ = ["PAPER_METRICS", "EvalResult", "make_folds", "run_evaluation", "MODEL_GROUPS"]

# The seed paper's leave-one-out figures (R2, RMSE, MAPE on -log10 sigma).
PAPER_METRICS = {
    "ensemble": {"r2": 0.83, "rmse": 0.414, "mape": 0.054},
    "lstm": {"r2": 0.69, "rmse": 0.584, "mape": 0.074},
    "pbp": {"r2": 0.76, "rmse": 0.496, "mape": 0.063},
}
MODEL_GROUPS = ("lstm", "pbp", "ensemble", "baselines")
SEED_STRIDE = 1_000_003


@dataclass
class EvalResult:
    """What one evaluation produced."""

    predictions: "object"  # DataFrame: film_id, model, fold, mean, std, conditions_json
    metrics: dict  # {"all": {model: {...}}, "figure6": {model: {...}}}
    config: dict
    seconds: float
    n_films: int
    timings: dict = field(default_factory=dict)


def make_folds(matrix, kind: str = "film"):
    """Fold label of every film ("film:<id>" or "reference:<id>") and the ordered fold list."""
    if kind == "film":
        labels = np.array([f"film:{i}" for i in matrix.index])
    elif kind == "reference":
        labels = np.array([f"reference:{r}" for r in matrix["reference_id"]])
    else:
        from ..kb.db import KBError

        raise KBError(f"unknown folds '{kind}' (expected film or reference)")
    order = list(dict.fromkeys(labels.tolist()))
    return labels, order


def copy_layout(labels, folds, repeats: int, seed: int):
    """Training masks (F*R, n), fold index and seed of every copy; copy r*F + f is (repeat r, fold f)."""
    F = len(folds)
    test = np.stack([labels == f for f in folds])  # (F, n)
    masks = np.tile(~test, (repeats, 1))
    fold_of = np.tile(np.arange(F), repeats)
    seeds = int(seed) * SEED_STRIDE + np.arange(F * repeats)
    return masks, fold_of, seeds, test


def _members(pred, fold_of, test, repeats):
    """(R, n) held-out member predictions: for film i, the rows of its fold."""
    F, n = test.shape
    film_fold = test.argmax(axis=0)  # (n,)
    rows = np.arange(repeats)[:, None] * F + film_fold[None, :]  # (R, n)
    assert np.all(fold_of[rows] == film_fold[None, :])
    return pred[rows, np.arange(n)[None, :]]


def _parse_models(models) -> set:
    from ..kb.db import KBError

    names = {m.strip().lower() for m in (models.split(",") if isinstance(models, str) else models) if m.strip()}
    unknown = names - set(MODEL_GROUPS)
    if unknown or not names:
        raise KBError(f"unknown models {', '.join(sorted(unknown)) or '(none)'}; choose from {', '.join(MODEL_GROUPS)}")
    return names


def _lstm_predictions(X, y, masks, seeds, fold_of, per_fold, fold_list, tick, variable=False):
    """(F*R, n) LSTM predictions, every copy trained with its fold's configuration.

    variable=False: one engine call per distinct configuration (plain Keras Dropout);
    variable=True: one call per (units, ...) group, dropout rate and epochs given per copy.
    """
    from . import engine
    from .lstm import build_model

    pred = np.full(masks.shape, np.nan)
    groups: dict = {}
    for fi, f in enumerate(fold_list):
        c = per_fold[f]
        key = (c.units, c.arrangement, c.batch_size, c.learning_rate) + (() if variable else (c.dropout, c.epochs))
        groups.setdefault(key, []).append(fi)
    for fold_idx in groups.values():
        cfg = per_fold[fold_list[fold_idx[0]]]
        sel = np.flatnonzero(np.isin(fold_of, fold_idx))
        chunk = max(512, -(-len(sel) // 5))
        if variable:
            cfgs = [per_fold[fold_list[fold_of[i]]] for i in sel]
            model = build_model(X.shape[1], cfg.units, 0.0, arrangement=cfg.arrangement, variable_dropout=True)
            pred[sel] = engine.fit_predict_many(model, X, y, masks[sel], seeds[sel], X,
                                                epochs=np.array([c.epochs for c in cfgs]), batch_size=cfg.batch_size,
                                                learning_rate=cfg.learning_rate, chunk=chunk, progress=tick,
                                                nt_values={"rate": np.array([c.dropout for c in cfgs])})
        else:
            model = build_model(X.shape[1], cfg.units, cfg.dropout, arrangement=cfg.arrangement)
            pred[sel] = engine.fit_predict_many(model, X, y, masks[sel], seeds[sel], X, epochs=cfg.epochs,
                                                batch_size=cfg.batch_size, learning_rate=cfg.learning_rate,
                                                chunk=chunk, progress=tick)
    return pred


def run_evaluation(matrix, models="lstm,pbp,ensemble,baselines", repeats: int = 100, folds: str = "film",
                   lstm: LSTMConfig = PAPER, pbp_hidden=(5,), pbp_epochs: int = 100, seed: int = 0,
                   tune: bool = False, tune_trials: int = 12, tune_repeats: int = 1, tune_space: dict | None = None,
                   progress=None) -> EvalResult:
    """Evaluate the chosen model groups on the same folds; see the module docstring.

    ``matrix`` is ``kb.descriptor_matrix(db)``; ``progress(n)`` (optional) is called with the
    number of model fits just finished (total: :func:`work_units`).
    """
    import pandas as pd

    from .. import kb
    from ..kb.db import KBError
    from . import baselines as bl
    from .metrics import regression_metrics

    names = _parse_models(models)
    if repeats < 1:
        raise KBError("--repeats must be at least 1")
    t0 = time.perf_counter()
    X = matrix[list(kb.DESCRIPTORS)].to_numpy(dtype=np.float64)
    y = matrix[kb.TARGET].to_numpy(dtype=np.float64)
    film_ids = matrix.index.to_numpy()
    n = len(y)
    if n < 4:
        raise KBError(f"only {n} films with complete descriptors; need at least 4 to evaluate")
    labels, fold_list = make_folds(matrix, folds)
    masks, fold_of, seeds, test = copy_layout(labels, fold_list, repeats, seed)
    if np.any(masks.sum(axis=1) < 3):
        raise KBError("a fold leaves fewer than 3 training films")
    tick = progress or (lambda k: None)
    want_lstm = bool(names & {"lstm", "ensemble"})
    want_pbp = bool(names & {"pbp", "ensemble"})
    rows, timings = [], {}
    configs = {}

    def add(model, mean, std, extra=None):
        for i in range(n):
            cond = {"fold": labels[i]}
            if extra:
                cond.update({k: float(v[i]) for k, v in extra.items()})
            rows.append((int(film_ids[i]), model, labels[i], float(mean[i]), float(std[i]), json.dumps(cond)))

    def fit_lstm(per_fold, variable: bool, name: str, timing_key: str):
        """R LSTM members per film for one setting per fold; adds the model's rows."""
        t = time.perf_counter()
        pred = _lstm_predictions(X, y, masks, seeds, fold_of, per_fold, fold_list, tick, variable=variable)
        members = _members(pred, fold_of, test, repeats)  # (R, n)
        timings[timing_key] = time.perf_counter() - t
        if "lstm" in names:
            spread = members.std(axis=0)
            add(name, members.mean(axis=0), spread, {"spread": spread})
        return members

    if want_lstm:
        lstm_members = fit_lstm({f: lstm for f in fold_list}, False, "lstm", "lstm_s")
        if tune:
            from .tune import tune_lstm_per_fold

            t = time.perf_counter()
            per_fold = tune_lstm_per_fold(X, y, labels, fold_list, folds, lstm, n_trials=tune_trials,
                                          repeats=tune_repeats, seed=seed, space=tune_space, progress=tick)
            configs = {f: c.as_dict() for f, c in per_fold.items()}
            timings["lstm_tune_s"] = time.perf_counter() - t
            tuned_members = fit_lstm(per_fold, True, "lstm_tuned", "lstm_tuned_s")

    if want_pbp:
        from .pbp import fit_many

        t = time.perf_counter()
        pm, pv = fit_many(X, y, masks, seeds, X, hidden=tuple(pbp_hidden), epochs=int(pbp_epochs))
        tick(masks.shape[0])
        timings["pbp_s"] = time.perf_counter() - t
        pbp_members, pbp_vars = _members(pm, fold_of, test, repeats), _members(pv, fold_of, test, repeats)
        pbp_mean, pbp_spread = pbp_members.mean(axis=0), pbp_members.std(axis=0)
        pbp_var = pbp_vars.mean(axis=0)
        if "pbp" in names:
            add("pbp", pbp_mean, np.sqrt(pbp_var + pbp_spread**2), {"spread": pbp_spread, "pbp_variance": pbp_var})

    if "ensemble" in names:
        for suffix, members in [("", lstm_members)] + ([("_tuned", tuned_members)] if tune else []):
            ens_mean, total, spread = combine(members, pbp_members, pbp_vars)  # over the 2R members
            extra = {"spread_2r": spread, "pbp_variance": pbp_var, "lstm_mean": members.mean(axis=0),
                     "pbp_mean": pbp_mean}
            add("ensemble" + suffix, ens_mean, total, extra)
            add("ensemble" + suffix + "_spread", ens_mean, spread, extra)

    if "baselines" in names:
        t = time.perf_counter()
        out = {b: (np.empty(n), np.empty(n)) for b in bl.BASELINES}
        for fi, f in enumerate(fold_list):
            te, tr = test[fi], ~test[fi]
            for b in bl.BASELINES:
                m, s = bl.fit_predict(b, X[tr], y[tr], X[te], seed=seed)
                out[b][0][te], out[b][1][te] = m, s
                tick(1)
        for b in bl.BASELINES:
            add(b, *out[b])
        timings["baselines_s"] = time.perf_counter() - t

    frame = pd.DataFrame(rows, columns=["film_id", "model", "fold", "mean", "std", "conditions_json"])
    truth = pd.Series(y, index=film_ids)
    fig6 = set(film_ids[matrix["figure6_subset"].to_numpy(dtype=bool)])
    metrics = {"all": {}, "figure6": {}}
    for model, part in frame.groupby("model", sort=False):
        yt = truth.loc[part["film_id"]].to_numpy()
        metrics["all"][model] = regression_metrics(yt, part["mean"], part["std"])
        sub = part["film_id"].isin(fig6).to_numpy()
        metrics["figure6"][model] = regression_metrics(yt[sub], part["mean"][sub], part["std"][sub])
    config = {
        "models": sorted(names), "repeats": int(repeats), "folds": folds, "n_folds": len(fold_list), "seed": int(seed),
        "lstm": lstm.as_dict() if want_lstm else None, "tune": bool(tune),
        "tune_trials": int(tune_trials) if tune else None, "tune_repeats": int(tune_repeats) if tune else None,
        "lstm_per_fold": configs or None,
        "pbp": {"hidden": list(pbp_hidden), "epochs": int(pbp_epochs)} if want_pbp else None,
        "baselines": list(bl.BASELINES) if "baselines" in names else None,
        "published_uncertainty": "ensemble: std of the mixture of the 2R members "
                                 "= sqrt(spread_2R^2 + mean PBP variance / 2)",
    }
    return EvalResult(frame, metrics, config, time.perf_counter() - t0, n, timings)


def work_units(n_folds: int, repeats: int, models, tune: bool = False, tune_trials: int = 0) -> int:
    """Number of progress ticks :func:`run_evaluation` will report."""
    from .baselines import BASELINES

    names = _parse_models(models)
    total = 0
    if names & {"lstm", "ensemble"}:
        total += n_folds * repeats * (2 if tune else 1) + (tune_trials if tune else 0)
    if names & {"pbp", "ensemble"}:
        total += n_folds * repeats
    if "baselines" in names:
        total += n_folds * len(BASELINES)
    return total
