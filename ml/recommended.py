"""The recommended model: a descriptor model chosen by nested validation, a random offset per paper,
calibrated intervals and a domain-of-applicability check, behind the model contract.

fit(X, y, groups) on the training films only:
1. choice (:mod:`filmkb.ml.select`): every candidate predicts inner folds of papers it has not
   seen; the one-standard-error rule picks f, the simplest candidate close to the best;
2. paper offsets (:mod:`filmkb.ml.paper_effects`): REML on f's out-of-fold residuals (honest:
   each residual comes from a model that never saw the film's paper), shrunk per paper;
3. calibration: the Gaussian sd is scaled by c_new / c_known, the root mean square of held-out
   normalised residuals of new-paper and known-paper predictions on the training films
   (Mondrian: one scale per kind, pooled when a kind has fewer than 5 scores);
4. domain: distance to the nearest training film in the chosen model's own (standardised)
   descriptors (the continuous extended ones when f is the mean); beyond the threshold, f
   shrinks toward the training mean by threshold / distance and the shrunk part is added to
   the variance.
A query's paper (groups) decides whether its offset is known; its target never does.
"""

from __future__ import annotations

import numpy as np

from .contract import EvalRows, Members, Model, timed
from .domain import Domain
from .folds import Layout
from .members import SEED_STRIDE
from .paper_effects import Components, calibration_scores, offset, reml
from .select import Choice, candidates, choose, nested_copies

__all__ = ["Recommended", "NEW_PAPER"]

NEW_PAPER = -1  # the group of a query from a paper that is not in the knowledge base
MIN_SCORES = 5
_INNER_SEEDS, _OUTER_SEEDS = 700_000, 800_000  # seed streams of the inner-fold and training-set fits


def _scales(z, kinds) -> dict:
    pooled = float(np.sqrt(np.mean(z**2))) if len(z) else 1.0
    return {k: float(np.sqrt(np.mean(z[kinds == k] ** 2))) if np.sum(kinds == k) >= MIN_SCORES else pooled
            for k in ("new", "known")}


class _Fitted:
    """What the procedure learned from one training set (a fold's, or all films)."""

    def __init__(self, choice: Choice, residuals, groups, y, Z, domain_quantile: float):
        self.choice, self.r, self.groups = choice, residuals, groups
        self.components: Components = reml(residuals, groups)
        self.scales = _scales(*calibration_scores(residuals, groups))
        self.y_mean = float(np.mean(y))
        self.domain = Domain(domain_quantile).fit(Z, groups)

    def predict(self, f, groups, Z, uses_descriptors: bool) -> dict:
        """Mean, calibrated sd and flags for query rows with descriptor-model predictions f."""
        c = self.components
        d = self.domain.distance(Z)
        w = np.minimum(1.0, self.domain.threshold_ / np.maximum(d, 1e-12)) if uses_descriptors else np.ones(len(f))
        f_used = self.y_mean + w * (f - self.y_mean)
        out = {k: np.empty(len(f)) for k in ("mean", "sd", "offset")}
        known = np.array([np.any(self.groups == g) for g in groups])
        for i, g in enumerate(groups):
            u, v = offset(c, self.r[self.groups == g])
            scale = self.scales["known" if known[i] else "new"]
            out["mean"][i] = f_used[i] + c.mu + u
            out["offset"][i] = c.mu + u
            out["sd"][i] = scale * np.sqrt(c.sig2 + v + c.var_mu + ((1 - w[i]) * (f[i] - self.y_mean)) ** 2)
        return {**out, "known_paper": known, "domain_distance": d, "domain_threshold": np.full(len(f), self.domain.threshold_),
                "in_domain": d <= self.domain.threshold_, "weight": w, "f": f}


class Recommended(Model):
    """The procedure above. X holds every descriptor column the candidates use; `columns` maps a
    descriptor set name to its column indices in X, `domain_columns` the domain space."""

    name = "recommended"
    stochastic = False
    timing_key = "recommended_s"

    def __init__(self, candidates="default", columns=None, domain_columns=None, inner_folds: int = 5,
                 repeats: int = 3, random_state: int = 0, domain_quantile: float = 0.95, n_jobs: int = 1):
        self.candidates = candidates
        self.columns = columns
        self.domain_columns = domain_columns
        self.inner_folds = inner_folds
        self.repeats = repeats
        self.random_state = random_state
        self.domain_quantile = domain_quantile
        self.n_jobs = n_jobs  # processes for the candidates fitted one copy at a time

    # ---------------------------------------------------------------- pieces

    def _Xc(self, X, cand):
        return X[:, self.columns[cand.descriptors]] if cand.descriptors else X[:, :1]

    def _oof(self, X, y, groups, outer_train, progress=None) -> np.ndarray:
        """Out-of-fold predictions (outer sets, candidates, n) from the inner folds of each training set."""
        cands = candidates(self.candidates)
        masks, tests, owner = nested_copies(groups, outer_train, self.inner_folds)
        oof = np.full((len(outer_train), len(cands), len(y)), np.nan)
        for ci, cand in enumerate(cands):
            pred = self.fit_candidate(ci, cand, X, y, masks, tests, _INNER_SEEDS, progress)
            for i, (o, test) in enumerate(zip(owner, tests)):
                oof[o, ci, test] = pred[i, test]
        return oof

    def _fold(self, X, y, groups, train, oof) -> _Fitted:
        """Choice, paper offsets, calibration and domain from one training set."""
        cands = candidates(self.candidates)
        _, tests, _ = nested_copies(groups, [train], self.inner_folds)
        rows = np.flatnonzero(train)
        choice = choose([c.name for c in cands], oof[:, rows], y[rows], tests[:, rows], groups[rows])
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
        self.fitted_ = self._fold(X, y, groups, train, self._oof(X, y, groups, [train])[0])
        cand = candidates(self.candidates)[self.fitted_.choice.index]
        self.f_ = cand.model(self.random_state, self.repeats).fit(self._Xc(X, cand), y)
        self.chosen_ = cand
        return self

    def predict_parts(self, X, groups=None) -> dict:
        """Per query row: mean, sd, known_paper, offset, domain distance and weight, f (see the module)."""
        X = np.asarray(X, dtype=np.float64)
        groups = np.full(len(X), NEW_PAPER) if groups is None else np.asarray(groups)
        f = self.f_.predict(self._Xc(X, self.chosen_))
        return self.fitted_.predict(f, groups, self._Z(X, self.chosen_), self.chosen_.family != "mean")

    def predict_dist(self, X, groups=None):
        p = self.predict_parts(X, groups)
        return p["mean"], p["sd"] ** 2

    def predict_members(self, X):
        mean, var = self.predict_dist(X)
        return Members(mean[None, :], var[None, :])

    def cross_predict(self, X, y, layout: Layout, progress=None, cache=None, timings=None) -> Members:
        """Nested evaluation: for every outer fold the whole procedure runs on its training films only."""
        cache = {} if cache is None else cache
        if self.name not in cache:
            with timed(timings, self.timing_key):
                parts, choices = self.nested(X, y, layout.groups, ~layout.test, layout.test, progress)
                n = len(y)
                mean, var, extra = np.empty(n), np.empty(n), {}
                for test, p in zip(layout.test, parts):
                    mean[test], var[test] = p["mean"], p["sd"] ** 2
                    for k in ("known_paper", "offset", "domain_distance", "domain_threshold", "weight"):
                        extra.setdefault(k, np.empty(n))[test] = p[k]
                self.choices_ = dict(zip(layout.folds, choices))
                self.extra_ = extra
                cache[self.name] = Members(mean[None, :], var[None, :])
        return cache[self.name]

    def nested(self, X, y, groups, train_masks, test_masks, progress=None) -> tuple[list, list]:
        """The whole procedure fitted on each training mask and predicting its test rows (any masks:
        outer folds, or the training sets of a learning curve). Returns per set the prediction parts
        and the chosen candidate's name."""
        X, y, groups = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64), np.asarray(groups)
        train_masks, test_masks = np.asarray(train_masks), np.asarray(test_masks)
        cands = candidates(self.candidates)
        oof = self._oof(X, y, groups, train_masks, progress)
        fitted = [self._fold(X, y, groups, train, oof[o]) for o, train in enumerate(train_masks)]
        f = self.outer_f(X, y, train_masks, test_masks, {ft.choice.index for ft in fitted})
        parts = [ft.predict(f[ft.choice.index][o][test], groups[test], self._Z(X[test], cands[ft.choice.index]),
                            cands[ft.choice.index].family != "mean")
                 for o, (test, ft) in enumerate(zip(test_masks, fitted))]
        return parts, [ft.choice.name for ft in fitted]

    def outer_f(self, X, y, train_masks, test_masks, used) -> dict:
        """Predictions (sets, n) of every candidate index in `used`, fitted on each set's training films."""
        cands = candidates(self.candidates)
        return {ci: self.fit_candidate(ci, cands[ci], X, y, train_masks, test_masks, _OUTER_SEEDS) for ci in sorted(used)}

    def fit_candidate(self, ci: int, cand, X, y, masks, tests, stream: int, progress=None) -> np.ndarray:
        """Predictions (copies, n) of candidate `ci` trained on each mask, on its test rows; a stochastic
        candidate averages `repeats` seeds (drawn from its own seed stream)."""
        model = cand.model(self.random_state, self.repeats)
        reps = self.repeats if model.stochastic else 1
        seeds = int(self.random_state) * SEED_STRIDE + stream + 1000 * ci + np.arange(len(masks) * reps)
        pred = model.fit_copies(self._Xc(X, cand), y, np.tile(masks, (reps, 1)), seeds, np.tile(tests, (reps, 1)),
                                progress, n_jobs=self.n_jobs).mean
        return pred.reshape(reps, len(masks), len(y)).mean(axis=0)

    def evaluation_rows(self, members: Members) -> list[EvalRows]:
        return [EvalRows(self.name, members.mean[0], np.sqrt(members.var[0]), dict(self.extra_))]


# --------------------------------------------------------------------------------------- files

MODEL_FILE = "recommended.joblib"


def save(model: Recommended, directory, meta: dict):
    """The fitted procedure (joblib, scikit-learn's own format) and a readable manifest.json: what it
    chose and why, the paper offsets' variance components, calibration scales and domain threshold."""
    import json
    from pathlib import Path

    import joblib

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, directory / MODEL_FILE)
    ft = model.fitted_
    manifest = {"format_version": 1, "model": "recommended", "model_file": MODEL_FILE,
                "chosen": model.chosen_.name, "choice": ft.choice.as_dict(),
                "paper_effects": ft.components._asdict(), "calibration_scales": ft.scales,
                "domain_threshold": ft.domain.threshold_, "target": "neg_log10_sigma", **meta}
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=1, default=float))
    return directory


def load(directory) -> tuple[Recommended, dict]:
    import json
    from pathlib import Path

    import joblib

    directory = Path(directory)
    manifest = json.loads((directory / "manifest.json").read_text())
    return joblib.load(directory / manifest["model_file"]), manifest
