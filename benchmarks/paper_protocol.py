"""The seed paper's full protocol, timed: every complete film left out once x R repeats,
LSTM (3200 epochs, batch size 1, 12 units, dropout 0.06) plus PBP (hidden 5, 100 epochs),
trained with the many-copies engine, against sequential ``model.fit``.

    python benchmarks/paper_protocol.py [--db PATH] [--repeats 100] [--epochs 3200]
                                        [--folds film|reference] [--arrangement features|steps]
                                        [--sequential 2] [--json OUT] [--markdown FILE]

Prints the wall time (XLA compiles included), models per second, the LOO metrics of LSTM, PBP
and the ensemble beside the paper's, and the speed-up against sequential fitting: ``--sequential``
LSTMs are fitted one at a time with ``model.fit`` at the same settings, their mean time is
extrapolated to the whole protocol. Without ``--db`` a knowledge base is built from data/ in a
temporary directory.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import _markdown




def _sequential(matrix, cfg, runs: int) -> list:
    """Seconds of `runs` one-at-a-time model.fit leave-one-out fits (the reference path)."""
    import numpy as np

    from filmkb import kb
    from filmkb.ml.lstm import fit_reference

    X, y, seq = matrix[list(kb.DESCRIPTORS)].to_numpy(), matrix[kb.TARGET].to_numpy(), []
    for i in range(runs):
        train = np.ones(len(y), bool)
        train[i] = False
        t = time.perf_counter()
        fit_reference(X[train], y[train], X[~train], cfg, seed=i)
        seq.append(time.perf_counter() - t)
        print(f"sequential model.fit #{i + 1}: {seq[-1]:.1f} s")
    return seq


def _print_metrics(metrics: dict) -> None:
    from filmkb.ml.evaluate import PAPER_METRICS

    print(f"{'model':<16}{'R2':>8}{'RMSE':>8}{'MAPE':>8}{'NLL':>9}{'cov1s':>7}{'cov2s':>7}   paper R2/RMSE/MAPE")
    for subset in ("all", "figure6"):
        print(f"-- {subset} films")
        for model, m in metrics[subset].items():
            p = PAPER_METRICS.get(model)
            ref = f"   {p['r2']:.2f} / {p['rmse']:.3f} / {p['mape']:.3f}" if p else ""
            print(f"{model:<16}{m['r2']:8.3f}{m['rmse']:8.3f}{m['mape']:8.3f}{m['nll']:9.2f}"
                  f"{m['coverage_1s']:7.2f}{m['coverage_2s']:7.2f}{ref}")


def _markdown_body(out: dict, metrics: dict) -> str:
    """The run's speed and its metrics beside the paper's, as markdown tables."""
    from filmkb.ml.evaluate import PAPER_METRICS

    speed = [[f"{out['n_lstm_models']} LSTM + {out['n_pbp_models']} PBP models, wall (compiles included)",
              f"{out['wall_s']:.1f} s ({out['models_per_s']:.1f} models/s)"],
             ["of which the LSTMs", f"{out['lstm_s']:.1f} s"], ["of which PBP", f"{out['pbp_s']:.1f} s"]]
    if "sequential_fit_s" in out:
        speed.append(["sequential `model.fit`, one LSTM (mean of the timed fits)",
                      f"{sum(out['sequential_fit_s']) / len(out['sequential_fit_s']):.1f} s"])
        speed.append(["speed-up over sequential fits, whole protocol", f"{out['speedup_wall']:.0f}x"])
    rows = []
    for subset in ("all", "figure6"):
        for model, m in metrics[subset].items():
            p = PAPER_METRICS.get(model) if subset == "all" else None
            rows.append([subset, model, f"{m['r2']:.2f}", f"{m['rmse']:.3f}", f"{m['mape']:.3f}", f"{m['nll']:.2f}",
                         f"{m['coverage_1s']:.2f} / {m['coverage_2s']:.2f}",
                         f"{p['r2']:.2f} / {p['rmse']:.3f} / {p['mape']:.3f}" if p else ""])
    return (f"{out['n_films']} films, folds {out['folds']}, {out['repeats']} repeats, {out['epochs']} epochs.\n\n"
            + _markdown.table(["measure", "value"], speed) + "\n\n"
            + _markdown.table(["films", "model", "R²", "RMSE", "MAPE", "NLL", "in 68 % / 95 %",
                               "paper R² / RMSE / MAPE"], rows))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="knowledge base (default: build one from data/ in a temp dir)")
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=3200)
    parser.add_argument("--folds", choices=["film", "reference"], default="film")
    parser.add_argument("--arrangement", choices=["features", "steps"], default="features")
    parser.add_argument("--sequential", type=int, default=2, help="model.fit runs to time (0: skip)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write the figures to this file")
    _markdown.add_option(parser)
    args = parser.parse_args(argv)

    import jax
    import numpy as np

    from filmkb import kb
    from filmkb.ml.evaluate import run_evaluation
    from filmkb.ml.lstm import PAPER

    db_path = args.db
    if db_path is None:
        from filmkb.jobs import init as init_database

        db_path = os.path.join(tempfile.mkdtemp(prefix="filmkb-bench-"), "kb.duckdb")
        init_database(db_path)
    with kb.open(db_path) as db:
        matrix = db.descriptor_matrix()
    cfg = PAPER.replace(epochs=args.epochs, arrangement=args.arrangement)
    n = len(matrix)
    print(f"{n} films, folds={args.folds}, repeats={args.repeats}, LSTM {cfg.units} units, dropout {cfg.dropout}, "
          f"{cfg.epochs} epochs, batch {cfg.batch_size}, arrangement {cfg.arrangement}; JAX devices: {len(jax.devices())}")

    seq = _sequential(matrix, cfg, args.sequential)

    t = time.perf_counter()
    res = run_evaluation(matrix, models="lstm,pbp,ensemble", repeats=args.repeats, folds=args.folds, lstm=cfg,
                         seed=args.seed)
    wall = time.perf_counter() - t
    n_folds = res.config["n_folds"]
    n_lstm = n_folds * args.repeats
    out = {"n_films": n, "folds": args.folds, "repeats": args.repeats, "epochs": cfg.epochs,
           "arrangement": cfg.arrangement, "n_lstm_models": n_lstm, "n_pbp_models": n_lstm,
           "wall_s": wall, "lstm_s": res.timings["lstm_s"], "pbp_s": res.timings["pbp_s"],
           "models_per_s": 2 * n_lstm / wall, "lstm_models_per_s": n_lstm / res.timings["lstm_s"],
           "metrics": res.metrics}
    print(f"protocol: {n_lstm} LSTM + {n_lstm} PBP models in {wall:.1f} s wall (LSTM {res.timings['lstm_s']:.1f} s, "
          f"PBP {res.timings['pbp_s']:.1f} s; compiles included) = {out['models_per_s']:.1f} models/s")
    if seq:
        per_fit = float(np.mean(seq))
        out.update(sequential_fit_s=seq, sequential_extrapolated_s=per_fit * n_lstm,
                   speedup_lstm=per_fit * n_lstm / res.timings["lstm_s"], speedup_wall=per_fit * n_lstm / wall)
        print(f"sequential model.fit: {per_fit:.1f} s/model -> {per_fit * n_lstm / 3600:.1f} h for {n_lstm} LSTMs; "
              f"speed-up {out['speedup_wall']:.0f}x on the whole protocol ({out['speedup_lstm']:.0f}x on the LSTM part)")
    _print_metrics(res.metrics)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    _markdown.write(args.markdown, _markdown_body(out, res.metrics))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
