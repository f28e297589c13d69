"""Time the readers on hostile inputs of the sizes that used to take minutes, and print the figures.

    python benchmarks/bounded_inputs.py [--markdown FILE]

Each reader is linear in its input: the figures for 1x and 4x the input should differ about 4-fold.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import _markdown

FILM = ("- doi: 10.5555/bench.1\n  composition: Li7La3Zr2O12\n  method: PLD\n  deposition_temp_c: 700 °C\n"
        "  substrate: MgO (100)\n  phase: c-LLZO\n  thickness_nm: 200\n  conductivity_s_cm: 0.12 mS/cm\n")


def timed(rows: list, label: str, func, *args) -> None:
    """Run func(*args) once, print its seconds and keep them as a row of the markdown table."""
    start = time.perf_counter()
    func(*args)
    seconds = time.perf_counter() - start
    print(f"{label:<48} {seconds:8.2f} s")
    rows.append([label, f"{seconds:.2f}"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    _markdown.add_option(parser)
    args = parser.parse_args()
    from filmkb.ingest.bibtex import parse_bibtex
    from filmkb.ingest.extract import extract, paper_from_text
    from filmkb.ingest.extract.names import curated_vocabulary
    from filmkb.ingest.readers import read_yaml

    work = Path(tempfile.mkdtemp(prefix="filmkb-bounded-"))
    vocabulary = curated_vocabulary()
    rows: list[list[str]] = []
    for k in (1, 4):
        path = work / f"films-{k}.yaml"
        path.write_text(FILM * 8_250 * k, encoding="utf-8")
        timed(rows, f"read_yaml, {path.stat().st_size / 2**20:.1f} MB", read_yaml, path)
    for k in (1, 4):
        timed(rows, f"parse_bibtex, {60 * k} KB of unclosed '@a{{'", parse_bibtex, "@a{" * 20_000 * k, "x.bib")
        timed(rows, f"parse_bibtex, {5_000 * k} nested entries", parse_bibtex,
              "@a{k," + "@b{j, " * 5_000 * k + "}" * 5_000 * k + "}", "x.bib")
    for k in (1, 4):
        text = "LLZO" + " " * 250_000 * k + "S/cm"
        timed(rows, f"extract, a blank run of {250 * k}k characters", extract, paper_from_text(text, "x.txt"),
              vocabulary)
        prose = "LLZO films were deposited by PLD on MgO(100) at 700 °C; σ = 1.2 × 10⁻⁵ S cm⁻¹. " * 6_000 * k
        timed(rows, f"extract, {len(prose) / 1e6:.1f} M characters of sentences", extract,
              paper_from_text(prose, "x.txt"), vocabulary)
    _markdown.write(args.markdown, _markdown.table(["reader and input (1x, then 4x)", "seconds"], rows))


if __name__ == "__main__":
    main()
