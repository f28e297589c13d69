"""`filmkb suggest` over every stored substrate x 11 deposition temperatures x 10 thicknesses (990
candidates on the curated data) with a trained recommended model, and print the seconds it takes.

    python benchmarks/suggest_speed.py [--db FILE] [--repeats 3] [--candidates small] [--markdown FILE]

Without --db a fresh knowledge base is built and the recommended model trained first (not timed).
The job is timed in this process (imports excluded, listed separately), then the command line as a
new user runs it (Python start-up and imports included).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _markdown


def prepare(db: str | None, candidates: str) -> str:
    """The database to time: the given one, or a fresh one with a trained recommended model."""
    from filmkb.jobs import init, train

    if db:
        return db
    path = str(Path(tempfile.mkdtemp(prefix="filmkb-suggest-")) / "bench.duckdb")
    init(path)
    train(path, candidates=candidates, n_jobs=2)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="a knowledge base with a trained recommended model (default: build one)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of the job")
    parser.add_argument("--candidates", default="default", help="candidates of the model trained without --db")
    _markdown.add_option(parser)
    args = parser.parse_args()
    t0 = time.perf_counter()
    from filmkb.jobs.suggestion import suggest

    imports = time.perf_counter() - t0
    db = prepare(args.db, args.candidates)
    constraints = {"temp_c": "400:900:50", "thickness_nm": "100:1000:100"}
    jobs = []
    for i in range(args.repeats):
        res = suggest(db, constraints, goal="exploit", top=10)
        jobs.append(res.seconds)
        print(f"job {i + 1}: {res.counts['candidates']} candidates ({res.counts['substrates']} substrates x "
              f"{res.counts['temperatures']} x {res.counts['thicknesses']}) in {res.seconds:.2f} s, stored included")
    print(f"imports of the job: {imports:.2f} s")
    cmd = [str(Path(sys.executable).parent / "filmkb"), "--db", db, "suggest", "--goal", "exploit", "--format", "json"]
    t1 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    command = time.perf_counter() - t1
    print(f"command line `filmkb suggest --goal exploit --format json` (990 candidates): "
          f"{command:.2f} s wall, Python start-up and imports included")
    grid = f"{res.counts['substrates']} substrates x {res.counts['temperatures']} x {res.counts['thicknesses']}"
    _markdown.write(args.markdown, _markdown.table(["measure", "seconds"], [
        [f"the suggest job, {res.counts['candidates']} candidates ({grid}), stored included "
         f"(min-max of {len(jobs)})", f"{min(jobs):.2f}-{max(jobs):.2f}"],
        ["imports of the job", f"{imports:.2f}"],
        ["`filmkb suggest --goal exploit --format json` (Python start-up and imports included)", f"{command:.2f}"]]))


if __name__ == "__main__":
    main()
