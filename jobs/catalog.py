"""What can be modelled with: the registered model families (ml/registry.py) and descriptor sets
(schema/descriptors.py), as tables, with how many films of a knowledge base each set covers."""

from __future__ import annotations

import pandas as pd

from ..schema.descriptors import SETS
from .runs import opened

__all__ = ["model_families", "descriptor_sets"]


def model_families() -> pd.DataFrame:
    """One row per registered model family, simplest first (list cells: the candidate lists it is in and the
    descriptor sets it is a candidate on)."""
    from ..ml.registry import families

    return pd.DataFrame([{"name": f.name, "summary": f.summary, "stochastic": f.stochastic,
                          "uses_groups": f.uses_groups, "accepts_missing": f.accepts_missing,
                          "candidate_lists": list(f.candidate_lists), "descriptor_sets": [s for s in f.descriptor_sets if s],
                          "baseline": f.baseline, "citation": f.citation} for f in families().values()],
                        columns=["name", "summary", "stochastic", "uses_groups", "accepts_missing", "candidate_lists",
                                 "descriptor_sets", "baseline", "citation"])


def descriptor_sets(db=None, k=None) -> pd.DataFrame:
    """One row per registered descriptor set: its description, views, columns (name, unit, source each) and
    the films of the knowledge base it covers (distinct films with a target; those with every column known,
    which the models use)."""
    with opened(db, k) as k:
        coverage = k.descriptor_coverage()
    return pd.DataFrame([{"set": name, "description": d.description, "films_with_target": coverage[name][0],
                          "films_complete": coverage[name][1], "covers": d.covers, "view": d.view,
                          "columns": [{"name": c.name, "unit": c.unit, "source": c.source} for c in d.descriptors]}
                         for name, d in SETS.items()])
