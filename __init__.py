"""filmkb: a knowledge base and ML toolkit for ionic conductivity of garnet thin films.

The repository root is the package; see README.md for the data flow
(ingest -> schema tables -> SQL views -> descriptor matrix -> ml -> stored back).
The jobs (`filmkb.init`, `filmkb.ingest`, `filmkb.evaluate`, `filmkb.train`, `filmkb.predict`,
`filmkb.explain`, `filmkb.reproduce`, ...) are imported on first use, so `import filmkb` stays light.
"""

__version__ = "0.1.0"

_JOBS = frozenset({"init", "refresh", "ingest", "ingest_records", "ingest_bib", "add_substrate", "add_method", "retract",
                   "history", "extract", "evaluate", "train", "predict", "explain", "load_run", "models_root",
                   "stale_warning", "reproduce", "export", "replay"})


def __getattr__(name):
    """filmkb.train / filmkb.predict / ... : the jobs of filmkb.jobs, imported on first use."""
    if name in _JOBS:
        from . import jobs

        return getattr(jobs, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
