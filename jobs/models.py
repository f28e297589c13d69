"""Jobs that model the knowledge base: evaluate, train, predict, explain.

Each opens the knowledge base once, hands ml the descriptor matrix as arrays and stores what
comes back (runs, predictions, SHAP values) in one transaction with the run it came from. A
model run records the hash of the descriptor matrix it saw; predict and explain warn when the
database has changed since (the model is stale).
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import kb
from ..errors import FilmkbError
from ..ml import ensemble as paper_ensemble
from ..ml.domain import outside_range, ranges
from ..ml.lstm import PAPER, LSTMConfig
from ..ml.members import Z95, member_seeds
from ..schema.descriptors import PAPER7, TARGET

__all__ = ["evaluate", "train", "predict", "explain", "load_run", "models_root", "stale_warning", "TrainResult",
           "PredictResult", "ExplainResult"]
WRITE_WAIT = 30.0  # seconds a finished job waits for another writer before giving up


def matrix_hash(matrix) -> str:
    return kb.data_hash(matrix[list(PAPER7) + [TARGET]])


def models_root(db) -> Path:
    """Where model runs of a database are saved by default: `models/` beside the DuckDB file."""
    return Path(str(db or kb.default_path())).resolve().parent / "models"


# ---------------------------------------------------------------------------------- evaluate


def evaluate(db=None, progress=None, k=None, on_total=None, **options):
    """Leave-one-out evaluation (:func:`filmkb.ml.evaluate.run_evaluation` options) of the
    database's films, stored as an 'evaluate' run with its predictions. Returns (run_id, EvalResult).
    progress(n) counts fitted models; on_total(n), if given, first hears how many there will be."""
    from ..ml.evaluate import run_evaluation, work_units
    from ..ml.folds import make_folds

    with _opened(db, k) as k:
        matrix = k.descriptor_matrix()
        if on_total is not None and len(matrix):
            n_folds = len(make_folds(matrix, options.get("folds", "film"))[1])
            on_total(work_units(n_folds, options.get("repeats", 100), options.get("models", "lstm,pbp,ensemble,baselines"),
                                options.get("tune", False), options.get("tune_trials", 12)))
        res = run_evaluation(matrix, progress=progress, **options)
        run_id = kb.new_run_id("evaluate")
        with k.transaction(WRITE_WAIT):
            k.store_run(run_id, "evaluate", res.config, matrix_hash(matrix), res.n_films,
                        {**res.metrics, "seconds": res.seconds, "timings": res.timings}, predictions=res.predictions)
    return run_id, res


class _opened:
    """The caller's open knowledge base `k` (left open), or `db` opened for the block."""

    def __init__(self, db, k):
        self.k, self.owned = (k, False) if k is not None else (kb.open(db), True)

    def __enter__(self):
        return self.k

    def __exit__(self, *exc):
        if self.owned:
            self.k.close()


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
    model: object = field(repr=False)  # ml.ensemble.PaperEnsemble


def train(db=None, repeats: int = 10, seed: int = 0, lstm: LSTMConfig = PAPER, pbp_hidden=(5,),
          pbp_epochs: int = 100, models_dir=None, progress=None, k=None) -> TrainResult:
    """Fit R LSTM + R PBP members on every film with complete descriptors, save them under
    `models_dir/<run id>/` and record the run (config, code version, data hash) in the database."""
    from ..ml.metrics import regression_metrics
    from ..ml.neural import LSTMModel, PBPModel

    if repeats < 1:
        raise FilmkbError("--repeats must be at least 1")
    with _opened(db, k) as k:
        matrix = k.descriptor_matrix()
        if len(matrix) < 4:
            raise FilmkbError(f"{k.path}: only {len(matrix)} films with complete descriptors; need at least 4 to train")
        t0 = time.perf_counter()
        X, y = matrix[list(PAPER7)].to_numpy(dtype=np.float64), matrix[TARGET].to_numpy(dtype=np.float64)
        digest, run_id = matrix_hash(matrix), kb.new_run_id("train")
        model = paper_ensemble.PaperEnsemble(LSTMModel(lstm, repeats, seed), PBPModel(tuple(pbp_hidden), pbp_epochs,
                                                                                      repeats, seed))
        model.fit(X, y, member_seeds(seed, repeats), progress=progress)
        directory = (Path(models_dir) if models_dir else models_root(k.path)) / run_id
        meta = {"descriptors": list(PAPER7), "film_ids": [int(i) for i in matrix.index], "run_id": run_id,
                "data_hash": digest, "code_version": kb.code_version(), "database": k.path}
        try:
            paper_ensemble.save(model, directory, meta)
            fitted_mean, fitted_var = model.predict_dist(X)
            fit_metrics = {"training_fit": regression_metrics(y, fitted_mean, np.sqrt(fitted_var)),
                           "note": "in-sample fit on the training films, not a validation; see `filmkb evaluate`"}
            seconds = time.perf_counter() - t0
            config = {**model.config(), "descriptors": list(PAPER7), "seed": int(seed), "film_ids": meta["film_ids"],
                      "ranges": ranges(X, PAPER7)}
            with k.transaction(WRITE_WAIT):
                k.store_run(run_id, "train", config, digest, len(y), {**fit_metrics, "seconds": seconds},
                            models_dir=str(directory))
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
    return TrainResult(run_id, directory, len(y), seconds, digest, fit_metrics, model)


def load_run(k, run_id: str | None = None) -> tuple[dict, object, dict]:
    """The model run (latest train run by default), its ensemble and manifest, read from its files."""
    run = k.model_run(run_id, "train")
    directory = Path(run["models_dir"] or "")
    if not (directory / paper_ensemble.MANIFEST).exists():
        raise FilmkbError(f"{k.path}: the files of run {run['id']} are missing ({directory}); run `filmkb train` again")
    model, manifest = paper_ensemble.load(directory)
    return run, model, manifest


def stale_warning(run: dict, matrix) -> str | None:
    """A warning with the fix when the database's descriptor matrix differs from the run's."""
    if matrix_hash(matrix) == run["data_hash"]:
        return None
    trained = json.loads(run["config_json"]).get("film_ids", [])
    added = sorted(set(matrix.index) - set(trained))
    removed = sorted(set(trained) - set(matrix.index))
    what = [f"{len(added)} film(s) added"] if added else []
    what += [f"{len(removed)} removed"] if removed else []
    return (f"model run {run['id']} is stale: the database has changed since it was trained "
            f"({', '.join(what or ['film values changed'])}); retrain with `filmkb train` to include the current films")


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


_OPTIONAL = ("composition", "method", "substrate_orientation", "measured_sigma_s_cm", "source", "doi")


def _condition_frame(k, conditions) -> pd.DataFrame:
    """Conditions (Condition objects, dicts or a DataFrame) as rows with substrate id and descriptors."""
    if isinstance(conditions, pd.DataFrame):
        frame = conditions.copy()
    else:
        frame = pd.DataFrame([c.as_dict() if hasattr(c, "as_dict") else dict(c) for c in conditions])
    missing = [c for c in ("substrate", "deposition_temp_c", "thickness_nm") if c not in frame]
    if missing:
        raise FilmkbError(f"conditions need {', '.join(missing)}")
    for col in _OPTIONAL:
        if col not in frame:
            frame[col] = None
    frame = frame.reset_index(drop=True)
    frame["source"] = frame["source"].where(frame["source"].notna(), [f"condition {i + 1}" for i in range(len(frame))])
    vocab = k.vocabulary()
    names = [vocab.resolve("substrate", s) for s in frame["substrate"]]
    unknown = sorted({str(s) for s, name in zip(frame["substrate"], names) if name is None})
    if unknown:
        raise FilmkbError(f"unknown substrate(s) {', '.join(unknown)}; see `filmkb substrates`")
    ids = k.substrate_ids()
    frame["substrate"], frame["substrate_id"] = names, [ids[name] for name in names]
    frame["film_id"] = None
    desc = k.condition_descriptors(frame)
    return pd.concat([frame, desc[list(PAPER7)]], axis=1)


def _film_frame(k, matrix_all, films) -> pd.DataFrame:
    """Stored films (ids, or 'all' for every distinct film with its descriptors) as condition rows."""
    complete = matrix_all[list(PAPER7)].notna().all(axis=1)
    if isinstance(films, str) and films == "all":
        ids = [int(i) for i in matrix_all.index[complete & ~matrix_all["is_duplicate"].astype(bool)]]
    else:
        ids = [int(i) for i in films]
        unknown = [i for i in ids if i not in matrix_all.index]
        if unknown:
            raise FilmkbError(f"no film with id {', '.join(map(str, unknown))}; see `filmkb films`")
        gaps = {i: [d for d in PAPER7 if pd.isna(matrix_all.loc[i, d])] for i in ids if not complete.loc[i]}
        if gaps:
            raise FilmkbError("film(s) without all seven descriptors: "
                              + "; ".join(f"{i} lacks {', '.join(g)}" for i, g in gaps.items()))
    o = k.film_conditions(ids).loc[ids]
    frame = pd.DataFrame({
        "film_id": ids, "source": [f"film {i}" for i in ids], "substrate": o["substrate"].to_numpy(),
        "deposition_temp_c": o["deposition_temp_c"].to_numpy(), "thickness_nm": o["thickness_nm"].to_numpy(),
        "composition": o["composition"].to_numpy(), "method": o["method"].to_numpy(),
        "substrate_orientation": o["orientation"].to_numpy(),
        "measured_sigma_s_cm": o["conductivity_s_cm"].to_numpy(), "doi": None,
    })
    return pd.concat([frame, matrix_all.loc[ids, list(PAPER7)].reset_index(drop=True)], axis=1)


def _predicted(frame: pd.DataFrame, model, manifest: dict, run_id: str) -> pd.DataFrame:
    """The condition rows with the ensemble's mean, sd, sigma interval, flags and measured z-score."""
    X = frame[list(PAPER7)].to_numpy(dtype=np.float64)
    pred = model.parts(X)
    out = frame.copy()
    out["neg_log10_sigma_mean"], out["neg_log10_sigma_std"] = pred["mean"], pred["std"]
    out["log10_sigma_mean"], out["log10_sigma_std"] = -pred["mean"], pred["std"]
    out["sigma_s_cm"] = 10.0 ** (-pred["mean"])
    out["sigma_low_s_cm"] = 10.0 ** (-pred["mean"] - Z95 * pred["std"])
    out["sigma_high_s_cm"] = 10.0 ** (-pred["mean"] + Z95 * pred["std"])
    out["lstm_log10_sigma"], out["pbp_log10_sigma"] = -pred["lstm_mean"], -pred["pbp_mean"]
    out["extrapolation"] = [", ".join(e) for e in outside_range(model.X_train_, X, manifest["descriptors"])]
    trained = set(int(i) for i in manifest["film_ids"])
    out["in_training"] = [not pd.isna(fid) and int(fid) in trained for fid in out["film_id"]]
    measured = pd.to_numeric(out["measured_sigma_s_cm"], errors="coerce")
    out["measured_log10_sigma"] = np.log10(measured.where(measured > 0))
    out["z_score"] = (out["measured_log10_sigma"] - out["log10_sigma_mean"]) / out["log10_sigma_std"]
    out["run_id"] = run_id
    return out


def _typed_conditions(k, cells: dict | None, files) -> list:
    """Conditions typed as template cells (command-line options) or in CSV/YAML files, normalised
    exactly as an ingest would be (units, aliases); every bad cell is reported."""
    from ..ingest.conditions import condition_from_options, read_conditions

    vocab = k.vocabulary()
    typed = [condition_from_options(vocab, **cells)] if cells else []
    return typed + (read_conditions(files, vocab) if files else [])


def predict(conditions=None, db=None, films=None, run_id: str | None = None, store: bool = True,
            cells: dict | None = None, files=()) -> PredictResult:
    """Predict log10(sigma / S cm^-1) with its uncertainty for new conditions and/or stored films.

    conditions: Condition objects, dicts or a DataFrame with substrate (any alias),
    deposition_temp_c, thickness_nm (optional: composition, method, substrate_orientation,
    measured_sigma_s_cm). cells: one condition as ingest-template cells (units allowed);
    files: CSV/YAML conditions in the ingest template. films: film ids, or "all" for every film
    with complete descriptors. Each prediction is stored with the run id unless store=False.
    """
    if conditions is None and films is None and not cells and not files:
        raise FilmkbError("nothing to predict: give conditions, a CSV of conditions or films")
    with kb.open(db) as k:
        typed = _typed_conditions(k, cells, files)
        if typed:
            records = conditions.to_dict("records") if isinstance(conditions, pd.DataFrame) else conditions
            conditions = typed if records is None else [*records, *typed]
        run, model, manifest = load_run(k, run_id)
        if list(manifest["descriptors"]) != list(PAPER7):
            raise FilmkbError(f"run {run['id']} was trained on descriptors {manifest['descriptors']}; "
                              "retrain with `filmkb train`")
        matrix_all = k.descriptor_matrix(complete=False)
        parts = [_condition_frame(k, conditions)] if conditions is not None and len(conditions) else []
        parts += [_film_frame(k, matrix_all, films)] if films is not None else []
        warnings = [w for w in [stale_warning(run, k.descriptor_matrix())] if w]
        if not parts:
            return PredictResult(run["id"], pd.DataFrame(), warnings)
        out = _predicted(pd.concat(parts, ignore_index=True), model, manifest, run["id"])
        stored = 0
        if store:
            with k.transaction(WRITE_WAIT):
                stored = k.store_predictions(run["id"], _prediction_rows(out))
    return PredictResult(run["id"], out, warnings, stored)


def _prediction_rows(out: pd.DataFrame) -> pd.DataFrame:
    """Predictions as stored: mean and sd of -log10 sigma, the conditions and flags as JSON."""
    keep = ["source", "substrate", "substrate_orientation", "deposition_temp_c", "thickness_nm", "composition",
            "method", "measured_sigma_s_cm", "doi", "extrapolation", "in_training", "lstm_log10_sigma",
            "pbp_log10_sigma", *PAPER7]

    def plain(value):
        if not isinstance(value, str) and pd.isna(value):
            return None
        return value.item() if hasattr(value, "item") else value

    return pd.DataFrame({
        "film_id": out["film_id"], "model": "ensemble", "fold": "predict",
        "mean": out["neg_log10_sigma_mean"], "std": out["neg_log10_sigma_std"],
        "conditions_json": [json.dumps({c: plain(row[c]) for c in keep}, default=str) for _, row in out.iterrows()],
    })


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


def explain(db=None, run_id: str | None = None, out_dir=None, store: bool = True, k=None) -> ExplainResult:
    """Exact SHAP (all 2^7 coalitions, training films as background) of a trained ensemble for every
    film with complete descriptors; stored in `shap_values` with the run id (replacing that run's
    earlier values) and, with out_dir, plotted as Figure 7 (beeswarm + mean |SHAP|)."""
    from ..ml.plots import shap_plots
    from ..ml.shapley import exact_shap

    with _opened(db, k) as k:
        run, model, manifest = load_run(k, run_id)
        matrix = k.descriptor_matrix()
        warnings = [w for w in [stale_warning(run, matrix)] if w]
        features = matrix[list(PAPER7)]
        ex = exact_shap(model.predict_mean, features.to_numpy(dtype=np.float64), background=model.X_train_)
        values = pd.DataFrame(ex.values, index=features.index, columns=list(PAPER7))
        result = ExplainResult(run["id"], values, float(ex.base_values[0]),
                               pd.Series(ex.predictions, index=features.index), features, warnings=warnings)
        if store:
            with k.transaction(WRITE_WAIT):
                k.store_shap(run["id"], result.long())
    if out_dir is not None:
        result.figures = shap_plots(ex.values, features, Path(out_dir))
    return result
