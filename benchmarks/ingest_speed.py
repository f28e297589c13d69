"""Ingest N generated film entries (with units and Unicode, as papers print them) into a fresh
knowledge base, validation included, and print entries per second.

    python benchmarks/ingest_speed.py [--n 10000] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import csv
import random
import tempfile
import time
from pathlib import Path

import _markdown
from filmkb.ingest.entries import TEMPLATE_COLUMNS
from filmkb.jobs import ingest as ingest_files
from filmkb.jobs import init as init_database

SUBSTRATES = ["MgO (100)", "STO (100)", "SrTiO3", "GGG (111)", "Si-Pt", "Pt", "Si3N4", "ITO", "SiO2-Si"]
METHODS = ["PLD", "pulsed laser deposition", "RF sputtering", "RF magnetron sputtering", "sol-gel spin coating",
           "ALD", "CVD", "PE-CVD", "LA-CVD"]
COMPOSITIONS = ["Li₇La₃Zr₂O₁₂", "LLZO", "LLZTO", "Ga-LLZO", "Al-LLZO", "Li6.4La3Zr1.4Ta0.6O12", "Li6.25Ga0.25La3Zr2O12"]
PHASES = ["cubic", "c-LLZO", "t-LLZO", "amorphous", "c-LLZO + t-LLZO"]


def generate(path: Path, n: int, seed: int = 0) -> None:
    """n distinct entries across n/10 DOIs, cells written with mixed units."""
    rng = random.Random(seed)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, TEMPLATE_COLUMNS)
        writer.writeheader()
        for i in range(n):
            t = rng.uniform(25, 950)
            writer.writerow({
                "doi": f"https://doi.org/10.5555/bench.{i // 10}", "composition": rng.choice(COMPOSITIONS),
                "method": rng.choice(METHODS), "substrate": rng.choice(SUBSTRATES), "phase": rng.choice(PHASES),
                "deposition_temp_c": f"{t:.1f} °C" if i % 2 else f"{t + 273.15:.2f} K",
                "thickness_nm": f"{rng.uniform(0.02, 5):.4f} µm" if i % 3 else f"{rng.uniform(20, 5000):.1f}",
                "conductivity_s_cm": f"{10 ** rng.uniform(-9, -5) * 1e3:.4g} mS/cm",
                "measurement_temp_c": "" if i % 4 else "25 °C", "notes": f"generated entry {i}",
            })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="entries to generate")
    parser.add_argument("--workdir", help="where to put the database and CSV (default: a temp dir)")
    _markdown.add_option(parser)
    args = parser.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="filmkb-bench-"))
    db, csv_path = str(work / "bench.duckdb"), work / "entries.csv"
    generate(csv_path, args.n)
    init_database(db)
    start = time.perf_counter()
    report = ingest_files(db, [str(csv_path)])
    seconds = time.perf_counter() - start
    print(f"ingested {report.counts['added']} of {args.n} entries in {seconds:.2f} s "
          f"({args.n / seconds:,.0f} entries/s; validation + one transaction included)")
    again = time.perf_counter()
    report = ingest_files(db, [str(csv_path)])
    repeat = time.perf_counter() - again
    print(f"re-ingest of the same file: {report.counts['duplicates']} duplicates found, nothing added, "
          f"{repeat:.2f} s")
    _markdown.write(args.markdown, _markdown.table(
        ["run", "entries", "seconds", "entries/s"],
        [["first ingest (validation and one transaction included)", f"{args.n:,}", f"{seconds:.2f}",
          f"{args.n / seconds:,.0f}"],
         ["the same file again (every entry found as a duplicate)", f"{args.n:,}", f"{repeat:.2f}",
          f"{args.n / repeat:,.0f}"]]))


if __name__ == "__main__":
    main()
