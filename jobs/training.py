"""The train job: fit the recommended model (default: every film with a target, a missing descriptor
imputed) or the paper's LSTM + PBP ensemble (every film with complete descriptors), save it under
models/<run id>/ and record the run with its files."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np

from .. import kb
from ..errors import FilmkbError
from ..ml.artifacts import MANIFEST, sha256
from ..ml.domain import ranges
from ..ml.lstm import PAPER, LSTMConfig
from ..schema.descriptors import DEFAULT_SET, MODEL_COLUMNS, TARGET
from . import properties as substrate_properties
from . import run_files
from .runs import WRITE_WAIT, TrainResult, matrix_hash, models_root, opened, trained_matrix

__all__ = ["train", "MODELS"]
MODELS = ("recommended", "paper")
NOTE = "in-sample fit on the training films, not a validation; see `filmkb evaluate`"


def train(db=None, model: str = "recommended", repeats: int = 10, seed: int = 0, lstm: LSTMConfig = PAPER,
          pbp_hidden=(5,), pbp_epochs: int = 100, models_dir=None, progress=None, k=None,
          candidates="default", n_jobs: int = 1, descriptors: str | None = None, lstm_batch=None,
          properties: str | None = None) -> TrainResult:
    """Fit `model` on every film with complete descriptors, save it under `models_dir/<run id>/` and
    record the run (config, code version, data hash) in the database.

    model="recommended": the candidate chosen by grouped inner validation on all films, with paper
    offsets, calibrated intervals and a domain check (:mod:`filmkb.ml.recommended`);
    model="paper": R LSTM + R PBP members, the seed paper's ensemble.
    descriptors: 'paper7' or 'extended' (the set the paper's ensemble learns from, paper7 by default; the
    recommended model's candidates are then restricted to it and the mean, else it chooses among both).
    The run records it as `descriptor_set` ('both' for the unrestricted recommended model), which
    `filmkb predict --descriptors` selects on. lstm_batch: an LSTMBatch (the main job's) whose members
    are this model's LSTM (same matrix, seeds and configuration). properties: the substrate property set
    ('paper', the default, or 'checked'), recorded in the run config for predict, explain and suggest."""
    if model not in MODELS:
        raise FilmkbError(f"unknown model '{model}' (expected {' or '.join(MODELS)})")
    if repeats < 1:
        raise FilmkbError("--repeats must be at least 1")
    dset = descriptors or (DEFAULT_SET if model == "paper" else "both")
    if models_dir is not None:  # never a database file (its run folders are new, so nothing inside is at risk)
        kb.check_output_dir(models_dir, db or (k.path if k is not None else kb.default_path()), ())
    with opened(db, k) as k:
        k.require_write()  # a server's reader is refused before the fit, not after
        used = substrate_properties.use(k, properties)
        matrix = trained_matrix(k, model)  # the paper's ensemble: films with all seven descriptors
        if len(matrix) < 4:
            raise FilmkbError(f"{k.path}: only {len(matrix)} films with "
                              f"{'a conductivity' if model == 'recommended' else 'complete descriptors'}; need at "
                              "least 4 to train")
        run_id, t0 = kb.new_run_id("train"), time.perf_counter()
        directory = (Path(models_dir) if models_dir else models_root(k.path)) / run_id
        fit = _fit_recommended if model == "recommended" else _fit_paper
        try:
            fitted, config, fit_metrics = fit(matrix, directory, run_id, k.path, seed=seed, repeats=repeats, lstm=lstm,
                                              pbp_hidden=pbp_hidden, pbp_epochs=pbp_epochs, progress=progress,
                                              candidates=candidates, n_jobs=n_jobs, descriptors=dset,
                                              lstm_batch=lstm_batch)
            config["descriptor_set"] = dset
            config[substrate_properties.CONFIG_KEY] = used
            config["manifest_sha256"] = sha256(directory / MANIFEST)  # checked before the run's files are read
            files = run_files.collect(directory)  # stored with the run: usable from every machine
            seconds = time.perf_counter() - t0
            with k.transaction(WRITE_WAIT):
                k.store_run(run_id, "train", config, config["data_hash"], len(matrix),
                            {**fit_metrics, "seconds": seconds}, models_dir=str(directory))
                k.store_artifacts(run_id, files)
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
    return TrainResult(run_id, directory, len(matrix), seconds, config["data_hash"], fit_metrics, fitted, model, config)


def _meta(matrix, columns, run_id: str, database: str) -> dict:
    return {"descriptors": list(columns), "film_ids": [int(i) for i in matrix.index],
            "reference_ids": [int(r) for r in matrix["reference_id"]], "run_id": run_id,
            "data_hash": matrix_hash(matrix, columns), "code_version": kb.code_version(), "database": database,
            "ranges": ranges(matrix[list(columns)].to_numpy(dtype=np.float64), columns)}


def _complete(matrix, columns):
    """The films with every column of `columns`; at least 4, else one line naming what is missing."""
    lacking = matrix[list(columns)].isna().any(axis=1)
    if len(matrix) - int(lacking.sum()) < 4:
        raise FilmkbError(f"only {len(matrix) - int(lacking.sum())} films have every descriptor of the chosen set; "
                          f"films {', '.join(map(str, matrix.index[lacking][:10]))} lack some: train on {DEFAULT_SET}")
    return matrix[~lacking]


def _fit_paper(matrix, directory, run_id, database, seed, repeats, lstm, pbp_hidden, pbp_epochs, progress,
               descriptors, lstm_batch=None, **_):
    from ..ml import paper_run
    from ..ml.ensemble import PaperEnsemble
    from ..ml.engine import effective_epochs
    from ..ml.members import member_seeds
    from ..ml.metrics import regression_metrics
    from ..ml.neural import LSTMModel, PBPModel

    columns = kb.descriptor_set(descriptors).columns
    matrix = _complete(matrix, columns)
    X, y = matrix[list(columns)].to_numpy(dtype=np.float64), matrix[TARGET].to_numpy(dtype=np.float64)
    model = PaperEnsemble(LSTMModel(lstm, repeats, seed), PBPModel(tuple(pbp_hidden), pbp_epochs, repeats, seed))
    ready = lstm_batch is not None and lstm_batch.config == lstm and descriptors == DEFAULT_SET
    model.fit(X, y, member_seeds(seed, repeats), progress=progress, lstm_fitted=lstm_batch.members() if ready else None)
    meta = _meta(matrix, columns, run_id, database)
    paper_run.save(model, directory, meta)
    mean, var = model.predict_dist(X)
    config = {"model": "paper", **model.config(), **{k: meta[k] for k in ("descriptors", "film_ids", "ranges",
                                                                         "data_hash")}, "seed": int(seed),
              "lstm_effective_epochs": effective_epochs(lstm.epochs, len(y), lstm.batch_size)}
    return model, config, {"training_fit": regression_metrics(y, mean, np.sqrt(var)), "note": NOTE}


def _fit_recommended(matrix, directory, run_id, database, seed, candidates, n_jobs, progress, descriptors, **_):
    from ..ml import recommended
    from ..ml.evaluate import recommended_model
    from ..ml.metrics import regression_metrics
    from ..ml.select import restricted

    candidates = restricted(candidates, descriptors) if descriptors != "both" else candidates

    X, y = matrix[list(MODEL_COLUMNS)].to_numpy(dtype=np.float64), matrix[TARGET].to_numpy(dtype=np.float64)
    groups = matrix["reference_id"].to_numpy()
    model = recommended_model(seed=seed, candidates=candidates, n_jobs=n_jobs).fit(X, y, groups=groups)
    meta = _meta(matrix, MODEL_COLUMNS, run_id, database)
    recommended.save(model, directory, meta)
    parts = model.predict_parts(X, groups)
    config = {"model": "recommended", "chosen": model.chosen_.name, "why": model.fitted_.choice.as_dict(),
              "candidates": model.candidates if isinstance(model.candidates, str) else ",".join(
                  c.name for c in model.candidates), "seed": int(seed),
              **{k: meta[k] for k in ("descriptors", "film_ids", "ranges", "data_hash")}}
    return model, config, {"training_fit": regression_metrics(y, parts["mean"], parts["sd"]), "note": NOTE}
