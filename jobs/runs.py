"""What the modelling jobs share: the data hash of a run, where its files go, loading a trained run
and telling when it is stale."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .. import kb
from ..errors import FilmkbError
from ..schema.descriptors import PAPER7, TARGET

__all__ = ["WRITE_WAIT", "MODELS", "matrix_hash", "models_root", "opened", "TrainResult", "chosen_run", "answered_by", "OUTPUT_NAMES",
           "load_run", "stale_warning", "trained_matrix"]
WRITE_WAIT = 30.0  # seconds a finished job waits for another writer before giving up


def matrix_hash(matrix, columns=PAPER7) -> str:
    """The hash a run records of the data it saw: its descriptor columns and the target."""
    return kb.data_hash(matrix[list(columns) + [TARGET]])


def models_root(db) -> Path:
    """Where model runs of a database are saved by default: `models/` beside a DuckDB file (in the working
    directory for a database server)."""
    return kb.models_root(db)


class opened:
    """The caller's open knowledge base `k` (left open), or `db` opened for the block."""

    def __init__(self, db, k):
        self.k, self.owned = (k, False) if k is not None else (kb.open(db), True)

    def __enter__(self):
        return self.k

    def __exit__(self, *exc):
        if self.owned:
            self.k.close()


@dataclass
class TrainResult:
    """A trained and saved model and the model run that records it."""

    run_id: str
    directory: Path
    n_films: int
    seconds: float
    data_hash: str
    fit_metrics: dict
    model: object = field(repr=False)  # ml.recommended.Recommended or ml.ensemble.PaperEnsemble
    kind: str = "paper"  # "recommended" or "paper"
    config: dict = field(default_factory=dict)


MODELS = ("recommended", "paper")
KIND_NAMES = {"recommended": "the recommended model", "paper": "the paper's LSTM + PBP ensemble"}
OUTPUT_NAMES = {"recommended": "recommended", "paper": "ensemble"}  # the `model` of output rows and stored predictions


def chosen_run(k, run_id: str | None = None, model: str | None = None, descriptor_set: str | None = None) -> dict:
    """The train run a prediction uses: `run_id` (of `model` when that is given too), else the latest run of
    `model` (default 'recommended', after `reproduce` as after `train`; 'paper' for the paper's ensemble),
    trained with `descriptor_set` when given."""
    if model is not None and model not in MODELS:
        raise FilmkbError(f"unknown model '{model}' (expected one of {', '.join(MODELS)})")
    model = model or (None if run_id else "recommended")
    return k.model_run(run_id, "train", model=model, descriptor_set=descriptor_set)


def answered_by(kind: str, run_id: str) -> str:
    """Which model answered, as output lines name it: kind and run id."""
    return f"{KIND_NAMES.get(kind, kind)}, run {run_id}"


def load_run(k, run_id: str | None = None, model: str | None = None,
             descriptor_set: str | None = None) -> tuple[dict, object, dict]:
    """The model run (:func:`chosen_run`: the latest recommended run by default), its model and manifest,
    read from its files: its folder, or on a machine without it the copy stored with the run in the
    knowledge base (put in the user cache by :mod:`filmkb.jobs.run_files`). The manifest must match the
    hash the knowledge base recorded for the run, and each model file the hash in the manifest
    (:mod:`filmkb.ml.artifacts`); runs saved by earlier versions (a pickle, no hashes) are refused. A paper
    run's members predict in NumPy (:mod:`filmkb.ml.numpy_forward`), without importing JAX or Keras."""
    from ..ml import artifacts, paper_run, recommended
    from . import run_files

    run = chosen_run(k, run_id, model, descriptor_set)
    directory = Path(run["models_dir"] or "")
    expected = _config(run).get("manifest_sha256")
    if not (directory / artifacts.MANIFEST).exists():  # another machine: the copy stored with the run, if any
        directory = run_files.materialised(k, run, expected)
        if directory is None:
            raise FilmkbError(f"{k.path}: the files of run {run['id']} are missing ({run['models_dir']}) and not "
                              "stored in the knowledge base; run `filmkb train` again")
    if not isinstance(expected, str):
        artifacts.refuse_old(directory, artifacts.read_manifest(directory))  # a pickle: says so, never reads it
        raise FilmkbError(f"{k.path}: run {run['id']} has no recorded hash of its manifest (saved by an older "
                          "filmkb); retrain with `filmkb train`")
    manifest = run_manifest(directory, expected)
    if manifest["model"] == "recommended":
        model, _ = recommended.load(directory, manifest)
    else:  # predictions in NumPy: no JAX or Keras to import (ml/numpy_forward.py)
        model, _ = paper_run.load(directory, manifest, numpy_forward=True)
    return run, model, manifest


def _config(run: dict) -> dict:
    try:
        config = json.loads(run.get("config_json") or "{}")
    except ValueError:
        return {}
    return config if isinstance(config, dict) else {}


def run_manifest(directory, expected: str | None = None) -> dict:
    """A trained run's manifest.json (checked against `expected`, its SHA-256 in the run's record, when
    given), its kind under "model" ('paper' for runs saved before kinds)."""
    from ..ml.artifacts import read_manifest

    manifest = read_manifest(directory, expected)
    return {"model": manifest.get("model", "paper"), **manifest}


def trained_matrix(k, kind: str):
    """The matrix a run of `kind` learns from: every distinct film with a conductivity for the recommended
    model (NaN where a descriptor is missing), the films with all seven descriptors for the paper's ensemble."""
    return k.model_matrix(gaps=kind == "recommended")


def stale_warning(run: dict, matrix) -> str | None:
    """A warning with the fix when the database's descriptor matrix differs from the run's."""
    config = json.loads(run["config_json"])
    if matrix_hash(matrix, config.get("descriptors", PAPER7)) == run["data_hash"]:
        return None
    trained = config.get("film_ids", [])
    added = sorted(set(matrix.index) - set(trained))
    removed = sorted(set(trained) - set(matrix.index))
    what = [f"{len(added)} film(s) added"] if added else []
    what += [f"{len(removed)} removed"] if removed else []
    return (f"model run {run['id']} is stale: the database has changed since it was trained "
            f"({', '.join(what or ['film values changed'])}); retrain with `filmkb train` to include the current films")
