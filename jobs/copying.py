"""The copy job: a whole knowledge base from SRC to DST (`filmkb copy`), a personal DuckDB file to the
group's server and back, or between two files or two servers. The source is only read; the destination is
written in one transaction and must be empty unless `force` (then the old one is kept under a backup name,
as `init --force` keeps it)."""

from __future__ import annotations

from .. import kb
from ..errors import FilmkbError
from ..kb.copying import CopyReport, copy_into, read_source, same_database

__all__ = ["copy", "CopyReport"]


def copy(src: str, dst: str, force: bool = False, wait: float = 0.0) -> CopyReport:
    """Copy every table of the knowledge base at `src` (a DuckDB path or a PostgreSQL URL) into a new one at
    `dst`, ids preserved. A destination that holds anything (a knowledge base, another program's tables, a
    file) is refused unless `force`; then a file is kept as DST.bak (DST.bak.1, ...) and a server's filmkb
    tables in a schema filmkb_backup_N. The messages never show a URL's password."""
    src, dst = str(src), str(dst)
    try:
        return _copy(src, dst, force, wait)
    except FilmkbError as exc:
        raise FilmkbError(kb.without_secrets(kb.without_secrets(str(exc), src), dst)) from None


def _copy(src: str, dst: str, force: bool, wait: float) -> CopyReport:
    if same_database(src, dst):
        raise FilmkbError(f"{kb.shown(src)} and {kb.shown(dst)} are the same knowledge base; nothing was written")
    kb.require_file(src)
    kb.require_file(dst)
    source = read_source(src)
    try:
        with kb.locked(dst, wait):
            found = kb.not_a_knowledge_base(dst)
            present = kb.exists(dst)
            if (found or present) and not force:
                raise FilmkbError(f"{kb.shown(dst)}: holds {found or 'a knowledge base'}; copy left it as it is; "
                                  f"`filmkb copy --force` keeps it as {kb.next_backup(dst)} and copies into a new one")
            return copy_into(source, dst, backup=present)
    finally:
        source.close()
