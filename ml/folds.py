"""Outer folds of an evaluation and the layout of the copies trained on them.

``"film"`` leaves each film out once (the paper); ``"reference"`` leaves out all films of one
publication at a time (what predicting a new paper looks like). That is leave-one-out, the right
protocol for a small literature (the seed data: 26 films from 14 papers). Above LOO_MAX_PAPERS papers
it stops being one: its folds (and every model's fits) grow with the films, while K folds already give
each film a prediction from a model that never saw it (or, for "reference", never saw its paper). So
with more than LOO_MAX_PAPERS papers both fold types become K-fold (scikit-learn's GroupKFold, K =
DEFAULT_K unless asked): grouped by film for "film", by paper for "reference" (no paper is ever split
between training and test). :func:`protocol` says which ran. Every model family is trained
as copies over one :class:`Layout`: copy ``r * F + f`` is repeat r of fold f, trained on
``masks[copy]`` (the fold's training films) with ``seeds[copy]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import FilmkbError
from .members import member_seeds

__all__ = ["FOLD_KINDS", "LOO_MAX_PAPERS", "DEFAULT_K", "protocol", "describe", "default_seeds", "make_folds", "copy_layout", "Layout",
           "held_out"]

FOLD_KINDS = ("film", "reference")
LOO_MAX_PAPERS = 30  # leave-one-out up to this many papers; K-fold grouped by film or paper above
DEFAULT_K = 10  # folds of the grouped K-fold (scikit-learn's and ESL 7.10's usual choice)
# Seeds per fold of the stochastic families when not asked for: the paper's 100 leaving one out (a film's
# prediction is its fold's R members, averaged); 10 in the K-fold, where a fold holds a tenth of the films
# and 10 x 10 copies already give each film 10 members (as many as the trained model has by default).
LOO_SEEDS, KFOLD_SEEDS = 100, 10


def default_seeds(plan: dict) -> int:
    """Seeds per fold of the stochastic families when --repeats is not given (see KFOLD_SEEDS)."""
    return LOO_SEEDS if plan["k"] is None else KFOLD_SEEDS


def protocol(matrix, kind: str = "film", k: int | None = None) -> dict:
    """Which protocol `kind` folds run on this matrix: {"folds", "scheme", "k", "groups"} (k None for
    leave-one-out; "groups": what a fold leaves out whole, film or reference)."""
    if kind not in FOLD_KINDS:
        raise FilmkbError(f"unknown folds '{kind}' (expected {' or '.join(FOLD_KINDS)})")
    if k is not None and int(k) < 2:
        raise FilmkbError(f"--folds-k must be at least 2 (got {k})")
    n_papers = len(np.unique(matrix["reference_id"].to_numpy()))
    if n_papers <= LOO_MAX_PAPERS:
        return {"folds": kind, "scheme": "leave-one-out", "k": None, "groups": kind, "papers": n_papers,
                "rule": f"leave-one-out up to {LOO_MAX_PAPERS} papers"}
    return {"folds": kind, "scheme": "group-k-fold", "k": int(k or DEFAULT_K), "groups": kind, "papers": n_papers,
            "rule": f"GroupKFold above {LOO_MAX_PAPERS} papers"}


def describe(plan: dict | None, kind: str = "film") -> str:
    """'leave-one-film-out' or '10-fold grouped by reference' (a run stored without a protocol left one out)."""
    if not plan or plan.get("k") is None:
        return f"leave-one-{(plan or {}).get('folds', kind)}-out"
    return f"{plan['k']}-fold grouped by {plan['groups']}"


def make_folds(matrix, kind: str = "film", k: int | None = None):
    """Fold label of every film and the ordered fold list: "film:<id>" / "reference:<id>" leaving one
    out, "film-fold:<j>" / "reference-fold:<j>" (j = 1..K) in the grouped K-fold (see :func:`protocol`)."""
    plan = protocol(matrix, kind, k)
    groups = np.asarray(matrix.index) if kind == "film" else matrix["reference_id"].to_numpy()
    if plan["scheme"] == "leave-one-out":
        labels = np.array([f"{kind}:{g}" for g in groups])
    else:
        from sklearn.model_selection import GroupKFold

        fold = np.empty(len(groups), dtype=int)
        splits = GroupKFold(n_splits=min(plan["k"], len(np.unique(groups)))).split(groups, groups=groups)
        for j, (_, test) in enumerate(splits):
            fold[test] = j + 1
        labels = np.array([f"{kind}-fold:{j}" for j in fold])
        return labels, [f"{kind}-fold:{j}" for j in range(1, fold.max() + 1)]
    order = list(dict.fromkeys(labels.tolist()))
    return labels, order


def copy_layout(labels, folds, repeats: int, seed: int):
    """Training masks (F*R, n), fold index and seed of every copy; copy r*F + f is (repeat r, fold f)."""
    F = len(folds)
    test = np.stack([labels == f for f in folds])  # (F, n)
    masks = np.tile(~test, (repeats, 1))
    fold_of = np.tile(np.arange(F), repeats)
    return masks, fold_of, member_seeds(seed, F * repeats), test


@dataclass(frozen=True)
class Layout:
    """The outer folds and every copy to train on them (see the module docstring)."""

    labels: np.ndarray  # (n,) fold label of each film
    folds: list  # ordered fold labels
    kind: str  # "film" or "reference"
    repeats: int
    seed: int
    masks: np.ndarray  # (F*R, n) training rows of each copy
    fold_of: np.ndarray  # (F*R,) fold index of each copy
    seeds: np.ndarray  # (F*R,) seed of each copy
    test: np.ndarray  # (F, n) held-out films of each fold
    groups: np.ndarray  # (n,) the paper (reference id) of each film
    protocol: dict = None  # see protocol()

    @classmethod
    def of(cls, matrix, kind: str, repeats: int, seed: int, k: int | None = None) -> "Layout":
        labels, folds = make_folds(matrix, kind, k)
        masks, fold_of, seeds, test = copy_layout(labels, folds, repeats, seed)
        return cls(labels, folds, kind, int(repeats), int(seed), masks, fold_of, seeds, test,
                   matrix["reference_id"].to_numpy(), protocol(matrix, kind, k))

    def single(self) -> "Layout":
        """The same folds with one copy each, all seeded with the base seed (deterministic models)."""
        return Layout(self.labels, self.folds, self.kind, 1, self.seed, ~self.test,
                      np.arange(len(self.folds)), np.full(len(self.folds), self.seed), self.test, self.groups,
                      self.protocol)


def held_out(pred, layout: Layout) -> np.ndarray:
    """(R, n) held-out member predictions: for film i, the rows of the copies of its fold."""
    F, n = layout.test.shape
    film_fold = layout.test.argmax(axis=0)  # (n,)
    rows = np.arange(layout.repeats)[:, None] * F + film_fold[None, :]  # (R, n)
    assert pred.shape[0] == len(layout.fold_of) and np.all(layout.fold_of[rows] == film_fold[None, :])
    return pred[rows, np.arange(n)[None, :]]
