"""The main job: build or refresh the knowledge base, validate, evaluate every model on both fold
types, train the recommended model and the paper's ensemble, explain, study, write the report.

It holds the writer lock for its whole run and writes all its runs (two evaluations, two trained
models, SHAP values) through one transaction, so the database file is opened twice (the state
check, then the job) and copied once; a failure anywhere leaves it as it was.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import kb
from ..errors import FilmkbError
from ..ml.lstm import PAPER, LSTMConfig
from ..schema.descriptors import MODEL_COLUMNS, PAPER7, TARGET
from . import properties as substrate_properties
from .evaluation import evaluate
from .explanation import explain
from .knowledge import refresh
from .property_changes import property_changes
from .report import ReportInputs, write_report
from .training import train

LOCK_WAIT = 30.0
FOLDS = ("film", "reference")
REPORT_FILES = ("report.md", "summary.json", "figures/*.png")  # what write_report writes into --out


@dataclass
class ReproduceResult:
    """What the main job produced: the report, its runs and how long each step took."""

    report: Path
    status: str
    failures: list
    eval_run: str
    train_run: str
    timings: dict
    eval_runs: dict = None
    recommended_run: str = ""
    family_timings: dict = None  # folds -> seconds per model family inside that evaluation


class _Clock:
    """Seconds per named step, in order."""

    def __init__(self):
        self.timings, self.t = {}, time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.timings[step], self.t = now - self.t, now


def _knowledge_base(k, status: str, say) -> dict:
    """Validate and summarise the knowledge base for the report; stop on any validation failure."""
    parts = dict(failures=k.validate(), info=k.summary(), substrates=k.substrates(), figure5=k.figure5_data(),
                 film_labels=k.film_labels())
    failures, info = parts["failures"], parts["info"]
    say(f"knowledge base {k.path}: {status}; {info['complete_descriptor_rows']} films with complete descriptors; "
        f"validation: {'all expectations met' if not failures else f'{len(failures)} failures'}")
    if failures:
        raise FilmkbError(f"{k.path}: {len(failures)} validation failures, first: {failures[0]}; fix the data and rerun")
    return parts


def _learning_curve(k, seed: int, n_jobs: int, candidates) -> list:
    """RMSE of the recommended procedure and of the training mean against the number of training papers."""
    from ..ml.evaluate import recommended_model
    from ..ml.studies import learning_curve

    matrix = k.model_matrix(gaps=True)  # as the recommended model is trained: every film with a conductivity
    X, y = matrix[list(MODEL_COLUMNS)].to_numpy(dtype=np.float64), matrix[TARGET].to_numpy(dtype=np.float64)
    model = recommended_model(seed=seed, n_jobs=n_jobs, candidates=candidates)
    return learning_curve(model, X, y, matrix["reference_id"].to_numpy(), sizes=(4, 8, 12), draws=2, seed=seed)


PAPER_FOLD_SEEDS = 10  # seeds per fold leaving papers out under --full (the paper's 100 are for films out)


def _seeds(folds: str, repeats: int, full: bool) -> int:
    """Seeds per fold: `repeats`, except that --full leaves papers out with at most PAPER_FOLD_SEEDS. The
    paper's protocol (100 seeds) is leave-one-film-out; leaving papers out is ours, and its LSTM copies
    (16 folds x 100 seeds x 3,200 epochs) would cost more than the whole paper protocol."""
    return min(repeats, PAPER_FOLD_SEEDS) if full and folds == "reference" else repeats


def _paper_lstm(k, repeats: int, seed: int, lstm: LSTMConfig, progress, full: bool, folds_k=None):
    """Start every paper-LSTM copy the job trains (with --full the leave-one-paper-out copies first,
    then the leave-one-film-out copies and the final model's members) in one background thread, one
    engine call after another; the other steps run beside it."""
    from ..ml.folds import Layout
    from ..ml.members import member_seeds
    from ..ml.neural import LSTMBatch

    matrix = k.model_matrix()
    X, y = matrix[list(PAPER7)].to_numpy(dtype=np.float64), matrix[TARGET].to_numpy(dtype=np.float64)
    folds = [f for f in ("reference", "film") if "lstm" in _models(f, full).split(",")]  # the film layout last
    layouts = [Layout.of(matrix, f, _seeds(f, repeats, full), seed, folds_k) for f in folds]
    return LSTMBatch(lstm, X, y, layouts, member_seeds(seed, repeats), progress)


def _models(folds: str, full: bool) -> str:
    """Every model on the paper's folds; leaving papers out, the LSTM and the ensemble only with --full
    (their 3,200-epoch members cost ~0.2 s each: 160 more per 10 seeds)."""
    if folds == "film" or full:
        return "lstm,pbp,ensemble,baselines,recommended"
    return "pbp,baselines,recommended"


def _say_evaluation(say, folds, repeats, run_id, res) -> None:
    m = res.metrics["all"]
    line = ", ".join(f"{name} RMSE {m[name]['rmse']:.3f}" for name in ("recommended", "ensemble", "mean") if name in m)
    from ..ml.folds import describe

    say(f"evaluate {describe(res.config.get('protocol'), folds)} ({repeats} seeds): {line}; 95 % coverage recommended "
        f"{m['recommended']['coverage_2s']:.2f}; run {run_id}")


def reproduce(db=None, out_dir="reports", repeats: int | None = None, full: bool = False, seed: int = 0,
              lstm: LSTMConfig = PAPER, models_dir=None, say=print, progress=None, n_jobs: int = 2,
              candidates="default", folds_k: int | None = None, properties: str | None = None) -> ReproduceResult:
    """Build or refresh, validate, evaluate (both fold types), train, explain and write the report.
    repeats defaults to 10 (about two minutes on 2 cores); full=True is the paper protocol (100).
    properties: the substrate property set every step uses ('paper', the default, or 'checked'); the report
    shows what the checked set changes either way."""
    path = str(db or kb.default_path())
    kb.check_output_dir(out_dir, path, REPORT_FILES)
    if models_dir is not None:
        kb.check_output_dir(models_dir, path, ())
    repeats = int(repeats or (100 if full else 10))
    clock, trained = _Clock(), {}
    try:
        with kb.locked(path, LOCK_WAIT):
            status = refresh(path)
            with kb.open(path, write=True) as k:
                substrate_properties.use(k, properties)
                batch = _paper_lstm(k, repeats, seed, lstm, progress, full, folds_k)  # trains while validation runs
                parts = _knowledge_base(k, status, say)
                parts["property_changes"] = property_changes(k)
                clock.lap("build+validate")
                evaluations, studies, explanation = _steps(k, clock, trained, say, progress, repeats, full, seed,
                                                           lstm, models_dir, n_jobs, candidates, batch, folds_k)
    except BaseException:
        for t in trained.values():  # their runs were never committed: do not leave their files behind
            shutil.rmtree(t.directory, ignore_errors=True)
        raise
    top = explanation.values.abs().mean().sort_values(ascending=False)
    say("explain: mean |SHAP| " + ", ".join(f"{d} {v:.3f}" for d, v in top.head(3).items()) + ", ...")
    eval_run, evaluation = evaluations["film"]
    report = write_report(out_dir, ReportInputs(kb.shown(path), status, evaluation=evaluation, eval_run=eval_run,
                                                train=trained["paper"], explanation=explanation, timings=clock.timings,
                                                full=full, evaluations=evaluations, recommended=trained["recommended"],
                                                studies=studies, **parts))
    clock.lap("report")
    return ReproduceResult(report, status, parts["failures"], eval_run, trained["paper"].run_id, clock.timings,
                           {f: r for f, (r, _) in evaluations.items()}, trained["recommended"].run_id,
                           {f: dict(res.timings) for f, (_, res) in evaluations.items()})


def _steps(k, clock, trained, say, progress, repeats, full, seed, lstm, models_dir, n_jobs, candidates, batch,
           folds_k=None):
    """Every model step, ordered so that the paper LSTM's one long engine call (`batch`, started first,
    in a thread) overlaps the rest: papers left out, the recommended model, the learning curve, then
    the films left out and the paper's ensemble, which wait for it. Fills `trained` as models are saved."""
    from ..ml.studies import leaky_pick

    evaluations = {}

    def evaluated(folds: str, step: str):
        seeds = _seeds(folds, repeats, full)
        evaluations[folds] = evaluate(k=k, progress=progress, repeats=seeds, lstm=lstm, seed=seed, folds=folds,
                                      recommended={"n_jobs": n_jobs, "candidates": candidates},
                                      models=_models(folds, full), lstm_batch=batch, folds_k=folds_k,
                                      properties=k.properties)
        _say_evaluation(say, folds, seeds, *evaluations[folds])
        clock.lap(step)

    evaluated("reference", "evaluate papers")
    trained["recommended"] = train(k=k, model="recommended", seed=seed, models_dir=models_dir, n_jobs=n_jobs,
                                   candidates=candidates, properties=k.properties)
    clock.lap("train recommended")
    curve = _learning_curve(k, seed, n_jobs, candidates)
    clock.lap("learning curve")
    evaluated("film", "evaluate films")
    trained["paper"] = train(k=k, model="paper", repeats=repeats, seed=seed, lstm=lstm, models_dir=models_dir,
                             progress=progress, lstm_batch=batch, properties=k.properties)
    clock.lap("train paper")
    say(f"train: {repeats} LSTM + {repeats} PBP members -> {trained['paper'].directory}; recommended model "
        f"({trained['recommended'].config['chosen']} + paper offsets) -> {trained['recommended'].directory}")
    explanation = explain(k=k, trained=trained["paper"])
    clock.lap("explain")
    evaluations = {f: evaluations[f] for f in FOLDS}
    leaky = {f: leaky_pick(res.config["recommended"]["candidate_rmse"]) for f, (_, res) in evaluations.items()}
    return evaluations, {"learning_curve": curve, "leaky": leaky}, explanation
