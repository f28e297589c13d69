"""Turn raw records into canonical entries (films, references), collecting every bad cell.

Vocabularies (substrate and method aliases) are passed in, so this stays free of the database.
Each problem is reported as `FILE:LINE: column: value: reason`. The film entry is a SQLModel model
(the films table's fields), defined on first use: reading conditions to predict needs the cell
parsers here, not SQLModel's ~0.5 s import.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Optional

from ..schema.arrhenius import MAX_ACTIVATION_ENERGY_EV, conductivity_25c
from ..schema.names import ROOM_TEMPERATURE_C, Vocabulary
from .normalise import (
    CellError,
    clean_text,
    is_blank,
    normalise_doi,
    normalise_orientation,
    normalise_phase,
    parse_composition,
    parse_energy_ev,
    parse_quantity,
    split_substrate,
)
from .readers import Record

TEMPLATE_COLUMNS = (
    "doi", "authors", "year", "journal", "title", "composition", "method", "deposition_temp_c",
    "substrate", "substrate_orientation", "phase", "thickness_nm", "conductivity_s_cm",
    "measurement_temp_c", "activation_energy_ev", "precursors", "notes",
)
# Extra columns of the curated seed file (data/seed_films.csv); optional in user files.
CURATED_COLUMNS = (
    "reference_key", "source_row", "composition_as_published", "method_as_published",
    "substrate_as_published", "phase_as_published", "thickness_as_published",
    "conductivity_as_published", "duplicate_of_row", "figure6_subset",
)


@dataclass(frozen=True)
class Problem:
    """One bad cell: where it is, what it holds and why it was refused."""

    file: str
    line: int
    column: str
    value: object
    reason: str

    def __str__(self) -> str:
        shown = "" if self.value is None else clean_text(self.value)
        if len(shown) > 60:  # a 5,000-digit cell is named, not printed
            shown = f"{shown[:40]}... ({len(shown):,} characters)"
        return f"{self.file}:{self.line}: {self.column}: {shown!r}: {self.reason}"


@dataclass
class ReferenceEntry:
    """A publication as given in a film row (DOI and/or authors + year)."""

    key: str | None
    doi: str | None
    authors: str | None
    year: int | None
    journal: str | None
    title: str | None


@lru_cache(maxsize=None)
def _film_entry_class():
    """FilmEntry, defined once SQLModel is imported."""
    from pydantic import ConfigDict
    from sqlmodel import Field

    from ..schema.tables import FilmBase

    class FilmEntry(FilmBase):
        """A normalised film row, ready for validation and loading: the table's fields (FilmBase) plus
        the names the loader resolves to keys, and the cells as typed."""

        model_config = ConfigDict(arbitrary_types_allowed=True)

        reference: Optional[Any] = None  # ReferenceEntry
        material: Optional[Any] = None  # CompositionInfo
        method: str
        substrate: str
        duplicate_of_row: Optional[int] = None
        extras: dict = Field(default_factory=dict)

    FilmEntry.__module__, FilmEntry.__qualname__ = __name__, "FilmEntry"
    return FilmEntry


def __getattr__(name):
    if name == "FilmEntry":
        return _film_entry_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _Cells:
    """Reads cells of one record, turning CellError into Problems instead of stopping."""

    def __init__(self, record: Record):
        self.record, self.problems = record, []

    def raw(self, column):
        return self.record.cells.get(column)

    def text(self, column) -> str | None:
        value = self.raw(column)
        return None if is_blank(value) else clean_text(value)

    def problem(self, column, reason, value=None):
        value = self.raw(column) if value is None else value
        self.problems.append(Problem(self.record.file, self.record.line, column, value, reason))

    def apply(self, column, func, *args, required=False):
        value = self.raw(column)
        if is_blank(value):
            if required:
                self.problem(column, "required but empty")
            return None
        try:
            return func(value, *args)
        except CellError as exc:
            self.problem(column, str(exc))
            return None


def _lookup(cells: _Cells, column: str, name: str, table: Vocabulary, how_to_add: str):
    """Canonical name for `name` via the alias table, or a Problem naming it and the fix."""
    canonical = table.resolve(column, name)
    if canonical is None:
        cells.problem(column, f"unknown {column} '{name}'; {how_to_add}", value=name)
    return canonical


def _year(value) -> int:
    try:
        year = int(float(clean_text(value)))
    except (ValueError, OverflowError):
        raise CellError("year must be a whole number") from None
    if not 1900 <= year <= 2100:
        raise CellError("year must be between 1900 and 2100")
    return year


def _bool(value) -> bool:
    text = clean_text(value).lower()
    if text in ("true", "yes", "1", "y"):
        return True
    if text in ("false", "no", "0", "n", ""):
        return False
    raise CellError("expected true or false")


def _int(value) -> int:
    try:
        return int(float(clean_text(value)))
    except (ValueError, OverflowError):
        raise CellError("expected a whole number") from None


def _reference(cells: _Cells, vocab: Vocabulary) -> ReferenceEntry | None:
    key = cells.text("reference_key")
    if key is not None and key not in vocab.reference_keys:
        cells.problem("reference_key", "unknown reference key; give the paper's DOI (doi column) or its authors "
                      "and year instead")
    doi = cells.apply("doi", normalise_doi)
    authors, year = cells.text("authors"), cells.apply("year", _year)
    if key is None and doi is None and not (authors and year):
        if not any(p.column in ("doi", "year") for p in cells.problems):
            cells.problem("doi", "a reference is required: give a DOI, or authors and year")
        return None
    return ReferenceEntry(key, doi, authors, year, cells.text("journal"), cells.text("title"))


def film_entry(record: Record, vocab: Vocabulary) -> tuple[FilmEntry | None, list[Problem]]:
    """Normalise one film record; returns the entry (None if any cell is bad) and the problems."""
    c = _Cells(record)
    reference = _reference(c, vocab)
    material = c.apply("composition", parse_composition, required=True)
    method_text = c.text("method")
    method = _method(c, vocab, required=True)
    substrate, orientation = _substrate(c, vocab)
    phase = c.apply("phase", normalise_phase, required=True)
    t_dep = c.apply("deposition_temp_c", parse_quantity, "degC", required=True)
    thickness = c.apply("thickness_nm", parse_quantity, "nm")
    sigma = c.apply("conductivity_s_cm", parse_quantity, "S/cm", required=True)
    t_meas = c.apply("measurement_temp_c", parse_quantity, "degC")
    ea = c.apply("activation_energy_ev", parse_energy_ev)
    _check_physical(c, t_dep, thickness, sigma, t_meas, ea)
    if c.problems:
        return None, c.problems
    t_meas_c = ROOM_TEMPERATURE_C if t_meas is None else t_meas
    sigma_25c, derived = conductivity_25c(sigma, t_meas_c, ea)
    return _film_entry_class()(
        reference=reference, material=material, method=method, substrate=substrate,
        substrate_orientation=orientation, phase=phase, deposition_temp_c=t_dep,
        thickness_nm=thickness, conductivity_s_cm=sigma,
        measurement_temp_c=t_meas_c, measurement_temp_assumed=t_meas is None, activation_energy_ev=ea,
        conductivity_25c_s_cm=sigma_25c, conductivity_25c_derived=derived,
        precursors=c.text("precursors"), notes=c.text("notes"),
        composition_as_given=c.text("composition_as_published") or c.text("composition"),
        method_as_given=c.text("method_as_published") or method_text,
        substrate_as_given=c.text("substrate_as_published") or c.text("substrate"),
        phase_as_given=c.text("phase_as_published") or c.text("phase"),
        figure6_subset=bool(c.apply("figure6_subset", _bool)),
        duplicate_of_row=c.apply("duplicate_of_row", _int),
        source_row=c.apply("source_row", _int),
        source_file=record.file, source_line=record.line, extras={"cells": record.cells},
    ), []


def _method(c: _Cells, vocab: Vocabulary, required: bool) -> str | None:
    """Canonical deposition method of the method cell via its aliases (None if empty or unknown)."""
    text = c.text("method")
    if text is None:
        if required:
            c.problem("method", "required but empty")
        return None
    return _lookup(c, "method", text, vocab, f"add it with `filmkb add-method {shlex.quote(text)} --family ...` "
                   "or use a known alias (listed by `filmkb methods`)")


def _substrate(c: _Cells, vocab: Vocabulary) -> tuple[str | None, str | None]:
    """Substrate cell, possibly carrying its orientation ('MgO (100)'), plus the orientation column."""
    text = c.text("substrate")
    if text is None:
        c.problem("substrate", "required but empty")
        return None, None
    name, orientation_in_name = split_substrate(text)
    canonical = _lookup(c, "substrate", name, vocab, f"add it with `filmkb add-substrate --name {shlex.quote(name)} "
                        "...` or use a known alias (listed by `filmkb substrates`)")
    orientation = c.apply("substrate_orientation", normalise_orientation)
    if orientation and orientation_in_name and orientation != orientation_in_name:
        c.problem("substrate_orientation", f"contradicts the orientation ({orientation_in_name}) in the substrate cell")
    return canonical, orientation or orientation_in_name


def _check_physical(c: _Cells, t_dep, thickness, sigma, t_meas, ea=None) -> None:
    """Range checks that need no table: absolute zero, positive thickness and conductivity, and an
    activation energy in (0, 3) eV."""
    for column, value in (("deposition_temp_c", t_dep), ("measurement_temp_c", t_meas)):
        if value is not None and value <= -273.15:
            c.problem(column, "below absolute zero")
    if thickness is not None and thickness <= 0:
        c.problem("thickness_nm", "thickness must be positive")
    if sigma is not None and sigma <= 0:
        c.problem("conductivity_s_cm", "conductivity must be positive")
    if ea is not None and not 0.0 < ea < MAX_ACTIVATION_ENERGY_EV:
        c.problem("activation_energy_ev", f"activation energy must be above 0 and below {MAX_ACTIVATION_ENERGY_EV:g} eV "
                                          f"(read as {ea:g} eV; a molar value needs its unit, e.g. 48 kJ/mol)")


def reference_key(authors: str | None, year: int | None, doi: str | None) -> str:
    """A citation key: first author's surname + year ('chen2014'), or one made from the DOI."""
    if authors and year:
        surname = re.split(r"[,;\s]", clean_text(authors).strip())[0]
        surname = re.sub(r"[^a-z]", "", surname.lower()) or "anon"
        return f"{surname}{year}"
    return "doi:" + (doi or "unknown")
