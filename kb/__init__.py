"""The knowledge base: the DuckDB connection, queries, quality gates and stored results.

    from filmkb import kb
    db = kb.open("filmkb.duckdb")
    kb.films(db, substrate="MgO", method="PLD")
    X = kb.descriptor_matrix(db)
"""

from .api import DESCRIPTORS, TARGET, KB, descriptor_matrix, export, figure5_data, films, open, query, substrates, summary, validate  # noqa: F401,A004
from .db import KBError  # noqa: F401
