"""Time `filmkb extract` on the seed paper's text (target: under 10 s) and print how well its Table 1
drafts reproduce the curated rows in data/seed_films.csv.

    python benchmarks/extract_speed.py [--paper PATH] [--repeats N]

Three figures: the whole command as a user runs it (a fresh `filmkb` process: Python start-up,
imports, reading, drafting, writing the CSV), the first in-process call (imports of pint and pymatgen
included) and the mean of further in-process calls.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SEED = Path("/work/shared/seed/000_29cc666e3bd4078c.txt")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paper", type=Path, default=SEED, help="paper to draft from (.txt, .pdf, .html)")
    parser.add_argument("--repeats", type=int, default=5, help="in-process calls after the first")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="filmkb-extract-"))
    try:
        out = work / "drafts.csv"
        exe = shutil.which("filmkb", path=str(Path(sys.executable).parent)) or "filmkb"
        start = time.perf_counter()
        done = subprocess.run([exe, "extract", str(args.paper), "--out", str(out)], capture_output=True, text=True)
        command = time.perf_counter() - start
        if done.returncode != 0:
            sys.exit(done.stderr or done.stdout)
        print(done.stdout.strip())
        print(f"filmkb extract (fresh process, start-up included): {command:.2f} s  [target < 10 s]")

        start = time.perf_counter()
        from filmkb.ingest.datafiles import DATA_DIR
        from filmkb.ingest.extract import extract_file, field_agreement

        result = extract_file(args.paper)
        print(f"first in-process call (imports included): {time.perf_counter() - start:.2f} s")
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            extract_file(args.paper)
            times.append(time.perf_counter() - start)
        if times:
            print(f"further calls: {sum(times) / len(times):.3f} s mean of {len(times)}")
        print(f"{len(result.drafts)} rows, mean confidence {result.mean_confidence:.2f}")
        if args.paper.resolve() == SEED.resolve():
            with open(DATA_DIR / "seed_films.csv", newline="", encoding="utf-8") as handle:
                agreement = field_agreement(result.drafts, list(csv.DictReader(handle)))
            fields = ", ".join(f"{k} {v:.3f}" for k, v in agreement.items() if k not in ("overall", "matched", "rows"))
            print(f"Table 1 field agreement {agreement['overall']:.3f} ({agreement['matched']}/{agreement['rows']} "
                  f"rows matched): {fields}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
