"""The evaluate job: leave-one-out evaluation of every model family, stored as a run."""

from __future__ import annotations

from .. import kb
from ..schema.descriptors import DEFAULT_SET
from . import properties as substrate_properties
from .runs import WRITE_WAIT, matrix_hash, opened

__all__ = ["evaluate", "metrics_document"]


def evaluate(db=None, progress=None, k=None, on_total=None, descriptors: str = DEFAULT_SET,
             properties: str | None = None, **options):
    """Leave-one-out evaluation (:func:`filmkb.ml.evaluate.run_evaluation` options) of the
    database's films, stored as an 'evaluate' run with its predictions. Returns (run_id, EvalResult).
    descriptors: the set the paper's families and the baselines use (the recommended model
    chooses its own). properties: the substrate property set ('paper', the default, or 'checked'), recorded
    in the run config. progress(n) counts fitted models; on_total(n) first hears how many."""
    from ..ml.evaluate import DEFAULT_MODELS, run_evaluation, work_units
    from ..ml.folds import default_seeds, make_folds, protocol
    from ..schema.descriptors import MODEL_COLUMNS

    columns = kb.descriptor_set(descriptors).columns
    with opened(db, k) as k:
        k.require_write()  # a server's reader is refused before the evaluation, not after
        used = substrate_properties.use(k, properties)
        matrix = k.model_matrix(gaps=True)  # films with a gap too: the paper's families take the complete ones
        if on_total is not None and len(matrix):
            n_folds = len(make_folds(matrix, options.get("folds", "film"), options.get("folds_k"))[1])
            seeds = options.get("repeats") or default_seeds(protocol(matrix, options.get("folds", "film"),
                                                                     options.get("folds_k")))
            on_total(work_units(n_folds, seeds, options.get("models", DEFAULT_MODELS),
                                options.get("tune", False), options.get("tune_trials", 12)))
        res = run_evaluation(matrix, progress=progress, descriptors=columns, **options)
        res.config[substrate_properties.CONFIG_KEY] = used
        run_id = kb.new_run_id("evaluate")
        hashed = MODEL_COLUMNS if "recommended" in res.config["models"] else columns
        with k.transaction(WRITE_WAIT):
            k.store_run(run_id, "evaluate", res.config, matrix_hash(matrix, hashed), res.n_films,
                        {**res.metrics, "seconds": res.seconds, "timings": res.timings, "targets": res.targets},
                        predictions=res.predictions)
    return run_id, res


def metrics_document(run_id: str, res, subset: str = "all") -> dict:
    """The metrics JSON of `filmkb evaluate --json`: per model (top level and under "models") the
    metrics of `subset`, every subset under "subsets", the targets, config, timings, the paper's figures,
    and the protocol that ran ("protocol": folds, scheme leave-one-out or group-k-fold, k, groups)."""
    from ..ml.evaluate import PAPER_METRICS
    from ..ml.metrics import METRIC_KEYS

    shown = res.metrics[subset]
    extra = ("rmse_seed_mean", "rmse_seed_se", "films_used")
    pick = lambda v, first=(): {k: v[k] for k in (*first, *METRIC_KEYS, *extra) if k in v}  # noqa: E731
    doc = {"run_id": run_id, "n_films": int(shown[next(iter(shown))]["n"]), "n_films_complete": res.n_films,
           "seconds": res.seconds, "folds": res.config["folds"], "protocol": res.config.get("protocol"),
           "repeats": res.config["repeats"], "subset": subset,
           "tune": res.config["tune"], "seed": res.config["seed"], "config": res.config,
           "models": {m: pick(v) for m, v in shown.items()},
           "subsets": {s: {m: pick(v, ("n",)) for m, v in ms.items()} for s, ms in res.metrics.items()},
           "targets": res.targets, "paper": PAPER_METRICS, "timings": res.timings}
    doc.update({m: doc["models"][m] for m in doc["models"]})
    return doc
