"""Upgrades of a database made by an older filmkb, applied in place in one transaction.

Each step takes the database from version N-1 to N and records itself in schema_migrations;
user films are never touched except to add derived columns.
"""

from __future__ import annotations

from ..errors import FilmkbError
from ..schema.arrhenius import conductivity_25c
from . import materials
from .db import apply_views, dialect_of, now, schema_ddl, schema_version, view_names

_MATERIAL_FEATURES = ("li_per_o12 DOUBLE", "dopant_elements VARCHAR", "dopant_per_o12 DOUBLE", "ta_per_o12 DOUBLE",
                      "al_per_o12 DOUBLE", "ga_per_o12 DOUBLE")


def _to_2(con) -> str:
    """Composition features of every film material (pymatgen), for the extended descriptor set."""
    for column in _MATERIAL_FEATURES:
        con.execute(f"ALTER TABLE film_materials ADD COLUMN IF NOT EXISTS {column}")
    for material_id, formula in con.execute("SELECT id, formula FROM film_materials").fetchall():
        f = materials.composition_features(formula)
        con.execute("UPDATE film_materials SET li_per_o12 = ?, dopant_elements = ?, dopant_per_o12 = ?, "
                    "ta_per_o12 = ?, al_per_o12 = ?, ga_per_o12 = ? WHERE id = ?",
                    [f["li_per_o12"], f["dopant_elements"], f["dopant_per_o12"], f["ta_per_o12"], f["al_per_o12"],
                     f["ga_per_o12"], material_id])
    return "composition features of film materials"


# DuckDB cannot add a NOT NULL column to a table, nor alter one that other tables reference (films), so the
# flag is added with a default and filled for every row; new databases declare it NOT NULL (schema/tables.py).
_FILM_TEMPERATURE = ("activation_energy_ev DOUBLE", "conductivity_25c_s_cm DOUBLE",
                     "conductivity_25c_derived BOOLEAN DEFAULT false")


def _to_3(con) -> str:
    """The conductivity at 25 C of every film (the model target), by the rule ingest applies
    (schema/arrhenius.py): the measured value at 20-30 C, else converted with the activation energy,
    else NULL. Films keep their measured conductivity and measurement temperature."""
    import pandas as pd

    for column in _FILM_TEMPERATURE:
        con.execute(f"ALTER TABLE films ADD COLUMN IF NOT EXISTS {column}")
    rows = con.execute("SELECT id, conductivity_s_cm, measurement_temp_c, activation_energy_ev FROM films").fetchall()
    values = [conductivity_25c(sigma, t_c, ea) for _, sigma, t_c, ea in rows]
    frame = pd.DataFrame({"id": [r[0] for r in rows], "sigma": [v[0] for v in values],
                          "derived": [v[1] for v in values]}).astype({"id": "int64", "sigma": "float64", "derived": bool})
    con.register("_sigma_25c", frame)
    try:
        con.execute("UPDATE films SET conductivity_25c_s_cm = s.sigma, conductivity_25c_derived = s.derived "
                    "FROM _sigma_25c s WHERE films.id = s.id")
    finally:
        con.unregister("_sigma_25c")
    # The batch that added each method (for the ingestable export): before version 3 it was not recorded, so a
    # method is given the first user batch whose note names it as add-method and methods files write it
    # ('method NAME (FAMILY...', 'methods A (...), NAME (...'), else the curated batch.
    con.execute("ALTER TABLE deposition_methods ADD COLUMN IF NOT EXISTS batch_id INTEGER")
    con.execute("""
        UPDATE deposition_methods SET batch_id = coalesce(
            (SELECT min(b.id) FROM ingest_batches b WHERE b.kind <> 'curated' AND b.note IS NOT NULL
               AND (position('method ' || deposition_methods.name || ' (' IN b.note) = 1
                    OR position('methods ' || deposition_methods.name || ' (' IN b.note) = 1
                    OR (position('methods ' IN b.note) = 1
                        AND position('), ' || deposition_methods.name || ' (' IN b.note) > 0))),
            (SELECT min(id) FROM ingest_batches WHERE kind = 'curated'))
        WHERE batch_id IS NULL""")
    return "conductivity at 25 C of films (Arrhenius conversion with the activation energy); batch of methods"


def _to_4(con) -> str:
    """The suggestions table (`filmkb suggest`): a new table, nothing else changes."""
    for statement in schema_ddl(only=("suggestions",), dialect=dialect_of(con)):
        con.execute(statement)
    return "suggestions of filmkb suggest"


# created_at of rows from before schema 5: the time of the row's batch, or of the row it hangs from
# (table -> the source of the time `x.created_at` and how it joins the table)
_EARLIER_TIMES = {
    "films": ("ingest_batches x", "x.id = films.batch_id"),
    "publications": ("ingest_batches x", "x.id = publications.batch_id"),
    "substrates": ("ingest_batches x", "x.id = substrates.batch_id"),
    "deposition_methods": ("ingest_batches x", "x.id = deposition_methods.batch_id"),
    "substrate_aliases": ("substrates x", "x.id = substrate_aliases.substrate_id"),
    "method_aliases": ("deposition_methods x", "x.id = method_aliases.method_id"),
    "property_sources": ("substrates x", "x.name = property_sources.entity_name AND property_sources.entity = 'substrate'"),
    "shap_values": ("model_runs x", "x.id = shap_values.run_id"),
}


def _to_5(con) -> str:
    """Who wrote each row and when (created_by, created_at), and the audit_log (with its triggers and the
    group roles' rights on a server). Rows from before: created_by NULL (nobody recorded it); created_at the
    time of the row's batch (films, publications, substrates, methods, their aliases and property sources) or
    run (SHAP values), else NULL. The columns are added nullable with their defaults set afterwards (DuckDB
    adds no NOT NULL column to a table others reference), so existing rows keep NULL."""

    from ..schema.tables import NOW
    from .db import stamped_columns

    server = dialect_of(con) == "postgresql"
    login = "CURRENT_USER" if server else "getvariable('filmkb_login')"
    for table, columns in stamped_columns().items():
        if "created_by" in columns:
            con.execute(f'ALTER TABLE "{table}" ADD COLUMN IF NOT EXISTS created_by VARCHAR')
        if "created_at" in columns:
            con.execute(f'ALTER TABLE "{table}" ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE')
    for table, (source, joined) in _EARLIER_TIMES.items():  # in this order: aliases after their owners
        con.execute(f'UPDATE "{table}" SET created_at = x.created_at FROM {source} '
                    f'WHERE {joined} AND "{table}".created_at IS NULL')
    for table, columns in stamped_columns().items():  # defaults last: the fills above read created_at of others
        if "created_by" in columns:
            con.execute(f'ALTER TABLE "{table}" ALTER COLUMN created_by SET DEFAULT {login}')
        if "created_at" in columns:
            con.execute(f'ALTER TABLE "{table}" ALTER COLUMN created_at SET DEFAULT {NOW}')
    for statement in schema_ddl(only=("audit_log",), dialect=dialect_of(con)):
        con.execute(statement)
    return "created_by and created_at of every row; audit_log"


def _to_6(con) -> str:
    """The run_artifacts table (the files of trained runs, stored with the run): a new table, nothing else
    changes. Runs trained before it keep their files in their folder only."""
    for statement in schema_ddl(only=("run_artifacts",), dialect=dialect_of(con)):
        con.execute(statement)
    return "run_artifacts: the files of trained runs"


STEPS = {2: _to_2, 3: _to_3, 4: _to_4, 5: _to_5, 6: _to_6}


def refuse_newer(con, path: str) -> None:
    """FilmkbError if the database was stamped by a newer filmkb (a schema version this code does not know):
    it is neither read nor written, since this code cannot know what the newer schema means."""
    from ..schema.version import SCHEMA_VERSION

    version = schema_version(con)
    if version is not None and version > SCHEMA_VERSION:
        raise FilmkbError(f"{path}: made by a newer filmkb (schema {version}); upgrade filmkb")


def pending(con) -> list[int]:
    """Versions this database still needs (empty when it is current or has no filmkb tables)."""
    version = schema_version(con)
    return [] if version is None else [v for v in sorted(STEPS) if v > version]


def missing_views(con) -> list[str]:
    """filmkb's views this database lacks (e.g. those of a descriptor set added since it was built); none for
    a database without filmkb tables."""
    if schema_version(con) is None:
        return []
    present = {n for (n,) in con.execute("SELECT table_name FROM information_schema.views "
                                         "WHERE table_schema = current_schema()").fetchall()}
    return [n for n in view_names() if n not in present]


def stale(con) -> bool:
    """True when opening the database must first upgrade it: a pending version, or a view it lacks."""
    return bool(pending(con) or missing_views(con))


def upgrade(con) -> list[int]:
    """Apply every pending step (the caller holds a write transaction), then recreate the views and stamp
    the database at the Alembic baseline (kb/revisions.py), from which Alembic's revisions go on. A current
    database that lacks a view (a descriptor set added since it was built) gets its views recreated."""
    if not pending(con) and missing_views(con):
        apply_views(con)
        return []
    done = []
    for version in pending(con):
        description = STEPS[version](con)
        con.execute("INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)",
                    [version, description, now()])
        done.append(version)
    if done:
        apply_views(con)
        from . import revisions

        revisions.stamp(con, revisions.BASELINE)  # schema 6 is the Alembic baseline; later changes are revisions
    return done
