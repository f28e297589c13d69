"""Leave-one-out (or leave-one-reference-out) evaluation of every model family on the same folds.

Protocol (:func:`run_evaluation`):

- Folds (:mod:`filmkb.ml.folds`): ``"film"`` leaves each film with complete descriptors out once
  (the paper); ``"reference"`` leaves out all films of one publication at a time.
- The same folds serve every model. A held-out film never reaches its model: not through
  training, not through the input/target standardisation (training-fold statistics only), not
  through hyper-parameters (tuning, if on, is nested inside the training films of each fold,
  see :mod:`filmkb.ml.tune`; baselines choose their own penalties/kernels on the training rows).
- Stochastic families (LSTM, PBP) are fitted with R seeds per fold (default 100); copy
  ``r * F + f`` has seed ``seed * 1_000_003 + r * F + f`` (:mod:`filmkb.ml.members`); all LSTM
  copies train in one vmapped engine call, all PBP copies in one ``fit_many`` call. The
  deterministic baselines (``mean``, ``ridge``, ``gp``, ``rf``) are fitted once per fold.
- Each family turns its held-out members into rows (mean, std and extras): see
  :mod:`filmkb.ml.neural`, :mod:`filmkb.ml.ensemble` and :mod:`filmkb.ml.baselines`.
- Tuning (``tune=True``): the paper's defaults are still evaluated (``lstm``, ``ensemble``) and
  the tuned settings beside them (``lstm_tuned``, ``ensemble_tuned``).
- Metrics (:mod:`filmkb.ml.metrics`) on all films and on the paper's Figure 6 subset.

Same matrix + same seed + same settings -> identical predictions (all randomness is seeded).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import numpy as np

from ..errors import FilmkbError
from ..schema.descriptors import PAPER7, TARGET
from .baselines import BASELINES, baseline
from .ensemble import PaperEnsemble
from .folds import Layout, copy_layout, make_folds
from .lstm import PAPER, LSTMConfig
from .neural import LSTMModel, PBPModel, TunedLSTMModel

__all__ = ["PAPER_METRICS", "EvalResult", "make_folds", "copy_layout", "run_evaluation", "MODEL_GROUPS",
           "work_units", "parse_models"]

# The seed paper's leave-one-out figures (R2, RMSE, MAPE on -log10 sigma).
PAPER_METRICS = {
    "ensemble": {"r2": 0.83, "rmse": 0.414, "mape": 0.054},
    "lstm": {"r2": 0.69, "rmse": 0.584, "mape": 0.074},
    "pbp": {"r2": 0.76, "rmse": 0.496, "mape": 0.063},
}
MODEL_GROUPS = ("lstm", "pbp", "ensemble", "baselines")
PUBLISHED_UNCERTAINTY = "ensemble: std of the mixture of the 2R members = sqrt(spread_2R^2 + mean PBP variance / 2)"


@dataclass
class EvalResult:
    """What one evaluation produced."""

    predictions: "object"  # DataFrame: film_id, model, fold, mean, std, conditions_json
    metrics: dict  # {"all": {model: {...}}, "figure6": {model: {...}}}
    config: dict
    seconds: float
    n_films: int
    timings: dict = field(default_factory=dict)


def parse_models(models) -> set:
    names = {m.strip().lower() for m in (models.split(",") if isinstance(models, str) else models) if m.strip()}
    unknown = names - set(MODEL_GROUPS)
    if unknown or not names:
        raise FilmkbError(f"unknown models {', '.join(sorted(unknown)) or '(none)'}; choose from {', '.join(MODEL_GROUPS)}")
    return names


def build_models(names: set, repeats: int, seed: int, lstm: LSTMConfig, pbp_hidden, pbp_epochs: int,
                 tune: bool, tune_options: dict) -> list:
    """The model families the groups ask for, in the order their rows are stored."""
    lstm_model = LSTMModel(lstm, repeats, seed)
    pbp_model = PBPModel(tuple(pbp_hidden), int(pbp_epochs), repeats, seed)
    tuned = TunedLSTMModel(lstm, repeats, seed, **tune_options) if tune else None
    models = []
    if "lstm" in names:
        models += [lstm_model] + ([tuned] if tune else [])
    if "pbp" in names:
        models.append(pbp_model)
    if "ensemble" in names:
        models += [PaperEnsemble(lstm_model, pbp_model)] + ([PaperEnsemble(tuned, pbp_model)] if tune else [])
    if "baselines" in names:
        models += [baseline(b, seed) for b in BASELINES]
    return models


def _rows(result, labels, film_ids) -> list[tuple]:
    """One stored row per film: film_id, model, fold, mean, std, conditions_json (fold + extras)."""
    out = []
    for i in range(len(film_ids)):
        cond = {"fold": labels[i], **{k: float(v[i]) for k, v in result.extra.items()}}
        out.append((int(film_ids[i]), result.name, labels[i], float(result.mean[i]), float(result.std[i]),
                    json.dumps(cond)))
    return out


def _metrics(frame, y, film_ids, figure6) -> dict:
    """Metrics per model on all films and on the Figure 6 subset."""
    import pandas as pd

    from .metrics import regression_metrics

    truth = pd.Series(y, index=film_ids)
    fig6 = set(film_ids[figure6])
    metrics = {"all": {}, "figure6": {}}
    for model, part in frame.groupby("model", sort=False):
        yt = truth.loc[part["film_id"]].to_numpy()
        metrics["all"][model] = regression_metrics(yt, part["mean"], part["std"])
        sub = part["film_id"].isin(fig6).to_numpy()
        metrics["figure6"][model] = regression_metrics(yt[sub], part["mean"][sub], part["std"][sub])
    return metrics


def run_evaluation(matrix, models="lstm,pbp,ensemble,baselines", repeats: int = 100, folds: str = "film",
                   lstm: LSTMConfig = PAPER, pbp_hidden=(5,), pbp_epochs: int = 100, seed: int = 0,
                   tune: bool = False, tune_trials: int = 12, tune_repeats: int = 1, tune_space: dict | None = None,
                   progress=None, descriptors=PAPER7) -> EvalResult:
    """Evaluate the chosen model groups on the same folds; see the module docstring.

    ``matrix`` is the descriptor matrix (film_id index, descriptors, target, reference_id,
    figure6_subset); ``progress(n)`` (optional) is called with the number of model fits just
    finished (total: :func:`work_units`).
    """
    import pandas as pd

    names = parse_models(models)
    if repeats < 1:
        raise FilmkbError("--repeats must be at least 1")
    t0 = time.perf_counter()
    X = matrix[list(descriptors)].to_numpy(dtype=np.float64)
    y = matrix[TARGET].to_numpy(dtype=np.float64)
    film_ids = matrix.index.to_numpy()
    if len(y) < 4:
        raise FilmkbError(f"only {len(y)} films with complete descriptors; need at least 4 to evaluate")
    layout = Layout.of(matrix, folds, repeats, seed)
    if np.any(layout.masks.sum(axis=1) < 3):
        raise FilmkbError("a fold leaves fewer than 3 training films")
    tune_options = dict(trials=tune_trials, tune_repeats=tune_repeats, space=tune_space)
    family_list = build_models(names, repeats, seed, lstm, pbp_hidden, pbp_epochs, tune, tune_options)
    cache, timings, rows = {}, {}, []
    for model in family_list:
        members = model.cross_predict(X, y, layout, progress or (lambda k: None), cache, timings)
        for result in model.evaluation_rows(members):
            rows += _rows(result, layout.labels, film_ids)
    frame = pd.DataFrame(rows, columns=["film_id", "model", "fold", "mean", "std", "conditions_json"])
    metrics = _metrics(frame, y, film_ids, matrix["figure6_subset"].to_numpy(dtype=bool))
    per_fold = next((m.per_fold_ for m in family_list if hasattr(m, "per_fold_")), None)
    config = _config(names, repeats, folds, len(layout.folds), seed, lstm, pbp_hidden, pbp_epochs, tune, tune_options,
                     per_fold)
    return EvalResult(frame, metrics, config, time.perf_counter() - t0, len(y), timings)


def _config(names, repeats, folds, n_folds, seed, lstm, pbp_hidden, pbp_epochs, tune, tune_options, per_fold) -> dict:
    """The evaluation's settings as stored with its run (and written to the JSON)."""
    want_lstm, want_pbp = bool(names & {"lstm", "ensemble"}), bool(names & {"pbp", "ensemble"})
    return {
        "models": sorted(names), "repeats": int(repeats), "folds": folds, "n_folds": n_folds, "seed": int(seed),
        "lstm": lstm.as_dict() if want_lstm else None, "tune": bool(tune),
        "tune_trials": int(tune_options["trials"]) if tune else None,
        "tune_repeats": int(tune_options["tune_repeats"]) if tune else None,
        "lstm_per_fold": per_fold or None,
        "pbp": {"hidden": list(pbp_hidden), "epochs": int(pbp_epochs)} if want_pbp else None,
        "baselines": list(BASELINES) if "baselines" in names else None,
        "published_uncertainty": PUBLISHED_UNCERTAINTY,
    }


def work_units(n_folds: int, repeats: int, models, tune: bool = False, tune_trials: int = 0) -> int:
    """Number of progress ticks :func:`run_evaluation` will report."""
    names = parse_models(models)
    total = 0
    if names & {"lstm", "ensemble"}:
        total += n_folds * repeats * (2 if tune else 1) + (tune_trials if tune else 0)
    if names & {"pbp", "ensemble"}:
        total += n_folds * repeats
    if "baselines" in names:
        total += n_folds * len(BASELINES)
    return total
