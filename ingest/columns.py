"""The header of an entry file against the template: nothing a user typed is dropped silently.

An unknown column (a typo such as `thickness_mn`) is a problem naming the closest known column,
unless the user asks to keep extra columns, in which case their cells are appended to the notes.
"""

from __future__ import annotations

import difflib
from dataclasses import replace

from .entries import CURATED_COLUMNS, TEMPLATE_COLUMNS
from .readers import Record

# Columns `filmkb extract` adds to its drafts for the reviewer (how sure, where in the paper): ingest
# accepts them and ignores them (they are not kept in the notes either).
DRAFT_COLUMNS = ("confidence", "source")

# property name in the data files -> (column in the table, canonical unit for pint)
PROPERTIES = {
    "lattice_a": ("lattice_a_angstrom", "angstrom"),
    "lattice_b": ("lattice_b_angstrom", "angstrom"),
    "lattice_c": ("lattice_c_angstrom", "angstrom"),
    "cte": ("cte_per_k", "1/K"),
    "poisson_ratio": ("poisson_ratio", "dimensionless"),
    "youngs_modulus": ("youngs_modulus_gpa", "GPa"),
    "bulk_modulus": ("bulk_modulus_gpa", "GPa"),
    "shear_modulus": ("shear_modulus_gpa", "GPa"),
    "dielectric_constant": ("dielectric_constant", "dimensionless"),
    "melting_point": ("melting_point_k", "K"),
}
# a substrates file's header: the add-substrate options, then one column per property (value with its unit)
SUBSTRATE_COLUMNS = ("name", "formula", "amorphous", "crystal_system", "space_group", "sites", "aliases", "note",
                     "source", *PROPERTIES)
METHOD_COLUMNS = ("name", "family", "description", "aliases")  # a methods file's header (data/methods.csv)
KNOWN_COLUMNS = TEMPLATE_COLUMNS + CURATED_COLUMNS + DRAFT_COLUMNS


def draft_columns_in(records: list[Record]) -> dict:
    """Film file -> the draft columns (confidence, source) it holds: what ingest ignored, from the
    records already read."""
    found: dict = {}
    for r in records:
        names = [n for n in DRAFT_COLUMNS if n in r.cells]
        if names:
            found.setdefault(r.file, names)
    return found


def did_you_mean(name: str, known=KNOWN_COLUMNS) -> str:
    """' (did you mean `thickness_nm`?)' for the closest known column, '' if none is close."""
    close = difflib.get_close_matches(name.lower(), known, n=1, cutoff=0.6)
    return f"; did you mean `{close[0]}`?" if close else ""


def column_problems(records: list[Record], known=KNOWN_COLUMNS) -> list[str]:
    """One line per unknown column of each file, at the first entry that has it."""
    problems, seen = [], set()
    for r in records:
        for name in r.cells:
            if name not in known and (r.file, name) not in seen:
                seen.add((r.file, name))
                line = 1 if r.file.lower().endswith(".csv") else r.line  # a CSV's columns are its header's
                problems.append(f"{r.file}:{line}: {name}: unknown column{did_you_mean(name, known)} "
                                f"(`--allow-extra-columns` keeps unknown columns in the notes)")
    return problems


def extras_into_notes(records: list[Record], known=KNOWN_COLUMNS) -> list[Record]:
    """Records whose unknown, non-empty cells are appended to `notes` as 'name=value'."""
    out = []
    for r in records:
        extra = {k: v for k, v in r.cells.items() if k not in known}
        kept = [f"{k}={str(v).strip()}" for k, v in extra.items() if v is not None and str(v).strip()]
        cells = {k: v for k, v in r.cells.items() if k in known}
        if kept:
            notes = str(cells.get("notes") or "").strip()
            cells["notes"] = "; ".join(filter(None, [notes, "extra columns: " + ", ".join(kept)]))
        out.append(replace(r, cells=cells))
    return out
