"""The application layer: every job a user runs, from the CLI or a notebook.

Each job opens the knowledge base once, moves data between kb (the database) and ml (pure
functions of matrices) and returns a result object; cli.py only parses options and prints.

    import filmkb
    filmkb.init("filmkb.duckdb")
    run = filmkb.train("filmkb.duckdb")                      # the recommended model
    res = filmkb.predict([{"substrate": "MgO", "deposition_temp_c": 700, "thickness_nm": 300}], db="filmkb.duckdb")
"""

from importlib import import_module

_HOMES = {
    "evaluate": "evaluation", "explain": "explanation", "extract": "extraction", "predict": "prediction",
    "reproduce": "main_job", "train": "training", "load_run": "runs", "models_root": "runs", "stale_warning": "runs",
    "export": "exchange", "replay": "exchange", "suggest": "suggestion", "suggest_frame": "suggestion",
    "stored_suggestions": "suggestion", "copy": "copying", "model_families": "catalog", "descriptor_sets": "catalog",
    **dict.fromkeys(("init", "refresh", "ingest", "ingest_records", "ingest_bib", "add_substrate", "add_method",
                     "retract", "history", "audit", "grant"), "knowledge"),
}
__all__ = list(_HOMES)


def __getattr__(name):
    """Each job imported from its module on first use, so a light command does not load the heavy ones."""
    if name in _HOMES:
        job = getattr(import_module(f".{_HOMES[name]}", __name__), name)
        globals()[name] = job
        return job
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
