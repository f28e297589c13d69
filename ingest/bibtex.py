"""A small BibTeX reader: @type{key, field = {value} | "value" | number, ...} -> publication entries.

Enough for the references papers export (nested braces, quoted values, @comment/@string skipped);
LaTeX accents are kept as written.
"""

from __future__ import annotations

import re

from .catalogue import PublicationEntry
from .entries import Problem
from .normalise import CellError, clean_text, normalise_doi


def _value(text: str, i: int) -> tuple[str, int]:
    """Read a braced, quoted or bare value starting at text[i]; returns (value, index after it)."""
    if text[i] == "{":
        depth, j = 0, i
        while j < len(text):
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            if depth == 0:
                return text[i + 1:j], j + 1
            j += 1
        raise ValueError("unbalanced braces")
    if text[i] == '"':
        j = text.index('"', i + 1)
        return text[i + 1:j], j + 1
    m = re.match(r"[\w.-]+", text[i:])
    if not m:
        raise ValueError("expected a value")
    return m.group(0), i + m.end()


def _fields(body: str) -> dict:
    fields, i = {}, 0
    while True:
        m = re.compile(r"\s*,?\s*([A-Za-z][\w-]*)\s*=\s*").match(body, i)
        if not m:
            return fields
        value, i = _value(body, m.end())
        fields[m.group(1).lower()] = re.sub(r"[{}]", "", " ".join(value.split()))


def parse_bibtex(text: str, file: str = "<bibtex>") -> tuple[list[PublicationEntry], list[Problem]]:
    """Publication entries (with the raw entry as `bibtex`) and the problems found."""
    entries, problems = [], []
    for m in re.finditer(r"@(\w+)\s*\{", text):
        kind, line = m.group(1).lower(), text.count("\n", 0, m.start()) + 1
        if kind in ("comment", "string", "preamble"):
            continue
        try:
            raw, end = _value(text, m.end() - 1)
            key, _, body = raw.partition(",")
            fields = _fields(body)
        except ValueError as exc:
            problems.append(Problem(file, line, "entry", kind, str(exc)))
            continue
        try:
            doi = normalise_doi(fields.get("doi"))
        except CellError as exc:
            problems.append(Problem(file, line, "doi", fields.get("doi"), str(exc)))
            continue
        year = fields.get("year")
        entry = PublicationEntry(
            key=clean_text(key), doi=doi, authors=fields.get("author", "").replace(" and ", "; ") or None,
            year=int(year) if year and year.isdigit() else None, title=fields.get("title"),
            journal=fields.get("journal"), volume=fields.get("volume"), pages=fields.get("pages"), seed_ref=None)
        entry.bibtex = text[m.start():end]
        entries.append(entry)
    return entries, problems
