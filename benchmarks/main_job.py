"""Time the main job (`filmkb reproduce`) step by step on a freshly built database, count how often
it opens and copies the database file, and time `predict` / `explain` on the model it trains.

    python benchmarks/main_job.py [--repeats 10] [--full] [--workdir DIR] [--markdown FILE]

The target: the default run (10 seeds) in about two minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import _markdown


def _cpu() -> float:
    """CPU seconds of this process and of its worker processes (joblib's, counted once they have ended)."""
    import os

    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True)  # the workers' time is counted when they exit
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--workdir", default=None)
    _markdown.add_option(parser)
    args = parser.parse_args()
    import filmkb

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.workdir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        db = str(work / "filmkb.duckdb")
        from filmkb.kb import db as kb_db
        from filmkb.kb import writer

        t = time.perf_counter()
        filmkb.init(db)  # the build, timed on its own; reproduce then finds the knowledge base up to date
        build = time.perf_counter() - t
        print(f"{'init (build)':>16}: {build:7.1f} s")
        opened, copied = len(kb_db.OPENED), len(writer.COPIES)
        t, cpu = time.perf_counter(), _cpu()
        res = filmkb.reproduce(db, out_dir=work / "reports", repeats=args.repeats, full=args.full, say=lambda s: None)
        total, cpu = time.perf_counter() - t, _cpu() - cpu
        for step, seconds in res.timings.items():
            print(f"{step:>16}: {seconds:7.1f} s")
        for folds, families in (res.family_timings or {}).items():  # inside each evaluation, per family
            print(f"{'  ' + folds + ' folds':>16}: " + ", ".join(f"{k.removesuffix('_s')} {v:.1f} s"
                                                              for k, v in families.items())
                  + " (the LSTM and PBP train in threads beside the rest: their seconds overlap)")
        print(f"{'reproduce total':>16}: {total:7.1f} s wall, {cpu:.0f} s of CPU (this process and its workers, "
              f"{cpu / total:.2f} cores busy on average)")
        print(f"{'database':>16}: opened {len(kb_db.OPENED) - opened} times, copied {len(writer.COPIES) - copied} "
              f"time(s) by reproduce")
        rows = [["init (build)", f"{build:.1f}"], *[[step, f"{s:.1f}"] for step, s in res.timings.items()],
                [f"reproduce total (wall; {cpu:.0f} s of CPU)", f"{total:.1f}"]]
        t = time.perf_counter()
        out = filmkb.predict([{"substrate": "MgO", "deposition_temp_c": 700, "thickness_nm": 300}], db=db, films="all")
        predict = time.perf_counter() - t
        print(f"{'predict':>16}: {predict:7.1f} s for {len(out.frame)} rows (models loaded from disk)")
        rows.append([f"predict, {len(out.frame)} rows (models loaded from disk)", f"{predict:.1f}"])
        t = time.perf_counter()
        filmkb.explain(db, run_id=res.train_run)
        print(f"{'explain again':>16}: {time.perf_counter() - t:7.1f} s")
        rows.append(["explain again (compiled)", f"{time.perf_counter() - t:.1f}"])
        _markdown.write(args.markdown, _markdown.table(["step", "seconds"], rows))


if __name__ == "__main__":
    main()
