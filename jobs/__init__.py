"""The application layer: every job a user runs, from the CLI or a notebook.

Each job opens the knowledge base once, moves data between kb (the database) and ml (pure
functions of matrices) and returns a result object; cli.py only parses options and prints.

    import filmkb
    filmkb.init("filmkb.duckdb")
    run = filmkb.train("filmkb.duckdb")                      # the recommended model
    res = filmkb.predict([{"substrate": "MgO", "deposition_temp_c": 700, "thickness_nm": 300}], db="filmkb.duckdb")
"""

from .evaluation import evaluate
from .explanation import explain
from .extraction import extract
from .knowledge import add_method, add_substrate, history, ingest, ingest_bib, ingest_records, init, refresh, retract
from .prediction import predict
from .reproduce import reproduce
from .runs import load_run, models_root, stale_warning
from .training import train

__all__ = ["init", "refresh", "ingest", "ingest_records", "ingest_bib", "add_substrate", "add_method", "retract",
           "history", "extract", "evaluate", "train", "predict", "explain", "load_run", "models_root", "stale_warning",
           "reproduce"]
