"""The explain job: exact Shapley values of a trained model for every modelled film."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import kb
from ..schema.descriptors import MODEL_COLUMNS, PAPER7
from . import properties as substrate_properties
from .runs import WRITE_WAIT, load_run, opened, run_manifest, stale_warning, trained_matrix

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
    model: str = "recommended"  # which model answered: 'recommended' or 'paper'
    notes: list = field(default_factory=list)
    bounds: dict = field(default_factory=dict)  # films explained and background (ml.shapley.plan)

    def long(self) -> pd.DataFrame:
        """One row per (film, descriptor): film_id, descriptor, shap_value, base_value."""
        frame = self.values.reset_index().melt(id_vars="film_id", var_name="descriptor", value_name="shap_value")
        frame["base_value"] = self.base_value
        return frame


NO_DESCRIPTOR = ("run {run} (the recommended model) chose the training mean with paper offsets: no descriptor changes "
                 "its prediction, so every Shapley value is 0 (no figures drawn); `filmkb explain --model paper` "
                 "explains the paper's LSTM + PBP ensemble")


def _explained(model, manifest: dict):
    """(descriptor names, mean function of those columns, background rows) of a trained run; a recommended
    model that chose the mean is a constant of the seven descriptors (its offsets are the paper's, not theirs)."""
    if manifest["model"] != "recommended":
        return manifest["descriptors"], model.predict_mean, model.X_train_
    chosen = model.chosen_
    if not chosen.descriptors:
        return list(PAPER7), lambda Z: model.f_.predict(np.asarray(Z)[:, :1]), None
    names = [MODEL_COLUMNS[j] for j in model.columns[chosen.descriptors]]
    return names, model.f_.predict, None


def explain(db=None, run_id: str | None = None, out_dir=None, store: bool = True, k=None,
            trained=None, model: str | None = None, max_films: int | None = None,
            max_background: int | None = None, background_summary: int | None = None,
            properties: str | None = None) -> ExplainResult:
    """Exact SHAP (all coalitions, training films as background) of a trained model's mean for every
    film with complete descriptors; stored in `shap_values` with the run id (replacing that run's
    earlier values) and, with out_dir, plotted as Figure 7 (beeswarm + mean |SHAP|). For a
    recommended run, the chosen descriptor model is explained over its own descriptors. `trained`
    (a TrainResult the caller just made) is explained as it is in memory instead of read back from
    its files (the main job: no need to read back and check what it has just saved). model: 'recommended'
    (the default: the latest recommended run) or 'paper' (the latest paper's ensemble); run_id alone uses
    that run. Above max_films films (default ml.shapley.MAX_FILMS) a sample proportional per paper is
    explained, and a background of more than max_background rows is summarised to background_summary
    weighted rows (ml.shapley.background_rows); `bounds` and a note say which ran."""
    from ..ml import shapley
    from ..ml.plots import shap_plots

    if out_dir is not None:
        kb.check_output_dir(out_dir, db or (k.path if k is not None else kb.default_path()), ("*.png",))
    with opened(db, k) as k:
        if store:
            k.require_write()  # a server's reader is refused before the computation (or uses store=False)
        if trained is not None:
            run, fitted, manifest = k.model_run(trained.run_id, "train"), trained.model, run_manifest(trained.directory)
        else:
            run, fitted, manifest = load_run(k, run_id, model)
        substrate_properties.use_run(k, run, properties)  # the descriptors the run was trained on
        trained = trained_matrix(k, manifest["model"])
        # films with every descriptor: what Shapley values explain (the paper's ensemble trained on just those)
        matrix = k.model_matrix() if manifest["model"] == "recommended" else trained
        warnings = [w for w in [stale_warning(run, trained)] if w]
        names, predict, background = _explained(fitted, manifest)
        limits = {"max_films": max_films or shapley.MAX_FILMS,
                  "max_background": max_background or shapley.MAX_BACKGROUND,
                  "summary": background_summary or shapley.BACKGROUND_SUMMARY}
        picked = shapley.explained_films(matrix["reference_id"].to_numpy(), limits["max_films"])
        features = matrix[list(names)].iloc[picked]
        X = features.to_numpy(dtype=np.float64)
        B = matrix[list(names)].to_numpy(dtype=np.float64) if background is None else background
        ex = shapley.exact_shap(predict, X, background=B, max_background=limits["max_background"],
                                summary=limits["summary"])
        bounds = shapley.plan(len(matrix), len(B), limits["max_films"], limits["max_background"], limits["summary"])
        values = pd.DataFrame(ex.values, index=features.index, columns=list(names))
        constant = manifest["model"] == "recommended" and not fitted.chosen_.descriptors
        notes = [NO_DESCRIPTOR.format(run=run["id"])] if constant else []
        if bounds["explained"] < bounds["films"] or bounds["background"] < len(B):
            notes.append(f"Shapley values of {bounds['films_rule']}; background: {bounds['background_rule']}")
        result = ExplainResult(run["id"], values, float(ex.base_values[0]),
                               pd.Series(ex.predictions, index=features.index), features, warnings=warnings,
                               model=manifest["model"], notes=notes, bounds=bounds)
        if store:
            with k.transaction(WRITE_WAIT):
                k.store_shap(run["id"], result.long())
    if out_dir is not None and not constant:
        result.figures = shap_plots(ex.values, features, Path(out_dir))
    return result
