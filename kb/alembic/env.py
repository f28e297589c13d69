"""Alembic's environment for filmkb: the SQLModel tables are the target, on a DuckDB file (duckdb-engine,
with filmkb's registered DuckDB implementation) or a PostgreSQL server (psycopg 3).

The database: `sqlalchemy.url` of the configuration, else `-x db=PATH_OR_URL`, else $FILMKB_DB, else
filmkb.duckdb in the working directory (a DuckDB path or a postgresql:// URL, as filmkb takes them).
"""

from alembic import context
from sqlalchemy import create_engine, pool
from sqlmodel import SQLModel

from filmkb.kb import revisions  # registers DuckDBImpl
from filmkb.kb.db import default_path
from filmkb.schema import tables  # noqa: F401  (registers the tables on the metadata)

config = context.config
target_metadata = SQLModel.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    return url or revisions.sqlalchemy_url(context.get_x_argument(as_dictionary=True).get("db") or default_path())


def _include(obj, name, type_, reflected, compare_to) -> bool:
    return not revisions.ignored(obj, name, type_, reflected, compare_to)


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, include_object=_include)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection") or create_engine(_url(), poolclass=pool.NullPool)
    if hasattr(connectable, "connect"):
        with connectable.connect() as connection:
            _run(connection)
    else:
        _run(connectable)


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, include_object=_include)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
