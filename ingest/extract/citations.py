"""A paper's reference list and its own DOI/citation, so drafts name the paper and the works cited."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..normalise import CellError, normalise_doi
from .papers import Paper
from .text import clean


@dataclass
class Citation:
    number: int | None
    text: str
    authors: str | None
    year: int | None
    title: str | None
    journal: str | None

    def short(self) -> str:
        if not self.authors:
            return clean(self.text)[:60]
        surnames = [a.split(",")[0].strip() for a in self.authors.split(";") if a.strip() and "et al" not in a]
        many = len(surnames) > 2 or "et al" in self.authors
        who = f"{surnames[0]} et al." if many else " and ".join(surnames)
        return f"{who} {self.year}" if self.year else who


_REF_HEADING = re.compile(r"^\W*(?:\d+\.?\s*)?(references|bibliography|literature cited|references and notes)\W*$",
                          re.I)
_REF_NUMBER = re.compile(r"^(?:[-•*]\s*)?(?:\[(\d{1,4})\]|(\d{1,4})\.(?=\s)|(\d{1,4})\s+(?=[A-Z]))\s*")
_AUTHORS = re.compile(r"^(?P<authors>(?:[^;]{1,80}?,\s*(?:[A-Z][a-z]?\.\s?-?\s?)+;\s*)*"
                      r"(?:[^;]{1,80}?,\s*(?:[A-Z][a-z]?\.\s?-?\s?)+|et al\.))\s+(?P<rest>.+)$")


def parse_citation(text: str, number: int | None = None) -> Citation:
    """'Chen, R.J.; Huang, M. Title. *J. Mater. Chem. A* 2014, 2, 13277.' -> its parts (best effort)."""
    raw = " ".join(str(text).split())
    m = _AUTHORS.match(raw)
    authors, rest = (m.group("authors").strip().rstrip(";,"), m.group("rest")) if m else (None, raw)
    year_match = re.search(r"(?<!\d)(19\d{2}|20\d{2})(?!\d)", rest)
    head = rest[:year_match.start()] if year_match else rest
    italic = re.search(r"\*([^*]{2,})\*", head)
    if italic:
        title, journal = head[:italic.start()], italic.group(1)
    else:
        parts = re.split(r"\.\s+(?=[A-Z])", head, maxsplit=1)
        title, journal = parts[0], (parts[1] if len(parts) > 1 else None)
    title = clean(title).strip(" .") or None
    journal = clean(journal).strip(" .,") if journal else None
    return Citation(number, raw, clean(authors) if authors else None,
                    int(year_match.group(1)) if year_match else None, title, journal or None)


def reference_list(lines: list) -> tuple[int | None, dict]:
    """Index of the last 'References' heading and number -> Citation for the entries under it.

    A printed number ([62], 62.) starts that entry. In a list with bullets ('- ', as text extraction
    writes them) a line starting in upper case starts the next entry, and a line starting in lower
    case continues one (even behind a bullet). In a numbered list without bullets (PDFs wrap entries over several
    lines) a line without a number continues the entry above it."""
    heads = [i for i, ln in enumerate(lines) if _REF_HEADING.match(ln.text.strip())]
    if not heads:
        return None, {}
    start = heads[-1]
    body = [ln.text.strip() for ln in lines[start + 1:] if ln.text.strip()]
    bullets = sum(bool(re.match(r"^[-•*]\s", t)) for t in body)
    numbered = [t for t in body if _REF_NUMBER.match(t)]
    wrapped = bullets == 0 and len(numbered) >= 3
    entries, number = {}, 0
    for text in body:
        m = _REF_NUMBER.match(text)
        value = int(next(g for g in m.groups() if g)) if m else None
        if m and m.group(3) and not 0 < value <= number + 20:  # '2015 Journal ...' is not entry 2015
            m = value = None
        entry = text[m.end():] if m else re.sub(r"^[-•*]\s*", "", text)
        if value is not None:
            number = value
        elif number in entries and (wrapped or entry[:1].islower()):
            entries[number] += " " + entry
            continue
        else:
            number += 1
        entries[number] = entry
    return start, {n: parse_citation(t, n) for n, t in entries.items()}


_DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"'<>]+)")


def paper_citation(paper: Paper, body: list) -> dict:
    """DOI (and authors, year, journal, title when a 'Citation:' line or HTML meta gives them) of the
    paper itself, looked for on its first page / in its first lines only."""
    meta = paper.meta
    out = {}
    for key in ("citation_doi", "dc.identifier", "prism.doi"):
        for value in meta.get(key, []):
            try:
                out["doi"] = normalise_doi(re.sub(r"^.*?(?=10\.)", "", value))
                break
            except CellError:
                continue
        if "doi" in out:
            break
    if meta.get("citation_author"):
        out["authors"] = "; ".join(meta["citation_author"])
    if meta.get("citation_title"):
        out["title"] = meta["citation_title"][0]
    if meta.get("citation_journal_title"):
        out["journal"] = meta["citation_journal_title"][0]
    for key in ("citation_publication_date", "citation_date", "citation_year"):
        if meta.get(key):
            y = re.search(r"(19|20)\d{2}", meta[key][0])
            if y:
                out["year"] = y.group(0)
                break
    front = [ln for ln in body if ln.page in (None, 1)][: max(60, len(body) // 7)]
    if "doi" not in out:
        for ln in front:
            for m in _DOI.finditer(ln.text.replace("doi.org/ ", "doi.org/")):
                try:
                    out["doi"] = normalise_doi(m.group(1).rstrip(".,;)]"))
                    break
                except CellError:
                    continue
            if "doi" in out:
                break
    for ln in front:
        m = re.match(r"^\W*(?:citation|cite this(?: article)?|how to cite)\s*:\s*(.+)$", ln.text.strip(), re.I)
        if m:
            c = parse_citation(m.group(1))
            for key, value in (("authors", c.authors), ("year", c.year), ("title", c.title), ("journal", c.journal)):
                if value and key not in out:
                    out[key] = str(value)
            break
    return out
