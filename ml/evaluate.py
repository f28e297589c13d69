"""Leave-one-out (or leave-one-reference-out; grouped K-fold above 30 papers) evaluation of every model
family on the same folds.

Protocol (:func:`run_evaluation`):

- Folds (:mod:`filmkb.ml.folds`): ``"film"`` leaves each film with complete descriptors out once
  (the paper); ``"reference"`` leaves out all films of one publication at a time. Above
  ``LOO_MAX_PAPERS`` (30) papers both become K-fold grouped by film or by paper (GroupKFold, K=10 by
  default): the protocol that ran is ``config["protocol"]``.
- Films: the paper's LSTM, PBP and ensemble take the films with all seven descriptors (the paper's
  protocol); the baselines and the recommended model every distinct film with a conductivity, a
  missing descriptor imputed on each fold's training films (:mod:`filmkb.ml.imputation`) unless the
  family takes NaN itself; ``config["films_used"]`` and each model's ``films_used`` say how many.
- The same folds serve every model (over the films it takes). A held-out film never reaches its model: not through
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
from ..schema.descriptors import DOMAIN_COLUMNS, MODEL_COLUMNS, PAPER7, SETS, TARGET, column_indices
from .baselines import BASELINES, baseline
from .ensemble import PaperEnsemble
from .imputation import for_missing
from .folds import DEFAULT_K, LOO_MAX_PAPERS, Layout, copy_layout, default_seeds, make_folds, protocol
from .lstm import PAPER, LSTMConfig
from .neural import LSTMModel, PBPModel, TunedLSTMModel
from .recommended import Recommended
from .registry import evaluated, families
from .select import candidates as rec_candidates

__all__ = ["PAPER_METRICS", "EvalResult", "make_folds", "copy_layout", "run_evaluation", "MODEL_GROUPS",
           "work_units", "parse_models"]

# The seed paper's leave-one-out figures (R2, RMSE, MAPE on -log10 sigma).
PAPER_METRICS = {
    "ensemble": {"r2": 0.83, "rmse": 0.414, "mape": 0.054},
    "lstm": {"r2": 0.69, "rmse": 0.584, "mape": 0.074},
    "pbp": {"r2": 0.76, "rmse": 0.496, "mape": 0.063},
}
MODEL_GROUPS = ("lstm", "pbp", "ensemble", "baselines", "recommended")
DEFAULT_MODELS = "lstm,pbp,ensemble,baselines,recommended"
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
    targets: dict = field(default_factory=dict)  # the trustworthy-prediction targets, measured


def parse_models(models) -> set:
    """The model groups and registered family names asked for (ml/families/: `filmkb models`)."""
    names = {m.strip().lower() for m in (models.split(",") if isinstance(models, str) else models) if m.strip()}
    known = dict.fromkeys([*MODEL_GROUPS, *families()])
    unknown = names - set(known)
    if unknown or not names:
        raise FilmkbError(f"unknown models {', '.join(sorted(unknown)) or '(none)'}; choose from {', '.join(known)}")
    return names


def single_families(names: set) -> list[str]:
    """Registered families asked for by name that no group already brings (e.g. et, knn), simplest first."""
    brought = set(MODEL_GROUPS) | (set(BASELINES) if "baselines" in names else set())
    return [f for f in families() if f in names and f not in brought]


def build_models(names: set, repeats: int, seed: int, lstm: LSTMConfig, pbp_hidden, pbp_epochs: int,
                 tune: bool, tune_options: dict, recommended: dict | None = None) -> list:
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
    if "baselines" in names:  # every film with a target; ridge, GP and forest through multiple imputation
        models += [for_missing(b, baseline(b, seed)) for b in BASELINES]
    models += [for_missing(f, evaluated(f, seed, repeats)) for f in single_families(names)]
    if "recommended" in names:
        models.append(recommended_model(seed=seed, **(recommended or {})))
    return models


def recommended_model(seed: int = 0, candidates="default", n_jobs: int = 1, repeats: int = 3) -> Recommended:
    """The recommended procedure on the model matrix (MODEL_COLUMNS): candidates on paper7 and extended."""
    columns = {name: column_indices(dset.columns) for name, dset in SETS.items()}
    return Recommended(candidates, columns, column_indices(DOMAIN_COLUMNS), repeats=repeats, random_state=seed,
                       n_jobs=n_jobs)


class _Background:
    """A neural family's members (the LSTM's or PBP's: one long XLA program, which releases the
    interpreter) trained in a thread while the other families fit; the results are the same as in
    line (every copy has its own seed; JAX's x64 switch, which PBP scopes, is per thread)."""

    def __init__(self, model, X, y, layout, tick, cache, timings):
        import threading

        self.error = None
        self.thread = threading.Thread(target=self._run, args=(model, X, y, layout, tick, cache, timings), daemon=True)
        self.thread.start()

    def _run(self, model, *args):
        try:
            model.cross_predict(*args)
        except BaseException as exc:  # re-raised in the main thread by the evaluation
            self.error = exc

    def join(self):
        self.thread.join()


class _FromBatch:
    """The untuned LSTM's held-out members from an :class:`LSTMBatch` already training (the main job
    starts one before anything else); joined, like :class:`_Background`, when they are needed."""

    def __init__(self, batch, cache, timings, layout):
        self.batch, self.cache, self.timings, self.layout, self.error = batch, cache, timings, layout, None

    def join(self):
        try:
            self.cache["lstm"] = self.batch.held_out(self.layout)
            if self.timings is not None:
                self.timings["lstm_s"] = self.batch.seconds
        except BaseException as exc:
            self.error = exc


def _neural_in_background(family_list, X, y, layout, tick, cache, timings, batch=None) -> list:
    """Start the untuned LSTM and PBP each in a thread when other families are waiting to fit beside
    them (their XLA programs release the interpreter), or take the LSTM's members from `batch`, an
    LSTMBatch that serves this layout. Returns what to join before a neural family's rows are made."""
    def part(cls, attr):
        found = next((m for m in family_list if type(m) is cls), None)
        return found or next((getattr(m, attr) for m in family_list if isinstance(m, PaperEnsemble)
                              and type(getattr(m, attr)) is cls), None)

    lstm, pbp = part(LSTMModel, "lstm"), part(PBPModel, "pbp")
    others = [m for m in family_list if not m.stochastic]
    started = []
    if lstm is not None and batch is not None and batch.serves(lstm.config, layout):
        started.append(_FromBatch(batch, cache, timings, layout))
    elif lstm is not None and others:
        started.append(_Background(lstm, X, y, layout, tick, cache, timings))
    if pbp is not None and others:
        started.append(_Background(pbp, X, y, layout, tick, cache, timings))
    return started


def _neural(model) -> bool:
    """Fitted after the others (its members may be training in the background meanwhile)."""
    return bool(model.stochastic)


def _seed_spread(per_seed, y) -> dict:
    """RMSE of each seed's own predictions: mean and standard error over the seeds."""
    rmse = np.sqrt(np.mean((per_seed - y[None, :]) ** 2, axis=1))
    return {"rmse_seed_mean": float(rmse.mean()),
            "rmse_seed_se": float(rmse.std(ddof=1) / np.sqrt(len(rmse))) if len(rmse) > 1 else float("nan")}


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


def run_evaluation(matrix, models=DEFAULT_MODELS, repeats: int | None = None, folds: str = "film",
                   lstm: LSTMConfig = PAPER, pbp_hidden=(5,), pbp_epochs: int = 100, seed: int = 0,
                   tune: bool = False, tune_trials: int = 12, tune_repeats: int = 1, tune_space: dict | None = None,
                   progress=None, descriptors=PAPER7, recommended: dict | None = None, lstm_batch=None,
                   folds_k: int | None = None) -> EvalResult:
    """Evaluate the chosen model groups on the same folds; see the module docstring.

    ``matrix`` is the model matrix (film_id index, the columns in ``descriptors`` and, for the
    recommended model, every MODEL_COLUMNS column; target, reference_id, figure6_subset);
    ``recommended`` holds options of :func:`recommended_model`; ``progress(n)`` (optional) is called
    with the number of model fits just finished (total: :func:`work_units`, the recommended
    model's inner fits not counted); ``lstm_batch`` (optional): an :class:`~filmkb.ml.neural.LSTMBatch`
    already training this layout's LSTM copies; ``folds_k``: K of the grouped K-fold that replaces
    leave-one-out above :data:`~filmkb.ml.folds.LOO_MAX_PAPERS` papers (default 10); ``repeats`` None:
    100 seeds per fold leaving one out, 10 in the K-fold (:func:`~filmkb.ml.folds.default_seeds`).
    """
    import pandas as pd

    names = parse_models(models)
    complete = matrix[matrix[list(PAPER7)].notna().all(axis=1)]  # the paper's protocol: films with all seven
    repeats = int(repeats if repeats is not None else default_seeds(protocol(complete, folds, folds_k)))
    if repeats < 1:
        raise FilmkbError("--repeats must be at least 1")
    t0 = time.perf_counter()
    paper = bool(names & {"lstm", "pbp", "ensemble"})
    if len(complete if paper else matrix) < 4:
        raise FilmkbError(f"only {len(complete if paper else matrix)} films with "
                          f"{'complete descriptors' if paper else 'a conductivity'}; need at least 4 to evaluate")
    # the paper's families see the films with every descriptor; the others (baselines, recommended) every film
    X, y, film_ids, layout = _part(matrix, descriptors, folds, repeats, seed, folds_k)
    Xp, yp, paper_ids, paper_layout = (X, y, film_ids, layout) if len(complete) == len(matrix) or not paper else _part(
        complete, descriptors, folds, repeats, seed, folds_k)
    tune_options = dict(trials=tune_trials, tune_repeats=tune_repeats, space=tune_space)
    family_list = build_models(names, repeats, seed, lstm, pbp_hidden, pbp_epochs, tune, tune_options, recommended)
    X_all = (matrix[list(MODEL_COLUMNS)].to_numpy(dtype=np.float64)
             if any(m.wants_model_columns for m in family_list) else None)
    cache, timings, rows, spreads = {}, {}, [], {}
    tick = progress or (lambda k: None)
    background = _neural_in_background(family_list, Xp, yp, paper_layout, tick, cache, timings, lstm_batch)
    members = {}
    for model in sorted(family_list, key=_neural):  # the others first, while the neural families train
        if _neural(model):
            for job in background:
                job.join()  # its members are in the cache now
                if job.error is not None:
                    raise job.error
        if _neural(model):
            members[id(model)] = model.cross_predict(Xp, yp, paper_layout, tick, cache, timings)
        else:
            members[id(model)] = model.cross_predict(X_all if model.wants_model_columns else X, y, layout, tick,
                                                     cache, timings)
    films_used = {}
    for model in family_list:  # rows in the order the families were asked for
        used_ids, used_layout, used_y = (paper_ids, paper_layout, yp) if _neural(model) else (film_ids, layout, y)
        for result in model.evaluation_rows(members[id(model)]):
            rows += _rows(result, used_layout.labels, used_ids)
            films_used[result.name] = len(used_ids)
            if result.per_seed is not None and len(result.per_seed) > 1:
                spreads[result.name] = _seed_spread(result.per_seed, used_y)
    frame = pd.DataFrame(rows, columns=["film_id", "model", "fold", "mean", "std", "conditions_json"])
    metrics = _metrics(frame, y, film_ids, matrix["figure6_subset"].to_numpy(dtype=bool))
    for name, extra in spreads.items():
        metrics["all"][name].update(extra)
    for name, n in films_used.items():
        metrics["all"][name]["films_used"] = n
    per_fold = next((m.per_fold_ for m in family_list if hasattr(m, "per_fold_")), None)
    config = _config(names, repeats, folds, len(layout.folds), seed, lstm, pbp_hidden, pbp_epochs, tune, tune_options,
                     per_fold)
    config["descriptors"] = list(descriptors)
    config["films_used"] = films_used
    config["protocol"] = layout.protocol
    if config["lstm"] is not None:
        from .engine import effective_epochs

        config["lstm_effective_epochs"] = effective_epochs(lstm.epochs, len(y), lstm.batch_size)
    rec = next((m for m in family_list if m.name == Recommended.name), None)
    if rec is not None:
        config["recommended"] = {"candidates": [c.name for c in rec_candidates(rec.candidates)],
                                 "choices": rec.choices_, "inner_folds": rec.inner_folds, "repeats": rec.repeats,
                                 "rule": ("candidates that beat the mean on the papers (paired one-sided t-test, "
                                          f"family-wise {rec.alpha:g}, Bonferroni), then the simplest within one "
                                          "standard error of the best, over papers" if rec.alpha is not None
                                          else "one standard error over papers, simplest first"),
                                 "one_se_choices": rec.one_se_[2] if rec.one_se_ is not None else None,
                                 "candidate_rmse": rec.candidate_rmse_,
                                 "calibrated_rows": "NAME+cal: candidate NAME, its sd scaled per outer fold by the RMS "
                                                    "of its normalised inner-fold residuals (training films only)",
                                 "calibration_scores": (f"one paper and one film left out at a time up to {LOO_MAX_PAPERS} "
                                                        f"papers in a training set, {DEFAULT_K} folds of papers and "
                                                        f"{DEFAULT_K} of films above (ml.recommended.calibration_folds)")}
    return EvalResult(frame, metrics, config, time.perf_counter() - t0, len(complete), timings,
                      targets(metrics["all"], frame, y, film_ids, matrix["reference_id"].to_numpy(), folds))


def _part(matrix, descriptors, folds, repeats, seed, folds_k) -> tuple:
    """X (the `descriptors` columns, NaN where missing), y, film ids and fold layout of `matrix`'s films."""
    layout = Layout.of(matrix, folds, repeats, seed, folds_k)
    if np.any(layout.masks.sum(axis=1) < 3):
        raise FilmkbError("a fold leaves fewer than 3 training films")
    return (matrix[list(descriptors)].to_numpy(dtype=np.float64), matrix[TARGET].to_numpy(dtype=np.float64),
            matrix.index.to_numpy(), layout)


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


def targets(metrics: dict, frame, y, film_ids, references, folds: str) -> dict:
    """The trustworthy-prediction targets, measured (empty unless both recommended and mean ran)."""
    if "recommended" not in metrics or "mean" not in metrics:
        return {}
    rec, mean = metrics["recommended"], metrics["mean"]
    out = {"coverage_95_within_0.90_0.98": 0.90 <= rec["coverage_2s"] <= 0.98, "nll_below_mean": rec["nll"] < mean["nll"]}
    if folds == "reference":
        excess = worst_paper_excess(frame, y, film_ids, references)
        out.update({"rmse_at_most_mean": rec["rmse"] <= mean["rmse"], "worst_paper_mae_excess": excess,
                    "no_paper_worse_than_mean_by_0.5": excess <= 0.5})
    else:
        others = [m for m in BASELINES if m in metrics]
        out.update({"rmse_at_most_0.90": rec["rmse"] <= 0.90,
                    "rmse_below_every_baseline": all(rec["rmse"] < metrics[m]["rmse"] for m in others)})
    out["all_met"] = all(v for k, v in out.items() if isinstance(v, bool))
    return out


def worst_paper_excess(frame, y, film_ids, references) -> float:
    """Largest (recommended MAE - mean-baseline MAE) over the papers, in decades."""
    truth = dict(zip(film_ids, y))
    ref = dict(zip(film_ids, references))
    worst = -np.inf
    parts = {m: frame[frame["model"] == m].set_index("film_id")["mean"] for m in ("recommended", "mean")}
    for paper in np.unique(references):
        films = [f for f in film_ids if ref[f] == paper]
        mae = {m: np.mean([abs(truth[f] - p.loc[f]) for f in films]) for m, p in parts.items()}
        worst = max(worst, mae["recommended"] - mae["mean"])
    return float(worst)


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
    total += sum(n_folds * (repeats if families()[f].stochastic else 1) for f in single_families(names))
    return total
