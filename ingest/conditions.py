"""Conditions to predict: rows of the ingest template without (or with) the conductivity column.

Cells are normalised exactly as an ingest would (units, Unicode, substrate and method aliases),
so a file that predicts also ingests once its conductivity is filled in. What the descriptors
need (substrate, deposition temperature) is required; a thickness too, except that the recommended
model answers without one (it imputes it, with a wider interval); composition, method and
orientation are recorded with each prediction. A conductivity, when given, is kept as the
measured value to compare the prediction with.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from ..schema.expectations import DEPOSITION_TEMP_C, MEASUREMENT_TEMP_C, THICKNESS_NM
from ..schema.names import Vocabulary
from .batch import IngestError, read_all
from .entries import Problem, _Cells, _check_physical, _method, _substrate
from .normalise import normalise_doi, normalise_phase, parse_composition, parse_quantity
from .readers import Record

__all__ = ["Condition", "parse_conditions", "read_conditions", "condition_from_options"]


@dataclass(frozen=True)
class Condition:
    """One set of deposition conditions, normalised; `source` says where it came from (FILE:LINE)."""

    source: str
    substrate: str
    deposition_temp_c: float
    thickness_nm: float | None  # None: not known (the recommended model imputes the descriptors it sets)
    substrate_orientation: str | None = None
    composition: str | None = None
    formula: str | None = None
    method: str | None = None
    measured_sigma_s_cm: float | None = None
    doi: str | None = None
    phase: str | None = None
    measurement_temp_c: float | None = None

    def as_dict(self) -> dict:
        return asdict(self)


_RANGES = {"deposition_temp_c": (DEPOSITION_TEMP_C, "°C"), "thickness_nm": (THICKNESS_NM, "nm"),
           "measurement_temp_c": (MEASUREMENT_TEMP_C, "°C")}


def _check_ranges(c: _Cells, **values) -> None:
    """The ranges an ingest's quality suite holds stored films to (schema/expectations.py), checked here
    because conditions to predict are never stored: 1e-300 nm or 1e300 °C is a typo, not a film."""
    for column, value in values.items():
        (lo, hi), unit = _RANGES[column]
        if value is not None and not lo <= value <= hi and not any(p.column == column for p in c.problems):
            low = "above absolute zero" if lo == -273.15 else f"at least {lo:g} {unit}"
            c.problem(column, f"must be {low} and at most {hi:g} {unit} (read as {value:g} {unit})")


def _condition(record: Record, vocab: Vocabulary) -> tuple[Condition | None, list[Problem]]:
    c = _Cells(record)
    substrate, orientation = _substrate(c, vocab)
    t_dep = c.apply("deposition_temp_c", parse_quantity, "degC", required=True)
    thickness = c.apply("thickness_nm", parse_quantity, "nm")
    sigma = c.apply("conductivity_s_cm", parse_quantity, "S/cm")
    t_meas = c.apply("measurement_temp_c", parse_quantity, "degC")
    _check_physical(c, t_dep, thickness, sigma, t_meas)
    _check_ranges(c, deposition_temp_c=t_dep, thickness_nm=thickness, measurement_temp_c=t_meas)
    material = c.apply("composition", parse_composition)
    method = _method(c, vocab, required=False)
    phase = c.apply("phase", normalise_phase)
    doi = c.apply("doi", normalise_doi)
    if c.problems:
        return None, c.problems
    return Condition(f"{record.file}:{record.line}", substrate, t_dep, thickness, orientation,
                     material.composition if material else None, material.formula if material else None, method,
                     sigma, doi, phase, t_meas), []


def parse_conditions(records, vocab: Vocabulary) -> tuple[list[Condition], list[Problem]]:
    """Normalise every record; returns the conditions and every problem (FILE:LINE: column: value: reason)."""
    out, problems = [], []
    for record in records:
        cond, bad = _condition(record, vocab)
        problems += bad
        if cond is not None:
            out.append(cond)
    return out, problems


def read_conditions(files, vocab: Vocabulary) -> list[Condition]:
    """Conditions from CSV/YAML files in the ingest template; IngestError lists every bad cell."""
    conditions, problems = parse_conditions(read_all(files), vocab)
    if problems:
        raise IngestError(problems)
    return conditions


def condition_from_options(vocab: Vocabulary, **cells) -> Condition:
    """One condition from command-line options (the template's column names); errors name the option."""
    record = Record("command line", 0, {k: v for k, v in cells.items() if v is not None})
    cond, problems = _condition(record, vocab)
    if problems:
        options = {"deposition_temp_c": "--temp-c", "thickness_nm": "--thickness-nm",
                   "substrate_orientation": "--orientation", "conductivity_s_cm": "--measured",
                   "measurement_temp_c": "--measured-at", "doi": "--reference"}
        raise IngestError([f"{options.get(p.column, '--' + p.column)}: {str(p).split(': ', 2)[-1]}" for p in problems])
    return replace(cond, source="command line")
