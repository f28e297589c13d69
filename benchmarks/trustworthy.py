"""The trustworthy-prediction targets, measured as a user would: `filmkb evaluate --models
recommended,ensemble,baselines` on a fresh knowledge base, leaving out one film and one paper.

    python benchmarks/trustworthy.py [--repeats 10] [--candidates default] [--workdir DIR] [--markdown FILE]

Prints per fold type RMSE / NLL / 95 % coverage of the recommended model, the training mean and the
ensemble, every target with met / missed, the worst paper's MAE excess and the seconds taken.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import _markdown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--candidates", default="default")
    parser.add_argument("--workdir", default=None)
    _markdown.add_option(parser)
    args = parser.parse_args()
    import filmkb
    from filmkb.jobs.evaluation import metrics_document

    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(args.workdir or tmp) / "filmkb.duckdb")
        filmkb.init(db)
        out = {}
        for folds in ("film", "reference"):
            t = time.perf_counter()
            run_id, res = filmkb.evaluate(db, models="recommended,ensemble,baselines", folds=folds,
                                          repeats=args.repeats, recommended={"candidates": args.candidates, "n_jobs": 2})
            seconds = time.perf_counter() - t
            doc = metrics_document(run_id, res)
            out[folds] = {"seconds": seconds, "targets": res.targets, "models": doc["models"],
                          "choices": res.config["recommended"]["choices"]}
            print(f"leave-one-{folds}-out ({seconds:.0f} s):")
            for model in ("recommended", "mean", "gp", "rf", "ensemble"):
                m = doc["models"][model]
                print(f"  {model:<12} RMSE {m['rmse']:.3f}  NLL {m['nll']:.3f}  CRPS {m['crps']:.3f}  "
                      f"in 95 % {m['coverage_2s']:.3f}  in 68 % {m['coverage_1s']:.3f}  95 % width {m['width_95']:.2f}")
            for key, value in res.targets.items():
                print(f"  target {key}: {value:.3f}" if isinstance(value, float) else
                      f"  target {key}: {'met' if value else 'MISSED'}")
        print(json.dumps({f: {"targets": v["targets"]} for f, v in out.items()}, indent=1))
        rows = [[f"one {folds} out", model, f"{m['rmse']:.3f}", f"{m['nll']:.2f}", f"{m['crps']:.3f}",
                 f"{m['coverage_1s']:.2f}", f"{m['coverage_2s']:.2f}", f"{m['width_95']:.2f}"]
                for folds, v in out.items() for model in ("recommended", "mean", "gp", "rf", "ensemble")
                for m in [v["models"][model]]]
        targets = [[f"one {folds} out", key, f"{value:.3f}" if isinstance(value, float) else
                    ("met" if value else "missed")] for folds, v in out.items() for key, value in v["targets"].items()]
        _markdown.write(args.markdown, "RMSE, NLL and CRPS in decades of σ; \"in 68 %\" and \"in 95 %\" the share "
                        "of films inside the central interval.\n\n"
                        + _markdown.table(["folds", "model", "RMSE", "NLL", "CRPS", "in 68 %", "in 95 %",
                                           "95 % width"], rows)
                        + "\n\nTargets:\n\n" + _markdown.table(["folds", "target", "value"], targets))


if __name__ == "__main__":
    main()
