"""Outer folds of an evaluation and the layout of the copies trained on them.

``"film"`` leaves each film out once (the paper); ``"reference"`` leaves out all films of one
publication at a time (what predicting a new paper looks like). Every model family is trained
as copies over one :class:`Layout`: copy ``r * F + f`` is repeat r of fold f, trained on
``masks[copy]`` (the fold's training films) with ``seeds[copy]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import FilmkbError
from .members import member_seeds

__all__ = ["FOLD_KINDS", "make_folds", "copy_layout", "Layout", "held_out"]

FOLD_KINDS = ("film", "reference")


def make_folds(matrix, kind: str = "film"):
    """Fold label of every film ("film:<id>" or "reference:<id>") and the ordered fold list."""
    if kind == "film":
        labels = np.array([f"film:{i}" for i in matrix.index])
    elif kind == "reference":
        labels = np.array([f"reference:{r}" for r in matrix["reference_id"]])
    else:
        raise FilmkbError(f"unknown folds '{kind}' (expected {' or '.join(FOLD_KINDS)})")
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

    @classmethod
    def of(cls, matrix, kind: str, repeats: int, seed: int) -> "Layout":
        labels, folds = make_folds(matrix, kind)
        masks, fold_of, seeds, test = copy_layout(labels, folds, repeats, seed)
        return cls(labels, folds, kind, int(repeats), int(seed), masks, fold_of, seeds, test,
                   matrix["reference_id"].to_numpy())

    def single(self) -> "Layout":
        """The same folds with one copy each, all seeded with the base seed (deterministic models)."""
        return Layout(self.labels, self.folds, self.kind, 1, self.seed, ~self.test,
                      np.arange(len(self.folds)), np.full(len(self.folds), self.seed), self.test, self.groups)


def held_out(pred, layout: Layout) -> np.ndarray:
    """(R, n) held-out member predictions: for film i, the rows of the copies of its fold."""
    F, n = layout.test.shape
    film_fold = layout.test.argmax(axis=0)  # (n,)
    rows = np.arange(layout.repeats)[:, None] * F + film_fold[None, :]  # (R, n)
    assert pred.shape[0] == len(layout.fold_of) and np.all(layout.fold_of[rows] == film_fold[None, :])
    return pred[rows, np.arange(n)[None, :]]
