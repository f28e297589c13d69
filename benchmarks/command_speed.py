"""How fast the everyday commands answer, each a cold process, as the median against its target.

Each command is run as a new user runs it, a cold process (Python start-up, imports, reading the run's
files), several times.

    python benchmarks/command_speed.py [--runs 5] [--bytecode both|yes|no] [--epochs N] [--db FILE] [--markdown FILE]

One knowledge base is built (`init`) and two runs trained once, as `reproduce` leaves them: the
recommended model, then the paper's LSTM + PBP ensemble (10 members) after it. Then `films`, `query`,
`substrates` (target 1 s), `predict` of one condition (2 s) and `explain` (3 s), the latter two with the
default model and with `--model paper`, each run --runs times after one untimed warm-up.

Bytecode: a copy of the package (its source only) is imported, so that `no` compiles filmkb from
source in every process (PYTHONDONTWRITEBYTECODE=1, as in some sandboxes) and `yes` reads the
bytecode its warm-up run wrote (what a normal install does after the first command). The installed
packages (numpy, pandas, duckdb, ...) read their own bytecode either way. The timings are wall
clock on whatever else the machine is running: the load average is printed beside them.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _markdown

ENTRY = "import sys; from filmkb.cli import main; sys.argv[0] = 'filmkb'; main()"
CONDITION = ["--substrate", "MgO", "--temp-c", "700", "--thickness-nm", "300"]
COMMANDS = [  # (label, arguments, target seconds)
    ("films", ["films"], 1.0),
    ("query", ["query", "SELECT substrate, count(*) AS n FROM film_overview GROUP BY 1"], 1.0),
    ("substrates", ["substrates"], 1.0),
    ("predict (one condition)", ["predict", *CONDITION], 2.0),
    ("predict --model paper", ["predict", *CONDITION, "--model", "paper"], 2.0),
    ("explain", ["explain", "--out", "figures"], 3.0),
    ("explain --model paper", ["explain", "--model", "paper", "--out", "figures"], 3.0),
]


def package_copy(root: Path) -> Path:
    """A directory holding a copy of the imported filmkb package's source (no __pycache__, tests or .git)."""
    import filmkb

    source = Path(filmkb.__file__).resolve().parent
    target = root / "filmkb"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", ".git", "tests", "benchmarks",
                                                                   "*.duckdb", "models", "reports", ".venv"))
    return root


def prepare(workdir: Path, db: str | None, epochs: int | None) -> str:
    """The database to time: a copy of --db, or a new one with a recommended and then a paper run."""
    path = workdir / "bench.duckdb"
    if db:
        shutil.copy2(db, path)
        return str(path)
    from filmkb.jobs import init, train
    from filmkb.ml.lstm import PAPER

    t0 = time.perf_counter()
    init(str(path))
    rec = train(str(path), model="recommended", n_jobs=2)
    paper = train(str(path), model="paper", repeats=10, lstm=PAPER if epochs is None else PAPER.replace(epochs=epochs))
    print(f"built {path.name} and trained {rec.run_id} (recommended: {rec.config['chosen']}) and {paper.run_id} "
          f"(paper, 10 members) in {time.perf_counter() - t0:.0f} s")
    return str(path)


def environment(pythonpath: Path, bytecode: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(pythonpath)
    if not bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: list, env: dict, cwd: Path) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (user + system, all threads) and the output of one cold command."""
    t0, c0 = time.perf_counter(), _cpu()
    res = subprocess.run([sys.executable, "-c", ENTRY, *argv], env=env, cwd=cwd, capture_output=True, text=True)
    seconds, cpu = time.perf_counter() - t0, _cpu() - c0
    if res.returncode != 0:
        raise SystemExit(f"`filmkb {' '.join(argv)}` failed: {res.stderr.strip() or res.stdout.strip()}")
    return seconds, cpu, res.stdout


def answered(output: str) -> str:
    """The model line a predict or explain prints last-but-one ('model: ..., run ...'), shortened."""
    lines = [ln for ln in output.splitlines() if ln.startswith("model: ")]
    return lines[-1].split(";")[0][len("model: "):] if lines else ""


def measure(db: str, pythonpath: Path, bytecode: bool, runs: int, cwd: Path, only: str = "") -> list[dict]:
    env = environment(pythonpath, bytecode)
    loaded = subprocess.run([sys.executable, "-c", "import filmkb; print(filmkb.__file__)"], env=env,
                            capture_output=True, text=True).stdout.strip()
    if not loaded.startswith(str(pythonpath)):
        raise SystemExit(f"the benchmark's copy of filmkb is not the one imported ({loaded})")
    rows = []
    for label, args, target in [c for c in COMMANDS if only in c[0]]:
        argv = ["--db", db, *args]
        out = timed(argv, env, cwd)[2]  # warm-up: file cache (and, with bytecode, the .pyc files)
        runs_ = [timed(argv, env, cwd) for _ in range(runs)]
        times = [r[0] for r in runs_]
        median = statistics.median(times)
        rows.append({"command": label, "bytecode": "yes" if bytecode else "no", "median_s": median,
                     "min_s": min(times), "max_s": max(times), "cpu_s": statistics.median(r[1] for r in runs_),
                     "target_s": target, "met": median <= target, "model": answered(out)})
        print(_line(rows[-1]), flush=True)
    return rows


HEADER = f"{'command':<26} {'bytecode':<9} {'median s':>9} {'min-max s':>12} {'cpu s':>6} {'target s':>9}  met  model"


def _line(r: dict) -> str:
    return (f"{r['command']:<26} {r['bytecode']:<9} {r['median_s']:>9.2f} {r['min_s']:>5.2f}-{r['max_s']:<6.2f} "
            f"{r['cpu_s']:>6.2f} {r['target_s']:>9.1f}  {'yes' if r['met'] else 'NO ':<4} {r['model']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed cold runs per command (median reported)")
    parser.add_argument("--bytecode", choices=["both", "yes", "no"], default="both",
                        help="filmkb's own modules from bytecode (yes), compiled from source (no), or both")
    parser.add_argument("--epochs", type=int, default=None, help="LSTM epochs of the paper run (default: the paper's)")
    parser.add_argument("--db", help="time on a copy of this knowledge base (it needs a recommended and a paper run)")
    parser.add_argument("--only", default="", help="time only the commands whose label contains this text")
    _markdown.add_option(parser)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="filmkb-commands-"))
    try:
        db = prepare(work, args.db, args.epochs)
        modes = {"both": [False, True], "yes": [True], "no": [False]}[args.bytecode]
        load = os.getloadavg()[0]
        rows = []
        print(HEADER, flush=True)
        for bytecode in modes:
            code = package_copy(work / ("pkg-bytecode" if bytecode else "pkg-source"))
            rows += measure(db, code, bytecode, args.runs, work, args.only)
        summary = (f"{args.runs} cold runs each (median; min-max), load average {load:.1f} -> "
                   f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        cpu_note = "cpu s: user + system seconds of the process (all threads), less sensitive to a busy machine"
        print(f"\n{summary}\n{cpu_note}")
        print(HEADER)
        for r in rows:
            print(_line(r))
        _markdown.write(args.markdown, _markdown.table(
            ["command", "bytecode", "median s", "min-max s", "cpu s", "target s", "met", "model"],
            [[r["command"], r["bytecode"], f"{r['median_s']:.2f}", f"{r['min_s']:.2f}-{r['max_s']:.2f}",
              f"{r['cpu_s']:.2f}", f"{r['target_s']:.1f}", "yes" if r["met"] else "NO", r["model"]] for r in rows])
            + f"\n\n{summary}; {cpu_note}.")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
