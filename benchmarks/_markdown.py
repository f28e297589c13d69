"""A benchmark's current result as a markdown table, for the documentation.

Every script takes `--markdown FILE`; the documentation's Benchmarks page includes
benchmarks/results/<script>.md, so the figures there are the ones a script printed, never typed.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def add_option(parser: argparse.ArgumentParser) -> None:
    """The --markdown FILE option every benchmark script shares."""
    parser.add_argument("--markdown", type=Path, metavar="FILE", default=None,
                        help="also write the result as a markdown table to FILE "
                             "(the docs include benchmarks/results/<script>.md)")


def table(header: list[str], rows: list[list]) -> str:
    """A markdown table; cells are formatted by the caller."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _command() -> str:
    """How the script was run, with any path reduced to its file name (no machine's paths in the docs)."""
    script = Path(sys.argv[0]).name
    args, skip = [], False
    for arg in sys.argv[1:]:
        if skip:
            skip = False
            continue
        if arg == "--markdown":
            skip = True
            continue
        if arg.startswith("--markdown="):
            continue
        args.append(Path(arg).name if os.sep in arg else arg)
    return " ".join(["python", f"benchmarks/{script}", *args])


def _version() -> str:
    try:
        from filmkb.kb import code_version

        return code_version()
    except Exception:  # noqa: BLE001  (a version string is a courtesy, not a reason to fail a benchmark)
        return "unknown"


def write(path: Path | None, body: str) -> None:
    """Write body (tables and short notes) to path, headed by the command and the code version."""
    if path is None:
        return
    head = f"`{_command()}` (filmkb {_version()}, {os.cpu_count()} CPU cores):"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{head}\n\n{body.strip()}\n", encoding="utf-8")
    print(f"markdown written to {path}")
