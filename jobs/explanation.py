"""The explain job: exact Shapley values of a trained model for every modelled film."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import kb
from ..errors import FilmkbError
from ..schema.descriptors import MODEL_COLUMNS
from .runs import WRITE_WAIT, load_run, opened, run_manifest, stale_warning

__all__ = ["explain", "ExplainResult"]


@dataclass
class ExplainResult:
    """Exact Shapley values of the model's mean (-log10 sigma) for every film and descriptor."""

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


def _explained(model, manifest: dict, run_id: str):
    """(descriptor names, mean function of those columns, background rows) of a trained run."""
    if manifest["model"] != "recommended":
        return manifest["descriptors"], model.predict_mean, model.X_train_
    chosen = model.chosen_
    if not chosen.descriptors:
        raise FilmkbError(f"run {run_id} chose the training mean with paper offsets: it uses no descriptor, so "
                          "there is nothing to explain; explain a paper run (`filmkb train --model paper`, "
                          "then `filmkb explain --run ...`)")
    names = [MODEL_COLUMNS[j] for j in model.columns[chosen.descriptors]]
    return names, model.f_.predict, None


def explain(db=None, run_id: str | None = None, out_dir=None, store: bool = True, k=None,
            trained=None) -> ExplainResult:
    """Exact SHAP (all coalitions, training films as background) of a trained model's mean for every
    film with complete descriptors; stored in `shap_values` with the run id (replacing that run's
    earlier values) and, with out_dir, plotted as Figure 7 (beeswarm + mean |SHAP|). For a
    recommended run, the chosen descriptor model is explained over its own descriptors. `trained`
    (a TrainResult the caller just made) is explained as it is in memory instead of read back from
    its files (the main job: no need to read back and check what it has just saved)."""
    from ..ml.plots import shap_plots
    from ..ml.shapley import exact_shap

    if out_dir is not None:
        kb.check_output_dir(out_dir, db or (k.path if k is not None else kb.default_path()), ("*.png",))
    with opened(db, k) as k:
        if trained is not None:
            run, model, manifest = k.model_run(trained.run_id, "train"), trained.model, run_manifest(trained.directory)
        else:
            run, model, manifest = load_run(k, run_id)
        matrix = k.model_matrix()
        warnings = [w for w in [stale_warning(run, matrix)] if w]
        names, predict, background = _explained(model, manifest, run["id"])
        features = matrix[list(names)]
        X = features.to_numpy(dtype=np.float64)
        ex = exact_shap(predict, X, background=X if background is None else background)
        values = pd.DataFrame(ex.values, index=features.index, columns=list(names))
        result = ExplainResult(run["id"], values, float(ex.base_values[0]),
                               pd.Series(ex.predictions, index=features.index), features, warnings=warnings)
        if store:
            with k.transaction(WRITE_WAIT):
                k.store_shap(run["id"], result.long())
    if out_dir is not None:
        result.figures = shap_plots(ex.values, features, Path(out_dir))
    return result
