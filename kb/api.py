"""The notebook API over the database: open it, ask for films, substrates, the descriptor matrix,
run read-only SQL, validate, export. The CLI wraps these functions one for one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from .db import KBError, connect, default_path, table_names

DESCRIPTORS = (
    "inv_t_dep", "t_dep_over_t_m", "norm_shear_modulus", "film_elastic_per_h",
    "misfit", "substrate_dielectric", "thermal_stress_term",
)
TARGET = "neg_log10_sigma"


@dataclass
class KB:
    """An open knowledge base (read-only unless asked otherwise)."""

    path: str
    con: duckdb.DuckDBPyConnection

    def close(self) -> None:
        self.con.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def sql(self, statement: str, params=None):
        """Run SQL and return a DataFrame; a write on a read-only KB raises a one-line KBError."""
        try:
            return self.con.execute(statement, params or []).df()
        except duckdb.InvalidInputException as exc:
            if "read-only" in str(exc):
                raise KBError("query is read-only: only SELECT-like statements are allowed; nothing was changed") from None
            raise KBError(str(exc).splitlines()[0]) from None
        except duckdb.Error as exc:
            raise KBError(str(exc).splitlines()[0]) from None


def open(path: str | os.PathLike | None = None, read_only: bool = True) -> KB:  # noqa: A001
    """Open the DuckDB file (default $FILMKB_DB or ./filmkb.duckdb)."""
    path = str(path or default_path())
    return KB(path, connect(path, read_only=read_only))


def _kb(kb: KB | str | None) -> KB:
    return kb if isinstance(kb, KB) else open(kb)


def query(sql: str, kb: KB | str | None = None):
    """Read-only SQL; writes fail with a clear error and change nothing."""
    return _kb(kb).sql(sql)


def descriptor_matrix(kb: KB | str | None = None, complete: bool = True):
    """The seven descriptors and -log10(sigma) per film, indexed by film_id, sorted by film id.

    complete=True: distinct films with every descriptor known (what the models train on).
    """
    view = "film_descriptors_complete" if complete else "film_descriptors"
    frame = _kb(kb).sql(f"SELECT * FROM {view} ORDER BY film_id")
    return frame.set_index("film_id")


def _resolve_alias(kb: KB, table: str, value: str) -> str:
    """Canonical name of a substrate or method from any stored alias (case-insensitive)."""
    owner = "substrates" if table == "substrate_aliases" else "deposition_methods"
    fk = "substrate_id" if owner == "substrates" else "method_id"
    rows = kb.con.execute(f"SELECT o.name FROM {table} a JOIN {owner} o ON o.id = a.{fk} WHERE a.alias = ?",
                          [" ".join(value.lower().split())]).fetchall()
    if not rows:
        what, listing = (("substrate", "filmkb substrates") if owner == "substrates"
                         else ("method", "filmkb query 'SELECT * FROM method_aliases'"))
        raise KBError(f"unknown {what} '{value}'; list the known ones with `{listing}`")
    return rows[0][0]


def films(kb: KB | str | None = None, substrate: str | None = None, method: str | None = None,
          phase: str | None = None, include_duplicates: bool = True):
    """The film overview, filtered by substrate / method (any alias: 'STO', 'pulsed laser deposition')
    and phase (cubic / tetragonal / amorphous / mixed)."""
    from ..schema.expectations import PHASES

    kb = _kb(kb)
    where, params = [], []
    if substrate:
        where.append("substrate = ?")
        params.append(_resolve_alias(kb, "substrate_aliases", substrate))
    if method:
        where.append("method = ?")
        params.append(_resolve_alias(kb, "method_aliases", method))
    if phase:
        if phase.lower() not in PHASES:
            raise KBError(f"unknown phase '{phase}' (expected one of {', '.join(PHASES)})")
        where.append("phase = ?")
        params.append(phase.lower())
    if not include_duplicates:
        where.append("duplicate_of IS NULL")
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    return kb.sql(f"SELECT * FROM film_overview{clause} ORDER BY film_id", params)


def substrates(kb: KB | str | None = None):
    """Substrates with their properties, pymatgen lattice constants and misfit against c-LLZO."""
    return _kb(kb).sql("""
        SELECT name, formula, amorphous, space_group, lattice_a_angstrom, misfit, misfit_supercell_n,
               cte_per_k, poisson_ratio, youngs_modulus_gpa, bulk_modulus_gpa, shear_modulus_gpa,
               dielectric_constant, dielectric_imputed, melting_point_k, melting_kind
        FROM substrates ORDER BY id""")


def summary(kb: KB | str | None = None) -> dict:
    """Counts a user checks after a build: films (distinct), substrates, complete descriptor rows."""
    kb = _kb(kb)
    one = lambda sql: kb.con.execute(sql).fetchall()[0][0]  # noqa: E731
    return {
        "films": one("SELECT count(*) FROM films"),
        "distinct_films": one("SELECT count(*) FROM films WHERE duplicate_of IS NULL"),
        "publications": one("SELECT count(*) FROM publications"),
        "substrates": one("SELECT count(*) FROM substrates"),
        "deposition_methods": one("SELECT count(*) FROM deposition_methods"),
        "complete_descriptor_rows": one("SELECT count(*) FROM film_descriptors_complete"),
        "by_substrate": dict(kb.con.execute("SELECT substrate, count(*) FROM film_overview WHERE duplicate_of IS NULL GROUP BY 1 ORDER BY 2 DESC, 1").fetchall()),
        "by_method": dict(kb.con.execute("SELECT method, count(*) FROM film_overview WHERE duplicate_of IS NULL GROUP BY 1 ORDER BY 2 DESC, 1").fetchall()),
        "by_phase": dict(kb.con.execute("SELECT phase, count(*) FROM film_overview WHERE duplicate_of IS NULL GROUP BY 1 ORDER BY 2 DESC, 1").fetchall()),
    }


def validate(kb: KB | str | None = None):
    """Run every great-expectations suite (tables and descriptor matrix); returns the failures."""
    from .quality import validate_tables

    return validate_tables(_kb(kb).con)


def export(out_dir: str | os.PathLike, kb: KB | str | None = None) -> list[Path]:
    """Every table and view as Parquet and CSV, plus references.bib; returns the files written."""
    from .bibtex import publications_bibtex

    kb, out = _kb(kb), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in [*table_names(), "film_overview", "film_descriptors", "film_descriptors_complete"]:
        frame = kb.sql(f'SELECT * FROM "{name}"')
        for ext in ("parquet", "csv"):
            path = out / f"{name}.{ext}"
            frame.to_parquet(path, index=False) if ext == "parquet" else frame.to_csv(path, index=False)
            written.append(path)
    bib = out / "references.bib"
    bib.write_text(publications_bibtex(kb.sql("SELECT * FROM publications ORDER BY id")))
    return written + [bib]


def figure5_data(kb: KB | str | None = None):
    """Per distinct film: log10 sigma, dCTE (substrate - film), substrate G, T_dep/T_m, thickness, T_dep, phase."""
    return _kb(kb).sql("""
        SELECT o.film_id, o.substrate, o.phase, o.log10_sigma, o.thickness_nm, o.deposition_temp_c,
               s.cte_per_k - fp.cte_per_k AS delta_cte_per_k, s.shear_modulus_gpa AS substrate_shear_modulus_gpa,
               d.t_dep_over_t_m
        FROM film_overview o
        JOIN substrates s ON s.name = o.substrate
        JOIN film_descriptors d ON d.film_id = o.film_id
        CROSS JOIN (SELECT cte_per_k FROM film_phases WHERE is_descriptor_reference) fp
        WHERE o.duplicate_of IS NULL ORDER BY o.film_id""")
