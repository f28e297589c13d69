"""Stored model results (mixed into `KnowledgeBase`): runs in ``model_runs``, predictions in
``predictions``, Shapley values in ``shap_values``.

    with k.transaction():
        k.store_run(run_id, "evaluate", config, data_hash(matrix), len(matrix), metrics, predictions=frame)
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import uuid
from pathlib import Path

import pandas as pd

from ..errors import FilmkbError
from .db import now

__all__ = ["Results", "data_hash", "code_version", "new_run_id"]


def data_hash(matrix) -> str:
    """sha256 over the film ids, column names and float64 values of the descriptor matrix."""
    import numpy as np

    digest = hashlib.sha256()
    digest.update(",".join(map(str, matrix.index.tolist())).encode())
    digest.update(",".join(map(str, matrix.columns)).encode())
    digest.update(np.ascontiguousarray(matrix.to_numpy(dtype=np.float64)).tobytes())
    return digest.hexdigest()


def code_version() -> str:
    """`git describe --always --dirty` of the package checkout, else the package version; never fails."""
    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty", "--tags"], cwd=root, capture_output=True,
                             text=True, timeout=5)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    except Exception:  # noqa: BLE001 - no git, not a checkout, ...
        pass
    try:
        from importlib.metadata import version

        return "filmkb " + version("filmkb")
    except Exception:  # noqa: BLE001
        return "unknown"


def new_run_id(kind: str = "evaluate") -> str:
    return f"{kind}-{now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


def _json(value) -> str:
    return json.dumps(value, sort_keys=True, default=str, allow_nan=True)


def _config(text) -> dict:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _config_model(config: dict) -> str:
    """The model a run's configuration names ('paper' for runs from before the option)."""
    model = config.get("model")
    return "paper" if model is None else str(model)


class Results:
    """Model runs and what they produced."""

    def store_run(self, run_id: str, kind: str, config: dict, data_hash: str, n_films: int, metrics: dict,
                  models_dir: str | None = None, predictions=None) -> None:
        """Insert one model run (and, if given, its predictions)."""
        self._require_writing()
        self.con.execute(
            "INSERT INTO model_runs (id, kind, created_at, config_json, code_version, data_hash, n_films, "
            "metrics_json, models_dir) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, kind, now(), _json(config), code_version(), data_hash, int(n_films), _json(metrics), models_dir])
        if predictions is not None:
            self.store_predictions(run_id, predictions)

    def store_predictions(self, run_id: str, frame) -> int:
        """Bulk-insert predictions (columns film_id, model, fold, mean, std[, conditions_json]) of a run."""
        rows = pd.DataFrame({
            "run_id": run_id,
            "film_id": frame["film_id"].astype("Int64").array,  # NULL for conditions not in the database
            "model": frame["model"].astype(str).to_numpy(),
            "fold": frame["fold"].astype(str).to_numpy(),
            "neg_log10_sigma_mean": frame["mean"].astype("float64").to_numpy(),
            "neg_log10_sigma_std": frame["std"].astype("float64").to_numpy(),
            "conditions_json": (frame["conditions_json"].astype(str).to_numpy() if "conditions_json" in frame
                                else None),
            "created_at": now(),
        })
        self.insert_frame("predictions", rows)
        return len(rows)

    def store_shap(self, run_id: str, frame) -> int:
        """Replace the Shapley values of one run (columns film_id, descriptor, shap_value, base_value)."""
        self._require_writing()
        rows = frame[["film_id", "descriptor", "shap_value", "base_value"]].copy()
        rows.insert(0, "run_id", run_id)
        self.con.execute("DELETE FROM shap_values WHERE run_id = ?", [run_id])
        self.insert_frame("shap_values", rows)
        return len(rows)

    def predictions_of(self, run_id: str):
        """The stored predictions of one run as a DataFrame (ordered by model, film)."""
        return self.sql("SELECT film_id, model, fold, neg_log10_sigma_mean AS mean, neg_log10_sigma_std AS std, "
                        "conditions_json FROM predictions WHERE run_id = ? ORDER BY model, film_id", [run_id])

    def model_run(self, run_id: str | None = None, kind: str = "train", model: str | None = None,
                  descriptor_set: str | None = None) -> dict:
        """One model run as a dict: `run_id`, or the latest run of `kind` (of `model`, 'recommended' or
        'paper', and trained with `descriptor_set`, when given); errors say what to do."""
        if descriptor_set and not run_id:
            return self._model_run_on(kind, model, descriptor_set)
        if model:
            return self._model_run_of(run_id, kind, model)
        if run_id:
            rows = self.sql("SELECT * FROM model_runs WHERE id = ?", [run_id])
            if rows.empty:
                raise FilmkbError(f"{self.path}: no model run '{run_id}'; see "
                                  "`filmkb query \"SELECT id, kind, created_at FROM model_runs\"`")
            if rows.iloc[0]["kind"] != kind:
                raise FilmkbError(f"{self.path}: run '{run_id}' is an {rows.iloc[0]['kind']} run, not a trained model; "
                                  f"give a {kind} run id or run `filmkb {kind}`")
        else:
            rows = self.sql("SELECT * FROM model_runs WHERE kind = ? ORDER BY created_at DESC, id DESC LIMIT 1", [kind])
            if rows.empty:
                raise FilmkbError(f"{self.path}: no trained model yet; run `filmkb {kind}` first")
        return rows.iloc[0].to_dict()

    def _model_run_on(self, kind: str, model: str | None, descriptor_set: str) -> dict:
        """The latest `kind` run trained with `descriptor_set` (runs from before the option: the paper's
        ensemble on paper7, the recommended model choosing among both sets)."""
        def trained_on(c: dict) -> str:
            if c.get("descriptor_set") is not None:
                return str(c["descriptor_set"])
            return "both" if c.get("model") == "recommended" else "paper7"

        rows = self._runs_where(kind, lambda c: (model is None or _config_model(c) == model)
                                and trained_on(c) == descriptor_set)
        if rows.empty:
            raise FilmkbError(f"{self.path}: no {model or 'trained'} model on the {descriptor_set} descriptors; "
                              f"train one first: filmkb {kind} --descriptors {descriptor_set}")
        return rows.iloc[0].to_dict()

    def _runs_where(self, kind: str, keep) -> pd.DataFrame:
        """The latest `kind` run whose configuration (parsed JSON) `keep` accepts, as a one-row frame (or empty):
        the configuration is read here, not by the engine's JSON functions, which differ between engines."""
        rows = self.sql("SELECT * FROM model_runs WHERE kind = ? ORDER BY created_at DESC, id DESC", [kind])
        chosen = [i for i, text in enumerate(rows["config_json"]) if keep(_config(text))][:1]
        return rows.iloc[chosen]

    def _model_run_of(self, run_id: str | None, kind: str, model: str) -> dict:
        """`run_id` if it is a `model` run, else the latest `kind` run of `model`."""
        if run_id:
            run = self.model_run(run_id, kind)
            if json.loads(run["config_json"]).get("model", "paper") != model:
                raise FilmkbError(f"{self.path}: run '{run_id}' is not a {model}-model run; give one or run "
                                  f"`filmkb {kind}`")
            return run
        rows = self._runs_where(kind, lambda c: _config_model(c) == model)
        if rows.empty:
            how = f"filmkb {kind}" + (" --model paper" if model == "paper" else "")
            others = self.sql("SELECT id FROM model_runs WHERE kind = ? ORDER BY created_at DESC, id DESC LIMIT 1", [kind])
            if others.empty:
                raise FilmkbError(f"{self.path}: no trained model yet; run `{how}` first")
            other = "recommended" if model == "paper" else "paper"
            raise FilmkbError(f"{self.path}: no trained {model} model (the latest train run, {others['id'].iloc[0]}, is "
                              f"the {other} model: use it with --model {other} or --run); run `{how}` first")
        return rows.iloc[0].to_dict()
