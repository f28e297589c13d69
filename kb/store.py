"""The writes of an open knowledge base (mixed into `KnowledgeBase`; only inside `transaction()`).

Rows go in as DataFrames (one INSERT per table, no per-row round trips). pymatgen-derived
values (lattice constants, misfit, coincidence-lattice strain) are computed here on the way in.
Entries come from ingest already normalised and validated; they are read by attribute only.
"""

from __future__ import annotations

import pandas as pd

from ..errors import FilmkbError
from ..schema.names import alias_key
from . import materials
from .db import apply_views, now


class Writes:
    """Inserts and updates; each method expects to run inside `transaction()`."""

    def insert_frame(self, table: str, frame: pd.DataFrame, returning: str | None = None) -> list:
        """INSERT every row of `frame` into `table` (columns by name); optionally return a column."""
        self._require_writing()
        if frame.empty:
            return []
        return self.engine.insert_frame(self.con, table, frame, returning)

    def new_batch(self, kind: str, sources: list[str], note: str | None = None, created_at=None) -> int:
        """Record an ingest batch and return its id (created now, or at `created_at` when replaying an export)."""
        self._require_writing()
        return self.con.execute(
            "INSERT INTO ingest_batches (kind, sources, created_at, note) VALUES (?, ?, ?, ?) RETURNING id",
            [kind, ";".join(sources), created_at or now(), note]).fetchall()[0][0]

    def set_batch_note(self, batch_id: int, note: str) -> None:
        self._require_writing()
        self.con.execute("UPDATE ingest_batches SET note = ? WHERE id = ?", [note, batch_id])

    def apply_views(self) -> list[str]:
        self._require_writing()
        return apply_views(self.con)

    # ------------------------------------------------------------------ catalogue

    def write_publications(self, entries, batch_id: int) -> None:
        rows = [dict(key=e.key, doi=e.doi, authors=e.authors, year=e.year, title=e.title, journal=e.journal,
                     volume=e.volume, pages=e.pages, seed_ref=e.seed_ref, batch_id=batch_id) for e in entries]
        self.insert_frame("publications", pd.DataFrame(rows))

    def write_methods(self, entries, batch_id: int | None = None) -> None:
        """Insert deposition methods and their aliases; a name or alias another method already has is refused
        (ingest checks this first, by file and line; this guards every other caller)."""
        self._require_writing()
        taken = self._lookup_ids("SELECT a.alias, m.name FROM method_aliases a "
                                 "JOIN deposition_methods m ON m.id = a.method_id")
        clash = sorted({(alias_key(n), taken[alias_key(n)]) for e in entries for n in [e.name, *e.aliases]
                        if alias_key(n) in taken})
        if clash:
            raise FilmkbError("method name or alias already known: "
                              + ", ".join(f"'{key}' (method '{owner}')" for key, owner in clash)
                              + " (see `filmkb methods`)")
        ids = self.insert_frame("deposition_methods", pd.DataFrame(
            [dict(name=e.name, family=e.family, description=e.description, batch_id=batch_id) for e in entries]), returning="id")
        self._write_aliases("method_aliases", "method_id", [(i, [e.name, *e.aliases]) for i, e in zip(ids, entries)])

    def _write_aliases(self, table: str, fk: str, owners: list[tuple[int, list[str]]]) -> None:
        """Store every name of each owner under its alias key (the first owner of a key keeps it)."""
        keys = {}
        for owner_id, names in owners:
            for name in names:
                if name and alias_key(name):
                    keys.setdefault(alias_key(name), owner_id)
        self.insert_frame(table, pd.DataFrame({"alias": list(keys), fk: list(keys.values())}))

    def write_phases(self, entries) -> None:
        """Insert film phases with their pymatgen lattices and the sources of every value."""
        rows, sources = [], []
        for e in entries:
            vals = {k: v.value for k, v in e.values.items()}
            lattice = materials.build_lattice(e.space_group, vals["lattice_a_angstrom"], c=vals.get("lattice_c_angstrom"))
            if e.sites:  # a phase's sites must build a pymatgen structure (checked on the way in)
                materials.build_structure(e.space_group, lattice, e.sites)
            vals.update(lattice_a_angstrom=lattice.a, lattice_c_angstrom=lattice.c)
            rows.append(dict(name=e.name, formula=e.formula, crystal_system=e.crystal_system, space_group=e.space_group,
                             is_descriptor_reference=e.is_descriptor_reference, prototype_sites=e.sites, **vals))
            sources += _source_rows("film_phase", e.name, e.values)
        self.insert_frame("film_phases", pd.DataFrame(rows))
        self.insert_frame("property_sources", pd.DataFrame(sources))

    def reference_phase(self) -> tuple[str, float]:
        """The film phase the descriptors use (c-LLZO) and its lattice constant a."""
        row = self.con.execute("SELECT name, lattice_a_angstrom FROM film_phases WHERE is_descriptor_reference").fetchall()
        if not row:
            raise FilmkbError("no film phase is marked is_descriptor_reference")
        return row[0]

    def write_substrates(self, entries, batch_id: int) -> None:
        """Insert substrates (misfit against the reference phase), their aliases and value sources."""
        taken = {a for (a,) in self.con.execute("SELECT alias FROM substrate_aliases").fetchall()}
        clash = sorted(taken & {alias_key(n) for e in entries for n in [e.name, e.formula, *e.aliases]})
        if clash:
            raise FilmkbError(f"substrate name or alias already known: {', '.join(clash)} (see `filmkb substrates`)")
        _, film_a = self.reference_phase()
        rows = []
        for e in entries:
            try:
                rows.append(_substrate_row(e, film_a, batch_id))
            except ValueError as exc:  # pymatgen: a lattice or structure the space group does not allow
                raise FilmkbError(f"substrate {e.name}: {exc}; nothing was written") from None
        ids = self.insert_frame("substrates", pd.DataFrame(rows), returning="id")
        self._write_aliases("substrate_aliases", "substrate_id",
                            [(i, [e.name, e.formula, *e.aliases]) for i, e in zip(ids, entries)])
        sources = [r for e in entries for r in _source_rows("substrate", e.name, e.values)]
        self.insert_frame("property_sources", pd.DataFrame(sources))

    # ------------------------------------------------------------------ films

    def _lookup_ids(self, sql: str) -> dict:
        return dict(self.con.execute(sql).fetchall())

    def resolve_publications(self, entries, batch_id: int, key_maker) -> list[int]:
        """Publication id per film entry: by curated key, by DOI, or by authors + year; new ones inserted."""
        by_key = self._lookup_ids("SELECT key, id FROM publications")
        by_doi = self._lookup_ids("SELECT doi, id FROM publications WHERE doi IS NOT NULL")
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
                           self.insert_frame("publications", pd.DataFrame(new_rows), returning="id")))
        return [i if isinstance(i, int) else (i[1] if i[0] == "existing" else new_ids[i[1]]) for i in ids]

    def resolve_materials(self, entries) -> list[int]:
        """Film material id per entry, inserting compositions not seen before."""
        known = self._lookup_ids("SELECT composition, id FROM film_materials")
        new = {}
        for e in entries:
            m = e.material
            if m.composition not in known and m.composition not in new:
                new[m.composition] = dict(composition=m.composition, formula=m.formula, family=m.family,
                                          li_per_formula_unit=m.li_per_formula_unit, nominal=m.nominal,
                                          **materials.composition_features(m.formula))
        ids = self.insert_frame("film_materials", pd.DataFrame(list(new.values())), returning="id")
        known.update(zip(new, ids))
        return [known[e.material.composition] for e in entries]

    def write_films(self, entries, batch_id: int, key_maker) -> list[int]:
        """Insert film entries (already validated) and return their new ids, in entry order."""
        from ..schema.tables import FILM_FIELDS  # SQLModel's import (~0.4 s) only where rows are written

        if not entries:
            return []
        methods = self._lookup_ids("SELECT name, id FROM deposition_methods")
        substrates = self._lookup_ids("SELECT name, id FROM substrates")
        frame = pd.DataFrame([{f: getattr(e, f) for f in FILM_FIELDS} for e in entries])
        frame["reference_id"] = self.resolve_publications(entries, batch_id, key_maker)
        frame["material_id"] = self.resolve_materials(entries)
        frame["method_id"] = [methods[e.method] for e in entries]
        frame["substrate_id"] = [substrates[e.substrate] for e in entries]
        frame["batch_id"] = batch_id
        ids = self.insert_frame("films", frame.astype(object).where(frame.notna(), None), returning="id")
        by_row = {e.source_row: i for e, i in zip(entries, ids) if e.source_row is not None}
        for e, film_id in zip(entries, ids):
            if e.duplicate_of_row is not None:
                self.con.execute("UPDATE films SET duplicate_of = ? WHERE id = ?", [by_row[e.duplicate_of_row], film_id])
        return ids

    def update_interface_matches(self) -> int:
        """Compute the ZSL strain for each oriented crystalline substrate in use that lacks one."""
        import pymatgen.core

        todo = self.con.execute("""
            SELECT DISTINCT s.id, s.space_group, s.lattice_a_angstrom, s.lattice_b_angstrom, s.lattice_c_angstrom,
                   s.prototype_sites, f.substrate_orientation
            FROM films f JOIN substrates s ON s.id = f.substrate_id
            WHERE NOT s.amorphous AND s.prototype_sites IS NOT NULL AND f.substrate_orientation IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM interface_matches m
                              WHERE m.substrate_id = s.id AND m.substrate_orientation = f.substrate_orientation)
            ORDER BY s.id, f.substrate_orientation""").fetchall()
        if not todo:
            return 0
        name, sg, a, c, sites = self.con.execute("""SELECT name, space_group, lattice_a_angstrom, lattice_c_angstrom,
            prototype_sites FROM film_phases WHERE is_descriptor_reference""").fetchall()[0]
        film = materials.build_structure(sg, materials.build_lattice(sg, a, c=c), sites)
        rows = []
        for sid, ssg, sa, sb, sc, ssites, orientation in todo:
            substrate = materials.build_structure(ssg, materials.build_lattice(ssg, sa, sb, sc), ssites)
            match = materials.interface_strain(film, substrate, orientation)
            if match is not None:
                rows.append(dict(substrate_id=sid, substrate_orientation=orientation, film_phase=name,
                                 pymatgen_version=pymatgen.core.__version__, **match.__dict__))
        self.insert_frame("interface_matches", pd.DataFrame(rows))
        return len(rows)

    def retract_batch(self, batch_id: int) -> int:
        """Delete one user batch's films (nothing else) and mark the batch retracted; returns films removed."""
        self._require_writing()
        rows = self.con.execute("SELECT kind FROM ingest_batches WHERE id = ?", [batch_id]).fetchall()
        if not rows:
            raise FilmkbError(f"no ingest batch {batch_id} (see `filmkb history`)")
        if rows[0][0] != "user":
            raise FilmkbError(f"batch {batch_id} is {rows[0][0]!r}, not a user batch; only user batches can be retracted")
        used = self.con.execute("""SELECT DISTINCT p.run_id FROM predictions p JOIN films f ON f.id = p.film_id
                                   WHERE f.batch_id = ?""", [batch_id]).fetchall()
        if used:
            runs = ", ".join(r[0] for r in used)
            raise FilmkbError(f"films of batch {batch_id} have stored predictions in model runs {runs}; nothing was removed")
        n = self.con.execute("SELECT count(*) FROM films WHERE batch_id = ?", [batch_id]).fetchall()[0][0]
        self.con.execute("DELETE FROM films WHERE batch_id = ?", [batch_id])
        self.con.execute("UPDATE ingest_batches SET kind = 'retracted', "
                         "note = concat_ws('; ', note, 'retracted ' || CAST(? AS VARCHAR)) WHERE id = ?",
                         [now().isoformat(timespec="seconds"), batch_id])
        return n

    def upsert_publications(self, entries, batch_id: int) -> tuple[int, int]:
        """Insert new publications, or fill the empty fields (and BibTeX) of ones known by DOI or key."""
        self._require_writing()
        added = updated = 0
        fields = ("doi", "authors", "year", "title", "journal", "volume", "pages", "bibtex")
        for e in entries:
            rows = self.con.execute("SELECT id FROM publications WHERE (doi IS NOT NULL AND doi = ?) OR key = ?",
                                    [e.doi, e.key]).fetchall()
            if rows:
                sets = ", ".join(f"{f} = coalesce({f}, ?)" for f in fields)
                self.con.execute(f"UPDATE publications SET {sets} WHERE id = ?",
                                 [getattr(e, f) for f in fields] + [rows[0][0]])
                updated += 1
            else:
                self.con.execute(f"INSERT INTO publications (key, {', '.join(fields)}, batch_id) "
                                 f"VALUES (?, {', '.join('?' * len(fields))}, ?)",
                                 [e.key, *(getattr(e, f) for f in fields), batch_id])
                added += 1
        return added, updated


def _source_rows(entity: str, name: str, values: dict) -> list[dict]:
    return [dict(entity=entity, entity_name=name, property=v.column, value_as_given=v.value_as_given,
                 unit_as_given=v.unit_as_given, source=v.source, note=v.note) for v in values.values()]


def _substrate_row(e, film_a: float, batch_id: int) -> dict:
    """Canonical substrate row: pymatgen lattice, misfit against the reference film phase."""
    vals = {k: v.value for k, v in e.values.items()}
    dielectric = e.values.get("dielectric_constant")
    row = dict(name=e.name, formula=e.formula, amorphous=e.amorphous, crystal_system=e.crystal_system,
               space_group=e.space_group, note=e.note, batch_id=batch_id, prototype_sites=e.sites,
               dielectric_imputed="imputed" in (dielectric.source.lower() if dielectric else ""),
               melting_kind=e.values["melting_point_k"].note if "melting_point_k" in e.values else None, **vals)
    if e.amorphous:
        row.update(misfit=0.0, misfit_supercell_n=None)
    else:
        lattice = materials.build_lattice(e.space_group, vals["lattice_a_angstrom"],
                                          vals.get("lattice_b_angstrom"), vals.get("lattice_c_angstrom"))
        row.update(lattice_a_angstrom=lattice.a, lattice_b_angstrom=lattice.b, lattice_c_angstrom=lattice.c)
        row["misfit"], row["misfit_supercell_n"] = materials.misfit(lattice.a, film_a)
    return row


def _unique_key(base: str, taken: set) -> str:
    key, n = base, 0
    while key in taken:
        n += 1
        key = f"{base}{'abcdefghijklmnopqrstuvwxyz'[n - 1] if n <= 26 else n}"
    taken.add(key)
    return key
