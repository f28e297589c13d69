"""The filmkb schema, declared once as SQLModel tables.

Units are canonical and stated in the column name (``_k``, ``_c``, ``_nm``, ``_gpa``,
``_per_k``, ``_s_cm``, ``_angstrom``). Every measured value is a 64-bit DOUBLE: SQLModel maps a
Python ``float`` to DuckDB's 32-bit FLOAT otherwise. Integer keys take their values from a named
sequence (DuckDB has no SERIAL), which PostgreSQL accepts as well.
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, BigInteger, Boolean, Double, LargeBinary, Sequence, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Field, SQLModel

from .version import SCHEMA_VERSION  # noqa: F401  (re-exported: the tables are of this version)


def _pk(seq: str):
    """An integer primary key drawn from `seq` (DEFAULT nextval, valid in DuckDB and PostgreSQL)."""
    return Field(
        default=None,
        primary_key=True,
        sa_column_args=[Sequence(seq)],
        sa_column_kwargs={"server_default": text(f"nextval('{seq}')")},
    )


class login(FunctionElement):
    """The login that writes a row, as a column default: `CURRENT_USER` on a PostgreSQL server; on a DuckDB
    file (no logins) the session variable filmkb_login, which the engine sets to the OS user (kb/engines)."""

    type = String()
    inherit_cache = True
    name = "filmkb_login"


@compiles(login)
def _login_duckdb(element, compiler, **kw):
    return "getvariable('filmkb_login')"


@compiles(login, "postgresql")
def _login_server(element, compiler, **kw):
    return "CURRENT_USER"


NOW = "CURRENT_TIMESTAMP"  # the same word on DuckDB and PostgreSQL: the transaction's time


def _created_by():
    """Who wrote the row (schema 5): the login, filled by the database; NULL for rows from before schema 5."""
    return Field(default=None, sa_column_kwargs={"server_default": login()},
                 description="the login that wrote the row (OS user on a DuckDB file); NULL before schema 5")


def _created_at():
    """When the row was written (schema 5), filled by the database."""
    return Field(default=None, sa_column_kwargs={"server_default": text(NOW)},
                 description="when the row was written; before schema 5 its batch's time, or NULL")


def _num(description: str, nullable: bool = True, **kw):
    """A measured value: 64-bit double, canonical unit given in the column name."""
    return Field(default=None, sa_type=Double, nullable=nullable, description=description, **kw)


class SchemaMigration(SQLModel, table=True):
    """Which schema version this database file carries, and when it was applied."""

    __tablename__ = "schema_migrations"
    version: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    description: str
    applied_at: datetime


class IngestBatch(SQLModel, table=True):
    """One invocation that added rows: the curated seed load or a user's `filmkb ingest`."""

    __tablename__ = "ingest_batches"
    id: Optional[int] = _pk("ingest_batch_id_seq")
    kind: str = Field(description="'curated' (bundled data) or 'user' (filmkb ingest/add)")
    sources: str = Field(description="files read, separated by ';'")
    created_at: datetime
    note: Optional[str] = None
    created_by: Optional[str] = _created_by()


class Reference(SQLModel, table=True):
    """A publication that a film or a property value comes from."""

    __tablename__ = "publications"  # "references" is an SQL keyword
    id: Optional[int] = _pk("reference_id_seq")
    key: str = Field(unique=True, description="citation key, e.g. chen2014")
    # Unique by the quality gate, not by an index: DuckDB cannot update an indexed column of a row
    # that films reference, and a DOI is often filled in after the film (filmkb ingest-bib).
    doi: Optional[str] = Field(default=None, description="lower case, no URL prefix; unique")
    authors: Optional[str] = None
    year: Optional[int] = None
    title: Optional[str] = None
    journal: Optional[str] = None
    volume: Optional[str] = None
    pages: Optional[str] = None
    seed_ref: Optional[int] = Field(default=None, description="reference number in Kireeva 2023")
    bibtex: Optional[str] = None
    batch_id: Optional[int] = Field(default=None, foreign_key="ingest_batches.id")
    created_by: Optional[str] = _created_by()
    created_at: Optional[datetime] = _created_at()


class Substrate(SQLModel, table=True):
    """A substrate with orientation-independent properties (values and sources: property_sources)."""

    __tablename__ = "substrates"
    id: Optional[int] = _pk("substrate_id_seq")
    name: str = Field(unique=True, description="canonical name, e.g. SrTiO3")
    formula: str
    amorphous: bool = Field(sa_type=Boolean, description="no lattice registry with the film")
    crystal_system: Optional[str] = None
    space_group: Optional[str] = Field(default=None, description="Hermann-Mauguin symbol")
    lattice_a_angstrom: Optional[float] = _num("a, from the pymatgen lattice")
    lattice_b_angstrom: Optional[float] = _num("b, from the pymatgen lattice")
    lattice_c_angstrom: Optional[float] = _num("c, from the pymatgen lattice")
    cte_per_k: Optional[float] = _num("linear thermal expansion coefficient, 1/K")
    poisson_ratio: Optional[float] = _num("Poisson ratio, dimensionless")
    youngs_modulus_gpa: Optional[float] = _num("Young's modulus, GPa")
    bulk_modulus_gpa: Optional[float] = _num("bulk modulus, GPa")
    shear_modulus_gpa: Optional[float] = _num("shear modulus, GPa")
    dielectric_constant: Optional[float] = _num("static relative permittivity")
    dielectric_imputed: bool = Field(default=False, sa_type=Boolean)
    melting_point_k: Optional[float] = _num("melting or decomposition point, K")
    melting_kind: Optional[str] = Field(default=None, description="'melting', 'decomposition' or 'imputed'")
    prototype_sites: Optional[str] = Field(default=None, description="asymmetric-unit sites for pymatgen")
    misfit: Optional[float] = _num("(n*a_sub - a_film)/a_film against c-LLZO; 0 if amorphous")
    misfit_supercell_n: Optional[int] = Field(default=None, description="n in the misfit")
    note: Optional[str] = None
    batch_id: Optional[int] = Field(default=None, foreign_key="ingest_batches.id")
    created_by: Optional[str] = _created_by()
    created_at: Optional[datetime] = _created_at()


class SubstrateAlias(SQLModel, table=True):
    """Names a substrate is written as in papers ('STO', 'Si-Pt', ...), lower-cased."""

    __tablename__ = "substrate_aliases"
    alias: str = Field(primary_key=True)
    substrate_id: int = Field(foreign_key="substrates.id")
    created_by: Optional[str] = _created_by()
    created_at: Optional[datetime] = _created_at()


class DepositionMethod(SQLModel, table=True):
    """A canonical deposition method and its family (PVD / CVD / ALD / sol-gel)."""

    __tablename__ = "deposition_methods"
    id: Optional[int] = _pk("method_id_seq")
    name: str = Field(unique=True)
    family: str
    description: Optional[str] = None
    batch_id: Optional[int] = Field(default=None, foreign_key="ingest_batches.id",
                                    description="the batch that added it (curated, add-method or a methods file)")
    created_by: Optional[str] = _created_by()
    created_at: Optional[datetime] = _created_at()


class MethodAlias(SQLModel, table=True):
    """Names a method is written as in papers ('pulsed laser deposition', ...), lower-cased."""

    __tablename__ = "method_aliases"
    alias: str = Field(primary_key=True)
    method_id: int = Field(foreign_key="deposition_methods.id")
    created_by: Optional[str] = _created_by()
    created_at: Optional[datetime] = _created_at()


class FilmPhase(SQLModel, table=True):
    """Reference bulk properties of a film phase (c-LLZO, t-LLZO) used by the descriptors."""

    __tablename__ = "film_phases"
    id: Optional[int] = _pk("film_phase_id_seq")
    name: str = Field(unique=True)
    formula: str
    crystal_system: str
    space_group: str
    lattice_a_angstrom: Optional[float] = _num("a, from the pymatgen lattice")
    lattice_c_angstrom: Optional[float] = _num("c, from the pymatgen lattice")
    cte_per_k: Optional[float] = _num("1/K")
    poisson_ratio: Optional[float] = _num("dimensionless")
    youngs_modulus_gpa: Optional[float] = _num("GPa")
    bulk_modulus_gpa: Optional[float] = _num("GPa")
    shear_modulus_gpa: Optional[float] = _num("GPa")
    is_descriptor_reference: bool = Field(default=False, sa_type=Boolean)
    prototype_sites: Optional[str] = Field(default=None, description="asymmetric-unit sites for pymatgen")
    created_by: Optional[str] = _created_by()
    created_at: Optional[datetime] = _created_at()


class PropertySource(SQLModel, table=True):
    """Where each curated property value came from, with the value and unit as found."""

    __tablename__ = "property_sources"
    id: Optional[int] = _pk("property_source_id_seq")
    entity: str = Field(description="'substrate' or 'film_phase'")
    entity_name: str
    property: str = Field(description="column name in the entity's table")
    value_as_given: str
    unit_as_given: Optional[str] = None
    source: str = Field(description="reference key plus table/page, or handbook")
    note: Optional[str] = None
    created_by: Optional[str] = _created_by()
    created_at: Optional[datetime] = _created_at()


class FilmMaterial(SQLModel, table=True):
    """A film composition: as written, normalised by pymatgen, and its family."""

    __tablename__ = "film_materials"
    id: Optional[int] = _pk("material_id_seq")
    composition: str = Field(unique=True, description="composition as given (normalised text)")
    formula: str = Field(description="pymatgen reduced formula of the (nominal) composition")
    family: str = Field(description="LLZO, Ta-LLZO, Ga-LLZO, Al,Ta-LLZO, LLTO, ...")
    li_per_formula_unit: float = Field(sa_type=Double)
    nominal: bool = Field(default=False, sa_type=Boolean, description="formula from an abbreviation")
    li_per_o12: Optional[float] = _num("Li atoms per 12 O (one garnet formula unit), pymatgen")
    dopant_elements: Optional[str] = Field(default=None, description="elements other than Li, La, Zr, O")
    dopant_per_o12: Optional[float] = _num("dopant atoms per 12 O, pymatgen")
    ta_per_o12: Optional[float] = _num("Ta atoms per 12 O, pymatgen")
    al_per_o12: Optional[float] = _num("Al atoms per 12 O, pymatgen")
    ga_per_o12: Optional[float] = _num("Ga atoms per 12 O, pymatgen")
    created_by: Optional[str] = _created_by()
    created_at: Optional[datetime] = _created_at()


class FilmBase(SQLModel):
    """A film's conditions, result and provenance: declared once for the table and the ingest entry."""

    substrate_orientation: Optional[str] = Field(default=None, description="Miller index, e.g. 100")
    precursors: Optional[str] = None
    deposition_temp_c: float = _num("deposition temperature, degrees C", nullable=False)
    phase: str = Field(description="cubic / tetragonal / amorphous / mixed")
    thickness_nm: Optional[float] = _num("film thickness, nm")
    conductivity_s_cm: float = _num("total Li-ion conductivity as reported, at measurement_temp_c, S/cm", nullable=False)
    measurement_temp_c: float = _num("measurement temperature, degrees C", nullable=False)
    measurement_temp_assumed: bool = Field(default=False, sa_type=Boolean)
    activation_energy_ev: Optional[float] = _num("activation energy of the conductivity as the paper gives it, eV")
    conductivity_25c_s_cm: Optional[float] = _num(
        "conductivity at 25 C, S/cm (the model target): the measured value if measured at 20-30 C, else converted "
        "by the Arrhenius law with the activation energy (schema/arrhenius.py), else NULL")
    conductivity_25c_derived: bool = Field(default=False, sa_type=Boolean,
                                           description="conductivity_25c_s_cm was converted from measurement_temp_c")
    composition_as_given: Optional[str] = None
    method_as_given: Optional[str] = None
    substrate_as_given: Optional[str] = None
    phase_as_given: Optional[str] = None
    notes: Optional[str] = None
    figure6_subset: bool = Field(default=False, sa_type=Boolean)
    source_table: Optional[str] = Field(default=None, description="e.g. 'kireeva2023 Table 1'")
    source_row: Optional[int] = None
    source_file: Optional[str] = None
    source_line: Optional[int] = None


class _FilmKeys(SQLModel):
    """The film row's own key and its keys into the catalogue (listed first in the table)."""

    id: Optional[int] = _pk("film_id_seq")
    reference_id: int = Field(foreign_key="publications.id")
    material_id: int = Field(foreign_key="film_materials.id")
    method_id: int = Field(foreign_key="deposition_methods.id")
    substrate_id: int = Field(foreign_key="substrates.id")


class Film(FilmBase, _FilmKeys, table=True):
    """One measured film: the FilmBase fields plus its keys into the catalogue and its batch."""

    __tablename__ = "films"
    duplicate_of: Optional[int] = Field(default=None, foreign_key="films.id")
    batch_id: int = Field(foreign_key="ingest_batches.id")
    created_by: Optional[str] = _created_by()
    created_at: Optional[datetime] = _created_at()


FILM_FIELDS = tuple(FilmBase.model_fields)


class InterfaceMatch(SQLModel, table=True):
    """Coincidence-lattice match of c-LLZO on an oriented substrate (pymatgen SubstrateAnalyzer)."""

    __tablename__ = "interface_matches"
    id: Optional[int] = _pk("interface_match_id_seq")
    substrate_id: int = Field(foreign_key="substrates.id")
    substrate_orientation: str
    film_phase: str
    film_miller: str
    match_area_angstrom2: float = Field(sa_type=Double)
    von_mises_strain: float = Field(sa_type=Double, description="von Mises of Green-Lagrange strain")
    strain_xx: float = Field(sa_type=Double, description="Green-Lagrange E_xx of the film")
    strain_yy: float = Field(sa_type=Double, description="Green-Lagrange E_yy of the film")
    strain_xy: float = Field(sa_type=Double, description="Green-Lagrange E_xy of the film")
    pymatgen_version: str
    created_by: Optional[str] = _created_by()
    created_at: Optional[datetime] = _created_at()


class ModelRun(SQLModel, table=True):
    """One evaluate/train run: config, code version and the hash of the matrix it saw."""

    __tablename__ = "model_runs"
    id: str = Field(primary_key=True)
    kind: str = Field(description="'evaluate', 'train' or 'suggest'")
    created_at: datetime
    config_json: str
    code_version: str
    data_hash: str
    n_films: int
    metrics_json: Optional[str] = None
    models_dir: Optional[str] = None
    created_by: Optional[str] = _created_by()


class Prediction(SQLModel, table=True):
    """A prediction of -log10(sigma / S cm^-1) with its uncertainty, tied to its run."""

    __tablename__ = "predictions"
    id: Optional[int] = _pk("prediction_id_seq")
    run_id: str = Field(foreign_key="model_runs.id")
    film_id: Optional[int] = Field(default=None, foreign_key="films.id")
    model: str
    fold: Optional[str] = None
    neg_log10_sigma_mean: float = Field(sa_type=Double)
    neg_log10_sigma_std: Optional[float] = _num("spread over the repeats")
    conditions_json: Optional[str] = None
    created_at: datetime
    created_by: Optional[str] = _created_by()


class ShapValue(SQLModel, table=True):
    """One Shapley value of one descriptor for one film under one run."""

    __tablename__ = "shap_values"
    id: Optional[int] = _pk("shap_value_id_seq")
    run_id: str = Field(foreign_key="model_runs.id")
    film_id: int = Field(foreign_key="films.id")
    descriptor: str
    shap_value: float = Field(sa_type=Double)
    base_value: float = Field(sa_type=Double)
    created_by: Optional[str] = _created_by()
    created_at: Optional[datetime] = _created_at()


class Suggestion(SQLModel, table=True):
    """One candidate deposition condition listed by `filmkb suggest`, with what the model predicted for it
    (so that a later measurement can be compared with the prediction)."""

    __tablename__ = "suggestions"
    id: Optional[int] = _pk("suggestion_id_seq")
    run_id: str = Field(foreign_key="model_runs.id", description="the suggest run that listed it")
    model_run_id: str = Field(foreign_key="model_runs.id", description="the train run that predicted it")
    rank: int = Field(description="1 = best, within its list (in domain, or out of domain)")
    in_domain: bool = Field(sa_type=Boolean)
    goal: str = Field(description="'exploit', 'explore' or 'balanced' (ml/acquisition.py)")
    score: float = Field(sa_type=Double, description="acquisition score of the goal")
    substrate: str
    substrate_orientation: Optional[str] = None
    method: Optional[str] = None
    composition: Optional[str] = None
    phase: Optional[str] = None
    deposition_temp_c: float = _num("deposition temperature, degrees C", nullable=False)
    thickness_nm: float = _num("film thickness, nm", nullable=False)
    measurement_temp_c: float = _num("temperature the prediction refers to, degrees C", nullable=False)
    neg_log10_sigma_mean: float = Field(sa_type=Double)
    neg_log10_sigma_std: float = Field(sa_type=Double)
    sigma_low_s_cm: float = _num("lower bound of the 95 % interval of sigma, S/cm", nullable=False)
    sigma_high_s_cm: float = _num("upper bound of the 95 % interval of sigma, S/cm", nullable=False)
    domain_distance: Optional[float] = _num("distance to the nearest training film (standardised)")
    domain_threshold: Optional[float] = _num("the model's domain threshold")
    out_of_range: Optional[str] = Field(default=None, description="which descriptor is outside its training range")
    created_at: datetime
    created_by: Optional[str] = _created_by()


class AuditEntry(SQLModel, table=True):
    """One insert, update or delete of a row of an audited table (kb/audit.py lists them), with the old and
    new values, who and when: written by triggers on a server, by the write transaction on a DuckDB file."""

    __tablename__ = "audit_log"
    id: Optional[int] = _pk("audit_log_id_seq")
    table_name: str
    op: str = Field(description="INSERT, UPDATE or DELETE")
    row_key: str = Field(description="the row's primary key, as text")
    old_values: Optional[str] = Field(default=None, sa_type=JSON().with_variant(JSONB(), "postgresql"),
                                      description="the row before (UPDATE, DELETE), JSON")
    new_values: Optional[str] = Field(default=None, sa_type=JSON().with_variant(JSONB(), "postgresql"),
                                      description="the row after (INSERT, UPDATE), JSON")
    changed_by: str = Field(description="the login (session_user on a server, the OS user on a file)")
    changed_at: datetime = Field(description="UTC; the time of the transaction")


class RunArtifact(SQLModel, table=True):
    """One file of a trained run's folder (weights, scalers, manifest, Keras exports), stored with the run so
    that every machine connected to the knowledge base can use the model; `sha256` is checked against the
    run's manifest (and the manifest against the run's record) before a file is used."""

    __tablename__ = "run_artifacts"
    run_id: str = Field(primary_key=True, foreign_key="model_runs.id")
    name: str = Field(primary_key=True, description="path inside the run's folder, e.g. lstm/member_000.keras")
    sha256: str = Field(description="hex SHA-256 of content")
    size: int = Field(sa_type=BigInteger, description="bytes")
    content: bytes = Field(sa_type=LargeBinary, description="the file's bytes")
