"""Time `filmkb extract` on the seed paper's text (target: under 10 s) and print how well its Table 1
drafts reproduce the curated rows in data/seed_films.csv.

    python benchmarks/extract_speed.py [--paper PATH] [--repeats N] [--markdown FILE]

The seed paper's text is not part of the repository: give it with --paper or $FILMKB_SEED_TEXT;
without either, ../shared/seed/000_29cc666e3bd4078c.txt beside the repository is tried.

Three figures: the whole command as a user runs it (a fresh `filmkb` process: Python start-up,
imports, reading, drafting, writing the CSV), the first in-process call (imports of pint and pymatgen
included) and the mean of further in-process calls.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _markdown

SEED_NAME = "000_29cc666e3bd4078c.txt"
SEED = Path(os.environ.get("FILMKB_SEED_TEXT") or Path(__file__).resolve().parents[2] / "shared/seed" / SEED_NAME)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paper", type=Path, default=SEED, help="paper to draft from (.txt, .pdf, .html)")
    parser.add_argument("--repeats", type=int, default=5, help="in-process calls after the first")
    _markdown.add_option(parser)
    args = parser.parse_args()
    if not args.paper.is_file():
        sys.exit(f"no paper at {args.paper}: give the seed paper's text with --paper PATH or $FILMKB_SEED_TEXT")
    rows = []

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
        rows.append(["`filmkb extract` (a fresh process, start-up included)", f"{command:.2f} s"])

        start = time.perf_counter()
        from filmkb.ingest.datafiles import DATA_DIR
        from filmkb.ingest.extract import extract_file, field_agreement

        result = extract_file(args.paper)
        first = time.perf_counter() - start
        print(f"first in-process call (imports included): {first:.2f} s")
        rows.append(["first in-process call (imports included)", f"{first:.2f} s"])
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            extract_file(args.paper)
            times.append(time.perf_counter() - start)
        if times:
            print(f"further calls: {sum(times) / len(times):.3f} s mean of {len(times)}")
            rows.append([f"further calls (mean of {len(times)})", f"{sum(times) / len(times):.3f} s"])
        print(f"{len(result.drafts)} rows, mean confidence {result.mean_confidence:.2f}")
        rows.append(["rows drafted, mean confidence", f"{len(result.drafts)}, {result.mean_confidence:.2f}"])
        if args.paper.name == SEED_NAME:  # the curated rows are that paper's Table 1
            with open(DATA_DIR / "seed_films.csv", newline="", encoding="utf-8") as handle:
                agreement = field_agreement(result.drafts, list(csv.DictReader(handle)))
            fields = ", ".join(f"{k} {v:.3f}" for k, v in agreement.items() if k not in ("overall", "matched", "rows"))
            print(f"Table 1 field agreement {agreement['overall']:.3f} ({agreement['matched']}/{agreement['rows']} "
                  f"rows matched): {fields}")
            rows.append(["Table 1 fields agreeing with data/seed_films.csv",
                         f"{agreement['overall']:.1%} ({agreement['matched']}/{agreement['rows']} rows matched)"])
        _markdown.write(args.markdown, _markdown.table(["measure", "value"], rows))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
