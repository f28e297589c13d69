"""What the literature-checked substrate properties change in the models: `filmkb evaluate --models
recommended,baselines --properties paper|checked` on a fresh knowledge base, leaving out one film and one paper.

    python benchmarks/substrate_properties.py [--repeats 1] [--candidates default] [--workdir DIR] [--markdown FILE]

Prints per property set and fold type the held-out RMSE, NLL and 95 % coverage of the recommended model, the
training mean and the other baselines, which candidate the recommended model chose most often, and per
descriptor how far the checked values move it (max |change|, films changed, correlation of the two versions).
The report of `filmkb reproduce` shows the descriptor changes only (these evaluations cost two more runs).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from pathlib import Path

import _markdown

MODELS = ("recommended", "mean", "ridge", "gp", "rf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--candidates", default="default")
    parser.add_argument("--workdir", default=None)
    _markdown.add_option(parser)
    args = parser.parse_args()
    import filmkb
    from filmkb import kb
    from filmkb.jobs.evaluation import metrics_document
    from filmkb.jobs.property_changes import property_changes

    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(args.workdir or tmp) / "filmkb.duckdb")
        filmkb.init(db)
        with kb.open(db) as k:
            changes = property_changes(k)
        rows = []
        for props in ("paper", "checked"):
            for folds in ("film", "reference"):
                t = time.perf_counter()
                run_id, res = filmkb.evaluate(db, models="recommended,baselines", folds=folds, repeats=args.repeats,
                                              properties=props,
                                              recommended={"candidates": args.candidates, "n_jobs": 2})
                seconds = time.perf_counter() - t
                doc = metrics_document(run_id, res)
                choices = res.config["recommended"]["choices"]  # fold -> chosen candidate
                chosen = Counter(choices.values() if isinstance(choices, dict) else choices).most_common(1)[0]
                print(f"{props:<8} one {folds} out ({seconds:.0f} s; recommended chose {chosen[0]} in {chosen[1]} folds):")
                for model in MODELS:
                    m = doc["models"][model]
                    print(f"  {model:<12} RMSE {m['rmse']:.3f}  NLL {m['nll']:.3f}  in 95 % {m['coverage_2s']:.3f}")
                    rows.append([props, f"one {folds} out", model, f"{m['rmse']:.3f}", f"{m['nll']:.2f}",
                                 f"{m['coverage_2s']:.2f}", f"{chosen[0]} ({chosen[1]})" if model == "recommended" else ""])
        desc = [[d["descriptor"], f"{d['max_abs_change']:.4g}", f"{d['relative_to_sd']:.2f}", d["films_changed"],
                 f"{d['correlation']:.4f}"] for d in changes["descriptors"] if d["films_changed"]]
        print("descriptors the checked set changes (max |change|, / sd, films, correlation):")
        for row in desc:
            print("  " + "  ".join(str(c) for c in row))
        _markdown.write(args.markdown, "Held-out RMSE and NLL in decades of σ; \"in 95 %\" the share of films inside "
                        "the central 95 % interval; the recommended model's most frequent choice over the folds.\n\n"
                        + _markdown.table(["properties", "folds", "model", "RMSE", "NLL", "in 95 %", "chosen (folds)"],
                                          rows)
                        + f"\n\nDescriptors the checked set changes ({changes['films']} films; the others are "
                          "identical):\n\n"
                        + _markdown.table(["descriptor", "max abs change", "/ sd", "films changed", "correlation"],
                                          desc))


if __name__ == "__main__":
    main()
