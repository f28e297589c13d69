"""Alembic, the one schema history for both engines: its configuration for a database URL or DuckDB path,
the DuckDB implementation Alembic needs, and the stamp `init` and the in-place upgrades write.

Databases made by `filmkb init` are stamped at the head revision; files and servers at schema 1..5 are
upgraded in place by kb/migrations.py (as before Alembic) and then stamped at the baseline revision, so
every later change is an Alembic revision (kb/alembic/versions/, docs/server.md says how to add one).
"""

from __future__ import annotations

from pathlib import Path

from alembic.ddl.impl import DefaultImpl
from duckdb_engine import Dialect as _DuckDBDialect
from sqlalchemy.dialects import registry

SCRIPTS = Path(__file__).resolve().parent / "alembic"
BASELINE = "0006_baseline"  # the revision equal to schema 6, the last one kb/migrations.py knows


class DuckDBImpl(DefaultImpl):
    """Alembic's operations on DuckDB through duckdb-engine (plain SQL, transactional DDL)."""

    __dialect__ = "duckdb"
    transactional_ddl = True


# DuckDB's column types as SQLAlchemy types, for reflecting a DuckDB file's columns
def _duckdb_type(name: str):
    import sqlalchemy as sa

    simple = {"INTEGER": sa.Integer, "BIGINT": sa.BigInteger, "SMALLINT": sa.SmallInteger, "VARCHAR": sa.String,
              "DOUBLE": sa.Double, "FLOAT": sa.Float, "BOOLEAN": sa.Boolean, "DATE": sa.Date, "BLOB": sa.LargeBinary,
              "JSON": sa.JSON, "TIMESTAMP": sa.DateTime}
    if name == "TIMESTAMP WITH TIME ZONE":
        return sa.DateTime(timezone=True)
    return simple.get(name, sa.types.NullType)()


class DuckDBDialect(_DuckDBDialect):
    """duckdb-engine's dialect with the columns of a table read from DuckDB's own catalogue: duckdb-engine
    reflects them with PostgreSQL's catalogue query, which under SQLAlchemy 2.1 reads pg_collation, a table
    DuckDB does not have (`alembic check` reflects every column). URL: duckdb+filmkb:///path."""

    driver = "filmkb"
    supports_statement_cache = True

    def get_multi_columns(self, connection, schema=None, filter_names=None, scope=None, kind=None, **kw):
        rows = connection.exec_driver_sql(
            "SELECT table_name, column_name, data_type, is_nullable, column_default FROM duckdb_columns() "
            "WHERE schema_name = coalesce(?, current_schema()) AND database_name = current_database() "
            "AND NOT internal ORDER BY table_name, column_index", (schema,)).fetchall()
        tables = {}
        for table, column, data_type, nullable, default in rows:
            if filter_names and table not in filter_names:
                continue
            tables.setdefault((schema, table), []).append(
                dict(name=column, type=_duckdb_type(data_type), nullable=bool(nullable), default=default,
                     autoincrement=False, comment=None))
        return tables.items()

    def _constraints(self, connection, schema, filter_names, kind):
        rows = connection.exec_driver_sql(
            "SELECT table_name, constraint_name, constraint_column_names, referenced_table, referenced_column_names "
            "FROM duckdb_constraints() WHERE schema_name = coalesce(?, current_schema()) "
            "AND database_name = current_database() AND constraint_type = ? ORDER BY table_name, constraint_index",
            (schema, kind)).fetchall()
        tables = {}
        for name in self.get_table_names(connection, schema):
            if not filter_names or name in filter_names:
                tables[(schema, name)] = []
        for table, name, columns, referred, referred_columns in rows:
            if (schema, table) in tables:
                tables[(schema, table)].append((name, list(columns), referred, list(referred_columns or [])))
        return tables

    def get_multi_pk_constraint(self, connection, schema=None, filter_names=None, scope=None, kind=None, **kw):
        found = self._constraints(connection, schema, filter_names, "PRIMARY KEY")
        return [(key, {"name": c[0][0], "constrained_columns": c[0][1]} if c else
                 {"name": None, "constrained_columns": []}) for key, c in found.items()]

    def get_multi_foreign_keys(self, connection, schema=None, filter_names=None, scope=None, kind=None, **kw):
        found = self._constraints(connection, schema, filter_names, "FOREIGN KEY")
        return [(key, [{"name": n, "constrained_columns": cols, "referred_schema": None, "referred_table": ref,
                        "referred_columns": ref_cols, "options": {}} for n, cols, ref, ref_cols in c])
                for key, c in found.items()]

    def get_multi_unique_constraints(self, connection, schema=None, filter_names=None, scope=None, kind=None, **kw):
        found = self._constraints(connection, schema, filter_names, "UNIQUE")
        return [(key, [{"name": n, "column_names": cols} for n, cols, _, _ in c]) for key, c in found.items()]

    def get_multi_check_constraints(self, connection, schema=None, filter_names=None, scope=None, kind=None, **kw):
        return [((schema, name), []) for name in self.get_table_names(connection, schema)
                if not filter_names or name in filter_names]

    def get_multi_indexes(self, connection, schema=None, filter_names=None, scope=None, kind=None, **kw):
        return [((schema, name), []) for name in self.get_table_names(connection, schema)
                if not filter_names or name in filter_names]  # filmkb declares no index beyond its keys

    def get_multi_table_options(self, connection, schema=None, filter_names=None, scope=None, kind=None, **kw):
        return [((schema, name), {}) for name in self.get_table_names(connection, schema)
                if not filter_names or name in filter_names]

    def get_multi_table_comment(self, connection, schema=None, filter_names=None, scope=None, kind=None, **kw):
        return [((schema, name), {"text": None}) for name in self.get_table_names(connection, schema)
                if not filter_names or name in filter_names]


registry.register("duckdb.filmkb", __name__, "DuckDBDialect")


def sqlalchemy_url(db: str) -> str:
    """The SQLAlchemy URL of a knowledge base given as filmkb takes it (a DuckDB path or a PostgreSQL URL)."""
    if db.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + db.split("://", 1)[1]
    if "://" in db:
        return db
    return "duckdb+filmkb:///" + str(Path(db).resolve())


def config(db: str | None = None):
    """An Alembic Config on filmkb's scripts, for the knowledge base `db` (a path or URL)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPTS))
    if db is not None:
        cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(db).replace("%", "%%"))
    return cfg


def head() -> str:
    """The newest revision (the schema the SQLModel tables declare)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(config()).get_current_head()


def stamp(con, revision: str | None = None) -> None:
    """Record `revision` (default: the head) as this database's Alembic revision, in the caller's
    transaction; the same table and row `alembic stamp` writes."""
    con.execute("CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) NOT NULL, "
                "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))")
    con.execute("DELETE FROM alembic_version")
    con.execute("INSERT INTO alembic_version (version_num) VALUES (?)", [revision or head()])


def ignored(obj, name, type_, reflected, compare_to) -> bool:
    """True for what `alembic check` leaves out: the SQL views (schema/views/*.sql and the descriptor sets' own,
    written once in portable SQL, recreated by every upgrade) and objects only in the database that are not
    filmkb's declared tables (the audit's trigger-owned objects, backups in other schemas); everything declared
    is compared."""
    from .views import view_names

    if type_ == "table" and reflected and compare_to is None:
        return name in view_names() or name.startswith(("filmkb_", "audit_"))
    return False
