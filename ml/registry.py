"""Model families by name: one registry that the nested candidates, `evaluate --models`, `train`,
the report and `filmkb models` read, as scikit-learn finds its estimators through one registry.

A family is registered by existing: every module of :mod:`filmkb.ml.families` defines ``FAMILY``
(a :class:`Family`), so adding a family is one new file there plus its test. A family's module
imports its model class inside ``make``, so listing the families imports nothing heavy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

__all__ = ["Family", "families", "family", "names", "evaluated"]


@dataclass(frozen=True)
class Family:
    """One model family.

    make(seed, repeats) returns a fresh, unfitted model following the contract (ml/contract.py) as the
    nested candidates use it. order sorts families from simplest to most complex (the one-standard-error
    rule prefers the simpler). uses_groups: its fit and predict take each film's paper
    (``fit(X, y, seeds=None, groups=None)``, ``predict_members(X, groups=None)``; a paper not seen in
    fit is a new one). accepts_missing: NaN descriptors are allowed in X; the others are given films
    with a missing value through imputation fitted on their training rows only.
    """

    name: str
    make: Callable
    order: int
    summary: str
    stochastic: bool = False
    uses_groups: bool = False
    accepts_missing: bool = False
    candidate_lists: tuple = ("full",)  # the named candidate lists ("default", "full", "small") it belongs to
    descriptor_sets: tuple = ("paper7", "extended")  # the sets it is a candidate on ("" for none: the mean)
    citation: str = ""
    title: str = ""  # a short name for tables ("Gaussian process"; default: name)
    parts: tuple = ()
    baseline: bool = False
    evaluated: Callable | None = None
    files: Callable | None = None
    extra: dict = field(default_factory=dict)


def _discover() -> dict[str, Family]:
    from ..schema.discovery import discover
    from . import families as package

    found = {name: fam for name, (fam, _) in discover(package, "FAMILY", Family, "ml/families").items()}
    return dict(sorted(found.items(), key=lambda kv: (kv[1].order, kv[0])))


_REGISTRY: dict[str, Family] | None = None
_DISCOVERING = False


def families() -> dict[str, Family]:
    """Every registered family by name, simplest first."""
    global _REGISTRY, _DISCOVERING
    if _REGISTRY is None:
        if _DISCOVERING:  # a family module's import asked for the registry: it would see itself half made
            raise RuntimeError("the model families were asked for while ml/families/ was being imported: "
                               "a family module must not read the registry when it is imported")
        _DISCOVERING = True
        try:
            _REGISTRY = _discover()
        finally:
            _DISCOVERING = False
    return _REGISTRY


def family(name: str) -> Family:
    """The family called `name` (ValueError naming the known ones otherwise)."""
    fams = families()
    if name not in fams:
        raise ValueError(f"unknown model family {name!r} (known: {', '.join(fams)})")
    return fams[name]


def names() -> list[str]:
    """The registered family names, simplest first."""
    return list(families())


def evaluated(name: str, seed: int = 0, repeats: int = 1):
    """The family `name`'s model as evaluated on its own (its `evaluated`, else its candidate), seeded."""
    fam = family(name)
    return fam.evaluated(seed) if fam.evaluated is not None else fam.make(seed, repeats)
