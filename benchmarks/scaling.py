"""How the cost of every command grows with the films: literature-like films generated at several
sizes, each size ingested into a fresh knowledge base and every stage timed as a user runs it.

    python benchmarks/scaling.py [--sizes 100,300,1000] [--repeats 10] [--epochs N] [--workdir DIR]
                                 [--stages ingest,evaluate-film,...] [--seed 0]

The generated literature (:func:`literature`): papers with their own offset in log10 sigma (N(0, 0.4)),
2-6 films each, every paper on one or two of the shipped substrates and one shipped method, films at
spread deposition temperatures and thicknesses. The known dependence: log10 sigma = -6.3 + 0.9 (T -
500 C) / 300 - 0.4 log10(thickness / 300 nm) + 0.4 (cubic) - 0.5 (amorphous) + substrate term + paper
offset + N(0, 0.15) noise. The curated films of `filmkb init` stay in; a size counts every film of the
knowledge base (curated + generated).

Every stage is the real command line (`filmkb ...` in a new process, imports included, ~3-5 s):
ingest (of the generated template CSV), evaluate --folds film and --folds reference (default models,
`--repeats`), train (the recommended model), predict (one condition), suggest, reproduce. Prints a
table of wall seconds and one of CPU seconds (the command and its workers: what a shared machine
does not distort) per stage and size, and per stage the slope of log(seconds) against log(films)
(least squares over the sizes; 1 = linear). At more than 30 papers (ml.folds.LOO_MAX_PAPERS) the
evaluations leave out groups of papers (10-fold, grouped by paper) instead of one film or one paper.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

STAGES = ("ingest", "evaluate-film", "evaluate-reference", "train", "predict", "suggest", "reproduce")
CURATED = 26  # films of the curated seed data with complete descriptors
# (substrate as written, its term in log10 sigma), methods and phases as the shipped vocabularies spell them
SUBSTRATES = [("MgO (100)", 0.2), ("SrTiO3 (100)", 0.1), ("GGG (111)", 0.3), ("Pt/Si", -0.1), ("Si (100)", -0.3),
              ("Si3N4", -0.4), ("SiO2/Si", -0.2), ("ITO", 0.0), ("SrRuO3", 0.1)]
METHODS = ["PLD", "RF magnetron sputtering", "sol-gel spin coating", "ALD", "CVD", "PE-CVD", "DC magnetron sputtering",
           "MOCVD"]
COMPOSITIONS = ["Li7La3Zr2O12", "Li6.4La3Zr1.4Ta0.6O12", "Li6.25Ga0.25La3Zr2O12", "Li6.28Al0.24La3Zr2O12"]


def literature(n_films: int, seed: int = 0) -> list[dict]:
    """n_films template rows from papers of 2-6 films (see the module docstring for the dependence)."""
    rng = np.random.default_rng(seed)
    rows, paper = [], 0
    while len(rows) < n_films:
        paper += 1
        offset = rng.normal(0.0, 0.4)
        subs = [SUBSTRATES[i] for i in rng.choice(len(SUBSTRATES), size=rng.integers(1, 3), replace=False)]
        method, composition = METHODS[rng.integers(len(METHODS))], COMPOSITIONS[rng.integers(len(COMPOSITIONS))]
        base_t = rng.uniform(100, 900)
        for j in range(int(rng.integers(2, 7))):
            if len(rows) == n_films:
                break
            substrate, s_term = subs[j % len(subs)]
            t = float(np.clip(base_t + rng.normal(0, 120), 25, 1000))
            thickness = float(10 ** rng.uniform(1.3, 3.7))
            phase = "amorphous" if t < 400 else ("cubic" if t > 650 or rng.random() < 0.3 else "tetragonal")
            log_sigma = (-6.3 + 0.9 * (t - 500) / 300 - 0.4 * np.log10(thickness / 300)
                         + {"cubic": 0.4, "amorphous": -0.5}.get(phase, 0.0) + s_term + offset + rng.normal(0, 0.15))
            rows.append({"doi": f"10.5555/filmkb-scaling.{seed}.{paper}", "authors": f"Author{paper}, A.",
                         "year": 2000 + paper % 25, "journal": "Generated J.", "title": f"generated paper {paper}",
                         "composition": composition, "method": method, "deposition_temp_c": f"{t:.0f}",
                         "substrate": substrate, "phase": phase, "thickness_nm": f"{thickness:.1f}",
                         "conductivity_s_cm": f"{10 ** log_sigma:.4g}", "measurement_temp_c": "25",
                         "notes": f"generated film {len(rows)} (benchmarks/scaling.py)"})
    return rows


def write_csv(rows: list[dict], path: Path) -> Path:
    from filmkb.ingest.entries import TEMPLATE_COLUMNS

    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, TEMPLATE_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


CPU: dict = {}  # stage -> CPU seconds of the command and its worker processes (last size run)


def _cli(db: str, *args) -> float:
    """Seconds of one `filmkb` command in a new process (fails loudly); its CPU seconds go to CPU[args[0]]."""
    import resource

    cmd = [sys.executable, "-m", "filmkb.cli", "--db", db, *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU[args[0]] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if out.returncode:
        raise SystemExit(f"{' '.join(args[:3])} failed ({out.returncode}): {out.stderr.strip()[-2000:]}")
    return seconds


def run_size(size: int, work: Path, stages, repeats: int, epochs: int | None, seed: int) -> dict:
    """Every stage on a fresh knowledge base of `size` films; returns {stage: seconds} and the film count."""
    work.mkdir(parents=True, exist_ok=True)
    db = str(work / "filmkb.duckdb")
    for p in work.glob("filmkb.duckdb*"):
        p.unlink()
    _cli(db, "init")
    csv_path = write_csv(literature(max(size - CURATED, 0), seed), work / "films.csv")
    lstm = ["--epochs", str(epochs)] if epochs else []
    steps = {
        "ingest": ("ingest", str(csv_path)),
        "evaluate-film": ("evaluate", "--folds", "film", "--repeats", str(repeats), "--silent",
                          "--json", str(work / "film.json"), *lstm),
        "evaluate-reference": ("evaluate", "--folds", "reference", "--repeats", str(repeats), "--silent",
                               "--json", str(work / "reference.json"), *lstm),
        "train": ("train", "--silent"),
        "predict": ("predict", "--substrate", "MgO", "--temp-c", "700", "--phase", "cubic", "--thickness-nm", "300"),
        "suggest": ("suggest", "--no-store"),
        "reproduce": ("reproduce", "--out", str(work / "reports"), "--repeats", str(repeats), "--silent", *lstm),
    }
    out = {"ingest": _cli(db, *steps["ingest"])}
    cpu = {"ingest": CPU["ingest"]}
    for stage in stages:
        if stage != "ingest":
            out[stage] = _cli(db, *steps[stage])
            cpu[stage] = CPU[steps[stage][0]]
    out["cpu"] = cpu
    import duckdb

    with duckdb.connect(db, read_only=True) as con:
        out["films"] = con.execute("select count(*) from film_descriptors_complete").fetchone()[0]
    for folds in ("film", "reference"):
        path = work / f"{folds}.json"
        if path.exists():
            doc = json.loads(path.read_text())
            out[f"protocol-{folds}"] = doc.get("protocol")
            out[f"rmse-{folds}"] = {m: round(doc["models"][m]["rmse"], 3) for m in ("recommended", "mean")
                                    if m in doc["models"]}
    return out


def slope(films, seconds) -> float:
    """Least-squares slope of log(seconds) against log(films)."""
    return float(np.polyfit(np.log(films), np.log(seconds), 1)[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,300,1000", help="films per knowledge base, comma-separated")
    parser.add_argument("--repeats", type=int, default=10, help="seeds per fold (evaluate, reproduce)")
    parser.add_argument("--epochs", type=int, default=None, help="LSTM epochs (default: the paper's 3,200)")
    parser.add_argument("--stages", default=",".join(STAGES), help=f"of {', '.join(STAGES)} (ingest always runs)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    stages = [s for s in STAGES if s in args.stages.split(",")]
    work = Path(args.workdir or tempfile.mkdtemp(prefix="filmkb-scaling-"))
    os.environ.setdefault("MPLBACKEND", "Agg")
    results = {}
    for size in sizes:
        results[size] = run_size(size, work / str(size), stages, args.repeats, args.epochs, args.seed)
        print(f"{size} films: " + ", ".join(f"{k} {v:.1f} s" if isinstance(v, float) else f"{k} {v}"
                                            for k, v in results[size].items() if k != "cpu"), flush=True)
    films = [results[s]["films"] for s in sizes]
    for title, pick in (("wall seconds", lambda r, st: r[st]), ("CPU seconds (user + system, with workers)",
                                                                  lambda r, st: r["cpu"][st])):
        print(f"\n{title}\n{'stage / films':<20}" + "".join(f"{f:>10}" for f in films) + f"{'slope':>8}")
        for stage in ["ingest"] + [s for s in stages if s != "ingest"]:
            secs = [pick(results[s], stage) for s in sizes]
            print(f"{stage:<20}" + "".join(f"{t:>9.1f}s" for t in secs)
                  + (f"{slope(films, secs):>8.2f}" if len(sizes) > 1 else ""))


if __name__ == "__main__":
    main()
