"""The knowledge base: the only code that opens a connection or holds SQL (besides schema/views).

    from filmkb import kb
    with kb.open("filmkb.duckdb") as db:          # read-only
        db.films(substrate="MgO", method="PLD")     # DataFrame
        X = db.descriptor_matrix()                  # model input, indexed by film_id
        with db.transaction():                      # all or nothing
            ...

`kb.open("postgresql://user@host:5432/filmkb")` opens the same knowledge base on a PostgreSQL server
(kb/engines picks the engine from the value; nothing above kb/ knows which).
"""

from ..errors import FilmkbError
from ..schema.descriptors import PAPER7 as DESCRIPTORS
from ..schema.descriptors import TARGET
from .db import KBError, default_path
from .engines import without_secrets
from .engines.pg_roles import WriteRefused
from .knowledge import (KnowledgeBase, build, exists, grant, locked, models_root, next_backup, not_a_knowledge_base,  # noqa: F401
                        open, shown)  # noqa: A004
from .paths import check_output, check_output_dir, require_file
from .queries import descriptor_set
from .results import code_version, data_hash, new_run_id

KB = KnowledgeBase

__all__ = ["open", "build", "locked", "KnowledgeBase", "KB", "DESCRIPTORS", "TARGET", "FilmkbError", "KBError",
           "default_path", "data_hash", "code_version", "new_run_id", "descriptor_set", "check_output", "check_output_dir",
           "require_file", "not_a_knowledge_base", "next_backup", "exists", "models_root", "shown",
           "without_secrets", "grant", "WriteRefused"]
