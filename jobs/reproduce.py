"""The main job: build or refresh the knowledge base, validate, evaluate, train, explain, report.

It holds the writer lock for its whole run and writes all three runs (evaluation, trained
model, SHAP values) through one transaction, so the database file is opened twice (the state
check, then the job) and copied once; a failure anywhere leaves it as it was.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from .. import kb
from ..errors import FilmkbError
from ..ml.lstm import PAPER, LSTMConfig
from .knowledge import refresh
from .models import evaluate, explain, train
from .report import ReportInputs, write_report

LOCK_WAIT = 30.0


@dataclass
class ReproduceResult:
    """What the main job produced: the report, its runs and how long each step took."""

    report: Path
    status: str
    failures: list
    eval_run: str
    train_run: str
    timings: dict


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


def reproduce(db=None, out_dir="reports", repeats: int | None = None, full: bool = False, seed: int = 0,
              lstm: LSTMConfig = PAPER, models_dir=None, say=print, progress=None) -> ReproduceResult:
    """Build or refresh, validate, evaluate (leave-one-film-out), train, explain and write the report.
    repeats defaults to 10 (about two minutes on 2 cores); full=True is the paper protocol (100)."""
    path = str(db or kb.default_path())
    repeats = int(repeats or (100 if full else 10))
    clock, trained = _Clock(), None
    try:
        with kb.locked(path, LOCK_WAIT):
            status = refresh(path)
            with kb.open(path, write=True) as k:
                parts = _knowledge_base(k, status, say)
                clock.lap("build+validate")
                eval_run, evaluation = evaluate(k=k, progress=progress, repeats=repeats, lstm=lstm, seed=seed)
                clock.lap("evaluate")
                e = evaluation.metrics["all"]["ensemble"]
                say(f"evaluate ({repeats} seeds x {evaluation.n_films} folds): ensemble R2 {e['r2']:.3f}, "
                    f"RMSE {e['rmse']:.3f}, MAPE {e['mape']:.3f} (paper 0.83 / 0.414 / 0.054); run {eval_run}")
                trained = train(k=k, repeats=repeats, seed=seed, lstm=lstm, models_dir=models_dir, progress=progress)
                clock.lap("train")
                say(f"train: {repeats} LSTM + {repeats} PBP members on {trained.n_films} films -> {trained.directory}")
                explanation = explain(k=k, run_id=trained.run_id)
                clock.lap("explain")
    except BaseException:
        if trained is not None:  # its run was never committed: do not leave its files behind
            shutil.rmtree(trained.directory, ignore_errors=True)
        raise
    top = explanation.values.abs().mean().sort_values(ascending=False)
    say("explain: mean |SHAP| " + ", ".join(f"{d} {v:.3f}" for d, v in top.head(3).items()) + ", ...")
    report = write_report(out_dir, ReportInputs(path, status, evaluation=evaluation, eval_run=eval_run, train=trained,
                                                explanation=explanation, timings=clock.timings, full=full, **parts))
    clock.lap("report")
    return ReproduceResult(report, status, parts["failures"], eval_run, trained.run_id, clock.timings)
