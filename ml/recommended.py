"""The recommended model: a descriptor model chosen by nested validation, a random offset per paper,
calibrated intervals and a domain-of-applicability check, behind the model contract.

fit(X, y, groups) on the training films only:
1. choice (:mod:`filmkb.ml.select`): every candidate predicts inner folds of papers it has not
   seen; among the mean and the candidates that beat it on the papers (a paired test at a
   family-wise 5 %), the one-standard-error rule picks f, the simplest candidate close to the best;
2. paper offsets (:mod:`filmkb.ml.paper_effects`): REML on f's out-of-fold residuals (honest:
   each residual comes from a model that never saw the film's paper), shrunk per paper;
3. calibration: the Gaussian sd is scaled by c_new / c_known, the root mean square of held-out
   normalised residuals of new-paper and known-paper predictions on the training films
   (Mondrian: one scale per kind, pooled when a kind has fewer than 5 scores); held out one paper
   and one film at a time, or in 10 folds of papers and of films above 30 papers
   (:func:`calibration_folds`, the rule of the outer folds);
4. domain: distance to the nearest training film in the chosen model's own (standardised)
   descriptors (the continuous extended ones when f is the mean); beyond the threshold, with
   w = threshold / distance, f shrinks toward the training mean by w and the shrunk part is added
   to the variance, and a known paper's offset holds with weight w only (else the paper is as
   open as a new one): conditions far from all its films do not inherit its narrow interval.
A query's paper (groups) decides whether its offset is known; its target never does.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..errors import FilmkbError
from .contract import EvalRows, Members, Model, timed
from .domain import Domain
from .folds import DEFAULT_K, LOO_MAX_PAPERS, Layout
from .members import SEED_STRIDE
from .paper_effects import Components, calibration_scores, offset, reml
from .select import ALPHA, Choice, candidates, choose, nested_copies

__all__ = ["Recommended", "NEW_PAPER", "ONE_SE", "Nested", "calibrated", "calibration_folds"]

NEW_PAPER = -1  # the group of a query from a paper that is not in the knowledge base
ONE_SE = "recommended_one_se"  # evaluation row: the procedure without its test against the mean
MIN_SCORES = 5
_INNER_SEEDS, _OUTER_SEEDS = 700_000, 800_000  # seed streams of the inner-fold and training-set fits


def calibration_folds(groups) -> int | None:
    """Folds of the calibration scores: None (leave one paper and one film out) up to LOO_MAX_PAPERS
    papers, DEFAULT_K above: the rule of the outer folds (ml.folds), for the same reason."""
    return None if len(np.unique(groups)) <= LOO_MAX_PAPERS else DEFAULT_K


def _scales(z, kinds) -> dict:
    pooled = float(np.sqrt(np.mean(z**2))) if len(z) else 1.0
    return {k: float(np.sqrt(np.mean(z[kinds == k] ** 2))) if np.sum(kinds == k) >= MIN_SCORES else pooled
            for k in ("new", "known")}


class _Fitted:
    """What the procedure learned from one training set (a fold's, or all films)."""

    def __init__(self, choice: Choice, residuals, groups, y, Z, domain_quantile: float):
        self.choice, self.r, self.groups = choice, residuals, groups
        self.components: Components = reml(residuals, groups)
        self.scales = _scales(*calibration_scores(residuals, groups, calibration_folds(groups)))
        self.y_mean = float(np.mean(y))
        self.domain = Domain(domain_quantile).fit(Z, groups)

    def predict(self, f, groups, Z, uses_descriptors: bool) -> dict:
        """Mean, calibrated sd and flags for query rows with descriptor-model predictions f."""
        c = self.components
        d = self.domain.distance(Z)
        w = np.minimum(1.0, self.domain.threshold_ / np.maximum(d, 1e-12))
        f_used = self.y_mean + w * (f - self.y_mean) if uses_descriptors else f
        out = {k: np.empty(len(f)) for k in ("mean", "sd", "offset")}
        known = np.array([np.any(self.groups == g) for g in groups])
        for i, g in enumerate(groups):
            u, v = offset(c, self.r[self.groups == g])
            # Out of the domain a known paper's offset holds with weight w, else the paper is as open as a new
            # one (offset 0, variance tau2): the mixture's mean and variance. Inside (w = 1) nothing changes.
            u, v = w[i] * u, w[i] * v + (1 - w[i]) * c.tau2 + w[i] * (1 - w[i]) * u**2
            scale = w[i] * self.scales["known"] + (1 - w[i]) * self.scales["new"] if known[i] else self.scales["new"]
            out["mean"][i] = f_used[i] + c.mu + u
            out["offset"][i] = c.mu + u
            shrunk = (1 - w[i]) * (f[i] - self.y_mean) if uses_descriptors else 0.0
            out["sd"][i] = scale * np.sqrt(c.sig2 + v + c.var_mu + shrunk**2)
        return {**out, "known_paper": known, "domain_distance": d, "domain_threshold": np.full(len(f), self.domain.threshold_),
                "in_domain": d <= self.domain.threshold_, "weight": w, "f": f}


class Recommended(Model):
    """The procedure above. X holds every descriptor column the candidates use; `columns` maps a
    descriptor set name to its column indices in X, `domain_columns` the domain space."""

    name = "recommended"
    stochastic = False
    timing_key = "recommended_s"
    wants_model_columns = True  # X holds every column its candidates may use

    def __init__(self, candidates="default", columns=None, domain_columns=None, inner_folds: int = 5,
                 repeats: int = 3, random_state: int = 0, domain_quantile: float = 0.95, n_jobs: int = 1,
                 alpha: float | None = ALPHA):
        self.candidates = candidates
        self.columns = columns
        self.domain_columns = domain_columns
        self.inner_folds = inner_folds
        self.repeats = repeats
        self.random_state = random_state
        self.domain_quantile = domain_quantile
        self.n_jobs = n_jobs  # processes for the candidates fitted one copy at a time
        self.alpha = alpha  # level of the test against the mean (None: the one-standard-error rule alone)

    # ---------------------------------------------------------------- pieces

    def _Xc(self, X, cand):
        return X[:, self.columns[cand.descriptors]] if cand.descriptors else X[:, :1]

    def _oof(self, X, y, groups, outer_train, progress=None) -> tuple[np.ndarray, np.ndarray]:
        """Out-of-fold predictions and variances (outer sets, candidates, n) from the inner folds of each
        training set."""
        cands = candidates(self.candidates)
        masks, tests, owner = nested_copies(groups, outer_train, self.inner_folds)
        oof = np.full((2, len(outer_train), len(cands), len(y)), np.nan)
        memo = {}
        for ci, cand in enumerate(cands):
            pred = self.fit_candidate(ci, cand, X, y, masks, tests, _INNER_SEEDS, progress, memo, groups)
            for i, (o, test) in enumerate(zip(owner, tests)):
                oof[:, o, ci, test] = pred[0][i, test], pred[1][i, test]
        return oof[0], oof[1]

    def _fold(self, X, y, groups, train, oof, alpha="default") -> _Fitted:
        """Choice, paper offsets, calibration and domain from one training set."""
        cands = candidates(self.candidates)
        _, tests, _ = nested_copies(groups, [train], self.inner_folds)
        rows = np.flatnonzero(train)
        alpha = getattr(self, "alpha", ALPHA) if alpha == "default" else alpha
        choice = choose([c.name for c in cands], oof[:, rows], y[rows], tests[:, rows], groups[rows], alpha)
        return _Fitted(choice, y[rows] - oof[choice.index, rows], groups[rows], y[rows],
                       self._Z(X[rows], cands[choice.index]), self.domain_quantile)

    def _Z(self, X, cand):
        """The domain space: the chosen model's own descriptors, or the continuous ones for the mean."""
        return X[:, self.columns[cand.descriptors]] if cand.descriptors else X[:, self.domain_columns]

    # ---------------------------------------------------------------- contract

    def fit(self, X, y, seeds=None, groups=None):
        X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
        groups = np.arange(len(y)) if groups is None else np.asarray(groups)
        self.random_state = int(self._seeds(seeds)[0])
        train = np.ones(len(y), dtype=bool)
        self.fitted_ = self._fold(X, y, groups, train, self._oof(X, y, groups, [train])[0][0])
        cand = candidates(self.candidates)[self.fitted_.choice.index]
        model = cand.model(self.random_state, self.repeats)
        self.f_ = model.fit(self._Xc(X, cand), y, **({"groups": groups} if model.uses_groups else {}))
        self.chosen_ = cand
        return self

    def predict_parts(self, X, groups=None) -> dict:
        """Per query row: mean, sd, known_paper, offset, domain distance and weight, f (see the module)."""
        X = np.asarray(X, dtype=np.float64)
        groups = np.full(len(X), NEW_PAPER) if groups is None else np.asarray(groups)
        f = self.f_.predict(self._Xc(X, self.chosen_))  # a new paper's: the offsets come from fitted_ below
        return self.fitted_.predict(f, groups, self._Z(X, self.chosen_), bool(self.chosen_.descriptors))

    def predict_dist(self, X, groups=None):
        p = self.predict_parts(X, groups)
        return p["mean"], p["sd"] ** 2

    def predict_members(self, X):
        mean, var = self.predict_dist(X)
        return Members(mean[None, :], var[None, :])

    def cross_predict(self, X, y, layout: Layout, progress=None, cache=None, timings=None) -> Members:
        """Nested evaluation: for every outer fold the whole procedure runs on its training films only.
        Every candidate is also scored on the outer folds, raw and calibrated (:func:`calibrated`)."""
        cache = {} if cache is None else cache
        if self.name not in cache:
            with timed(timings, self.timing_key):
                res = self.nested(X, y, layout.groups, ~layout.test, layout.test, progress, every_candidate=True)
                mean, var, extra = _gather(res.parts, layout.test)
                self.choices_ = dict(zip(layout.folds, res.choices))
                self.extra_ = extra
                self.one_se_ = None
                if res.one_se is not None:
                    m1, v1, _ = _gather(res.one_se[0], layout.test)
                    self.one_se_ = (m1, np.sqrt(v1), dict(zip(layout.folds, res.one_se[1])))
                self.candidate_rows_ = {name: _held(pred, layout.test) for name, pred in res.calibrated.items()}
                self.candidate_rmse_ = {name: float(np.sqrt(np.mean((_held(pred, layout.test)[0] - y) ** 2)))
                                        for name, pred in res.raw.items()}
                cache[self.name] = Members(mean[None, :], var[None, :])
        return cache[self.name]

    def nested(self, X, y, groups, train_masks, test_masks, progress=None, every_candidate: bool = False) -> Nested:
        """The whole procedure fitted on each training mask and predicting its test rows (any masks:
        outer folds, or the training sets of a learning curve). Returns per set the prediction parts
        and the chosen candidate's name; with every_candidate, also every candidate's own predictions
        on the test rows (fitted on each training mask) and its calibrated version (:func:`calibrated`)."""
        X, y, groups = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64), np.asarray(groups)
        train_masks, test_masks = np.asarray(train_masks), np.asarray(test_masks)
        cands = candidates(self.candidates)
        oof, oof_var = self._oof(X, y, groups, train_masks, progress)
        fitted = [self._fold(X, y, groups, train, oof[o]) for o, train in enumerate(train_masks)]
        used = range(len(cands)) if every_candidate else {ft.choice.index for ft in fitted}
        f = self.outer_f(X, y, train_masks, test_masks, used, groups)
        cal = {cands[ci].name: calibrated(y, oof[:, ci], oof_var[:, ci], *f[ci], train_masks, test_masks)
               for ci in used} if every_candidate else {}
        one_se = None
        if every_candidate and getattr(self, "alpha", ALPHA) is not None:  # the same procedure without the test
            alt = [self._fold(X, y, groups, train, oof[o], alpha=None) for o, train in enumerate(train_masks)]
            one_se = (self._predict_sets(alt, f, X, groups, test_masks), [ft.choice.name for ft in alt])
        return Nested(self._predict_sets(fitted, f, X, groups, test_masks), [ft.choice.name for ft in fitted],
                      {cands[ci].name: f[ci] for ci in used}, cal, one_se)

    def _predict_sets(self, fitted, f, X, groups, test_masks) -> list:
        """Prediction parts on each set's test rows from its fitted procedure and the candidates' outer f."""
        cands = candidates(self.candidates)
        return [ft.predict(f[ft.choice.index][0][o][test], groups[test], self._Z(X[test], cands[ft.choice.index]),
                           bool(cands[ft.choice.index].descriptors))
                for o, (test, ft) in enumerate(zip(test_masks, fitted))]

    def outer_f(self, X, y, train_masks, test_masks, used, groups=None) -> dict:
        """Predictions and variances (sets, n) of every candidate index in `used`, fitted on each set's
        training films (groups: each film's paper, for the families that use them)."""
        cands, memo = candidates(self.candidates), {}
        return {ci: self.fit_candidate(ci, cands[ci], X, y, train_masks, test_masks, _OUTER_SEEDS, memo=memo,
                                       groups=groups)
                for ci in sorted(used)}

    def fit_candidate(self, ci: int, cand, X, y, masks, tests, stream: int, progress=None, memo=None,
                      groups=None) -> tuple:
        """Predictions and predictive variances (copies, n) of candidate `ci` trained on each mask, on its
        test rows. A stochastic candidate mixes `repeats` seeds drawn from its own seed stream (NaN
        variance for a family of point predictions, the LSTM); the ensemble averages its LSTM and PBP
        parts, fitted once per call (memo) when they are candidates too. A family that uses groups gets
        the papers of each copy's training rows at fit and of its test rows at prediction."""
        memo = {} if memo is None else memo
        if cand.name in memo:
            return memo[cand.name]
        if cand.parts:
            names = [c.name for c in candidates(self.candidates)]
            (ml, _), (mp, vp) = [self.fit_candidate(names.index(p.name) if p.name in names else len(names) + 2 * ci + j,
                                                    p, X, y, masks, tests, stream, progress, memo, groups)
                                 for j, p in enumerate(cand.parts)]
            out = ((ml + mp) / 2, vp / 2 + ((ml - mp) / 2) ** 2)  # two equal halves: PBP's variance, their gap
        else:
            model = cand.model(self.random_state, self.repeats)
            reps = self.repeats if model.stochastic else 1
            # a deterministic candidate has one seed per stream for every copy, so that the same training
            # rows give the same fit wherever they occur (and contract.FITS can serve it again)
            seeds = int(self.random_state) * SEED_STRIDE + stream + 1000 * ci + (
                np.arange(len(masks) * reps) if model.stochastic else np.zeros(len(masks), dtype=np.int64))
            # a family that uses papers learns with them, but predicts every film as a new paper's: the known
            # papers' offsets are added once, by the paper-offset step on the chosen candidate's residuals
            by_paper = {"groups": groups, "new_papers": True} if model.uses_groups and groups is not None else {}
            m = model.fit_copies(self._Xc(X, cand), y, np.tile(masks, (reps, 1)), seeds, np.tile(tests, (reps, 1)),
                                 progress, n_jobs=self.n_jobs, **by_paper)
            mean = m.mean.reshape(reps, len(masks), len(y))
            var = np.full_like(mean, np.nan) if m.var is None else m.var.reshape(mean.shape)
            out = (mean.mean(axis=0), var.mean(axis=0) + mean.var(axis=0))
        memo[cand.name] = out
        return out

    def evaluation_rows(self, members: Members) -> list[EvalRows]:
        """The recommended model's rows, the same procedure without its test against the mean
        ("recommended_one_se"), then each candidate calibrated on its own ("gp:paper7+cal")."""
        rows = [EvalRows(self.name, members.mean[0], np.sqrt(members.var[0]), dict(self.extra_))]
        if getattr(self, "one_se_", None) is not None:
            rows.append(EvalRows(ONE_SE, *self.one_se_[:2], {}))
        return rows + [EvalRows(f"{name}+cal", m, sd, {}) for name, (m, sd) in getattr(self, "candidate_rows_", {}).items()]


class Nested(NamedTuple):
    """What :meth:`Recommended.nested` returns: per training set the prediction parts and the chosen
    candidate; per candidate (every_candidate only) its raw (mean, var) and calibrated (mean, sd)
    predictions (sets, n) on the test rows, and the procedure's without its test against the mean."""

    parts: list
    choices: list
    raw: dict
    calibrated: dict
    one_se: tuple | None = None  # (parts, choices) of the one-standard-error rule alone, for comparison


def _sd(var, floor: float = 0.0) -> np.ndarray:
    """Predictive sd with a variance floor added, or 1 where a family gives none (its calibrated sd is
    then its residual scale)."""
    var = np.asarray(var, dtype=np.float64)
    ok = np.isfinite(var) & (var + floor > 0)
    return np.where(ok, np.sqrt(np.where(ok, var + floor, 1.0)), 1.0)


def calibrated(y, oof, oof_var, mean, var, train_masks, test_masks) -> tuple[np.ndarray, np.ndarray]:
    """One candidate calibrated per training set: its sd scaled by the root mean square of its normalised
    residuals on that set's inner folds (papers it had not seen: the training films only). As in
    normalised conformal prediction (sd + beta), the sd gets a floor, the median inner variance: a
    family whose members agree on a few films (a tree ensemble's spread near 0) would otherwise get
    a scale of 1e12. Returns (mean, sd) on the test rows (sets, n)."""
    out_sd = np.full(mean.shape, np.nan)
    for o, (train, test) in enumerate(zip(train_masks, test_masks)):
        rows = train & np.isfinite(oof[o])
        inner = oof_var[o, rows]
        floor = float(np.median(inner[np.isfinite(inner)])) if np.isfinite(inner).any() else 0.0
        z = (y[rows] - oof[o, rows]) / _sd(inner, floor)
        scale = float(np.sqrt(np.mean(z**2))) if len(z) else 1.0
        out_sd[o, test] = scale * _sd(var[o, test], floor)
    return mean, out_sd


def _gather(parts, tests) -> tuple[np.ndarray, np.ndarray, dict]:
    """Each film's mean, variance and flags from the set that holds it out."""
    n = tests.shape[1]
    mean, var, extra = np.empty(n), np.empty(n), {}
    for test, p in zip(tests, parts):
        mean[test], var[test] = p["mean"], p["sd"] ** 2
        for k in ("known_paper", "offset", "domain_distance", "domain_threshold", "weight"):
            extra.setdefault(k, np.empty(n))[test] = p[k]
    return mean, var, extra


def _held(pred, tests) -> tuple[np.ndarray, np.ndarray]:
    """Each film's value from the set that holds it out: (sets, n) pairs -> (n,) pairs."""
    return tuple(np.einsum("fn,fn->n", np.nan_to_num(p), tests) for p in pred)


# --------------------------------------------------------------------------------------- files

MODEL_FILE = "recommended.npz"


def save(model: Recommended, directory, meta: dict) -> str:
    """The fitted procedure as data (recommended.npz: JSON values and NumPy arrays, no pickle, see
    :mod:`filmkb.ml.model_state`) and a readable manifest.json recording the file's SHA-256: what it
    chose and why, the paper offsets' variance components, calibration scales and domain threshold.
    Returns the manifest's own SHA-256."""
    from pathlib import Path

    from .artifacts import save_npz, write_manifest

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    save_npz(directory / MODEL_FILE, *_state(model))
    ft = model.fitted_
    manifest = {"model": "recommended", "model_file": MODEL_FILE,
                "chosen": model.chosen_.name, "choice": ft.choice.as_dict(),
                "paper_effects": ft.components._asdict(), "calibration_scales": ft.scales,
                "domain_threshold": ft.domain.threshold_, "target": "neg_log10_sigma", **meta}
    return write_manifest(directory, manifest, [MODEL_FILE])


def load(directory, manifest: dict | None = None) -> tuple[Recommended, dict]:
    """The procedure saved by :func:`save` and its manifest (`manifest`: already read and checked by the
    caller). Its file must lie inside `directory` and match the hash the manifest records; runs saved
    as a pickle by earlier versions are refused (retrain)."""
    from pathlib import Path

    from .artifacts import load_npz, read_manifest, refuse_old, verified

    directory = Path(directory)
    manifest = read_manifest(directory) if manifest is None else manifest
    refuse_old(directory, manifest)
    path, data = verified(directory, manifest, manifest.get("model_file"))
    state, arrays = load_npz(data, path)
    return _from_state(state, arrays, path), manifest


def _state(model: Recommended) -> tuple[dict, dict]:
    """(JSON values, arrays) of a fitted procedure: its parameters, what it learned (choice, residuals,
    offsets' components, scales, domain) and its chosen candidate's fitted model."""
    from .model_state import dump

    ft, cand = model.fitted_, model.chosen_
    spec = model.candidates if isinstance(model.candidates, str) else [c.name for c in candidates(model.candidates)]
    f_meta, f_arrays = dump(cand.family, model.f_)
    c = ft.choice
    state = {"params": {"candidates": spec, "columns": {k: [int(j) for j in v] for k, v in model.columns.items()},
                        "domain_columns": [int(j) for j in model.domain_columns], "inner_folds": int(model.inner_folds),
                        "repeats": int(model.repeats), "random_state": int(model.random_state),
                        "domain_quantile": float(model.domain_quantile), "n_jobs": int(model.n_jobs),
                        "alpha": getattr(model, "alpha", ALPHA)},
             "chosen": [cand.family, cand.descriptors],
             "choice": {"index": c.index, "name": c.name, "mse": c.mse, "se": c.se, "rule": c.rule,
                        "against_mean": c.against_mean},
             "components": ft.components._asdict(), "scales": ft.scales, "y_mean": ft.y_mean,
             "domain_quantile": ft.domain.quantile, "domain_threshold": ft.domain.threshold_, "f": f_meta}
    arrays = {"r": ft.r, "groups": ft.groups, "domain.mean": ft.domain.mean_, "domain.scale": ft.domain.scale_,
              "domain.Z": ft.domain.Z_, **{f"f.{k}": v for k, v in f_arrays.items()}}
    return state, arrays


def _from_state(state: dict, arrays: dict, where) -> Recommended:
    """The procedure :func:`_state` described."""
    from .model_state import build
    from .select import Candidate

    try:
        p = state["params"]
        model = Recommended(p["candidates"], {k: list(v) for k, v in p["columns"].items()}, list(p["domain_columns"]),
                            p["inner_folds"], p["repeats"], p["random_state"], p["domain_quantile"], p["n_jobs"],
                            p["alpha"])
        model.chosen_ = Candidate(*state["chosen"])
        ft = _Fitted.__new__(_Fitted)
        ft.choice = Choice(**state["choice"])
        ft.r, ft.groups = arrays["r"], arrays["groups"]
        ft.components, ft.scales, ft.y_mean = Components(**state["components"]), dict(state["scales"]), state["y_mean"]
        ft.domain = Domain(state["domain_quantile"])
        ft.domain.mean_, ft.domain.scale_, ft.domain.Z_ = arrays["domain.mean"], arrays["domain.scale"], arrays["domain.Z"]
        ft.domain.threshold_ = float(state["domain_threshold"])
        f_meta = state["f"]
    except (KeyError, TypeError, ValueError) as exc:
        raise FilmkbError(f"{where}: not a recommended model filmkb wrote ({type(exc).__name__}: {exc}); "
                          "retrain with `filmkb train`") from None
    model.fitted_ = ft
    model.f_ = build(model.chosen_.family, f_meta, {k[2:]: v for k, v in arrays.items() if k.startswith("f.")}, where)
    return model
