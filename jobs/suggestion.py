"""The suggest job: which film to grow next. A grid of candidate conditions (jobs/grid.py) is predicted
with the recommended model (calibrated sd, domain distance), scored by the goal's acquisition
(ml/acquisition.py: exploit = expected improvement over the best stored film, explore = predictive
variance, balanced = upper confidence bound), ranked with out-of-domain candidates in a list of their
own, and stored with the suggest run and the model run that predicted them."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import kb
from ..errors import FilmkbError
from ..ml import acquisition
from ..ml.metrics import Z95
from ..schema.descriptors import MODEL_COLUMNS, SETS, TARGET
from .grid import build_grid
from .prediction import condition_frame, predicted
from . import properties as substrate_properties
from .runs import WRITE_WAIT, answered_by, load_run, matrix_hash, opened, stale_warning, trained_matrix

__all__ = ["suggest", "suggest_frame", "stored_suggestions", "SuggestResult", "SCORE_LABELS"]

SCORE_LABELS = {"exploit": "expected improvement, decades of σ", "explore": "predictive variance of log10 σ",
                "balanced": f"upper confidence bound of log10 σ (mean + {acquisition.KAPPA} sd)"}
COLUMNS = ["rank", "substrate", "substrate_orientation", "method", "composition", "phase", "deposition_temp_c",
           "thickness_nm", "measurement_temp_c", "log10_sigma_mean", "log10_sigma_std", "sigma_s_cm",
           "sigma_low_s_cm", "sigma_high_s_cm", "score", "in_domain", "out_of_range", "domain_distance",
           "domain_threshold", "tested", "neg_log10_sigma_mean", "neg_log10_sigma_std"]
PLOT_SUFFIXES = (".png", ".pdf", ".svg")
USES = {"": "which uses no descriptor: every new condition gets the same prediction (the domain check still "
            "measures T_dep, thickness and substrate)",
        **{name: f"on {dset.uses or dset.description}" for name, dset in SETS.items()}}


@dataclass
class SuggestResult:
    """Ranked suggestions inside the model's domain, the best candidates outside it (a list of their own),
    the run ids, and what was assumed and counted on the way."""

    run_id: str  # the suggest run ("" when not stored)
    model_run_id: str
    goal: str
    best_log10_sigma: float  # the best stored film's log10 sigma (25 C)
    suggestions: pd.DataFrame
    out_of_domain: pd.DataFrame
    counts: dict
    notes: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    stored: int = 0
    seconds: float = 0.0
    plot: Path | None = None
    candidates: pd.DataFrame = field(default=None, repr=False)  # every predicted grid row
    model: str = "recommended"  # which model predicted: 'recommended' or 'paper'


def suggest(db=None, constraints: dict | None = None, goal: str = "balanced", top: int = 10, diverse: bool = False,
            run_id: str | None = None, store: bool = True, plot=None, k=None, model: str | None = None,
            properties: str | None = None) -> SuggestResult:
    """Rank candidate deposition conditions for the next film.

    constraints: dict with substrate (list of names or aliases; default every stored substrate), method,
    temp_c and thickness_nm ("start:stop:step", stop included, or (start, stop, step), or one value; °C
    and nm), composition, phase, exclude_tested (drop conditions a stored film already covers). goal:
    exploit, explore or balanced; top: suggestions listed; diverse: no two on one substrate closer than a
    temperature step; run_id: a train run (default the latest recommended one); model: 'recommended' (default)
    or 'paper' (the latest paper's ensemble); plot: a PNG path; k: an open knowledge base to use (left open)."""
    if goal not in acquisition.GOALS:
        raise FilmkbError(f"unknown goal '{goal}' (expected one of {', '.join(acquisition.GOALS)})")
    if int(top) < 1:
        raise FilmkbError("--top must be at least 1")
    if plot is not None and Path(plot).suffix.lower() not in PLOT_SUFFIXES:
        raise FilmkbError(f"--plot {plot}: expected a file name ending {', '.join(PLOT_SUFFIXES)}")
    t0 = time.perf_counter()
    with opened(db, k) as k:
        if store:
            k.require_write()  # a server's reader is refused before the search (or uses store=False)
        run, fitted, manifest = load_run(k, run_id, model)
        used = substrate_properties.use_run(k, run, properties)  # descriptors as the run was trained
        grid = build_grid(k, constraints)
        matrix = trained_matrix(k, manifest["model"])
        best = float(matrix[TARGET].min())
        out, notes = _scored(k, grid, fitted, manifest, run["id"], goal, best)
        inside, outside, counts, ties = _ranked(out, goal, int(top), diverse, grid)
        counts.update(substrates=len(grid.constraints["substrate"]), temperatures=len(grid.temp.values),
                      thicknesses=len(grid.thickness.values))
        res = SuggestResult(kb.new_run_id("suggest") if store else "", run["id"], goal, -best, inside, outside, counts,
                            grid.notes + notes + ties, [w for w in [stale_warning(run, matrix)] if w], candidates=out,
                            model=manifest["model"])
        res.plot = _plot(res, k, Path(plot)) if plot is not None else None
        if store:
            config = {"goal": goal, "top": int(top), "diverse": bool(diverse), "kappa": acquisition.KAPPA,
                      "constraints": grid.constraints, "model_run": run["id"], "model": manifest["model"],
                      "best_stored_neg_log10_sigma": best, substrate_properties.CONFIG_KEY: used}
            with k.transaction(WRITE_WAIT):
                k.store_run(res.run_id, "suggest", config, matrix_hash(matrix, MODEL_COLUMNS), len(matrix),
                            {**res.counts, "seconds": time.perf_counter() - t0})
                res.stored = k.store_suggestions(res.run_id, run["id"], _stored_rows(res, goal))
    res.seconds = time.perf_counter() - t0
    return res


def _scored(k, grid, model, manifest, model_run: str, goal: str, best: float) -> tuple[pd.DataFrame, list]:
    """The grid predicted (one batched descriptor query), impossible temperatures dropped, scored."""
    out = predicted(condition_frame(k, grid.frame), model, manifest, model_run)
    notes = []
    molten = out["t_dep_over_t_m"] >= 1.0
    if molten.all():
        raise FilmkbError("no possible candidate: every deposition temperature is at or above the melting "
                          "(decomposition) point of its substrate; lower --temp-c")
    if molten.any():
        notes.append(f"{int(molten.sum())} candidates at or above their substrate's melting point dropped")
    out = out[~molten].reset_index(drop=True)
    out["score"] = acquisition.score(goal, out["neg_log10_sigma_mean"], out["neg_log10_sigma_std"], best)
    out["out_of_range"] = [
        "" if inside else (why or f"nearest training film at distance {d:.2f} (threshold {t:.2f})")
        for inside, why, d, t in zip(out["in_domain"], out["extrapolation"], out["domain_distance"],
                                     out["domain_threshold"])]
    if manifest["model"] == "recommended":
        notes.append(f"model: {answered_by('recommended', model_run)}: {model.chosen_.name} + paper offsets, "
                     f"{USES[model.chosen_.descriptors]}")
    else:
        notes.append(f"model: {answered_by('paper', model_run)}, on {', '.join(manifest['descriptors'])}, as trained "
                     "(no paper offsets, no shrinking out of the domain)")
    return out, notes


def _ranked(out: pd.DataFrame, goal: str, top: int, diverse: bool, grid) -> tuple:
    """The in-domain and out-of-domain lists (ranked apart), the counts and the note on ties."""
    pool = out[~out["tested"]] if grid.constraints["exclude_tested"] else out
    idx = pool.index.to_numpy()
    inside, outside = acquisition.rank(pool["score"], pool["in_domain"], pool["domain_distance"], goal, pool["tested"])
    gap = grid.temp.step if grid.temp.step > 0 else 1.0
    lists = []
    for order in (inside, outside):
        order = idx[order]
        keep = (acquisition.diverse(order, out["substrate"], out["deposition_temp_c"], gap, top) if diverse
                else order[:top])
        frame = out.loc[keep].reset_index(drop=True)
        frame.insert(0, "rank", np.arange(1, len(frame) + 1))
        lists.append(frame)
    counts = {"candidates": len(out), "tested": int(out["tested"].sum()),
              "excluded_tested": int(len(out) - len(pool)), "in_domain": len(inside), "out_of_domain": len(outside)}
    return lists[0][COLUMNS], lists[1][COLUMNS], counts, _tie_notes(pool, inside, goal)


def _tie_notes(pool: pd.DataFrame, inside, goal: str) -> list[str]:
    """A line when in-domain candidates share a score (the ranking then falls to domain distance)."""
    scores = np.round(pool["score"].to_numpy()[inside], 9)
    if len(scores) < 2 or len(np.unique(scores)) == len(scores):
        return []
    where = "untested first, then " + ("farthest from" if goal == "explore" else "nearest to")
    if len(np.unique(scores)) == 1:
        p = pool.iloc[inside[0]]
        return [f"every in-domain candidate has the same prediction (log10 σ {p['log10_sigma_mean']:.2f} ± "
                f"{p['log10_sigma_std']:.2f}): the model does not tell these conditions apart; they are ranked "
                f"{where} the measured films (domain distance)"]
    return [f"candidates with equal scores are ranked {where} the measured films (domain distance)"]


def _stored_rows(res: SuggestResult, goal: str) -> pd.DataFrame:
    rows = pd.concat([res.suggestions, res.out_of_domain], ignore_index=True)
    return rows.assign(goal=goal, in_domain=rows["in_domain"].astype(bool),
                       out_of_range=rows["out_of_range"].replace("", None))


def _plot(res: SuggestResult, k, path: Path) -> Path:
    """Predicted log10 sigma against T_dep per suggested substrate (ml.plots.suggestion_curves)."""
    from ..ml.plots import suggestion_curves

    listed = res.suggestions if len(res.suggestions) else res.out_of_domain
    films = k.films(include_duplicates=False)
    panels = []
    for substrate in dict.fromkeys(listed["substrate"]):
        mine = listed[listed["substrate"] == substrate]
        h = float(mine["thickness_nm"].iloc[0])
        c = res.candidates
        curve = c[(c["substrate"] == substrate) & np.isclose(c["thickness_nm"], h)]
        curve = curve.assign(low=curve["log10_sigma_mean"] - Z95 * curve["log10_sigma_std"],
                             high=curve["log10_sigma_mean"] + Z95 * curve["log10_sigma_std"])
        f = films[(films["substrate"] == substrate) & films["conductivity_25c_s_cm"].notna()]
        measured = pd.DataFrame({"deposition_temp_c": f["deposition_temp_c"],
                                 "log10_sigma": np.log10(f["conductivity_25c_s_cm"].astype(float))})
        panels.append(dict(substrate=substrate, thickness_nm=h, curve=curve, measured=measured, suggested=mine))
    title = f"{res.goal} suggestions\nmodel run {res.model_run_id}"
    title += f"\nsuggest run {res.run_id}" if res.run_id else ""
    return suggestion_curves(panels, path, title)


def suggest_frame(db=None, constraints: dict | None = None, goal: str = "balanced", top: int = 10, **options):
    """`suggest` as one DataFrame: the ranked in-domain suggestions, then the out-of-domain candidates
    (column in_domain); the run ids, goal and notes in `.attrs`."""
    res = suggest(db, constraints, goal=goal, top=top, **options)
    frame = pd.concat([res.suggestions, res.out_of_domain], ignore_index=True)
    frame.attrs.update(model_run=res.model_run_id, model=res.model, suggest_run=res.run_id, goal=goal, notes=res.notes,
                       best_stored_log10_sigma=res.best_log10_sigma)
    return frame


def stored_suggestions(db=None, run_id: str | None = None) -> pd.DataFrame:
    """The suggestions stored by one suggest run (default: the latest)."""
    with kb.open(db) as k:
        return k.suggestions(run_id)
