"""BibTeX for the publications table (stored bibtex wins; otherwise built from the fields)."""

from __future__ import annotations

import pandas as pd

_FIELDS = ("author", "title", "journal", "year", "volume", "pages", "doi")


def _escape(value: str) -> str:
    return str(value).replace("&", r"\&").replace("%", r"\%")


def entry(row: dict) -> str:
    """One @article entry keyed by the publication key."""
    if row.get("bibtex"):
        return row["bibtex"].strip()
    values = {"author": (row.get("authors") or "").replace("; ", " and ").replace(";", " and "), **row}
    lines = [f"@article{{{row['key']},"]
    for name in _FIELDS:
        value = values.get(name)
        if value is not None and not (isinstance(value, float) and pd.isna(value)) and str(value) != "":
            value = int(value) if name == "year" else value
            lines.append(f"  {name} = {{{_escape(value)}}},")
    lines.append("}")
    return "\n".join(lines)


def publications_bibtex(frame: pd.DataFrame) -> str:
    """All publications as a .bib file."""
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return "\n\n".join(entry(r) for r in rows) + "\n"
