"""Evaluate, train, predict and explain from the knowledge base: the notebook API the CLI wraps.

    from filmkb import ml
    run = ml.train("filmkb.duckdb", repeats=10)              # saves models/<run id>/, records the run
    res = ml.predict([{"substrate": "MgO", "deposition_temp_c": 700, "thickness_nm": 300}])
    shap = ml.explain(out_dir="reports")                      # exact SHAP per film, Figure 7 PNGs

Every result is written back to the database with the run it came from (`model_runs`,
`predictions`, `shap_values`), through the copy-on-write writer, so a failure writes nothing.
A model run records the hash of the descriptor matrix it was trained on; predict and explain
warn when the database has changed since (the model is stale).
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .ensemble import Z95, Ensemble, fit_ensemble
from .lstm import PAPER, LSTMConfig

__all__ = ["evaluate", "train", "predict", "explain", "reproduce", "load_run", "models_root", "TrainResult", "PredictResult",
           "ExplainResult", "stale_warning"]


def _db(db) -> str:
    from ..kb.db import default_path

    return str(db or default_path())


def _matrix(path: str):
    from .. import kb

    with kb.open(path) as k:
        return kb.descriptor_matrix(k)


def _hash(matrix) -> str:
    from .. import kb
    from ..kb.results import data_hash

    return data_hash(matrix[list(kb.DESCRIPTORS) + [kb.TARGET]])


def models_root(db) -> Path:
    """Where model runs of a database are saved by default: `models/` beside the DuckDB file."""
    return Path(_db(db)).resolve().parent / "models"


# ---------------------------------------------------------------------------------- evaluate


def evaluate(db=None, progress=None, **options):
    """Leave-one-out evaluation (:func:`filmkb.ml.evaluate.run_evaluation` options) of the
    database's films, stored as an 'evaluate' run with its predictions. Returns (run_id, EvalResult)."""
    from ..kb import results
    from ..kb.writer import write_session
    from .evaluate import run_evaluation

    path = _db(db)
    matrix = _matrix(path)
    res = run_evaluation(matrix, progress=progress, **options)
    run_id = results.new_run_id("evaluate")
    with write_session(path, wait=30) as con:
        results.store_run(con, run_id, "evaluate", res.config, _hash(matrix), res.n_films,
                          {**res.metrics, "seconds": res.seconds, "timings": res.timings}, predictions=res.predictions)
    return run_id, res


# ------------------------------------------------------------------------------------- train


@dataclass
class TrainResult:
    """A trained and saved ensemble and the model run that records it."""

    run_id: str
    directory: Path
    n_films: int
    seconds: float
    data_hash: str
    fit_metrics: dict
    ensemble: Ensemble = field(repr=False)


def train(db=None, repeats: int = 10, seed: int = 0, lstm: LSTMConfig = PAPER, pbp_hidden=(5,),
          pbp_epochs: int = 100, models_dir=None, progress=None) -> TrainResult:
    """Fit R LSTM + R PBP members on every film with complete descriptors, save them under
    `models_dir/<run id>/` and record the run (config, code version, data hash) in the database."""
    from .. import kb
    from ..kb import results
    from ..kb.db import KBError
    from ..kb.writer import write_session
    from .metrics import regression_metrics

    path = _db(db)
    if repeats < 1:
        raise KBError("--repeats must be at least 1")
    matrix = _matrix(path)
    if len(matrix) < 4:
        raise KBError(f"{path}: only {len(matrix)} films with complete descriptors; need at least 4 to train")
    t0 = time.perf_counter()
    X = matrix[list(kb.DESCRIPTORS)].to_numpy(dtype=np.float64)
    y = matrix[kb.TARGET].to_numpy(dtype=np.float64)
    digest = _hash(matrix)
    run_id = results.new_run_id("train")
    ens = fit_ensemble(X, y, matrix.index.to_numpy(), kb.DESCRIPTORS, repeats=repeats, seed=seed, lstm=lstm,
                       pbp_hidden=pbp_hidden, pbp_epochs=pbp_epochs, progress=progress)
    ens.extra = {"run_id": run_id, "data_hash": digest, "code_version": results.code_version(), "database": path}
    directory = Path(models_dir) if models_dir else models_root(path)
    directory = directory / run_id
    try:
        ens.save(directory)
        fitted = ens.predict(X)
        fit_metrics = {"training_fit": regression_metrics(y, fitted["mean"], fitted["std"]),
                       "note": "in-sample fit on the training films, not a validation; see `filmkb evaluate`"}
        seconds = time.perf_counter() - t0
        config = {**ens.config(), "seed": int(seed), "film_ids": [int(i) for i in ens.film_ids],
                  "ranges": ens.ranges()}
        with write_session(path, wait=30) as con:
            results.store_run(con, run_id, "train", config, digest, len(y), {**fit_metrics, "seconds": seconds},
                              models_dir=str(directory))
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return TrainResult(run_id, directory, len(y), seconds, digest, fit_metrics, ens)


def _run_row(con, run_id: str | None, path: str) -> dict:
    from ..kb.db import KBError

    if run_id:
        rows = con.execute("SELECT * FROM model_runs WHERE id = ?", [run_id]).df()
        if rows.empty:
            raise KBError(f"{path}: no model run '{run_id}'; see `filmkb query \"SELECT id, kind, created_at FROM model_runs\"`")
        if rows.iloc[0]["kind"] != "train":
            raise KBError(f"{path}: run '{run_id}' is an {rows.iloc[0]['kind']} run, not a trained model; "
                          "give a train run id or run `filmkb train`")
    else:
        rows = con.execute("SELECT * FROM model_runs WHERE kind = 'train' ORDER BY created_at DESC, id DESC LIMIT 1").df()
        if rows.empty:
            raise KBError(f"{path}: no trained model yet; run `filmkb train` first")
    return rows.iloc[0].to_dict()


def load_run(db=None, run_id: str | None = None) -> tuple[dict, Ensemble]:
    """The model run (latest train run by default) and its ensemble, read from its saved files."""
    from .. import kb
    from ..kb.db import KBError

    path = _db(db)
    with kb.open(path) as k:
        run = _run_row(k.con, run_id, path)
    directory = Path(run["models_dir"] or "")
    if not (directory / "manifest.json").exists():
        raise KBError(f"{path}: the files of run {run['id']} are missing ({directory}); run `filmkb train` again")
    return run, Ensemble.load(directory)


def stale_warning(run: dict, matrix) -> str | None:
    """A warning with the fix when the database's descriptor matrix differs from the run's."""
    current = _hash(matrix)
    if current == run["data_hash"]:
        return None
    trained = json.loads(run["config_json"]).get("film_ids", [])
    added = sorted(set(matrix.index) - set(trained))
    removed = sorted(set(trained) - set(matrix.index))
    what = []
    if added:
        what.append(f"{len(added)} film(s) added")
    if removed:
        what.append(f"{len(removed)} removed")
    if not what:
        what.append("film values changed")
    return (f"model run {run['id']} is stale: the database has changed since it was trained ({', '.join(what)}); "
            f"retrain with `filmkb train` to include the current films")


# ----------------------------------------------------------------------------------- predict


@dataclass
class PredictResult:
    """Predictions (one row per condition or film), the run they came from and any warnings."""

    run_id: str
    frame: pd.DataFrame
    warnings: list = field(default_factory=list)
    stored: int = 0

    @property
    def stale(self) -> bool:
        return any("stale" in w for w in self.warnings)


_CONDITION_FIELDS = ("composition", "method", "substrate_orientation", "measured_sigma_s_cm", "source", "doi")


def _condition_frame(conditions) -> pd.DataFrame:
    """Conditions (Condition objects, dicts or a DataFrame) as a DataFrame with the needed columns."""
    from ..kb.db import KBError

    if isinstance(conditions, pd.DataFrame):
        frame = conditions.copy()
    else:
        frame = pd.DataFrame([c.as_dict() if hasattr(c, "as_dict") else dict(c) for c in conditions])
    missing = [c for c in ("substrate", "deposition_temp_c", "thickness_nm") if c not in frame]
    if missing:
        raise KBError(f"conditions need {', '.join(missing)}")
    for col in _CONDITION_FIELDS:
        if col not in frame:
            frame[col] = None
    frame["source"] = frame["source"].where(frame["source"].notna(), [f"condition {i + 1}" for i in range(len(frame))])
    return frame.reset_index(drop=True)


def _film_frame(con, matrix_all, films) -> pd.DataFrame:
    """Stored films (ids, or 'all' for every film with its seven descriptors) as condition rows."""
    from .. import kb
    from ..kb.db import KBError

    overview = con.execute("SELECT film_id, composition, method, substrate, orientation, deposition_temp_c, "
                           "thickness_nm, conductivity_s_cm FROM film_overview").df().set_index("film_id")
    complete = matrix_all[list(kb.DESCRIPTORS)].notna().all(axis=1)
    if isinstance(films, str) and films == "all":
        ids = [int(i) for i in matrix_all.index[complete & ~matrix_all["is_duplicate"].astype(bool)]]
    else:
        ids = [int(i) for i in films]
        unknown = [i for i in ids if i not in matrix_all.index]
        if unknown:
            raise KBError(f"no film with id {', '.join(map(str, unknown))}; see `filmkb films`")
        lacking = [i for i in ids if not complete.loc[i]]
        if lacking:
            gaps = {i: [d for d in kb.DESCRIPTORS if pd.isna(matrix_all.loc[i, d])] for i in lacking}
            raise KBError("film(s) without all seven descriptors: "
                          + "; ".join(f"{i} lacks {', '.join(g)}" for i, g in gaps.items()))
    o = overview.loc[ids]
    return pd.DataFrame({
        "film_id": ids, "source": [f"film {i}" for i in ids], "substrate": o["substrate"].to_numpy(),
        "deposition_temp_c": o["deposition_temp_c"].to_numpy(), "thickness_nm": o["thickness_nm"].to_numpy(),
        "composition": o["composition"].to_numpy(), "method": o["method"].to_numpy(),
        "substrate_orientation": o["orientation"].to_numpy(),
        "measured_sigma_s_cm": o["conductivity_s_cm"].to_numpy(), "doi": None,
    })


def predict(conditions=None, db=None, films=None, run_id: str | None = None, store: bool = True) -> PredictResult:
    """Predict log10(sigma / S cm^-1) with its uncertainty for new conditions and/or stored films.

    conditions: Condition objects, dicts or a DataFrame with substrate (any alias),
    deposition_temp_c, thickness_nm (optional: composition, method, substrate_orientation,
    measured_sigma_s_cm). films: film ids, or "all" for every film with complete descriptors.
    Each prediction is stored with the run id unless store=False.
    """
    from .. import kb
    from ..kb.candidates import descriptors as candidate_descriptors
    from ..kb.db import KBError

    path = _db(db)
    if conditions is None and films is None:
        raise KBError("nothing to predict: give conditions, a CSV of conditions or films")
    run, ens = load_run(path, run_id)
    parts = []
    with kb.open(path) as k:
        matrix_all = kb.descriptor_matrix(k, complete=False)
        matrix = kb.descriptor_matrix(k)
        if conditions is not None and len(conditions):
            frame = _condition_frame(conditions)
            frame["film_id"] = None
            desc = candidate_descriptors(k.con, frame)
            frame["substrate"] = desc["substrate"]
            parts.append(pd.concat([frame, desc[list(kb.DESCRIPTORS)]], axis=1))
        if films is not None:
            frame = _film_frame(k.con, matrix_all, films)
            desc = matrix_all.loc[frame["film_id"], list(kb.DESCRIPTORS)].reset_index(drop=True)
            parts.append(pd.concat([frame, desc], axis=1))
    warnings = [w for w in [stale_warning(run, matrix)] if w]
    if list(ens.descriptors) != list(kb.DESCRIPTORS):
        raise KBError(f"run {run['id']} was trained on descriptors {ens.descriptors}; retrain with `filmkb train`")
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if frame.empty:
        return PredictResult(run["id"], frame, warnings)
    X = frame[list(kb.DESCRIPTORS)].to_numpy(dtype=np.float64)
    pred = ens.predict(X)
    out = frame.copy()
    out["neg_log10_sigma_mean"], out["neg_log10_sigma_std"] = pred["mean"], pred["std"]
    out["log10_sigma_mean"], out["log10_sigma_std"] = -pred["mean"], pred["std"]
    out["sigma_s_cm"] = 10.0 ** (-pred["mean"])
    out["sigma_low_s_cm"] = 10.0 ** (-pred["mean"] - Z95 * pred["std"])
    out["sigma_high_s_cm"] = 10.0 ** (-pred["mean"] + Z95 * pred["std"])
    out["lstm_log10_sigma"], out["pbp_log10_sigma"] = -pred["lstm_mean"], -pred["pbp_mean"]
    out["extrapolation"] = [", ".join(e) for e in ens.extrapolation(X)]
    trained = set(int(i) for i in ens.film_ids)
    out["in_training"] = [not pd.isna(fid) and int(fid) in trained for fid in out["film_id"]]
    measured = pd.to_numeric(out["measured_sigma_s_cm"], errors="coerce")
    out["measured_log10_sigma"] = np.log10(measured.where(measured > 0))
    out["z_score"] = (out["measured_log10_sigma"] - out["log10_sigma_mean"]) / out["log10_sigma_std"]
    out["run_id"] = run["id"]
    stored = _store_predictions(path, run["id"], out) if store else 0
    return PredictResult(run["id"], out, warnings, stored)


def _store_predictions(path: str, run_id: str, out: pd.DataFrame) -> int:
    from .. import kb
    from ..kb import results
    from ..kb.writer import write_session

    keep = ["source", "substrate", "substrate_orientation", "deposition_temp_c", "thickness_nm", "composition",
            "method", "measured_sigma_s_cm", "doi", "extrapolation", "in_training", "lstm_log10_sigma",
            "pbp_log10_sigma", *kb.DESCRIPTORS]

    def conditions(row) -> str:
        return json.dumps({k: (None if not isinstance(row[k], str) and pd.isna(row[k]) else
                               (row[k].item() if hasattr(row[k], "item") else row[k])) for k in keep}, default=str)

    rows = pd.DataFrame({
        "film_id": out["film_id"], "model": "ensemble", "fold": "predict",
        "mean": out["neg_log10_sigma_mean"], "std": out["neg_log10_sigma_std"],
        "conditions_json": [conditions(r) for _, r in out.iterrows()],
    })
    with write_session(path, wait=30) as con:
        return results.store_predictions(con, run_id, rows)


# ----------------------------------------------------------------------------------- explain


@dataclass
class ExplainResult:
    """Exact Shapley values of the ensemble mean (-log10 sigma) for every film and descriptor."""

    run_id: str
    values: pd.DataFrame  # film_id x descriptor
    base_value: float
    predictions: pd.Series
    features: pd.DataFrame
    figures: list = field(default_factory=list)
    warnings: list = field(default_factory=list)

    def long(self) -> pd.DataFrame:
        """One row per (film, descriptor): film_id, descriptor, shap_value, base_value."""
        frame = self.values.reset_index().melt(id_vars="film_id", var_name="descriptor", value_name="shap_value")
        frame["base_value"] = self.base_value
        return frame


def explain(db=None, run_id: str | None = None, out_dir=None, store: bool = True) -> ExplainResult:
    """Exact SHAP (all 2^7 coalitions, training films as background) of a trained ensemble for every
    film with complete descriptors; stored in `shap_values` with the run id (replacing that run's
    earlier values) and, with out_dir, plotted as Figure 7 (beeswarm + mean |SHAP|)."""
    from .. import kb
    from ..kb import results
    from ..kb.writer import write_session
    from .plots import shap_plots
    from .shapley import exact_shap

    path = _db(db)
    run, ens = load_run(path, run_id)
    matrix = _matrix(path)
    warnings = [w for w in [stale_warning(run, matrix)] if w]
    features = matrix[list(kb.DESCRIPTORS)]
    ex = exact_shap(ens.predict_mean, features.to_numpy(dtype=np.float64), background=ens.X_train)
    values = pd.DataFrame(ex.values, index=features.index, columns=list(kb.DESCRIPTORS))
    result = ExplainResult(run["id"], values, float(ex.base_values[0]), pd.Series(ex.predictions, index=features.index),
                           features, warnings=warnings)
    if store:
        with write_session(path, wait=30) as con:
            results.store_shap(con, run["id"], result.long())
    if out_dir is not None:
        result.figures = shap_plots(ex.values, features, Path(out_dir))
    return result


# --------------------------------------------------------------------------------- reproduce


@dataclass
class ReproduceResult:
    """What the main job produced: the report, its runs and how long each step took."""

    report: Path
    status: str
    failures: list
    eval_run: str
    train_run: str
    timings: dict


def reproduce(db=None, out_dir="reports", repeats: int | None = None, full: bool = False, seed: int = 0,
              lstm: LSTMConfig = PAPER, models_dir=None, say=print, progress=None) -> ReproduceResult:
    """The main job: build or refresh the knowledge base, validate it, evaluate (leave-one-film-out),
    train, explain and write the report. repeats defaults to 10 (about two minutes on 2 cores);
    full=True is the paper protocol (100 seeds per fold and for the trained ensemble)."""
    from .. import kb
    from ..ingest.pipeline import refresh_database
    from .report import write_report

    path = _db(db)
    repeats = int(repeats or (100 if full else 10))
    timings = {}
    t = time.perf_counter()
    status = refresh_database(path)
    with kb.open(path) as k:
        failures = kb.validate(k)
        info = kb.summary(k)
        subs = kb.substrates(k)
        fig5 = kb.figure5_data(k)
        labels = k.sql("""SELECT d.film_id, d.neg_log10_sigma, d.substrate, d.figure6_subset, p.key AS reference
                          FROM film_descriptors_complete d LEFT JOIN publications p ON p.id = d.reference_id""")
    timings["build+validate"] = time.perf_counter() - t
    say(f"knowledge base {path}: {status}; {info['complete_descriptor_rows']} films with complete descriptors; "
        f"validation: {'all expectations met' if not failures else f'{len(failures)} failures'}")
    if failures:
        from ..kb.db import KBError

        raise KBError(f"{path}: {len(failures)} validation failures, first: {failures[0]}; fix the data and rerun")
    t = time.perf_counter()
    eval_run, evaluation = evaluate(path, progress=progress, repeats=repeats, lstm=lstm, seed=seed)
    timings["evaluate"] = time.perf_counter() - t
    e = evaluation.metrics["all"]["ensemble"]
    say(f"evaluate ({repeats} seeds x {evaluation.n_films} folds): ensemble R2 {e['r2']:.3f}, RMSE {e['rmse']:.3f}, "
        f"MAPE {e['mape']:.3f} (paper 0.83 / 0.414 / 0.054); run {eval_run}")
    t = time.perf_counter()
    trained = train(path, repeats=repeats, seed=seed, lstm=lstm, models_dir=models_dir, progress=progress)
    timings["train"] = time.perf_counter() - t
    say(f"train: {repeats} LSTM + {repeats} PBP members on {trained.n_films} films -> {trained.directory}")
    t = time.perf_counter()
    explanation = explain(path, trained.run_id)
    timings["explain"] = time.perf_counter() - t
    top = explanation.values.abs().mean().sort_values(ascending=False)
    say("explain: mean |SHAP| " + ", ".join(f"{d} {v:.3f}" for d, v in top.head(3).items()) + ", ...")
    t = time.perf_counter()
    report = write_report(out_dir, database=path, status=status, info=info, failures=failures, substrates=subs,
                          eval_run=eval_run, evaluation=evaluation, train=trained, explanation=explanation,
                          figure5=fig5, film_labels=labels, timings=timings, full=full)
    timings["report"] = time.perf_counter() - t
    return ReproduceResult(report, status, failures, eval_run, trained.run_id, timings)
