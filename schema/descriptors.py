"""The descriptor sets the models use: one registry of sets by name, each with its columns (unit and source
of each), the SQL views holding them and which films it covers.

A set is registered by existing: every module of :mod:`filmkb.schema.descriptor_sets` defines ``SET`` (a
:class:`DescriptorSet`) naming its views and carrying their SQL (``views``; the two sets of the seed paper keep
theirs as files under schema/views, which kb applies first). kb, ml, the jobs and the CLI read the registry
(:func:`sets`, :func:`descriptor_set`), so adding a set is one module and its test; nothing else names a set.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

TARGET = "neg_log10_sigma"  # -log10(sigma / S cm^-1) of the film
TARGET_UNIT = "-log10(S/cm)"


@dataclass(frozen=True)
class Descriptor:
    """One descriptor column: its name in the views, its unit and where it comes from."""

    name: str
    unit: str
    source: str


@dataclass(frozen=True)
class DescriptorSet:
    """A named list of descriptor columns and the views holding them.

    view: complete, distinct films (the model input); all_view: every film, with gaps; chain: the views
    from film_conditions to all_view, in order (to compute them for new conditions); description: what
    it is; uses: how a prediction reads (\"on ...\"); covers: which films the complete view holds; order:
    sets are listed (and their columns joined into MODEL_COLUMNS) lowest first; views: view name -> the
    portable SELECT defining it, for views the set carries itself (kb creates them after schema/views/*.sql,
    in registry order, so they may read any shipped view or an earlier set's); source: the module, as
    discovery found it."""

    name: str
    descriptors: tuple
    view: str
    all_view: str
    chain: tuple
    description: str
    uses: str = ""
    covers: str = ""
    order: int = 100
    views: dict = field(default_factory=dict, hash=False)
    source: str = field(default="", compare=False)

    @property
    def columns(self) -> tuple:
        return tuple(d.name for d in self.descriptors)

    @property
    def units(self) -> dict:
        return {d.name: d.unit for d in self.descriptors}


def _discover() -> dict[str, DescriptorSet]:
    from . import descriptor_sets as package
    from .discovery import discover

    found = {name: replace(dset, source=f"schema/descriptor_sets/{module}.py")
             for name, (dset, module) in discover(package, "SET", DescriptorSet, "schema/descriptor_sets").items()}
    return dict(sorted(found.items(), key=lambda kv: (kv[1].order, kv[0])))


SETS: dict[str, DescriptorSet] = _discover()


def sets() -> dict[str, DescriptorSet]:
    """Every registered descriptor set by name, in order (paper7 first)."""
    return SETS


def descriptor_set(name: str) -> DescriptorSet:
    """The set called `name` (ValueError naming the known ones otherwise)."""
    if name not in SETS:
        raise ValueError(f"unknown descriptor set '{name}' (known: {', '.join(SETS)})")
    return SETS[name]


PAPER, EXTENDED = SETS["paper7"], SETS["extended"]
DEFAULT_SET = PAPER.name
PAPER7 = PAPER.columns  # the seven descriptors of Kireeva, Tsivadze & Pervov (2023), section 3.3
EXTENDED_COLUMNS = EXTENDED.columns
UNITS = {c: u for dset in SETS.values() for c, u in dset.units.items()}
# The continuous descriptors of the extended set: the space the domain of applicability is measured in.
DOMAIN_COLUMNS = EXTENDED_COLUMNS[:7]
# Every column a model may use, once each (kb's model_matrix): paper7's, then what each further set adds.
MODEL_COLUMNS = tuple(dict.fromkeys(c for dset in SETS.values() for c in dset.columns))


def column_indices(names) -> list[int]:
    """Positions of descriptor columns in MODEL_COLUMNS."""
    return [MODEL_COLUMNS.index(c) for c in names]
