"""filmkb: a knowledge base and ML toolkit for ionic conductivity of garnet thin films.

The repository root is the package; see README.md for the data flow
(ingest -> schema tables -> SQL views -> descriptor matrix -> ml -> stored back).
The jobs (`filmkb.init`, `filmkb.ingest`, `filmkb.evaluate`, `filmkb.train`, `filmkb.predict`,
`filmkb.explain`, `filmkb.suggest`, `filmkb.reproduce`, ...) are imported on first use, so `import filmkb` stays light.
"""

__version__ = "0.1.0"

_JOBS = frozenset({"init", "refresh", "ingest", "ingest_records", "ingest_bib", "add_substrate", "add_method", "retract",
                   "history", "extract", "evaluate", "train", "predict", "explain", "load_run", "models_root",
                   "stale_warning", "reproduce", "export", "replay", "suggest", "stored_suggestions"})


def __getattr__(name):
    """filmkb.train / filmkb.predict / ... : the jobs of filmkb.jobs, imported on first use."""
    if name in _JOBS:
        from . import jobs

        return getattr(jobs, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _ml_suggest(db, constraints=None, goal: str = "balanced", top: int = 10, **options):
    """`filmkb.ml.suggest(db, constraints, goal=..., top=...)` -> DataFrame, the suggest issue's API name:
    the suggest job (filmkb.jobs.suggestion.suggest_frame), attached here, on the top floor, so that ml
    itself never imports the application layer."""
    from .jobs.suggestion import suggest_frame

    return suggest_frame(db, constraints, goal=goal, top=top, **options)


from . import ml as _ml  # noqa: E402  (light: it only configures JAX's environment)

_ml.suggest = _ml_suggest
