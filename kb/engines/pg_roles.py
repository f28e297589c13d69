"""Who may do what on a server, in the database's own terms: the group roles `grant` gives a login, and the
audit trail every write of a filmkb table leaves (a trigger-fed table, not permission logic in filmkb)."""

from __future__ import annotations

from contextlib import contextmanager

from ...errors import FilmkbError
from .. import db

ROLES = {"reader": "filmkb_reader", "writer": "filmkb_writer"}  # the group roles `grant` gives a login
AUDIT_TABLE = "audit_log"
# Every insert, update and delete of a filmkb table, with the old and new row, the login and the time: kept by
# a trigger that runs as the table owner (SECURITY DEFINER), so a writer can add to the trail but not change it.
AUDIT_DDL = ["""CREATE TABLE IF NOT EXISTS audit_log (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    login TEXT NOT NULL DEFAULT session_user,
    table_name TEXT NOT NULL,
    action TEXT NOT NULL,
    old_row JSONB,
    new_row JSONB)""", """CREATE OR REPLACE FUNCTION filmkb_audit() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE format('INSERT INTO %I.audit_log (login, table_name, action, old_row, new_row) VALUES ($1, $2, $3, $4, $5)',
                   TG_TABLE_SCHEMA)
    USING session_user::text, TG_TABLE_NAME::text, TG_OP::text,
          CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END, CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END;
    RETURN NULL;
END $$""", "REVOKE ALL ON audit_log FROM PUBLIC"]


class Roles:
    """Roles and the audit trail (mixed into the PostgreSQL engine)."""

    def grant(self, name: str, role: str, password: str | None = None) -> str:
        """Give the login `name` (made if missing, with `password` if given) the role filmkb_reader (SELECT on
        every table and view) or filmkb_writer (the reader's rights plus INSERT, UPDATE, DELETE and the
        sequences); granting reader to a writer takes writing away. Run by the database owner; returns
        what was done, in words."""
        from psycopg import sql

        if role not in ROLES:
            raise FilmkbError(f"unknown role '{role}' (expected one of {', '.join(ROLES)})")
        user = sql.Identifier(name)
        with self._role_transaction() as con:
            run = con.raw.execute
            schema = sql.Identifier(con.execute("SELECT current_schema()").fetchall()[0][0])
            for group in ROLES.values():
                if not con.execute("SELECT count(*) FROM pg_roles WHERE rolname = ?", [group]).fetchall()[0][0]:
                    run(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(group)))
            reader, writer = (sql.Identifier(g) for g in (ROLES["reader"], ROLES["writer"]))
            run(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, reader))
            run(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(schema, reader))
            run(sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT SELECT ON TABLES TO {}").format(schema, reader))
            run(sql.SQL("GRANT {} TO {}").format(reader, writer))
            run(sql.SQL("GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {} TO {}").format(schema, writer))
            run(sql.SQL("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {} TO {}").format(schema, writer))
            run(sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT INSERT, UPDATE, DELETE ON TABLES TO {}")
                .format(schema, writer))
            run(sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {}")
                .format(schema, writer))
            if con.has_table(AUDIT_TABLE):  # the trail is written by its trigger only
                run(sql.SQL("REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {} FROM {}").format(
                    sql.Identifier(AUDIT_TABLE), writer))
            made = not con.execute("SELECT count(*) FROM pg_roles WHERE rolname = ?", [name]).fetchall()[0][0]
            if made:
                run(sql.SQL("CREATE ROLE {} LOGIN").format(user))
            if password is not None:
                run(sql.SQL("ALTER ROLE {} PASSWORD {}").format(user, sql.Literal(password)))
            if role == "reader":
                run(sql.SQL("REVOKE {} FROM {}").format(writer, user))
            run(sql.SQL("GRANT {} TO {}").format(sql.Identifier(ROLES[role]), user))
        rights = "may read" if role == "reader" else "may read and write"
        return f"{'login made' if made else 'login'} {name}: {rights} (role {ROLES[role]})"

    @contextmanager
    def _role_transaction(self):
        con = self.connect(read_only=False)
        try:
            with con.raw.transaction():
                yield con
        except Exception as exc:
            translated = self.error(exc)
            if translated is None:
                raise
            raise translated from None
        finally:
            con.close()

    def _audit(self, con) -> None:
        """The audit table and a trigger on every filmkb table that fills it."""
        for statement in AUDIT_DDL:
            con.raw.execute(statement)
        for table in db.table_names():
            con.raw.execute(f'CREATE TRIGGER filmkb_audit AFTER INSERT OR UPDATE OR DELETE ON "{table}" '
                            "FOR EACH ROW EXECUTE FUNCTION filmkb_audit()")
        if con.execute("SELECT count(*) FROM pg_roles WHERE rolname = ?", [ROLES["writer"]]).fetchall()[0][0]:
            con.raw.execute(f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {AUDIT_TABLE} FROM {ROLES['writer']}")

    def audit(self, k):
        """The audit trail, newest first: when, which login, table, action, old and new row (JSON text)."""
        if not k.con.has_table(AUDIT_TABLE):
            raise FilmkbError(f"{self.name}: this knowledge base keeps no audit trail (built before it was added; "
                              "`filmkb init --force` rebuilds it with one)")
        return k.sql(f"SELECT id, at, login, table_name, action, CAST(old_row AS TEXT) AS old_row, "
                     f"CAST(new_row AS TEXT) AS new_row FROM {AUDIT_TABLE} ORDER BY id DESC")
