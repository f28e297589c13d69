"""MkDocs hook: fills the pages' generated parts from the code itself, so they cannot drift.

A page asks for a part with an HTML comment on its own line:

    <!-- generated: tables -->        every table of schema/tables.py: column, type, unit, description
    <!-- generated: views -->         every view (schema/views/*.sql, the sets' own): its header and columns
    <!-- generated: benchmarks -->    the table each benchmark script last wrote to benchmarks/results/
    <!-- generated: template-columns -->  the ingest template's columns (ingest/entries.py)
    <!-- generated: abbreviations -->  composition abbreviations and their nominal formulas (ingest/normalise.py)
    <!-- generated: aliases -->       the curated methods and substrates with every alias (data/*.csv)
    <!-- include: CHANGELOG.md -->    a file of the repository, verbatim

Everything here is cheap (an in-memory DuckDB with the empty schema); no benchmark is run.
"""

from __future__ import annotations

import atexit
import os
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"^<!-- (generated|include): (\S+) -->$", re.M)

# unit suffixes of column names (schema/tables.py: "Units are canonical and stated in the column name")
UNITS = [("_s_cm", "S/cm"), ("_per_k", "1/K"), ("_angstrom", "Å"), ("_gpa", "GPa"), ("_nm", "nm"), ("_ev", "eV"),
         ("_c", "°C"), ("_k", "K")]


def _unit(column: str) -> str:
    if column.endswith("log10_sigma"):
        return "log10(S/cm)" if not column.startswith("neg_") else "−log10(S/cm)"
    for suffix, unit in UNITS:
        if column.endswith(suffix):
            return unit
    return ""


def _cell(text) -> str:
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _connection():
    """An in-memory DuckDB holding filmkb's empty schema and every view."""
    import duckdb

    from filmkb.kb import db

    con = duckdb.connect(":memory:")
    db.create_schema(con)
    db.apply_views(con)
    return con


def _models() -> dict:
    """table name -> SQLModel class, for the Field descriptions."""
    from sqlmodel import SQLModel

    from filmkb.schema import tables  # noqa: F401  (registers the tables)

    return {m.class_.__tablename__: m.class_ for m in SQLModel._sa_registry.mappers}


def tables() -> str:
    con, models = _connection(), _models()
    from sqlmodel import SQLModel

    out = []
    for table in SQLModel.metadata.sorted_tables:
        cls = models.get(table.name)
        doc = " ".join((cls.__doc__ or "").split()) if cls is not None else ""
        fields = getattr(cls, "model_fields", {}) if cls is not None else {}
        types = dict(con.execute(f"SELECT column_name, data_type FROM information_schema.columns "
                                 f"WHERE table_name = '{table.name}' ORDER BY ordinal_position").fetchall())
        rows = []
        for column in table.columns:
            info = fields.get(column.name)
            rows.append([f"`{column.name}`", types.get(column.name, str(column.type)), _unit(column.name),
                         (info.description if info is not None else "") or ""])
        out.append(f"### `{table.name}`\n\n{doc}\n\n" + _table(["column", "type", "unit", "description"], rows))
    return "\n\n".join(out)


def views() -> str:
    """Each view's header comment, then its columns as DuckDB reports them. A header line
    `name  what  [unit]` gives a column its meaning and unit, also in the later views that repeat it."""
    from filmkb.kb import db

    con, stated = _connection(), {}
    out = []
    for view in db.views():
        name, header = view.name, view.header
        stated |= {c: (what.strip(), unit) for c, what, unit in
                   re.findall(r"^\s+(\w+)\s+(.*?)\s*\[([^\]]+)\]\s*$", header, re.M)}
        columns = con.execute("SELECT column_name, data_type FROM information_schema.columns "
                              f"WHERE table_name = '{name}' ORDER BY ordinal_position").fetchall()
        rows = [[f"`{c}`", t, stated.get(c, ("", ""))[1] or _unit(c), stated.get(c, ("", ""))[0]] for c, t in columns]
        out.append(f"### `{name}`\n\nFrom `{view.source}`:\n\n```text\n{header}\n```\n\n"
                   + _table(["column", "type", "unit", "meaning"], rows))
    return "\n\n".join(out)


def benchmarks() -> str:
    """benchmarks/results/NAME.md as each script wrote it, one section per script."""
    out = []
    for script in sorted((ROOT / "benchmarks").glob("*.py")):
        if script.name.startswith("_"):
            continue
        source = script.read_text(encoding="utf-8")
        doc = (source.split('"""')[1].strip().splitlines() or [""])[0]
        result = ROOT / "benchmarks" / "results" / f"{script.stem}.md"
        if result.exists():
            body = result.read_text(encoding="utf-8").strip()
        elif "_markdown" in source:  # the script takes --markdown FILE (benchmarks/_markdown.py)
            body = (f"No result is committed yet: `python benchmarks/{script.name} --markdown "
                    f"benchmarks/results/{script.stem}.md` writes it.")
        else:
            body = f"`python benchmarks/{script.name}` prints its figures; it writes no table for this page yet."
        out.append(f"## `{script.name}`\n\n{doc}\n\n{body}")
    return "\n\n".join(out)


def template_columns() -> str:
    from filmkb.ingest.entries import TEMPLATE_COLUMNS

    return "```text\n" + ", ".join(TEMPLATE_COLUMNS) + "\n```"


def abbreviations() -> str:
    from filmkb.ingest.normalise import ABBREVIATIONS

    return _table(["written (any case)", "nominal formula"], [[f"`{k}`", v] for k, v in ABBREVIATIONS.items()])


def aliases() -> str:
    import csv

    def rows(name: str, columns: list[str]) -> list[list[str]]:
        with open(ROOT / "data" / name, newline="", encoding="utf-8") as handle:
            return [[r[c] if c != "aliases" else ", ".join(r[c].split("|")) for c in columns]
                    for r in csv.DictReader(handle)]

    return ("Deposition methods (`data/methods.csv`):\n\n"
            + _table(["method", "family", "aliases (any case)"], rows("methods.csv", ["name", "family", "aliases"]))
            + "\n\nSubstrates (`data/substrates.csv`; an orientation may follow in parentheses, `STO (100)`):\n\n"
            + _table(["substrate", "formula", "aliases (any case)"], rows("substrates.csv", ["name", "formula", "aliases"])))


def on_startup(command: str, dirty: bool) -> None:
    """Let mkdocstrings find the package. It looks for a folder named `filmkb`, but the repository root
    *is* the package, under whatever name it was cloned (and an editable install maps the name to the
    root, which griffe does not follow): a temporary folder holding a link `filmkb` -> the root is put
    first on the search path for this build."""
    folder = tempfile.mkdtemp(prefix="filmkb-docs-")
    link = os.path.join(folder, "filmkb")
    os.symlink(ROOT, link, target_is_directory=True)
    sys.path.insert(0, folder)
    atexit.register(lambda: (os.unlink(link), os.rmdir(folder)))  # the link only, never what it points to


GENERATORS = {"tables": tables, "views": views, "benchmarks": benchmarks, "template-columns": template_columns,
              "abbreviations": abbreviations, "aliases": aliases}


def on_page_markdown(markdown: str, page, config, files) -> str:
    def replace(match: re.Match) -> str:
        kind, arg = match.groups()
        if kind == "include":
            return (ROOT / arg).read_text(encoding="utf-8")
        return GENERATORS[arg]()

    return MARKER.sub(replace, markdown)
