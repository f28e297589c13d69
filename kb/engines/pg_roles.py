"""Roles and the audit on a PostgreSQL server: the database's own group roles, grants and triggers, no
permission logic in filmkb.

- Two group roles (NOLOGIN), made with the schema when the owner may create roles: `filmkb_reader`
  (SELECT on every table and view) and `filmkb_writer` (a member of filmkb_reader, plus INSERT, UPDATE
  and DELETE on every table but audit_log and schema_migrations, and the sequences). Default privileges
  give tables the owner adds later (a migration) the same rights. `grant(con, NAME, role)` makes NAME a
  login member of one of them.
- audit_log is fed by one trigger function (SECURITY DEFINER, so writers need no right on audit_log and
  cannot forge or change its rows): each insert, update (that changes something) and delete of an audited
  table (kb/audit.py), with the old and new row as JSONB, the login (session_user) and the time.
- A write by a login without the writer's rights is refused up front, in one line naming the missing role
  (`WriteRefused`).
"""

from __future__ import annotations

from ...errors import FilmkbError

READER, WRITER = "filmkb_reader", "filmkb_writer"
GROUPS = {"reader": READER, "writer": WRITER}
UNWRITABLE = ("audit_log", "schema_migrations")  # no group may change these; only the owner (migrations)
HINT_NO_STORE = "--no-store reads without writing"


class WriteRefused(FilmkbError):
    """A write by a login that lacks filmkb_writer's rights; `naming(command)` says which command needed them."""

    def __init__(self, name: str, user: str, groups: list[str]):
        self.name, self.user, self.groups = name, user, groups
        super().__init__(self.naming("write"))

    def naming(self, command: str | None, hint: str | None = None) -> str:
        has = f"has {', '.join(self.groups)}" if self.groups else "has no filmkb role"
        more = f"; {hint}" if hint else ""
        return (f"{self.name}: permission denied: {WRITER} is needed to {command or 'write'} (role {self.user} {has})"
                f"{more}; nothing was written")


# ---------------------------------------------------------------------------- the audit triggers

AUDIT_FUNCTION = """
CREATE OR REPLACE FUNCTION filmkb_audit() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $audit$
DECLARE
    old_row jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END;
    new_row jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END;
BEGIN
    EXECUTE format('INSERT INTO %I.audit_log (table_name, op, row_key, old_values, new_values, changed_by, changed_at) '
                   'VALUES ($1, $2, $3, $4, $5, $6, $7)', TG_TABLE_SCHEMA)
    USING TG_TABLE_NAME, TG_OP, coalesce(new_row, old_row) ->> TG_ARGV[0], old_row, new_row, session_user::text, now();
    RETURN NULL;
END
$audit$"""


def install(con) -> None:
    """The audit triggers on every audited table, audit_log closed to every change but the triggers', and the
    group roles' rights (the groups made first when this login may create roles). Idempotent: run by `init`
    and by the migration to schema 5."""
    from ..audit import AUDITED

    con.execute(AUDIT_FUNCTION)
    for table, key in AUDITED.items():
        con.execute(f'DROP TRIGGER IF EXISTS filmkb_audit ON "{table}"')
        con.execute(f'DROP TRIGGER IF EXISTS filmkb_audit_update ON "{table}"')
        con.execute(f'CREATE TRIGGER filmkb_audit AFTER INSERT OR DELETE ON "{table}" FOR EACH ROW '
                    f"EXECUTE FUNCTION filmkb_audit('{key}')")
        con.execute(f'CREATE TRIGGER filmkb_audit_update AFTER UPDATE ON "{table}" FOR EACH ROW '
                    f"WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION filmkb_audit('{key}')")
    con.execute("REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC")
    if _may_create_roles(con):
        _make_groups(con)
    grant_groups(con)


# ---------------------------------------------------------------------------- the group roles

def _may_create_roles(con) -> bool:
    return bool(con.execute("SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user")
                .fetchall()[0][0])


def _existing_groups(con) -> set[str]:
    return {r for (r,) in con.execute("SELECT rolname FROM pg_roles WHERE rolname IN (?, ?)", [READER, WRITER])
            .fetchall()}


def _make_groups(con) -> None:
    """filmkb_reader and filmkb_writer (a member of filmkb_reader), where missing."""
    existing = _existing_groups(con)
    for group in (READER, WRITER):
        if group not in existing:
            con.execute(f'CREATE ROLE "{group}" NOLOGIN')
    if not con.execute("SELECT pg_has_role(?, ?, 'MEMBER')", [WRITER, READER]).fetchall()[0][0]:
        con.execute(f'GRANT "{READER}" TO "{WRITER}"')


def grant_groups(con) -> None:
    """The rights of the groups that exist on the tables, views and sequences of filmkb's schema."""
    from ..db import table_names

    existing = _existing_groups(con)
    if READER in existing:
        con.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{_schema(con)}" TO "{READER}"')
        con.execute(f'ALTER DEFAULT PRIVILEGES IN SCHEMA "{_schema(con)}" GRANT SELECT ON TABLES TO "{READER}"')
    if WRITER in existing:
        writable = [t for t in _present(con, table_names()) if t not in UNWRITABLE]
        if writable:
            listed = ", ".join(f'"{t}"' for t in writable)
            con.execute(f'GRANT INSERT, UPDATE, DELETE ON {listed} TO "{WRITER}"')
        con.execute(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{_schema(con)}" TO "{WRITER}"')
        con.execute(f'ALTER DEFAULT PRIVILEGES IN SCHEMA "{_schema(con)}" GRANT INSERT, UPDATE, DELETE ON TABLES '
                    f'TO "{WRITER}"')
        con.execute(f'ALTER DEFAULT PRIVILEGES IN SCHEMA "{_schema(con)}" GRANT USAGE, SELECT ON SEQUENCES '
                    f'TO "{WRITER}"')
        con.execute(f'REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON audit_log, schema_migrations FROM "{WRITER}"')


def _schema(con) -> str:
    return con.execute("SELECT current_schema()").fetchall()[0][0]


def _present(con, tables: list[str]) -> list[str]:
    return [t for t in tables if con.has_table(t)]


# ---------------------------------------------------------------------------- who may write

def write_refusal(con, name: str) -> WriteRefused | None:
    """None if the login may write the knowledge base (its owner, a member of filmkb_writer, a superuser);
    else the one-line refusal naming what it lacks."""
    user, may = con.execute("SELECT current_user, has_table_privilege('films', 'INSERT') "
                            "AND has_table_privilege('ingest_batches', 'INSERT')").fetchall()[0]
    if may:
        return None
    groups = [g for (g,) in con.execute(
        "SELECT rolname FROM pg_roles WHERE rolname IN (?, ?) AND pg_has_role(current_user, oid, 'MEMBER') "
        "ORDER BY rolname", [READER, WRITER]).fetchall()]
    return WriteRefused(name, user, groups)


def upgrade_refusal(con, name: str) -> FilmkbError | None:
    """A one-line error when the knowledge base needs an upgrade (made by an older filmkb) and the login is
    not its owner, who alone may change tables; None otherwise."""
    from ...schema.version import SCHEMA_VERSION
    from .. import migrations

    if not migrations.stale(con):
        return None
    owner, is_owner = con.execute("SELECT pg_get_userbyid(relowner), pg_has_role(current_user, relowner, 'MEMBER') "
                                  "FROM pg_class WHERE oid = 'films'::regclass").fetchall()[0]
    if is_owner:
        return None
    return FilmkbError(f"{name}: the knowledge base was made by an older filmkb and needs an upgrade to schema "
                       f"{SCHEMA_VERSION}, which only its owner ({owner}) may make: any filmkb command the owner runs "
                       "makes it; nothing was read or written")


# ---------------------------------------------------------------------------- grant

def grant(con, db_name: str, login: str, role: str, password: str | None = None) -> str:
    """Make the login `login` a reader or writer of the knowledge base (creating the login, with `password`
    when given, if it does not exist; a reader who was a writer stops being one). Run by the owner, in a
    write transaction; returns what was done, in a line."""
    if role not in GROUPS:
        raise FilmkbError(f"--role: unknown role '{role}' (expected reader or writer)")
    if login in (READER, WRITER):
        raise FilmkbError(f"{login} is one of filmkb's group roles; give the login of a person")
    user, owner = con.execute("SELECT current_user, pg_get_userbyid(relowner) FROM pg_class "
                              "WHERE oid = 'films'::regclass").fetchall()[0]
    is_owner = con.execute("SELECT pg_has_role(current_user, relowner, 'MEMBER') FROM pg_class "
                           "WHERE oid = 'films'::regclass").fetchall()[0][0]
    if not is_owner:
        raise FilmkbError(f"{db_name}: permission denied: only the owner of the knowledge base ({owner}) may grant "
                          f"roles; role {user} is not; nothing was changed")
    may_create = _may_create_roles(con)
    missing = {READER, WRITER} - _existing_groups(con)
    exists = bool(con.execute("SELECT count(*) FROM pg_roles WHERE rolname = ?", [login]).fetchall()[0][0])
    if (missing or not exists) and not may_create:
        what = f"the group roles {', '.join(sorted(missing))}" if missing else f"the login {login}"
        raise FilmkbError(f"{db_name}: permission denied to create {what}: role {user} needs CREATEROLE (a superuser "
                          f"runs `ALTER ROLE {user} CREATEROLE`); nothing was changed")
    if missing:
        _make_groups(con)
    grant_groups(con)
    quoted = _identifier(con, login)
    done = []
    if not exists:
        secret = f" PASSWORD {_literal(con, _encrypted(con, login, password))}" if password else ""
        con.execute(f"CREATE ROLE {quoted} LOGIN{secret}")
        done.append(f"created login {login}" + (" with a password" if password else " (no password)"))
    elif password:
        con.execute(f"ALTER ROLE {quoted} PASSWORD {_literal(con, _encrypted(con, login, password))}")
        done.append(f"set the password of {login}")
    group = GROUPS[role]
    con.execute(f'GRANT "{group}" TO {quoted}')
    if role == "reader" and con.execute("SELECT pg_has_role(?, ?, 'MEMBER')", [login, WRITER]).fetchall()[0][0]:
        con.execute(f'REVOKE "{WRITER}" FROM {quoted}')
        done.append(f"revoked {WRITER}")
    done.append(f"granted {group}")
    rights = "may read and write" if role == "writer" else "may read, not write"
    return f"{db_name}: {login}: {'; '.join(done)} ({rights})"


def _encrypted(con, login: str, password: str) -> str:
    """The SCRAM-SHA-256 verifier of `password`, made by libpq here: the password itself never reaches the
    server (nor its statement log)."""
    return con.raw.pgconn.encrypt_password(password.encode(), login.encode(), b"scram-sha-256").decode()


def _identifier(con, text: str) -> str:
    from psycopg import sql

    return sql.Identifier(text).as_string(con.raw)


def _literal(con, text: str) -> str:
    from psycopg import sql

    return sql.Literal(text).as_string(con.raw)
