"""Two studies the report runs on the recommended procedure, computed by the code a user runs:

- :func:`learning_curve`: RMSE on the films of unseen papers when the procedure (and the training
  mean) learn from k papers only, for growing k: what more papers would buy;
- :func:`leaky_choice`: the score a model gets when it is chosen on the leave-one-out score
  itself (the seed paper's apparent protocol), beside the nested procedure's score.
"""

from __future__ import annotations

import numpy as np

from .folds import Layout
from .recommended import Recommended
from .select import candidates

__all__ = ["learning_curve", "leaky_choice", "leaky_pick"]


def _rmse(a, b) -> float:
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def learning_curve(model: Recommended, X, y, groups, sizes=(4, 6, 8, 10, 12, 14), draws: int = 3,
                   seed: int = 0) -> list[dict]:
    """For each k in sizes (fewer than the papers there are) and each of `draws` random sets of k
    papers: RMSE of the procedure and of the training mean on every film of the other papers."""
    y, groups = np.asarray(y, dtype=np.float64), np.asarray(groups)
    papers, rng = np.unique(groups), np.random.default_rng(seed)
    sets = [(k, d, np.isin(groups, rng.choice(papers, k, replace=False)))
            for k in sizes if k < len(papers) for d in range(draws)]
    if not sets:
        return []
    trains = np.array([t for _, _, t in sets])
    parts, choices = model.nested(X, y, groups, trains, ~trains)[:2]
    return [{"papers": k, "draw": d, "films_tested": int((~t).sum()), "rmse_recommended": _rmse(p["mean"], y[~t]),
             "rmse_mean": _rmse(np.full((~t).sum(), y[t].mean()), y[~t]), "chosen": c}
            for (k, d, t), p, c in zip(sets, parts, choices)]


def leaky_choice(model: Recommended, X, y, layout: Layout) -> dict:
    """Every candidate's own held-out RMSE on the outer folds, and the one a leaky protocol would pick
    (the best of them, reported with the very score it was picked on)."""
    y = np.asarray(y, dtype=np.float64)
    cands = candidates(model.candidates)
    f = model.outer_f(np.asarray(X, dtype=np.float64), y, ~layout.test, layout.test, range(len(cands)), layout.groups)
    scores = {}
    for ci, cand in enumerate(cands):
        held = np.einsum("fn,fn->n", np.nan_to_num(f[ci][0]), layout.test)
        scores[cand.name] = _rmse(held, y)
    return leaky_pick(scores)


def leaky_pick(scores: dict) -> dict:
    """The candidate a leaky protocol picks from held-out RMSEs {name: rmse} (an evaluation already
    computed them: `config["recommended"]["candidate_rmse"]`), reported with the score it was picked on."""
    best = min(scores, key=scores.get)
    return {"scores": dict(scores), "leaky_pick": best, "leaky_rmse": scores[best]}
