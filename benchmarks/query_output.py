"""`filmkb query` on a large result in each format, and print the seconds it takes.

    python benchmarks/query_output.py [--db FILE] [--rows 3000000] [--repeats 3] [--markdown FILE]

The command line runs as a new user runs it (Python start-up and imports included), its output read
through a pipe and counted. The table stops at --max-rows (default 1,000) and counts the rest for its
note; csv and json write every row as it is fetched. Without --db a fresh knowledge base is built
(not timed).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _markdown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="a knowledge base (default: build one)")
    parser.add_argument("--rows", type=int, default=3_000_000, help="rows of SELECT * FROM range(N)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per format")
    _markdown.add_option(parser)
    args = parser.parse_args()
    db = args.db
    if not db:
        from filmkb.jobs import init

        db = str(Path(tempfile.mkdtemp(prefix="filmkb-query-")) / "bench.duckdb")
        init(db)
    sql = f"SELECT range AS n, 'row ' || range AS label FROM range({args.rows})"
    print(f"{sql}: best of {args.repeats} runs of the command line")
    rows = []
    for fmt in ("table", "csv", "json"):
        best, size = float("inf"), 0
        for _ in range(args.repeats):
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "filmkb.cli", "--db", db, "query", sql, "--format", fmt],
                                  capture_output=True, env=os.environ, check=True)
            best, size = min(best, time.perf_counter() - start), len(done.stdout)
        print(f"  {fmt:5s}  {best:6.2f} s  {size / 2**20:8.1f} MiB written")
        rows.append([f"`--format {fmt}`", f"{best:.2f}", f"{size / 2**20:.1f}"])
    _markdown.write(args.markdown, _markdown.table(
        ["format", f"seconds (best of {args.repeats} runs of the command line)", "MiB written"], rows)
        + f"\n\n`filmkb query \"{sql}\" --format FORMAT`, each run a fresh process (Python start-up and "
          "imports included); the table stops at --max-rows (default 1,000), csv and json write every row.")


if __name__ == "__main__":
    main()
