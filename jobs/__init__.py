"""The application layer: every job a user runs, from the CLI or a notebook.

Each job opens the knowledge base once, moves data between kb (the database) and ml (pure
functions of matrices) and returns a result object; cli.py only parses options and prints.

    import filmkb
    filmkb.init("filmkb.duckdb")
    run = filmkb.train("filmkb.duckdb", repeats=10)
    res = filmkb.predict([{"substrate": "MgO", "deposition_temp_c": 700, "thickness_nm": 300}], db="filmkb.duckdb")
"""

from .knowledge import add_substrate, history, ingest, ingest_bib, ingest_records, init, refresh, retract
from .models import evaluate, explain, load_run, models_root, predict, stale_warning, train
from .reproduce import reproduce

__all__ = ["init", "refresh", "ingest", "ingest_records", "ingest_bib", "add_substrate", "retract", "history",
           "evaluate", "train", "predict", "explain", "load_run", "models_root", "stale_warning", "reproduce"]
