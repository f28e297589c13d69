"""The predict job: log10 sigma with a calibrated interval for new conditions, a CSV of conditions
or stored films, from a trained run (the recommended model by default), each prediction stored with
its run. Every prediction carries its distance to the training films; out of the domain the
recommended model shrinks toward the training mean and widens its interval, and the row says which
descriptor is outside its training range and by how much."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import kb
from ..errors import FilmkbError
from ..kb.materials import composition_features
from ..ml.domain import Domain, range_report
from ..ml.metrics import Z95
from ..ml.recommended import NEW_PAPER
from ..schema.descriptors import MODEL_COLUMNS, PAPER7
from ..schema.names import ROOM_TEMPERATURE_C
from . import properties as substrate_properties
from .runs import OUTPUT_NAMES, WRITE_WAIT, load_run, stale_warning, trained_matrix

__all__ = ["predict", "PredictResult", "condition_frame", "predicted"]


@dataclass
class PredictResult:
    """Predictions (one row per condition or film), the run they came from and any warnings."""

    run_id: str
    frame: pd.DataFrame
    warnings: list = field(default_factory=list)
    stored: int = 0
    model: str = "recommended"

    @property
    def stale(self) -> bool:
        return any("stale" in w for w in self.warnings)


_OPTIONAL = ("composition", "formula", "method", "substrate_orientation", "measured_sigma_s_cm", "source", "doi",
             "phase", "measurement_temp_c")


def _as_frame(conditions) -> pd.DataFrame:
    frame = conditions.copy() if isinstance(conditions, pd.DataFrame) else pd.DataFrame(
        [c.as_dict() if hasattr(c, "as_dict") else dict(c) for c in conditions])
    missing = [c for c in ("substrate", "deposition_temp_c", "thickness_nm") if c not in frame]
    if missing:
        raise FilmkbError(f"conditions need {', '.join(missing)}")
    for col in _OPTIONAL:
        if col not in frame:
            frame[col] = None
    frame = frame.reset_index(drop=True)
    frame["thickness_nm"] = pd.to_numeric(frame["thickness_nm"])  # None (not known) as NaN
    frame["source"] = frame["source"].where(frame["source"].notna(), [f"condition {i + 1}" for i in range(len(frame))])
    return frame


def _film_context(k, frame: pd.DataFrame) -> pd.DataFrame:
    """What the views need beyond the conditions: substrate id, method family, composition features,
    measurement temperature (25 C when not given), and the paper when the DOI is a known one."""
    vocab = k.vocabulary()
    names = [vocab.resolve("substrate", s) for s in frame["substrate"]]
    unknown = sorted({str(s) for s, name in zip(frame["substrate"], names) if name is None})
    if unknown:
        raise FilmkbError(f"unknown substrate(s) {', '.join(unknown)}; see `filmkb substrates` for the known ones, "
                          "or add one with `filmkb add-substrate --name ...`")
    ids, families, refs = k.substrate_ids(), k.method_families(), k.reference_ids()
    frame["substrate"], frame["substrate_id"] = names, [ids[name] for name in names]
    frame["method_family"] = [families.get(m) for m in frame["method"]]
    frame["measurement_temp_c"] = pd.to_numeric(frame["measurement_temp_c"]).fillna(ROOM_TEMPERATURE_C)
    known = {f: composition_features(f) for f in frame["formula"].dropna().unique() if isinstance(f, str)}
    features = [known.get(f, {}) if isinstance(f, str) else {} for f in frame["formula"]]
    for col in ("li_per_o12", "dopant_per_o12", "ta_per_o12", "al_per_o12", "ga_per_o12"):
        frame[col] = [f.get(col, np.nan) for f in features]
    frame["reference_id"] = [refs.get(d, NEW_PAPER) if isinstance(d, str) else NEW_PAPER for d in frame["doi"]]
    frame["film_id"] = None
    return frame


def condition_frame(k, conditions) -> pd.DataFrame:
    """Conditions (Condition objects, dicts or a DataFrame) as rows with every model column, computed
    by the descriptor views' own SQL in one statement for all rows (predict and suggest share it)."""
    frame = _film_context(k, _as_frame(conditions))
    columns = k.condition_model_columns(frame)[list(MODEL_COLUMNS)]
    return pd.concat([frame.drop(columns=[c for c in MODEL_COLUMNS if c in frame]), columns], axis=1)


def _film_frame(k, films) -> pd.DataFrame:
    """Stored films (ids, or 'all' for every distinct film with complete descriptors) as condition rows, NaN
    where a descriptor is missing."""
    matrix = k.model_matrix(complete=isinstance(films, str) and films == "all")
    ids = [int(i) for i in matrix.index] if isinstance(films, str) else [int(i) for i in films]
    unknown = [i for i in ids if i not in matrix.index]
    if unknown:
        raise FilmkbError(f"no film with id {', '.join(map(str, unknown))}; see `filmkb films`")
    # a film with a gap is predicted by the recommended model (imputed); the paper's ensemble refuses it
    o = k.film_conditions(ids).loc[ids]
    frame = pd.DataFrame({
        "film_id": ids, "source": [f"film {i}" for i in ids], "substrate": o["substrate"].to_numpy(),
        "deposition_temp_c": o["deposition_temp_c"].to_numpy(), "thickness_nm": o["thickness_nm"].to_numpy(),
        "composition": o["composition"].to_numpy(), "method": o["method"].to_numpy(),
        "substrate_orientation": o["orientation"].to_numpy(),
        "measured_sigma_s_cm": o["conductivity_s_cm"].to_numpy(), "doi": None,
        "reference_id": matrix.loc[ids, "reference_id"].to_numpy(),
    })
    return pd.concat([frame, matrix.loc[ids, list(MODEL_COLUMNS)].reset_index(drop=True)], axis=1)


def _paper_predictions(frame, model, manifest) -> dict:
    """The seed paper's ensemble, exactly as trained (its numbers are not touched by the domain check);
    it needs every descriptor it learned from."""
    X = frame[list(manifest["descriptors"])].to_numpy(dtype=np.float64)
    _refuse_gaps(frame, manifest["descriptors"], "the paper's ensemble", "or predict with the recommended model, "
                 "which imputes a missing descriptor with a wider interval")
    p = model.parts(X)
    domain = Domain().fit(model.X_train_, manifest.get("reference_ids", manifest["film_ids"]))
    d = domain.distance(X)
    return {"mean": p["mean"], "sd": p["std"], "lstm": -p["lstm_mean"], "pbp": -p["pbp_mean"],
            "domain_distance": d, "domain_threshold": np.full(len(X), domain.threshold_),
            "in_domain": d <= domain.threshold_, "known_paper": np.zeros(len(X), bool),
            "offset": np.full(len(X), np.nan), "weight": np.ones(len(X))}


def _refuse_gaps(frame, needed, who: str, fix: str) -> None:
    """One line naming the descriptors `who` needs that a condition lacks, and the fix."""
    lacking = [c for c in needed if frame[c].isna().any()]
    if lacking:
        rows = frame["source"][frame[list(lacking)].isna().any(axis=1)]
        raise FilmkbError(f"{', '.join(map(str, rows[:3]))}: {who} needs {', '.join(lacking)} (give the thickness, "
                          f"phase, method, composition and measurement temperature: --thickness-nm, --phase, --method, "
                          f"--composition, --measured-at or the CSV columns), {fix}")


def _recommended_predictions(frame, model) -> dict:
    """The recommended model. A query with a missing descriptor is answered when the chosen candidate takes
    gaps (multiple imputation or a family that accepts NaN: a wider interval); a model saved before that
    still needs every descriptor its chosen candidate uses."""
    from ..ml.imputation import Imputed

    X = frame[list(MODEL_COLUMNS)].to_numpy(dtype=np.float64)
    chosen = model.chosen_
    if not (chosen.family == "mean" or isinstance(model.f_, Imputed) or getattr(model.f_, "accepts_missing", False)):
        needed = [MODEL_COLUMNS[j] for j in (model.columns[chosen.descriptors] if chosen.descriptors else [])]
        _refuse_gaps(frame, needed, f"the recommended model ({chosen.name}) of this run", "or retrain with "
                     "`filmkb train`")
    p = model.predict_parts(X, frame["reference_id"].to_numpy())
    nan = np.full(len(X), np.nan)
    return {**p, "lstm": nan, "pbp": nan}


def predicted(frame: pd.DataFrame, model, manifest: dict, run_id: str) -> pd.DataFrame:
    """The condition rows with mean, sd, sigma interval, domain and range flags, measured z-score
    (`model`, `manifest` from `load_run`; predict and suggest share it)."""
    kind = manifest["model"]
    p = _recommended_predictions(frame, model) if kind == "recommended" else _paper_predictions(frame, model, manifest)
    out = frame.copy()
    out["model"] = OUTPUT_NAMES[kind]
    out["neg_log10_sigma_mean"], out["neg_log10_sigma_std"] = p["mean"], p["sd"]
    out["log10_sigma_mean"], out["log10_sigma_std"] = -p["mean"], p["sd"]
    out["sigma_s_cm"] = 10.0 ** (-p["mean"])
    out["sigma_low_s_cm"] = 10.0 ** (-p["mean"] - Z95 * p["sd"])
    out["sigma_high_s_cm"] = 10.0 ** (-p["mean"] + Z95 * p["sd"])
    out["lstm_log10_sigma"], out["pbp_log10_sigma"] = p["lstm"], p["pbp"]
    checked = PAPER7 if kind == "recommended" else tuple(manifest["descriptors"])
    out["extrapolation"] = range_report(manifest["ranges"], out[list(checked)].to_numpy(dtype=np.float64), checked)
    out["domain_distance"], out["domain_threshold"] = p["domain_distance"], p["domain_threshold"]
    out["in_domain"] = p["in_domain"] & (out["extrapolation"] == "")
    out["known_paper"], out["paper_offset"], out["shrink_weight"] = p["known_paper"], -p["offset"], p["weight"]
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
            cells: dict | None = None, files=(), descriptors: str | None = None,
            model: str | None = None, properties: str | None = None) -> PredictResult:
    """Predict log10(sigma / S cm^-1) with its uncertainty for new conditions and/or stored films.

    conditions: Condition objects, dicts or a DataFrame with substrate (any alias),
    deposition_temp_c, thickness_nm (optional: composition, method, substrate_orientation, phase,
    measurement_temp_c, doi of a paper in the knowledge base, measured_sigma_s_cm). cells: one
    condition as ingest-template cells (units allowed); files: CSV/YAML conditions in the ingest
    template. films: film ids, or "all". Each prediction is stored with the run id unless store=False.
    descriptors: use the latest run trained with that set ('paper7', 'extended' or 'both'; see train).
    model: 'recommended' (the default: the latest recommended run) or 'paper' (the latest paper's
    ensemble); run_id alone uses that run, whichever model it holds. Descriptors are computed with the
    substrate property set the run used; `properties` naming another set is a one-line error.
    """
    if conditions is None and films is None and not cells and not files:
        raise FilmkbError("nothing to predict: give conditions, a CSV of conditions or films")
    with kb.open(db) as k:
        if store:
            k.require_write()  # a server's reader is refused before predicting (or uses store=False)
        typed = _typed_conditions(k, cells, files)
        if typed:
            records = conditions.to_dict("records") if isinstance(conditions, pd.DataFrame) else conditions
            conditions = typed if records is None else [*records, *typed]
        run, model, manifest = load_run(k, run_id, model, descriptor_set=descriptors)
        substrate_properties.use_run(k, run, properties)
        parts = [condition_frame(k, conditions)] if conditions is not None and len(conditions) else []
        parts += [_film_frame(k, films)] if films is not None else []
        warnings = [w for w in [stale_warning(run, trained_matrix(k, manifest["model"]))] if w]
        if not parts:
            return PredictResult(run["id"], pd.DataFrame(), warnings, model=manifest["model"])
        out = predicted(pd.concat(parts, ignore_index=True), model, manifest, run["id"])
        stored = 0
        if store:
            with k.transaction(WRITE_WAIT):
                stored = k.store_predictions(run["id"], _prediction_rows(out))
    return PredictResult(run["id"], out, warnings, stored, manifest["model"])


_STORED = ["source", "substrate", "substrate_orientation", "deposition_temp_c", "thickness_nm", "composition",
           "method", "phase", "measurement_temp_c", "measured_sigma_s_cm", "doi", "extrapolation", "in_training",
           "lstm_log10_sigma", "pbp_log10_sigma", "known_paper", "paper_offset", "domain_distance",
           "domain_threshold", "in_domain", "shrink_weight", *MODEL_COLUMNS]


def _prediction_rows(out: pd.DataFrame) -> pd.DataFrame:
    """Predictions as stored: mean and sd of -log10 sigma, the conditions and flags as JSON."""
    def plain(value):
        if not isinstance(value, str) and pd.isna(value):
            return None
        return value.item() if hasattr(value, "item") else value

    keep = [c for c in _STORED if c in out]
    return pd.DataFrame({
        "film_id": out["film_id"], "model": out["model"], "fold": "predict",
        "mean": out["neg_log10_sigma_mean"], "std": out["neg_log10_sigma_std"],
        "conditions_json": [json.dumps({c: plain(row[c]) for c in keep}, default=str) for _, row in out.iterrows()],
    })
