"""A retrospective campaign: how many picks each suggest strategy needs to find the best stored film.

    python benchmarks/suggest_campaign.py [--db FILE] [--starts 20] [--seed 0] [--candidates small] [--markdown FILE]

The pool is every stored film with complete descriptors (`model_matrix`). A start is the films of 3
random papers (never the paper of the best film, else there is nothing to find); each step refits the
recommended procedure on the films picked so far, scores the rest of the pool with the strategy's
acquisition (ml/acquisition.py, best = the best picked film) and picks the top in-domain candidate
(the top out-of-domain one when none is inside), exactly as `filmkb suggest` ranks. A pool film of a
paper already picked gets that paper's offset (the model's contract for a known paper). Picks are
counted until the film with the highest conductivity is picked. Random picks uniformly from the rest.
Every strategy starts from the same starts. Figures: mean and standard error (std / sqrt(n)) of picks.

Refitting the default recommended procedure (7 candidates, ~4 s a fit on 2 cores) after each of the
~750 picks of a run would take ~50 minutes, so the campaign refits
`recommended_model(candidates="small")` (mean, ridge:paper7, ridge:extended; ~0.1 s a fit), printed
with the results; `--candidates default` runs the default one.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from pathlib import Path

import _markdown
import numpy as np

from filmkb import kb
from filmkb.ml import acquisition
from filmkb.ml.domain import range_report, ranges
from filmkb.ml.evaluate import recommended_model
from filmkb.schema.descriptors import MODEL_COLUMNS, PAPER7

STRATEGIES = ("exploit", "explore", "balanced", "random")
START_PAPERS = 3
_P7 = [MODEL_COLUMNS.index(c) for c in PAPER7]
CHOSEN: Counter = Counter()  # which candidate the refitted procedure chose, over every fit


def pool(db: str | None):
    """X (MODEL_COLUMNS), y (-log10 sigma) and paper of every film with complete descriptors."""
    if not db:
        from filmkb.jobs import init

        db = str(Path(tempfile.mkdtemp(prefix="filmkb-campaign-")) / "campaign.duckdb")
        init(db)
    with kb.open(db) as k:
        m = k.model_matrix()
    return m[list(MODEL_COLUMNS)].to_numpy(float), m[kb.TARGET].to_numpy(float), m["reference_id"].to_numpy()


def next_pick(goal: str, X, y, g, picked, candidates: str) -> int:
    """The pool row the strategy picks next: the procedure refitted on the picked films, ranked as suggest ranks."""
    rest = np.flatnonzero(~picked)
    model = recommended_model(candidates=candidates).fit(X[picked], y[picked], groups=g[picked])
    CHOSEN[model.chosen_.name] += 1
    p = model.predict_parts(X[rest], g[rest])
    report = range_report(ranges(X[picked][:, _P7], PAPER7), X[rest][:, _P7], PAPER7)
    inside = p["in_domain"] & (np.array(report) == "")
    score = acquisition.score(goal, p["mean"], p["sd"], float(y[picked].min()))
    first, second = acquisition.rank(score, inside, p["domain_distance"], goal)
    return int(rest[first[0] if len(first) else second[0]])


def campaign(goal: str, X, y, g, start, rng, candidates: str) -> int:
    """Picks until the best film is picked, from the films of the start papers."""
    picked, best, picks = np.isin(g, start), int(np.argmin(y)), 0
    while not picked[best]:
        i = int(rng.choice(np.flatnonzero(~picked))) if goal == "random" else next_pick(goal, X, y, g, picked,
                                                                                         candidates)
        picked[i] = True
        picks += 1
    return picks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="knowledge base (default: a fresh `filmkb init`)")
    parser.add_argument("--starts", type=int, default=20, help="random starts (the same for every strategy)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--candidates", default="small", help="the recommended model's candidates refitted per pick")
    _markdown.add_option(parser)
    args = parser.parse_args()
    t0 = time.perf_counter()
    X, y, g = pool(args.db)
    others = np.setdiff1d(np.unique(g), [g[np.argmin(y)]])
    rng = np.random.default_rng(args.seed)
    starts = [rng.choice(others, START_PAPERS, replace=False) for _ in range(args.starts)]
    print(f"pool: {len(y)} films of {len(np.unique(g))} papers; best film log10 σ {-y.min():.2f} (paper "
          f"{g[np.argmin(y)]}); {args.starts} starts of {START_PAPERS} papers; model refitted per pick: "
          f"recommended_model(candidates={args.candidates!r})")
    rows = []
    for goal in STRATEGIES:
        t = time.perf_counter()
        picks = np.array([campaign(goal, X, y, g, s, np.random.default_rng([args.seed, i]), args.candidates)
                          for i, s in enumerate(starts)])
        print(f"{goal:9s} picks to the best film: {picks.mean():5.2f} ± {picks.std() / np.sqrt(len(picks)):.2f} "
              f"(min {picks.min()}, max {picks.max()}; {time.perf_counter() - t:.0f} s)")
        rows.append([goal, f"{picks.mean():.2f} ± {picks.std() / np.sqrt(len(picks)):.2f}", picks.min(), picks.max()])
    print("candidate chosen by the refitted procedure: "
          + ", ".join(f"{name} {n / sum(CHOSEN.values()):.0%}" for name, n in CHOSEN.most_common()))
    print(f"wall time {time.perf_counter() - t0:.0f} s")
    chosen = ", ".join(f"{name} {n / sum(CHOSEN.values()):.0%}" for name, n in CHOSEN.most_common())
    _markdown.write(args.markdown, f"Pool: {len(y)} films of {len(np.unique(g))} papers; {args.starts} starts of "
                    f"{START_PAPERS} papers; model refitted per pick: recommended_model(candidates={args.candidates!r}), "
                    f"which chose {chosen}. Picks until the best film is picked, mean ± standard error:\n\n"
                    + _markdown.table(["strategy", "picks to the best film", "min", "max"], rows))


if __name__ == "__main__":
    main()
