"""Bayesian optimisation (optuna TPE) of the LSTM's units, dropout and epochs, nested in the folds.

The paper tuned with Spearmint; we use optuna's TPESampler (GPSampler needs torch). The
search space is the paper's: units 5-100 (step 5: every distinct unit count is its own XLA
program, so the step bounds compile time), dropout 0-0.95 (a rate of 1 drops everything),
and epochs 80-500 or the paper's 3200 (a categorical switch, then an integer).

No leakage: for every outer fold (a held-out film, or a held-out reference) a separate study
sees only that fold's training films. Its objective is the RMSE of an inner K-fold
cross-validation (default K=5, groups = films or references, the same kind as the outer folds)
over those training films, each inner model being the mean of ``repeats`` seeds. The held-out
film is therefore used neither to fit nor to choose its hyper-parameters.

Speed: the studies of all outer folds advance in lockstep. In each round every study proposes
one trial (``study.ask()``); all inner copies of all studies are trained together, grouped by
(units, 3200-epoch switch), with each copy's dropout rate and epoch count given per copy
(``build_model(variable_dropout=True)`` + ``engine.fit_predict_many(epochs=array,
nt_values={"rate": ...})``), then every study is told its value.
"""

from __future__ import annotations

import numpy as np

from .lstm import LSTMConfig
from .members import SEED_STRIDE

__all__ = ["SPACE", "tune_lstm_per_fold", "inner_folds"]

SPACE = {"units": (5, 100, 5), "dropout": (0.0, 0.95), "epochs": (80, 500), "paper_epochs": 3200}


def inner_folds(groups, k: int, seed: int):
    """Assign each training row to one of k inner folds, whole groups together (seeded)."""
    uniq = np.array(sorted(set(groups.tolist())))
    rng = np.random.default_rng(seed)
    rng.shuffle(uniq)
    k = max(2, min(k, len(uniq)))
    fold_of_group = {g: i % k for i, g in enumerate(uniq)}
    return np.array([fold_of_group[g] for g in groups]), k


def _suggest(trial, space):
    lo, hi, step = space["units"]
    units = trial.suggest_int("units", lo, hi, step=step)
    dropout = trial.suggest_float("dropout", *space["dropout"])
    if space.get("paper_epochs") and trial.suggest_categorical("paper_epochs", [False, True]):
        epochs = int(space["paper_epochs"])
    else:
        epochs = trial.suggest_int("epochs", *space["epochs"])
    return units, dropout, epochs


def _studies(labels, fold_list, n_trials: int, seed: int, inner_k: int):
    """One optuna study per outer fold and the inner-fold assignment of its training films (-1: held out)."""
    import optuna

    studies, inner = [], []
    for fi, f in enumerate(fold_list):
        train = labels != f
        sampler = optuna.samplers.TPESampler(seed=int(seed) * 7919 + fi, n_startup_trials=max(3, n_trials // 3))
        studies.append(optuna.create_study(direction="minimize", sampler=sampler))
        assign, k = inner_folds(labels[train], inner_k, seed=int(seed) * 7919 + fi)
        full = np.full(len(labels), -1)
        full[np.flatnonzero(train)] = assign
        inner.append((full, k))
    return studies, inner


def _fit_round(X, y, inner, params, copies, seeds, base: LSTMConfig, space: dict) -> np.ndarray:
    """Predictions (copies, n) of every inner copy of every study for this round's proposals, the
    copies grouped by (units, paper-epochs switch) into one engine call each."""
    from . import engine
    from .lstm import build_model

    masks = np.array([(inner[fi][0] >= 0) & (inner[fi][0] != k) for fi, k, r in copies])
    pred = np.empty((len(copies), len(y)))
    groups: dict = {}
    for i, (fi, _, _) in enumerate(copies):
        units, _, epochs = params[fi]
        groups.setdefault((units, epochs == space.get("paper_epochs")), []).append(i)
    for (units, _), idx in sorted(groups.items()):
        idx = np.array(idx)
        model = build_model(X.shape[1], units, 0.0, arrangement=base.arrangement, variable_dropout=True)
        pred[idx] = engine.fit_predict_many(
            model, X, y, masks[idx], seeds[idx], X, epochs=np.array([params[copies[i][0]][2] for i in idx]),
            batch_size=base.batch_size, learning_rate=base.learning_rate,
            nt_values={"rate": np.array([params[copies[i][0]][1] for i in idx])})
    return pred


def _inner_rmse(pred, copies, fi: int, fold_of, k: int, y) -> float:
    """Inner cross-validated RMSE of study fi: each inner fold predicted by the mean of its copies."""
    rows = [i for i, c in enumerate(copies) if c[0] == fi]
    held = np.zeros(len(y))
    for kk in range(k):
        sel = [i for i in rows if copies[i][1] == kk]
        films = fold_of == kk
        held[films] = pred[sel][:, films].mean(axis=0)
    train = fold_of >= 0
    value = float(np.sqrt(np.mean((held[train] - y[train]) ** 2)))
    return value if np.isfinite(value) else 1e6


def tune_lstm_per_fold(X, y, labels, fold_list, folds_kind: str, base: LSTMConfig, n_trials: int = 12,
                       repeats: int = 1, seed: int = 0, inner_k: int = 5, space: dict | None = None,
                       progress=None) -> dict:
    """Best LSTMConfig per outer fold, chosen on that fold's training films only.

    ``labels`` are the outer fold labels of the films (from ``folds.make_folds``); the inner
    groups are the same labels (films, or references). Returns {fold label: LSTMConfig}.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = {**SPACE, **(space or {})}
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    studies, inner = _studies(labels, fold_list, n_trials, seed, inner_k)
    # every inner copy of every study: (study, inner fold, repeat)
    copies = [(fi, k, r) for fi in range(len(fold_list)) for k in range(inner[fi][1]) for r in range(repeats)]
    for t in range(n_trials):
        trials = [s.ask() for s in studies]
        params = [_suggest(tr, space) for tr in trials]
        seeds = np.array([int(seed) * SEED_STRIDE + 500_000 + t * 10_007 + i for i in range(len(copies))])
        pred = _fit_round(X, y, inner, params, copies, seeds, base, space)
        for fi, study in enumerate(studies):
            study.tell(trials[fi], _inner_rmse(pred, copies, fi, *inner[fi], y))
        if progress is not None:
            progress(1)
    best = {}
    for f, study in zip(fold_list, studies):
        p = study.best_trial.params
        epochs = int(space["paper_epochs"]) if p.get("paper_epochs") else int(p["epochs"])
        best[f] = base.replace(units=int(p["units"]), dropout=round(float(p["dropout"]), 4), epochs=epochs)
    return best
