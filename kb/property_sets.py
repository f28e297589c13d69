"""The substrate property set the descriptor views read (schema/properties.py): the stored `substrates` table
(the paper's Table 2) or, for the checked set, that table with the checked values laid over it by name.

No second copy of the views: a statement runs with `substrates` bound to a CTE (stored rows, checked values
where the checked set names the substrate) and every view that reads it, directly or through another view,
inlined after it from its own SQL (kb.db.view_query), as `condition_descriptors` does for film_conditions.
Portable SQL: a CTE's own name inside its body is the stored table on both engines (no RECURSIVE).
"""

from __future__ import annotations

import re

from ..schema.tables import Substrate
from .db import view_query
from .views import views

# The columns a property set may change, with the SQL type each bound value is cast to.
OVERRIDDEN = {
    "lattice_a_angstrom": "DOUBLE PRECISION", "lattice_b_angstrom": "DOUBLE PRECISION",
    "lattice_c_angstrom": "DOUBLE PRECISION", "cte_per_k": "DOUBLE PRECISION", "poisson_ratio": "DOUBLE PRECISION",
    "youngs_modulus_gpa": "DOUBLE PRECISION", "bulk_modulus_gpa": "DOUBLE PRECISION",
    "shear_modulus_gpa": "DOUBLE PRECISION", "dielectric_constant": "DOUBLE PRECISION",
    "dielectric_imputed": "BOOLEAN", "melting_point_k": "DOUBLE PRECISION", "melting_kind": "VARCHAR",
    "misfit": "DOUBLE PRECISION", "misfit_supercell_n": "INTEGER",
}
_VIEW = re.compile(r"CREATE OR REPLACE VIEW (\w+) AS", re.I)


def dependent_views(table: str = "substrates") -> list[str]:
    """The views that read `table`, directly or through an earlier view, in the order they are applied."""
    found: list[str] = []
    for view in views():
        text = re.sub(r"--[^\n]*", "", view.statement)
        match = _VIEW.search(text)
        if match and any(re.search(rf"\b{name}\b", text[match.end():]) for name in (table, *found)):
            found.append(match.group(1))
    return found


def substrates_cte(rows: list[dict]) -> tuple[str, list]:
    """`substrates AS (...)`: the stored rows, with each column of OVERRIDDEN taken from `rows` (by substrate
    name) where a row names the substrate; the parameters it binds, in order."""
    columns = [c.name for c in Substrate.__table__.columns]
    cast = "(CAST(? AS VARCHAR), " + ", ".join(f"CAST(? AS {t})" for t in OVERRIDDEN.values()) + ")"
    picked = ", ".join(f"CASE WHEN c.name IS NULL THEN s.{c} ELSE c.{c} END AS {c}" if c in OVERRIDDEN
                       else f"s.{c} AS {c}" for c in columns)
    sql = (f"substrates AS (SELECT {picked} FROM substrates s LEFT JOIN "
           f"(VALUES {', '.join([cast] * len(rows))}) AS c(name, {', '.join(OVERRIDDEN)}) ON c.name = s.name)")
    params = [v for r in rows for v in (r["name"], *(_plain(r.get(c)) for c in OVERRIDDEN))]
    return sql, params


def with_views(rows: list[dict], skip: tuple = ()) -> tuple[str, list]:
    """The CTEs (without WITH) that make a statement read `rows` as its substrates: the substrates CTE and every
    dependent view except `skip` (those the caller binds itself), and their parameters."""
    cte, params = substrates_cte(rows)
    views = [f"{v} AS ({view_query(v)})" for v in dependent_views() if v not in skip]
    return ", ".join([cte, *views]), params


def _plain(value):
    """NumPy scalars as Python values (both engines' drivers bind those)."""
    return value.item() if hasattr(value, "item") else value


def substrate_rows(entries, film_a: float) -> list[dict]:
    """Substrate rows of a property set's entries (ingest's SubstrateEntry), derived as a build derives them:
    pymatgen lattice and misfit against the reference film phase (kb/store.py)."""
    from .store import _substrate_row

    return [_substrate_row(e, film_a, None) for e in entries]
