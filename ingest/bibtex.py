"""A small BibTeX reader: @type{key, field = {value} | "value" | number, ...} -> publication entries.

Enough for the references papers export (nested braces, quoted values, @comment/@string skipped);
LaTeX accents are kept as written.
"""

from __future__ import annotations

import re

from .catalogue import PublicationEntry
from .entries import Problem
from .entries import _year as entry_year
from .normalise import CellError, clean_text, normalise_doi


_ENTRY = re.compile(r"@(\w+)\s*\{")
_FIELD = re.compile(r"\s*(?:,\s*)?([A-Za-z][\w-]*)\s*=\s*")  # no nested optional blanks: no backtracking blow-up
_BARE = re.compile(r"[\w.-]+")


def _closing_braces(text: str) -> dict[int, int]:
    """Index of each '{' -> index of its matching '}', found in one pass (an unclosed '{' has none), so
    no entry is scanned to the end of the file again: 60 KB of unclosed `@a{` took minutes that way."""
    close, stack = {}, []
    for m in re.finditer(r"[{}]", text):
        if m.group() == "{":
            stack.append(m.start())
        elif stack:
            close[stack.pop()] = m.start()
    return close


def _value(text: str, i: int, stop: int, close: dict) -> tuple[str, int]:
    """Read a braced, quoted or bare value starting at text[i] (before `stop`); returns (value, index after it)."""
    if i < stop and text[i] == "{":
        j = close.get(i, stop)
        if j >= stop:
            raise ValueError("unbalanced braces")
        return text[i + 1:j], j + 1
    if i < stop and text[i] == '"':
        j = text.find('"', i + 1, stop)
        if j < 0:
            raise ValueError("a quoted value without its closing quote")
        return text[i + 1:j], j + 1
    m = _BARE.match(text, i, stop)
    if not m:
        raise ValueError("expected a value")
    return m.group(0), m.end()


def _fields(text: str, i: int, stop: int, close: dict) -> dict:
    fields = {}
    while True:
        m = _FIELD.match(text, i, stop)
        if not m:
            return fields
        value, i = _value(text, m.end(), stop, close)
        fields[m.group(1).lower()] = re.sub(r"[{}]", "", " ".join(value.split()))


def _year(value: str | None) -> int | None:
    """A year in the range film rows accept (1900-2100), or a CellError ('²' and 99999999999 are not years)."""
    if value is None or not value.strip():
        return None
    if not re.fullmatch(r"\s*[0-9]+\s*", value):  # '²' reads as 2 once Unicode-normalised: say what was written
        raise CellError(f"year must be written in the digits 0-9 (this is {value.strip()[:20]!r})")
    return entry_year(value)


def parse_bibtex(text: str, file: str = "<bibtex>") -> tuple[list[PublicationEntry], list[Problem]]:
    """Publication entries (with the raw entry as `bibtex`) and the problems found.

    Linear in the text's size: braces are matched once, and the search for the next entry resumes after
    the end of the one just read (an `@` inside an entry is part of it)."""
    entries, problems, close = [], [], _closing_braces(text)
    pos, line, counted = 0, 1, 0
    while (m := _ENTRY.search(text, pos)) is not None:
        kind, opening = m.group(1).lower(), m.end() - 1
        line, counted = line + text.count("\n", counted, m.start()), m.start()
        pos = m.end()
        if kind in ("comment", "string", "preamble"):
            continue
        end = close.get(opening)
        if end is None:
            problems.append(Problem(file, line, "entry", kind, "its { is never closed, so the rest of the file is "
                                                               "inside it; close the entry"))
            break
        pos = end + 1
        comma = text.find(",", opening + 1, end)
        key = text[opening + 1:end if comma < 0 else comma]
        try:
            fields = _fields(text, end if comma < 0 else comma + 1, end, close)
        except ValueError as exc:
            problems.append(Problem(file, line, "entry", kind, str(exc)))
            continue
        checked = {}
        for column, check in (("doi", normalise_doi), ("year", _year)):
            try:
                checked[column] = check(fields.get(column))
            except CellError as exc:
                problems.append(Problem(file, line, column, fields.get(column), str(exc)))
        if len(checked) < 2:
            continue
        doi, year = checked["doi"], checked["year"]
        entry = PublicationEntry(
            key=clean_text(key), doi=doi, authors=fields.get("author", "").replace(" and ", "; ") or None,
            year=year, title=fields.get("title"),
            journal=fields.get("journal"), volume=fields.get("volume"), pages=fields.get("pages"), seed_ref=None)
        entry.bibtex = text[m.start():end + 1]
        entries.append(entry)
    return entries, problems
