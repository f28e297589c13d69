"""Write normalised entries into the tables; the caller wraps a whole batch in one transaction.

Rows go in as DataFrames (one INSERT per table, no per-row round trips). pymatgen-derived
values (lattice constants, misfit, coincidence-lattice strain) are computed here on the way in.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timezone

import duckdb
import pandas as pd

from . import materials
from .db import KBError


def now() -> datetime:
    """UTC wall time without tzinfo (DuckDB TIMESTAMP)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


@contextmanager
def transaction(con):
    """One transaction around the block: committed if it finishes, rolled back on any exception."""
    con.begin()
    try:
        yield con
        con.commit()
    except BaseException:
        con.rollback()
        raise


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, returning: str | None = None):
    """INSERT every row of `frame` into `table` (columns by name); optionally return a column."""
    if frame.empty:
        return []
    cols = ", ".join(f'"{c}"' for c in frame.columns)
    con.register("_frame", frame)
    try:
        sql = f'INSERT INTO "{table}" ({cols}) SELECT {cols} FROM _frame'
        if returning:
            return [r[0] for r in con.execute(sql + f" RETURNING {returning}").fetchall()]
        con.execute(sql)
        return []
    finally:
        con.unregister("_frame")


def new_batch(con, kind: str, sources: list[str], note: str | None = None) -> int:
    """Record an ingest batch and return its id."""
    return con.execute(
        "INSERT INTO ingest_batches (kind, sources, created_at, note) VALUES (?, ?, ?, ?) RETURNING id",
        [kind, ";".join(sources), now(), note],
    ).fetchall()[0][0]


def write_publications(con, entries, batch_id: int) -> None:
    rows = [dict(key=e.key, doi=e.doi, authors=e.authors, year=e.year, title=e.title, journal=e.journal,
                 volume=e.volume, pages=e.pages, seed_ref=e.seed_ref, batch_id=batch_id) for e in entries]
    insert_frame(con, "publications", pd.DataFrame(rows))


def write_methods(con, entries) -> None:
    ids = insert_frame(con, "deposition_methods", pd.DataFrame(
        [dict(name=e.name, family=e.family, description=e.description) for e in entries]), returning="id")
    aliases = {}
    for method_id, e in zip(ids, entries):
        for alias in {e.name.lower(), *(a.strip().lower() for a in e.aliases)}:
            aliases[alias] = method_id
    insert_frame(con, "method_aliases", pd.DataFrame({"alias": list(aliases), "method_id": list(aliases.values())}))


def _source_rows(entity: str, name: str, values: dict) -> list[dict]:
    return [dict(entity=entity, entity_name=name, property=v.column, value_as_given=v.value_as_given,
                 unit_as_given=v.unit_as_given, source=v.source, note=v.note) for v in values.values()]


def write_phases(con, entries) -> dict:
    """Insert film phases; returns {name: pymatgen Structure or None} for interface matching."""
    rows, sources, structures = [], [], {}
    for e in entries:
        vals = {k: v.value for k, v in e.values.items()}
        lattice = materials.build_lattice(e.space_group, vals["lattice_a_angstrom"], c=vals.get("lattice_c_angstrom"))
        structures[e.name] = materials.build_structure(e.space_group, lattice, e.sites) if e.sites else None
        vals.update(lattice_a_angstrom=lattice.a, lattice_c_angstrom=lattice.c)
        rows.append(dict(name=e.name, formula=e.formula, crystal_system=e.crystal_system, space_group=e.space_group,
                         is_descriptor_reference=e.is_descriptor_reference, prototype_sites=e.sites, **vals))
        sources += _source_rows("film_phase", e.name, e.values)
    insert_frame(con, "film_phases", pd.DataFrame(rows))
    insert_frame(con, "property_sources", pd.DataFrame(sources))
    return structures


def reference_phase(con) -> tuple[str, float]:
    """The film phase the descriptors use (c-LLZO) and its lattice constant a."""
    row = con.execute("SELECT name, lattice_a_angstrom FROM film_phases WHERE is_descriptor_reference").fetchall()
    if not row:
        raise ValueError("no film phase is marked is_descriptor_reference")
    return row[0]


def substrate_row(e, film_a: float, batch_id: int) -> dict:
    """Canonical substrate row: pymatgen lattice, misfit against the reference film phase."""
    vals = {k: v.value for k, v in e.values.items()}
    row = dict(name=e.name, formula=e.formula, amorphous=e.amorphous, crystal_system=e.crystal_system,
               space_group=e.space_group, note=e.note, batch_id=batch_id, prototype_sites=e.sites,
               dielectric_imputed="imputed" in (e.values.get("dielectric_constant").source.lower()
                                                if "dielectric_constant" in e.values else ""),
               melting_kind=e.values["melting_point_k"].note if "melting_point_k" in e.values else None, **vals)
    if e.amorphous:
        row.update(misfit=0.0, misfit_supercell_n=None)
    else:
        lattice = materials.build_lattice(e.space_group, vals["lattice_a_angstrom"],
                                          vals.get("lattice_b_angstrom"), vals.get("lattice_c_angstrom"))
        row.update(lattice_a_angstrom=lattice.a, lattice_b_angstrom=lattice.b, lattice_c_angstrom=lattice.c)
        row["misfit"], row["misfit_supercell_n"] = materials.misfit(lattice.a, film_a)
    return row


def write_substrates(con, entries, batch_id: int) -> None:
    _, film_a = reference_phase(con)
    rows = [substrate_row(e, film_a, batch_id) for e in entries]
    ids = insert_frame(con, "substrates", pd.DataFrame(rows), returning="id")
    aliases = {}
    for sid, e in zip(ids, entries):
        for alias in {e.name.lower(), e.formula.lower(), *(a.strip().lower() for a in e.aliases)}:
            aliases.setdefault(alias, sid)
    insert_frame(con, "substrate_aliases", pd.DataFrame({"alias": list(aliases), "substrate_id": list(aliases.values())}))
    sources = [r for e in entries for r in _source_rows("substrate", e.name, e.values)]
    insert_frame(con, "property_sources", pd.DataFrame(sources))


def _lookup_ids(con, sql: str) -> dict:
    return dict(con.execute(sql).fetchall())


def _unique_key(base: str, taken: set) -> str:
    key, n = base, 0
    while key in taken:
        n += 1
        key = f"{base}{'abcdefghijklmnopqrstuvwxyz'[n - 1] if n <= 26 else n}"
    taken.add(key)
    return key


def resolve_publications(con, entries, batch_id: int, key_maker) -> list[int]:
    """Publication id per film entry: by curated key, by DOI, or by authors + year; new ones inserted."""
    by_key = _lookup_ids(con, "SELECT key, id FROM publications")
    by_doi = _lookup_ids(con, "SELECT doi, id FROM publications WHERE doi IS NOT NULL")
    taken, ids, new_rows, pending = set(by_key), [], [], {}
    for e in entries:
        ref = e.reference
        if ref.key:
            ids.append(by_key[ref.key])
            continue
        if ref.doi and ref.doi in by_doi:
            ids.append(by_doi[ref.doi])
            continue
        ident = ref.doi or key_maker(ref.authors, ref.year, None)
        if ident not in pending:
            key = key_maker(ref.authors, ref.year, ref.doi)
            if not ref.doi and key in by_key:  # same authors + year, no DOI: same paper
                pending[ident] = ("existing", by_key[key])
            else:
                pending[ident] = ("new", _unique_key(key, taken))
                new_rows.append(dict(key=pending[ident][1], doi=ref.doi, authors=ref.authors, year=ref.year,
                                     journal=ref.journal, title=ref.title, batch_id=batch_id))
        ids.append(pending[ident])
    new_ids = dict(zip([r["key"] for r in new_rows],
                       insert_frame(con, "publications", pd.DataFrame(new_rows), returning="id")))
    return [i if isinstance(i, int) else (i[1] if i[0] == "existing" else new_ids[i[1]]) for i in ids]


def resolve_materials(con, entries) -> list[int]:
    """Film material id per entry, inserting compositions not seen before."""
    known = _lookup_ids(con, "SELECT composition, id FROM film_materials")
    new = {}
    for e in entries:
        m = e.material
        if m.composition not in known and m.composition not in new:
            new[m.composition] = dict(composition=m.composition, formula=m.formula, family=m.family,
                                      li_per_formula_unit=m.li_per_formula_unit, nominal=m.nominal)
    ids = insert_frame(con, "film_materials", pd.DataFrame(list(new.values())), returning="id")
    known.update(zip(new, ids))
    return [known[e.material.composition] for e in entries]


FILM_FIELDS = ("substrate_orientation", "precursors", "deposition_temp_c", "phase", "thickness_nm",
               "conductivity_s_cm", "measurement_temp_c", "measurement_temp_assumed", "composition_as_given",
               "method_as_given", "substrate_as_given", "phase_as_given", "notes", "figure6_subset",
               "source_table", "source_row", "source_file", "source_line")


def write_films(con, entries, batch_id: int, key_maker) -> list[int]:
    """Insert film entries (already validated) and return their new ids, in entry order."""
    if not entries:
        return []
    methods = _lookup_ids(con, "SELECT name, id FROM deposition_methods")
    substrates = _lookup_ids(con, "SELECT name, id FROM substrates")
    frame = pd.DataFrame([{f: getattr(e, f) for f in FILM_FIELDS} for e in entries])
    frame["reference_id"] = resolve_publications(con, entries, batch_id, key_maker)
    frame["material_id"] = resolve_materials(con, entries)
    frame["method_id"] = [methods[e.method] for e in entries]
    frame["substrate_id"] = [substrates[e.substrate] for e in entries]
    frame["batch_id"] = batch_id
    ids = insert_frame(con, "films", frame.astype(object).where(frame.notna(), None), returning="id")
    by_row = {e.source_row: i for e, i in zip(entries, ids) if e.source_row is not None}
    for e, film_id in zip(entries, ids):
        if e.duplicate_of_row is not None:
            con.execute("UPDATE films SET duplicate_of = ? WHERE id = ?", [by_row[e.duplicate_of_row], film_id])
    return ids


def update_interface_matches(con) -> int:
    """Compute the ZSL strain for each oriented crystalline substrate in use that lacks one."""
    import pymatgen.core

    todo = con.execute("""
        SELECT DISTINCT s.id, s.space_group, s.lattice_a_angstrom, s.lattice_b_angstrom, s.lattice_c_angstrom,
               s.prototype_sites, f.substrate_orientation
        FROM films f JOIN substrates s ON s.id = f.substrate_id
        WHERE NOT s.amorphous AND s.prototype_sites IS NOT NULL AND f.substrate_orientation IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM interface_matches m
                          WHERE m.substrate_id = s.id AND m.substrate_orientation = f.substrate_orientation)
        ORDER BY s.id, f.substrate_orientation""").fetchall()
    if not todo:
        return 0
    name, sg, a, c, sites = con.execute("""SELECT name, space_group, lattice_a_angstrom, lattice_c_angstrom,
        prototype_sites FROM film_phases WHERE is_descriptor_reference""").fetchall()[0]
    film = materials.build_structure(sg, materials.build_lattice(sg, a, c=c), sites)
    rows = []
    for sid, ssg, sa, sb, sc, ssites, orientation in todo:
        substrate = materials.build_structure(ssg, materials.build_lattice(ssg, sa, sb, sc), ssites)
        match = materials.interface_strain(film, substrate, orientation)
        if match is not None:
            rows.append(dict(substrate_id=sid, substrate_orientation=orientation, film_phase=name,
                             pymatgen_version=pymatgen.core.__version__, **match.__dict__))
    insert_frame(con, "interface_matches", pd.DataFrame(rows))
    return len(rows)


def number_key(value):
    """A float rounded to 9 significant digits (None for missing) so equal readings compare equal."""
    return None if value is None or value != value else float(f"{value:.9g}")


def condition_key(ref: str, formula: str, method: str, substrate: str, orientation, t_dep, thickness) -> tuple:
    """What makes two rows the same film apart from the measured conductivity."""
    return (ref, formula, method, substrate, orientation or None, number_key(t_dep), number_key(thickness))


def existing_conditions(con) -> dict:
    """condition key -> [(film id, conductivity key)] for every film in the database."""
    rows = con.execute("""
        SELECT f.id, coalesce(p.doi, p.key), m.formula, dm.name, s.name, f.substrate_orientation,
               f.deposition_temp_c, f.thickness_nm, f.conductivity_s_cm
        FROM films f JOIN publications p ON p.id = f.reference_id JOIN film_materials m ON m.id = f.material_id
        JOIN deposition_methods dm ON dm.id = f.method_id JOIN substrates s ON s.id = f.substrate_id""").fetchall()
    known = {}
    for fid, ref, formula, method, sub, orient, t_dep, h, sigma in rows:
        known.setdefault(condition_key(ref, formula, method, sub, orient, t_dep, h), []).append((fid, number_key(sigma)))
    return known


def retract_batch(con, batch_id: int) -> int:
    """Delete one user batch's films (nothing else) and mark the batch retracted; returns films removed."""
    rows = con.execute("SELECT kind FROM ingest_batches WHERE id = ?", [batch_id]).fetchall()
    if not rows:
        raise KBError(f"no ingest batch {batch_id} (see `filmkb history`)")
    if rows[0][0] != "user":
        raise KBError(f"batch {batch_id} is {rows[0][0]!r}, not a user batch; only user batches can be retracted")
    used = con.execute("""SELECT DISTINCT p.run_id FROM predictions p JOIN films f ON f.id = p.film_id
                          WHERE f.batch_id = ?""", [batch_id]).fetchall()
    if used:
        runs = ", ".join(r[0] for r in used)
        raise KBError(f"films of batch {batch_id} have stored predictions in model runs {runs}; nothing was removed")
    n = con.execute("SELECT count(*) FROM films WHERE batch_id = ?", [batch_id]).fetchall()[0][0]
    con.execute("DELETE FROM films WHERE batch_id = ?", [batch_id])
    con.execute("UPDATE ingest_batches SET kind = 'retracted', note = concat_ws('; ', note, 'retracted ' || CAST(? AS VARCHAR)) WHERE id = ?",
                [now().isoformat(timespec="seconds"), batch_id])
    return n


def upsert_publications(con, entries, batch_id: int) -> tuple[int, int]:
    """Insert new publications, or fill the empty fields (and BibTeX) of ones known by DOI or key."""
    added = updated = 0
    fields = ("doi", "authors", "year", "title", "journal", "volume", "pages", "bibtex")
    for e in entries:
        rows = con.execute("SELECT id FROM publications WHERE (doi IS NOT NULL AND doi = ?) OR key = ?",
                           [e.doi, e.key]).fetchall()
        if rows:
            sets = ", ".join(f"{f} = coalesce({f}, ?)" for f in fields)
            con.execute(f"UPDATE publications SET {sets} WHERE id = ?", [getattr(e, f) for f in fields] + [rows[0][0]])
            updated += 1
        else:
            con.execute(f"INSERT INTO publications (key, {', '.join(fields)}, batch_id) VALUES (?, {', '.join('?' * len(fields))}, ?)",
                        [e.key, *(getattr(e, f) for f in fields), batch_id])
            added += 1
    return added, updated
