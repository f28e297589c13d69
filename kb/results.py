"""Stored model results: one row per run in ``model_runs``, every held-out prediction in
``predictions`` (both tables come from schema/tables.py).

    con = filmkb.kb.db.connect(path)
    store_run(con, run_id, "evaluate", config, data_hash(matrix), len(matrix), metrics)
    store_predictions(con, run_id, frame)   # film_id, model, fold, mean, std[, conditions_json]
    store_shap(con, run_id, frame)          # film_id, descriptor, shap_value, base_value
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from .store import insert_frame, transaction

__all__ = ["data_hash", "code_version", "store_run", "store_predictions", "store_shap", "new_run_id",
           "load_predictions"]


def _now():
    return datetime.now(timezone.utc).replace(tzinfo=None)


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
    import uuid

    return f"{kind}-{_now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


def _json(value) -> str:
    return json.dumps(value, sort_keys=True, default=str, allow_nan=True)


def store_run(con, run_id: str, kind: str, config: dict, data_hash: str, n_films: int, metrics: dict,
              models_dir: str | None = None, predictions=None) -> None:
    """Insert one model run (and, if given, its predictions) in one transaction."""
    with transaction(con):
        con.execute(
            "INSERT INTO model_runs (id, kind, created_at, config_json, code_version, data_hash, n_films, "
            "metrics_json, models_dir) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, kind, _now(), _json(config), code_version(), data_hash, int(n_films), _json(metrics), models_dir])
        if predictions is not None:
            _insert_predictions(con, run_id, predictions)


def _insert_predictions(con, run_id, frame) -> int:
    import pandas as pd

    rows = pd.DataFrame({
        "run_id": run_id,
        "film_id": frame["film_id"].astype("Int64").array,  # NULL for conditions not in the database
        "model": frame["model"].astype(str).to_numpy(),
        "fold": frame["fold"].astype(str).to_numpy(),
        "neg_log10_sigma_mean": frame["mean"].astype("float64").to_numpy(),
        "neg_log10_sigma_std": frame["std"].astype("float64").to_numpy(),
        "conditions_json": (frame["conditions_json"].astype(str).to_numpy() if "conditions_json" in frame
                            else None),
        "created_at": _now(),
    })
    insert_frame(con, "predictions", rows)
    return len(rows)


def store_predictions(con, run_id: str, frame) -> int:
    """Bulk-insert held-out predictions (columns film_id, model, fold, mean, std[, conditions_json])
    of an existing run, in one transaction; returns the number of rows."""
    with transaction(con):
        return _insert_predictions(con, run_id, frame)


def store_shap(con, run_id: str, frame) -> int:
    """Replace the Shapley values of one run (columns film_id, descriptor, shap_value, base_value),
    in one transaction; returns the number of rows."""
    rows = frame[["film_id", "descriptor", "shap_value", "base_value"]].copy()
    rows.insert(0, "run_id", run_id)
    with transaction(con):
        con.execute("DELETE FROM shap_values WHERE run_id = ?", [run_id])
        insert_frame(con, "shap_values", rows)
    return len(rows)


def load_predictions(con, run_id: str):
    """The stored predictions of one run as a DataFrame (ordered by model, film)."""
    return con.execute("SELECT film_id, model, fold, neg_log10_sigma_mean AS mean, neg_log10_sigma_std AS std, "
                       "conditions_json FROM predictions WHERE run_id = ? ORDER BY model, film_id", [run_id]).df()
