"""How the cost of every command grows with the films, on generated literature at 100, 300 and 1,000 films.

Literature-like films are generated at several sizes, each size ingested into a fresh knowledge base
and every stage timed as a user runs it.

    python benchmarks/scaling.py [--sizes 100,300,1000] [--repeats 10] [--epochs N] [--workdir DIR]
                                 [--stages ingest,evaluate-film,...] [--seed 0] [--markdown FILE]

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
(least squares over the sizes; 1 = linear), and reproduce's own steps (the seconds it prints) at each
size. At more than 30 papers (ml.folds.LOO_MAX_PAPERS) the evaluations leave out groups of films or
papers (10-fold, grouped by film or paper) instead of one film or one paper. Targets at 1,000 films:
evaluate --folds reference at most 300 s, reproduce at most 600 s, every slope at most 1.3. The machine's
1-minute load average is recorded at each stage's start and end: on a shared machine wall seconds
stretch with it, CPU seconds much less.
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

import _markdown

STAGES = ("ingest", "evaluate-film", "evaluate-reference", "train", "predict", "suggest", "reproduce")
CURATED = 26  # films of the curated seed data with complete descriptors
# (substrate as written, its term in log10 sigma), methods and phases as the shipped vocabularies spell them
SUBSTRATES = [("MgO (100)", 0.2), ("SrTiO3 (100)", 0.1), ("GGG (111)", 0.3), ("Pt/Si", -0.1), ("Si (100)", -0.3),
              ("Si3N4", -0.4), ("SiO2/Si", -0.2), ("ITO", 0.0), ("SrRuO3", 0.1)]
METHODS = ["PLD", "RF magnetron sputtering", "sol-gel spin coating", "ALD", "CVD", "PE-CVD", "DC magnetron sputtering",
           "MOCVD"]
COMPOSITIONS = ["Li7La3Zr2O12", "Li6.4La3Zr1.4Ta0.6O12", "Li6.25Ga0.25La3Zr2O12", "Li6.28Al0.24La3Zr2O12"]


def literature(n_films: int, seed: int = 0, truth: list | None = None) -> list[dict]:
    """n_films template rows from papers of 2-6 films (see the module docstring for the dependence).
    truth: if given, receives per row its paper number, noiseless log10 sigma without the paper offset,
    and the offset (benchmarks/known_signal.py scores against them)."""
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
            signal = (-6.3 + 0.9 * (t - 500) / 300 - 0.4 * np.log10(thickness / 300)
                      + {"cubic": 0.4, "amorphous": -0.5}.get(phase, 0.0) + s_term)
            log_sigma = signal + offset + rng.normal(0, 0.15)
            if truth is not None:
                truth.append({"paper": paper, "signal": float(signal), "offset": float(offset)})
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
OUT: dict = {}  # stage -> standard output of its last command
LOAD: dict = {}  # stage -> 1-minute load average at the command's start and end
TARGETS = {"evaluate-reference": 300.0, "reproduce": 600.0}  # wall seconds at 1,000 films
MAX_SLOPE = 1.3


def _cli(db: str, *args) -> float:
    """Seconds of one `filmkb` command in a new process (fails loudly); its CPU seconds go to CPU[args[0]]."""
    import resource

    cmd = [sys.executable, "-m", "filmkb.cli", "--db", db, *args]
    before, load = resource.getrusage(resource.RUSAGE_CHILDREN), os.getloadavg()[0]
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU[args[0]] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    OUT[args[0]], LOAD[args[0]] = out.stdout, (load, os.getloadavg()[0])
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
    cpu, load = {"ingest": CPU["ingest"]}, {"ingest": LOAD["ingest"]}
    for stage in stages:
        if stage != "ingest":
            out[stage] = _cli(db, *steps[stage])
            cpu[stage], load[stage] = CPU[steps[stage][0]], LOAD[steps[stage][0]]
    out["cpu"], out["load"] = cpu, load
    if "reproduce" in stages:
        out["steps"] = reproduce_steps(OUT["reproduce"])
    import duckdb

    with duckdb.connect(db, read_only=True) as con:
        out["films"] = con.execute("select count(*) from film_descriptors_complete").fetchone()[0]
    summary = work / "reports" / "summary.json"
    if "reproduce" in stages and summary.exists():
        doc = json.loads(summary.read_text())
        out["explain-bounds"] = doc.get("explain_bounds")
        for folds, plan in (doc.get("protocol") or {}).items():
            out[f"protocol-{folds}"] = plan
    for folds in ("film", "reference"):
        path = work / f"{folds}.json"
        if path.exists():
            doc = json.loads(path.read_text())
            out[f"protocol-{folds}"] = doc.get("protocol")
            out[f"rmse-{folds}"] = {m: round(doc["models"][m]["rmse"], 3) for m in ("recommended", "mean")
                                    if m in doc["models"]}
    return out


def reproduce_steps(stdout: str) -> dict:
    """{step: seconds} from reproduce's last line, 'report written to ... (build+validate 3 s, ...)'."""
    import re

    line = next((ln for ln in reversed(stdout.splitlines()) if ln.startswith("report written to")), "")
    inner = line[line.rfind("(") + 1:line.rfind(")")] if "(" in line else ""
    return {m.group(1).strip(): float(m.group(2)) for m in re.finditer(r"([^,]+?) (\d+(?:\.\d+)?) s(?:,|$)", inner.strip())}


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
    _markdown.add_option(parser)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    stages = [s for s in STAGES if s in args.stages.split(",")]
    work = Path(args.workdir or tempfile.mkdtemp(prefix="filmkb-scaling-"))
    os.environ.setdefault("MPLBACKEND", "Agg")
    results = {}
    for size in sizes:
        results[size] = run_size(size, work / str(size), stages, args.repeats, args.epochs, args.seed)
        print(f"{size} films: " + ", ".join(f"{k} {v:.1f} s" if isinstance(v, float) else f"{k} {v}"
                                            for k, v in results[size].items() if k not in ("cpu", "load")), flush=True)
    films = [results[s]["films"] for s in sizes]
    stage_list = ["ingest"] + [s for s in stages if s != "ingest"]
    tables = []
    for title, pick in (("wall seconds", lambda r, st: r[st]), ("CPU seconds (user + system, with workers)",
                                                                  lambda r, st: r["cpu"][st])):
        print(f"\n{title}\n{'stage / films':<20}" + "".join(f"{f:>10}" for f in films) + f"{'slope':>8}")
        rows = []
        for stage in stage_list:
            secs = [pick(results[s], stage) for s in sizes]
            k = slope(films, secs) if len(sizes) > 1 else float("nan")
            print(f"{stage:<20}" + "".join(f"{t:>9.1f}s" for t in secs) + (f"{k:>8.2f}" if len(sizes) > 1 else ""))
            rows.append([stage, *[f"{t:.1f}" for t in secs], f"{k:.2f}" if len(sizes) > 1 else ""])
        tables.append((title, rows))
    steps = {s: results[s].get("steps", {}) for s in sizes}
    names = list(dict.fromkeys(n for s in sizes for n in steps[s]))
    if names:
        print(f"\nreproduce's steps (seconds it prints)\n{'step / films':<20}" + "".join(f"{f:>10}" for f in films))
        for n in names:
            print(f"{n:<20}" + "".join(f"{steps[s].get(n, float('nan')):>9.0f}s" for s in sizes))
    _markdown.write(args.markdown, markdown(results, sizes, films, stage_list, tables, steps, names, args))


def markdown(results, sizes, films, stage_list, tables, steps, names, args) -> str:
    """The wall and CPU tables with their slopes, reproduce's steps, the load and the protocols."""
    big = sizes.index(max(sizes))
    parts = []
    for title, rows in tables:
        header = ["stage", *[f"{f} films" for f in films], "slope"]
        if title == "wall seconds":
            header.append(f"target ({films[big]} films)")
            rows = [r + [("; ".join(filter(None, [
                (f"<= {TARGETS[r[0]]:.0f} s: {'met' if results[sizes[big]][r[0]] <= TARGETS[r[0]] else 'NOT met'}"
                 if r[0] in TARGETS else ""),
                (f"slope <= {MAX_SLOPE}: {'met' if float(r[-1]) <= MAX_SLOPE else 'NOT met'}" if r[-1] else "")])))]
                    for r in rows]
        parts.append(f"**{title[0].upper() + title[1:]}**\n\n" + _markdown.table(header, rows))
    if names:
        parts.append("**`reproduce`, its steps** (seconds, as it prints them)\n\n" + _markdown.table(
            ["step", *[f"{f} films" for f in films]],
            [[n, *[f"{steps[s][n]:.0f}" if n in steps[s] else "" for s in sizes]] for n in names]))
    load = "; ".join(f"{f} films " + ", ".join(f"{st} {results[s]['load'][st][0]:.1f}->{results[s]['load'][st][1]:.1f}"
                                                   for st in stage_list) for f, s in zip(films, sizes))
    protocols = "; ".join(f"{f} films: " + ", ".join(
        f"--folds {k} {results[s][f'protocol-{k}']['scheme']}"
        + (f" (K={results[s][f'protocol-{k}']['k']}, {results[s][f'protocol-{k}']['papers']} papers)"
           if results[s][f"protocol-{k}"].get("k") else "")
        + (f", RMSE recommended {results[s][f'rmse-{k}'].get('recommended')} / mean {results[s][f'rmse-{k}'].get('mean')}"
           if results[s].get(f"rmse-{k}") else "")
        for k in ("film", "reference") if results[s].get(f"protocol-{k}")) for f, s in zip(films, sizes))
    epochs = args.epochs or "the paper's 3,200"
    notes = [f"Seeds per fold {args.repeats}, LSTM epochs {epochs}; slope: least squares "
             "of log(seconds) against log(films); every stage a cold `filmkb` process.",
             f"1-minute load average at each stage's start -> end ({os.cpu_count()} cores; above the core count the "
             f"wall seconds stretch, the CPU seconds much less): {load}."]
    if any(results[s].get(f"protocol-{k}") for s in sizes for k in ("film", "reference")):
        notes.append(f"Protocols: {protocols}.")
    bounds = [(f, results[s].get("explain-bounds")) for f, s in zip(films, sizes) if results[s].get("explain-bounds")]
    if bounds:
        notes.append("reproduce's explain: " + "; ".join(f"{f} films: {b['films_rule']}, background {b['background_rule']}"
                                                       for f, b in bounds) + ".")
    return "\n\n".join(parts + notes)

if __name__ == "__main__":
    main()
