"""The read queries of an open knowledge base (mixed into `KnowledgeBase`)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from ..errors import FilmkbError
from ..schema.descriptors import DEFAULT_SET, SETS, TARGET
from ..schema.names import PHASES, ROOM_TEMPERATURE_C, Vocabulary
from ..schema.properties import DEFAULT_PROPERTIES, PROPERTY_SETS
from . import property_sets
from .db import QueryTimeout, table_names, view_query

CHUNK_VECTORS = 50  # vectors of 2,048 rows fetched at a time by `stream`
_SUBSTRATE_ALIASES = "SELECT a.alias, s.name FROM substrate_aliases a JOIN substrates s ON s.id = a.substrate_id"
_METHOD_ALIASES = "SELECT a.alias, m.name FROM method_aliases a JOIN deposition_methods m ON m.id = a.method_id"


class Queries:
    """Reads: every SQL statement the layers above need, returning DataFrames or plain values."""

    properties = DEFAULT_PROPERTIES  # the substrate property set descriptors are computed with
    _substrate_rows = None  # that set's substrate rows laid over the stored ones (None: the stored Table 2)

    def use_properties(self, name: str = DEFAULT_PROPERTIES, entries=None) -> None:
        """Compute descriptors (and list substrates) with substrate property set `name` from now on: 'paper',
        the stored values, or another set whose substrates are `entries` (ingest's SubstrateEntry list; a stored
        substrate it does not name keeps its own values). kb/property_sets.py says how."""
        if name not in PROPERTY_SETS:
            raise FilmkbError(f"unknown substrate property set '{name}' (expected one of {', '.join(PROPERTY_SETS)})")
        rows = None
        if name != DEFAULT_PROPERTIES:
            rows = property_sets.substrate_rows(entries or [], self.reference_phase()[1]) or None
        self.properties, self._substrate_rows = name, rows

    def _descriptor_sql(self, statement: str, params=None):
        """`sql` with the substrates of the property set in use (a statement over substrates or the views)."""
        if self._substrate_rows is None:
            return self.sql(statement, params)
        ctes, bound = property_sets.with_views(self._substrate_rows)
        return self.sql(f"WITH {ctes} {statement}", bound + list(params or []))

    def sql(self, statement: str, params=None, timeout: float | None = None):
        """Run SQL and return a DataFrame; a write on a read-only connection is a one-line error.
        After `timeout` seconds (None or 0: no limit) the statement is interrupted: QueryTimeout,
        nothing written, the connection still usable."""
        with self._engine_errors(), self.engine.interrupt_after(self.con, timeout):
            return self.con.execute(statement, params or []).df()

    def stream(self, statement: str, timeout: float | None = None):
        """Run SQL and yield its rows as DataFrames of about 100,000 rows, fetched as they are read (the
        first one always, empty for no rows, so the columns are known). `timeout` counts the engine's time
        only, not the reader's: past it, QueryTimeout and nothing written."""
        left = timeout or None

        def engine(work):
            nonlocal left
            if left is not None and left <= 0:
                raise QueryTimeout(timeout)
            start = time.monotonic()
            try:
                with self.engine.interrupt_after(self.con, left):
                    return work()
            except QueryTimeout:
                raise QueryTimeout(timeout) from None
            finally:
                if left is not None:
                    left -= time.monotonic() - start

        with self._engine_errors():
            engine(lambda: self.con.execute(statement))
            chunk = engine(lambda: self.con.fetch_df_chunk(CHUNK_VECTORS))
        yield chunk
        while len(chunk):
            with self._engine_errors():
                chunk = engine(lambda: self.con.fetch_df_chunk(CHUNK_VECTORS))
            if len(chunk):
                yield chunk

    def _rows(self, statement: str, params=None) -> list[tuple]:
        """fetchall(), with engine errors (a damaged file, a lost server, ...) as one-line FilmkbErrors."""
        with self._engine_errors():
            return self.con.execute(statement, params or []).fetchall()

    def _one(self, statement: str, params=None):
        return self._rows(statement, params)[0][0]

    def _pairs(self, statement: str, params=None) -> dict:
        return dict(self._rows(statement, params))

    # ------------------------------------------------------------------ catalogue

    def vocabulary(self) -> Vocabulary:
        """Alias tables and reference keys as they stand in the database."""
        return Vocabulary(
            self._pairs(_SUBSTRATE_ALIASES), self._pairs(_METHOD_ALIASES),
            frozenset(k for (k,) in self._rows("SELECT key FROM publications")))

    def vocabulary_fingerprint(self) -> tuple:
        """What normalising a batch reads that another writer can change: the substrate and method aliases and
        the methods' families (reference keys only ever grow, so a batch that passed with them still does).
        A writer normalises outside the writer lock and compares this under it (jobs/knowledge.py)."""
        return self._pairs(_SUBSTRATE_ALIASES), self._pairs(_METHOD_ALIASES), self.method_families()

    def resolve(self, kind: str, name: str) -> str:
        """Canonical substrate or method name from any stored alias; a one-line error naming the fix."""
        canonical = self.vocabulary().resolve(kind, name)
        if canonical is None:
            listing = "filmkb substrates" if kind == "substrate" else "filmkb methods"
            raise FilmkbError(f"unknown {kind} '{name}'; list the known ones with `{listing}`")
        return canonical

    def methods(self):
        """Deposition methods with their family, description and every alias papers use."""
        return self.sql("""
            SELECT m.name, m.family, string_agg(a.alias, ' | ' ORDER BY a.alias) AS aliases, m.description
            FROM deposition_methods m LEFT JOIN method_aliases a ON a.method_id = m.id
            GROUP BY m.id, m.name, m.family, m.description ORDER BY m.id""")

    def substrates(self):
        """Substrates with their properties, pymatgen lattice constants and misfit against c-LLZO (of the
        property set in use)."""
        return self._descriptor_sql("""
            SELECT name, formula, amorphous, space_group, lattice_a_angstrom, misfit, misfit_supercell_n,
                   cte_per_k, poisson_ratio, youngs_modulus_gpa, bulk_modulus_gpa, shear_modulus_gpa,
                   dielectric_constant, dielectric_imputed, melting_point_k, melting_kind
            FROM substrates ORDER BY id""")

    # ------------------------------------------------------------------ films

    def films(self, substrate: str | None = None, method: str | None = None, phase: str | None = None,
              include_duplicates: bool = True):
        """The film overview, filtered by substrate / method (any alias) and phase, with the note on its 25 C
        conductivity (converted, or missing and why; film_conditions.conductivity_25c_note)."""
        where, params = [], []
        if substrate:
            where.append("substrate = ?")
            params.append(self.resolve("substrate", substrate))
        if method:
            where.append("method = ?")
            params.append(self.resolve("method", method))
        if phase:
            if phase.lower() not in PHASES:
                raise FilmkbError(f"unknown phase '{phase}' (expected one of {', '.join(PHASES)})")
            where.append("phase = ?")
            params.append(phase.lower())
        if not include_duplicates:
            where.append("duplicate_of IS NULL")
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        return self.sql(f"""SELECT * FROM (SELECT o.*, c.conductivity_25c_note FROM film_overview o
                                            LEFT JOIN film_conditions c ON c.film_id = o.film_id){clause}
                            ORDER BY film_id""", params)

    def films_without_target(self) -> list[tuple]:
        """(film id, why) of every film without a 25 C conductivity, so not in any descriptor matrix."""
        return self._rows("""SELECT film_id, conductivity_25c_note FROM film_conditions
                              WHERE conductivity_25c_s_cm IS NULL ORDER BY film_id""")

    def descriptor_matrix(self, complete: bool = True, descriptors: str = DEFAULT_SET):
        """Descriptors and -log10(sigma) per film, indexed by film_id (complete: the model input)."""
        dset = descriptor_set(descriptors)
        view = dset.view if complete else dset.all_view
        return self._descriptor_sql(f"SELECT * FROM {view} ORDER BY film_id").set_index("film_id")

    def model_matrix(self, complete: bool = True, gaps: bool = False):
        """Every modelled film (complete: distinct films with the default set's descriptors; else every
        film; gaps: distinct films with a target, NaN where a descriptor is missing) with every column any
        model uses: the paper7 matrix plus the columns each further set adds."""
        base = SETS[DEFAULT_SET]
        joins, columns = _further_sets()
        view = base.view if complete and not gaps else base.all_view
        where = f"WHERE NOT p.is_duplicate AND p.{TARGET} IS NOT NULL" if gaps else ""
        frame = self._descriptor_sql(f"""SELECT p.*{columns} FROM {view} p
                             {" ".join(f"LEFT JOIN {j}" for j in joins)} {where} ORDER BY p.film_id""")
        return frame.set_index("film_id")

    def descriptor_coverage(self) -> dict:
        """Per registered descriptor set: (distinct films with a target, those of its complete view: every
        column known, what the models use)."""
        return {name: tuple(self._rows(f"""SELECT (SELECT count(*) FROM {d.all_view}
                                                    WHERE NOT is_duplicate AND {TARGET} IS NOT NULL),
                                                   (SELECT count(*) FROM {d.view})""")[0])
                for name, d in SETS.items()}

    def film_conditions(self, film_ids):
        """Stored films as prediction conditions: substrate, temperature, thickness, composition, ..."""
        ids = [int(i) for i in film_ids] or [None]
        return self.sql(f"""SELECT film_id, composition, method, substrate, orientation, deposition_temp_c,
                                   thickness_nm, conductivity_s_cm FROM film_overview
                            WHERE film_id IN ({", ".join("?" * len(ids))}) ORDER BY film_id""", ids).set_index("film_id")

    def condition_descriptors(self, conditions, descriptors: str = DEFAULT_SET):
        """Descriptors of conditions that are not in the database, computed by the descriptor views' own
        SQL. `conditions` has substrate_id, deposition_temp_c, thickness_nm and, for the extended set,
        phase, method_family, measurement_temp_c and the composition features (else NULL)."""
        dset = descriptor_set(descriptors)
        return self._on_conditions(conditions, dset.chain, f"SELECT * FROM {dset.all_view} ORDER BY film_id")

    def condition_model_columns(self, conditions):
        """Every column any model uses (paper7, then what each further set adds; as `model_matrix`) for
        conditions that are not in the database, in one statement over all of them (a whole candidate grid)."""
        chain = tuple(dict.fromkeys(v for d in SETS.values() for v in d.chain))
        joins, columns = _further_sets()
        return self._on_conditions(conditions, chain, f"""
            SELECT p.*{columns} FROM {SETS[DEFAULT_SET].all_view} p {" ".join(f"JOIN {j}" for j in joins)}
            ORDER BY p.film_id""")

    def _on_conditions(self, conditions, chain_views, select: str):
        """`select` over the descriptor views `chain_views`, computed for `conditions` bound as film_conditions."""
        frame = conditions.reset_index(drop=True).assign(_row=range(len(conditions)))
        given = {c: f"q.{c}" for c in _CONDITION_COLUMNS if c in frame.columns}
        columns = ", ".join(f"{given.get(c, default)} AS {c}" for c, default in _CONDITION_COLUMNS.items())
        chain = ", ".join(f"{view} AS ({view_query(view)})" for view in chain_views)
        substrates, bound = property_sets.substrates_cte(self._substrate_rows) if self._substrate_rows else ("", [])
        with self._engine_errors(), self.engine.relation(self.con, frame) as (relation, params):
            return self.sql(f"""WITH film_conditions AS (SELECT q._row AS film_id, {columns} FROM {relation} q),
                                     {substrates + "," if substrates else ""} {chain}
                                {select}""", params + bound)

    def method_families(self) -> dict:
        """canonical method name -> family (PVD, CVD, ALD, sol-gel)."""
        return self._pairs("SELECT name, family FROM deposition_methods")

    def reference_ids(self) -> dict:
        """DOI and citation key -> publication id (to recognise a paper already in the knowledge base)."""
        rows = self._rows("SELECT id, key, doi FROM publications")
        return {**{key: i for i, key, _ in rows}, **{doi: i for i, _, doi in rows if doi}}

    def substrate_ids(self) -> dict:
        """canonical substrate name -> id."""
        return self._pairs("SELECT name, id FROM substrates")

    def film_labels(self):
        """Per modelled film: target, substrate, Figure 6 membership and reference key (for the report)."""
        return self._descriptor_sql("""SELECT d.film_id, d.neg_log10_sigma, d.substrate, d.figure6_subset, p.key AS reference
                           FROM film_descriptors_complete d LEFT JOIN publications p ON p.id = d.reference_id""")

    def figure5_data(self):
        """Per distinct film: log10 sigma, dCTE (substrate - film), substrate G, T_dep/T_m, thickness, T_dep, phase."""
        return self._descriptor_sql("""
            SELECT o.film_id, o.substrate, o.phase, o.log10_sigma, o.thickness_nm, o.deposition_temp_c,
                   s.cte_per_k - fp.cte_per_k AS delta_cte_per_k, s.shear_modulus_gpa AS substrate_shear_modulus_gpa,
                   d.t_dep_over_t_m
            FROM film_overview o
            JOIN substrates s ON s.name = o.substrate
            JOIN film_descriptors d ON d.film_id = o.film_id
            CROSS JOIN (SELECT cte_per_k FROM film_phases WHERE is_descriptor_reference) fp
            WHERE o.duplicate_of IS NULL ORDER BY o.film_id""")

    def summary(self) -> dict:
        """Counts a user checks after a build: films (distinct), substrates, complete descriptor rows."""
        grouped = "SELECT {0}, count(*) FROM film_overview WHERE duplicate_of IS NULL GROUP BY {0} ORDER BY 2 DESC, 1"
        return {
            "films": self._one("SELECT count(*) FROM films"),
            "distinct_films": self._one("SELECT count(*) FROM films WHERE duplicate_of IS NULL"),
            "publications": self._one("SELECT count(*) FROM publications"),
            "substrates": self._one("SELECT count(*) FROM substrates"),
            "deposition_methods": self._one("SELECT count(*) FROM deposition_methods"),
            "complete_descriptor_rows": self._one("SELECT count(*) FROM film_descriptors_complete"),
            "by_substrate": self._pairs(grouped.format("substrate")),
            "by_method": self._pairs(grouped.format("method")),
            "by_phase": self._pairs(grouped.format("phase")),
        }

    # ------------------------------------------------------------------ ingest support

    def history(self):
        """Every ingest batch with its film count, newest first."""
        return self.sql("""
            SELECT b.id AS batch, b.kind, b.created_at, count(f.id) AS films, b.sources, b.note
            FROM ingest_batches b LEFT JOIN films f ON f.batch_id = b.id
            GROUP BY b.id, b.kind, b.created_at, b.sources, b.note ORDER BY b.id DESC""")

    def audit(self, table: str | None = None, limit: int | None = None):
        """The audit_log, newest first (of `table` only; the latest `limit` rows): kb/audit.py."""
        from .audit import query

        statement, params = query(table, limit)
        return self.sql(statement, params)

    def curated_state(self) -> tuple[int, int, str | None]:
        """(user batches, user-ingested films, curated data stamp) of this file; zeros if it has no tables."""
        try:
            batches = self._one("SELECT count(*) FROM ingest_batches WHERE kind = 'user'")
            films = self._one("SELECT count(*) FROM films f JOIN ingest_batches b ON b.id = f.batch_id "
                              "WHERE b.kind = 'user'")
            stamp = self.con.execute("SELECT note FROM ingest_batches WHERE kind = 'curated'").fetchall()
        except Exception as exc:
            if self.engine.error(exc) is None:
                raise
            return 0, 0, None
        return batches, films, (stamp[0][0] if stamp else None)

    def existing_conditions(self) -> list[tuple]:
        """(film id, reference identity, formula, method, substrate, orientation, T_dep, h, sigma) per film."""
        return self._rows("""
            SELECT f.id, coalesce(p.doi, p.key), m.formula, dm.name, s.name, f.substrate_orientation,
                   f.deposition_temp_c, f.thickness_nm, f.conductivity_s_cm
            FROM films f JOIN publications p ON p.id = f.reference_id JOIN film_materials m ON m.id = f.material_id
            JOIN deposition_methods dm ON dm.id = f.method_id JOIN substrates s ON s.id = f.substrate_id""")

    def publication_identities(self) -> dict:
        """citation key -> the identity films are keyed by (DOI, else the key)."""
        return self._pairs("SELECT key, coalesce(doi, key) FROM publications")

    # ------------------------------------------------------------------ quality and export

    def validate(self, names: list[str] | None = None):
        """Run every great-expectations suite (tables and descriptor matrix); returns the failures.
        Without `names` the whole file is first checked for damage (`check_integrity`)."""
        from .quality import validate_tables

        if names is None:
            self.check_integrity()
        return validate_tables(self, names)

    def check_integrity(self) -> None:
        """A one-line 'damaged' FilmkbError unless the knowledge base is intact: on a DuckDB file every block's
        checksum (index blocks too, which reads never touch), then a full read of every table and view; a
        server keeps its own checksums, so there a full read of every table and view."""
        self.engine.check_integrity(self)

    def user_additions(self) -> dict:
        """What the user added, for an ingestable export: every batch in id order, and per batch its
        films (with their method, substrate, composition and publication), methods (with alias keys),
        substrates (with alias keys and property sources) and publications (with their BibTeX)."""
        batches = self.sql("SELECT id, kind, sources, note, created_at FROM ingest_batches ORDER BY id")
        films = self.sql("""
            SELECT f.*, dm.name AS method, s.name AS substrate, m.composition, p.key AS reference_key,
                   p.doi, p.authors, p.year, p.journal, p.title, p.batch_id AS reference_batch
            FROM films f JOIN deposition_methods dm ON dm.id = f.method_id JOIN substrates s ON s.id = f.substrate_id
            JOIN film_materials m ON m.id = f.material_id JOIN publications p ON p.id = f.reference_id
            ORDER BY f.id""")
        methods = self.sql("SELECT id, name, family, description, batch_id FROM deposition_methods ORDER BY id")
        methods["aliases"] = _aliases_of(methods["id"], self._rows(
            "SELECT method_id, alias FROM method_aliases ORDER BY alias"))
        substrates = self.sql("SELECT * FROM substrates ORDER BY id")
        substrates["aliases"] = _aliases_of(substrates["id"], self._rows(
            "SELECT substrate_id, alias FROM substrate_aliases ORDER BY alias"))
        sources = self.sql("SELECT * FROM property_sources WHERE entity = 'substrate' ORDER BY id")
        publications = self.sql("SELECT * FROM publications ORDER BY id")
        return dict(batches=batches, films=films, methods=methods, substrates=substrates,
                    property_sources=sources, publications=publications,
                    curated=[n for (n,) in self._rows("SELECT note FROM ingest_batches WHERE kind = 'curated'")],
                    schema_version=self._one("SELECT max(version) FROM schema_migrations"))

    def export(self, out_dir: str | os.PathLike, raw: bool = False) -> list[Path]:
        """Every table and view as Parquet and CSV, plus references.bib; returns the files written. The
        CSVs neutralise text cells a spreadsheet would run (schema/cells.py) unless `raw`."""
        from ..schema.cells import neutralised_frame
        from .bibtex import publications_bibtex

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for name in [*table_names(), "film_overview", "film_descriptors", "film_descriptors_complete"]:
            frame = self.sql(f'SELECT * FROM "{name}"')
            for ext in ("parquet", "csv"):
                path = out / f"{name}.{ext}"
                if ext == "parquet":
                    frame.to_parquet(path, index=False)
                else:
                    (frame if raw else neutralised_frame(frame)).to_csv(path, index=False)
                written.append(path)
        bib = out / "references.bib"
        bib.write_text(publications_bibtex(self.sql("SELECT * FROM publications ORDER BY id")))
        return written + [bib]


def _aliases_of(ids, pairs) -> list[list[str]]:
    """The aliases of each id in `ids`, in the order of `pairs` ((owner id, alias) rows)."""
    by_owner: dict = {}
    for owner, alias in pairs:
        if alias is not None:
            by_owner.setdefault(owner, []).append(alias)
    return [by_owner.get(i, []) for i in ids]


# The columns of view film_conditions, and their value for a condition that does not give one.
_CONDITION_COLUMNS = {
    "substrate_id": "NULL", "deposition_temp_c": "NULL", "thickness_nm": "NULL",
    "conductivity_s_cm": "CAST(NULL AS DOUBLE PRECISION)", "reference_id": "CAST(NULL AS INTEGER)",
    "substrate_as_given": "q.substrate", "is_duplicate": "false", "figure6_subset": "false",
    "measurement_temp_assumed": "true", "measurement_temp_c": str(ROOM_TEMPERATURE_C),
    "activation_energy_ev": "CAST(NULL AS DOUBLE PRECISION)", "conductivity_25c_s_cm": "CAST(NULL AS DOUBLE PRECISION)",
    "conductivity_25c_derived": "false", "conductivity_25c_note": "CAST(NULL AS VARCHAR)", "phase": "CAST(NULL AS VARCHAR)",
    "method_family": "CAST(NULL AS VARCHAR)", "li_per_o12": "CAST(NULL AS DOUBLE PRECISION)",
    "dopant_per_o12": "CAST(NULL AS DOUBLE PRECISION)", "ta_per_o12": "CAST(NULL AS DOUBLE PRECISION)",
    "al_per_o12": "CAST(NULL AS DOUBLE PRECISION)", "ga_per_o12": "CAST(NULL AS DOUBLE PRECISION)",
}


def descriptor_set(name: str):
    """The DescriptorSet called `name`; a one-line error listing the known ones."""
    if name not in SETS:
        raise FilmkbError(f"unknown descriptor set '{name}' (known: {', '.join(SETS)})")
    return SETS[name]


def _further_sets() -> tuple[list[str], str]:
    """The joins ("VIEW sN ON sN.film_id = p.film_id") of every registered set after the default one (p) that
    adds columns, and the added columns (", sN.col, ..."), as model_matrix selects them."""
    seen, joins, columns = set(SETS[DEFAULT_SET].columns), [], ""
    for n, dset in enumerate(d for d in SETS.values() if d.name != DEFAULT_SET):
        new = [c for c in dset.columns if c not in seen]
        if new:
            seen.update(new)
            joins.append(f"{dset.all_view} s{n} ON s{n}.film_id = p.film_id")
            columns += "".join(f", s{n}.{c}" for c in new)
    return joins, columns
