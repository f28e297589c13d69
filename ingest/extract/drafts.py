"""Drafting a whole paper (extract, extract_file) and writing the drafts as CSV to review before ingest."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from ...schema.cells import neutralise
from ...schema.names import Vocabulary
from ..columns import DRAFT_COLUMNS
from .citations import paper_citation, reference_list
from .names import curated_vocabulary
from .papers import ExtractError, Paper, read_paper
from .rows import _Context
from .sentences import _restated, _sentence_drafts
from .table_rows import _table_drafts
from .tables import find_tables


@dataclass
class Extraction:
    drafts: list
    doi: str | None
    warnings: list

    @property
    def mean_confidence(self) -> float:
        return sum(d.confidence for d in self.drafts) / len(self.drafts) if self.drafts else 0.0


def extract(paper: Paper, vocab: Vocabulary | None = None) -> Extraction:
    """Draft rows from a paper's tables (higher confidence) and sentences (lower)."""
    vocab = vocab or curated_vocabulary()
    warnings = []
    lines = paper.lines
    if not any(ln.text.strip() for ln in lines) and not paper.tables:
        warnings.append(f"{paper.name}: no text found (a scanned PDF needs OCR first)")
    ref_at, references = reference_list(lines)
    body = lines if ref_at is None else lines[:ref_at]
    citation = paper_citation(paper, body)
    if "doi" not in citation and not (citation.get("authors") and citation.get("year")):
        warnings.append("the paper's DOI was not found: fill in doi (or authors and year) before ingesting")
    ctx = _Context(vocab, citation, references)
    found, used = find_tables(lines, vocab)  # tables after the references (appendices) count too
    tables = list(paper.tables) + found
    table_drafts = _table_drafts(tables, ctx)
    sentence_drafts = [d for d in _sentence_drafts(body, used, ctx, paper.paragraphs) if not _restated(d, table_drafts)]
    return Extraction(table_drafts + sentence_drafts, citation.get("doi"), warnings)


def extract_file(path, vocab: Vocabulary | None = None) -> Extraction:
    return extract(read_paper(path), vocab)


def draft_columns() -> list:
    """The CSV header: the ingest template as it stands now, then confidence and source."""
    from ..entries import TEMPLATE_COLUMNS

    return list(TEMPLATE_COLUMNS) + [c for c in DRAFT_COLUMNS if c not in TEMPLATE_COLUMNS]


def write_drafts(drafts: list, path, overwrite: bool = False, raw: bool = False) -> Path:
    """Write the drafts as CSV in the ingest template (+ confidence, source); refuses to replace an
    existing file unless overwrite. A cell a spreadsheet would run gets a leading ' (which ingest takes
    off again) unless `raw`."""
    path = Path(path)
    columns = draft_columns()
    try:
        handle = open(path, "w" if overwrite else "x", newline="", encoding="utf-8")
    except FileExistsError:
        raise ExtractError(f"{path}: already exists; use --force to overwrite it") from None
    with handle:
        writer = csv.DictWriter(handle, columns, extrasaction="ignore")
        writer.writeheader()
        for d in drafts:
            row = {**{c: "" for c in columns}, **d.cells, "confidence": f"{d.confidence:.2f}", "source": d.source}
            writer.writerow(row if raw else {c: neutralise(v) for c, v in row.items()})
    return path
