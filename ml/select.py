"""Nested model choice: which candidate (family x descriptor set) to trust, decided by an inner
cross-validation grouped by paper on the training films only.

For every outer training set, the films are split into inner folds by paper (scikit-learn's
GroupKFold, so every inner test fold is a set of papers the candidate has not seen: what
predicting a new paper is) and every candidate predicts every inner fold. Then, in two steps:

1. the training mean is the null model: a candidate stays in the running only if it beats the mean
   on the papers, a paired one-sided t-test of per-paper MSE differences at a family-wise 5 %
   (Bonferroni over the candidates; papers are the independent units, films of one paper share a
   level). With 15 papers the best of a dozen noisy inner scores is optimistic (the winner's curse):
   before this step, one outer fold of 16 chose ridge on the extended set (inner MSE 0.59 +- 0.18
   against the mean's 1.36) and then missed that paper by 0.61 decade more than the mean;
2. among the mean and the candidates that passed, the one-standard-error rule picks the simplest
   whose pooled inner MSE is within one standard error of the best (Hastie, Tibshirani & Friedman,
   ESL 7.10). Candidates are listed from simplest to most complex.

"default" holds the families that fit in milliseconds (mean, ridge, GP, extra trees; both descriptor
sets). "full" adds histogram gradient boosting (ml/boosting.py, ~0.2 s a fit) and the neural families on both sets: PBP, the LSTM and the LSTM + PBP ensemble, each
fitted 3 seeds x (26 x 5 + 26) times in a leave-one-film-out evaluation. There the LSTM trains for
CANDIDATE_LSTM's 400 epochs instead of the paper's 3,200: a cost bound fixed before any score was
seen, not a tuned value; the GP candidates' kernel optimisation is capped likewise
(CANDIDATE_GP_ITERATIONS). The paper's own PBP, LSTM and ensemble are evaluated as they are, beside.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import FilmkbError
from ..schema.descriptors import SETS
from .lstm import PAPER
from .registry import families, family
from .imputation import for_missing

__all__ = ["Candidate", "CANDIDATE_SETS", "CANDIDATE_LSTM", "candidates", "nested_copies", "Choice", "choose", "against_null",
           "ALPHA"]

CANDIDATE_LSTM = PAPER.replace(epochs=400)
# The GP candidates optimise their kernel with at most 30 L-BFGS-B iterations (unbounded they take 52 on
# paper7 and 83 on extended on average, ~80-100 ms a fit, 60 % of the nested procedure's time; on random
# 4-paper splits the capped fits predicted the held-out papers as well: MSE 1.30 / 1.13 against 1.31 / 1.17).
# A cost bound like CANDIDATE_LSTM's epochs, fixed before the nested scores were seen.
CANDIDATE_GP_ITERATIONS = 30
# Trees of the extra-trees candidates: scikit-learn spends ~1.2 ms a tree on cloning and parameter checks
# whatever the data, so 25 trees cost half of 50 (held-out RMSE of the calibrated et:paper7 / et:extended
# rows leaving out one film: 0.894 / 0.961 with 25 trees, 0.882 / 0.975 with 50). A cost bound as above.
CANDIDATE_TREES = 25


@dataclass(frozen=True)
class Candidate:
    """One model family on one descriptor set ("" for the mean, which uses none)."""

    family: str
    descriptors: str

    @property
    def name(self) -> str:
        return f"{self.family}:{self.descriptors}" if self.descriptors else self.family

    def model(self, seed: int, repeats: int):
        """A fresh, unfitted model of this candidate: its family's `make` (ml/families/), trees, restarts and
        epochs kept small as it is fitted often; wrapped in multiple imputation unless its family takes
        missing descriptors (ml/imputation.py)."""
        return for_missing(self.family, family(self.family).make(seed, repeats))

    @property
    def parts(self) -> tuple["Candidate", ...]:
        """The candidates whose predictions this one averages (the ensemble: its LSTM and its PBP)."""
        return tuple(Candidate(p, self.descriptors) for p in family(self.family).parts)


def _candidate_lists() -> dict[str, list[Candidate]]:
    """The named candidate lists, from the registry: each family that names a list, on each of its descriptor
    sets, simplest family first ('default': mean, ridge, GP, extra trees; 'full' adds PBP, the LSTM and their
    ensemble; 'small': mean and ridge)."""
    fams = families().values()
    names = dict.fromkeys(n for f in fams for n in f.candidate_lists)
    return {n: [Candidate(f.name, s) for f in fams if n in f.candidate_lists for s in f.descriptor_sets] for n in names}


def __getattr__(name):
    """CANDIDATE_SETS, built from the registry when first asked for (a family module may import this one
    while the registry is still discovering it)."""
    if name == "CANDIDATE_SETS":
        return _candidate_lists()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def candidates(spec) -> list[Candidate]:
    """A named candidate list, or candidates written as 'family:set' separated by commas."""
    lists = _candidate_lists()
    if isinstance(spec, str) and spec in lists:
        return list(lists[spec])
    items = spec.split(",") if isinstance(spec, str) else spec
    out = [c if isinstance(c, Candidate) else Candidate(*(c.strip().split(":") + [""])[:2]) for c in items]
    for c in out:
        if c.family not in families():
            raise FilmkbError(f"unknown candidate family {c.family!r} in {c.name!r} (known: {', '.join(families())}; "
                              f"or a list: {', '.join(lists)})")
        if c.descriptors and c.descriptors not in SETS:
            raise FilmkbError(f"unknown descriptor set {c.descriptors!r} in {c.name!r} (known: {', '.join(SETS)})")
    return out if any(c.family == "mean" for c in out) else [Candidate("mean", "")] + out


def restricted(spec, descriptor_set: str) -> list[Candidate]:
    """The candidates of `spec` on one descriptor set, and the mean."""
    out = [c for c in candidates(spec) if c.descriptors in ("", descriptor_set)]
    if len(out) < 2:
        raise FilmkbError(f"no candidate of {spec!r} uses the {descriptor_set} descriptors")
    return out


def inner_folds(groups, train, k: int) -> list[np.ndarray]:
    """Inner test masks (over all rows) of one training set: GroupKFold by paper, at most k folds."""
    from sklearn.model_selection import GroupKFold

    rows = np.flatnonzero(train)
    n_groups = len(np.unique(groups[rows]))
    if n_groups < 2:
        return []
    out = []
    for _, test in GroupKFold(n_splits=min(k, n_groups)).split(rows, groups=groups[rows]):
        mask = np.zeros(len(groups), dtype=bool)
        mask[rows[test]] = True
        out.append(mask)
    return out


def nested_copies(groups, outer_train, k: int):
    """Every (outer training set, inner fold) pair as a copy: training masks (C, n), test masks (C, n)
    and the outer set each copy belongs to."""
    masks, tests, owner = [], [], []
    for o, train in enumerate(outer_train):
        for test in inner_folds(groups, train, k):
            masks.append(train & ~test)
            tests.append(test)
            owner.append(o)
    n = len(groups)
    return (np.array(masks).reshape(-1, n), np.array(tests).reshape(-1, n), np.array(owner, dtype=int))


ALPHA = 0.05  # family-wise level of the test against the mean (a convention, fixed before any score was seen)


@dataclass
class Choice:
    """The candidate chosen for one training set, and why: pooled inner MSE and its standard error,
    and per candidate the paired test against the mean (gain in per-paper MSE, its SE, t)."""

    index: int
    name: str
    mse: dict
    se: dict
    rule: str
    against_mean: dict = None

    def as_dict(self) -> dict:
        return {"chosen": self.name, "inner_mse": self.mse, "inner_mse_se": self.se, "rule": self.rule,
                "against_mean": self.against_mean or {}}


def against_null(per_paper: np.ndarray, null: int, alpha: float = ALPHA) -> tuple[dict, float]:
    """Paired one-sided t-test of every candidate's per-paper MSE against the null model's (rows of
    per_paper: candidates; columns: papers), Bonferroni over the other candidates. Returns
    {index: (gain, se, t, passed)} and the critical t."""
    from scipy.stats import t as student

    n_papers, others = per_paper.shape[1], per_paper.shape[0] - 1
    if n_papers < 3 or others < 1:
        return {i: (0.0, 0.0, 0.0, i == null) for i in range(len(per_paper))}, float("inf")
    critical = float(student.ppf(1 - alpha / others, n_papers - 1))
    out = {}
    for i, row in enumerate(per_paper):
        d = per_paper[null] - row  # > 0: the candidate does better on that paper
        gain, se = float(d.mean()), float(d.std(ddof=1) / np.sqrt(n_papers))
        t = gain / se if se > 0 else (np.inf if gain > 0 else 0.0)
        out[i] = (gain, se, float(t), i == null or t > critical)
    return out, critical


def choose(names: list[str], oof: np.ndarray, y, tests: np.ndarray, groups, alpha: float | None = ALPHA) -> Choice:
    """The two-step choice of the module docstring among candidates (rows of oof: their out-of-fold
    predictions on this training set; tests: its inner folds; groups: the paper of each film),
    ordered simplest first; the null model is "mean" (else the first); alpha None skips step 1.
    Standard errors are taken over papers, the independent units here, not over the inner folds."""
    covered = tests.any(axis=0)
    yc, gc = y[covered], np.asarray(groups)[covered]
    papers = np.unique(gc)
    per_paper = np.array([[np.mean((yc[gc == g] - p[covered][gc == g]) ** 2) for g in papers] for p in oof])
    mse = np.array([np.mean((yc - p[covered]) ** 2) for p in oof])
    se = per_paper.std(axis=1, ddof=1) / np.sqrt(len(papers)) if len(papers) > 1 else np.zeros(len(names))
    null = names.index("mean") if "mean" in names else 0
    test, critical = against_null(per_paper, null, alpha if alpha is not None else 1.0)
    if alpha is None:  # the one-standard-error rule alone (the rule before the test; kept to show its effect)
        test = {i: (*v[:3], True) for i, v in test.items()}
    eligible = [i for i in range(len(names)) if test[i][3]]
    best = min(eligible, key=lambda i: mse[i])
    pick = next(i for i in eligible if mse[i] <= mse[best] + se[best])
    passed = [names[i] for i in eligible if i != null]
    return Choice(pick, names[pick], dict(zip(names, map(float, mse))), dict(zip(names, map(float, se))),
                  (f"candidates that beat {names[null]} on the papers (paired one-sided t > {critical:.2f}: "
                   f"{alpha:g} family-wise over {len(names) - 1}, {len(papers)} papers): {', '.join(passed) or 'none'}; "
                   if alpha is not None else "") +
                  f"the simplest within one standard error ({se[best]:.3f}) of the best of those "
                  f"({names[best]}, inner MSE {mse[best]:.3f}); {len(tests)} inner folds grouped by paper",
                  {names[i]: {"gain": g, "se": s, "t": t, "passed": bool(ok)} for i, (g, s, t, ok) in test.items()
                   if i != null})
