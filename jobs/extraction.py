"""The extract job: draft ingest rows from a paper, naming methods and substrates as the knowledge base knows them."""

from __future__ import annotations

from pathlib import Path

from .. import kb
from ..ingest.extract import write_drafts
from ..ingest.extract import extract as draft
from ..ingest.extract.drafts import Extraction
from ..ingest.extract.names import curated_vocabulary
from ..ingest.extract.papers import MAX_CHARS, MAX_PAGES, ExtractError, read_paper
from ..schema.names import Vocabulary

__all__ = ["extract"]


def vocabulary(db=None) -> Vocabulary:
    """Method and substrate names of the knowledge base when it exists (with those added by
    `filmkb add-method` / `add-substrate`), else of the curated data files: no database is created."""
    path = str(db or kb.default_path())
    kb.require_file(path)
    if not kb.exists(path):
        return curated_vocabulary()
    with kb.open(path) as k:
        return k.vocabulary()


def extract(paper, db=None, out=None, overwrite: bool = False, max_pages: int = MAX_PAGES,
            max_chars: int = MAX_CHARS, raw: bool = False) -> tuple[Path, Extraction]:
    """Draft film rows from a paper (.pdf, .txt, .html/.htm) into a CSV in the ingest template, by default
    <paper stem>.draft.csv in the working directory; returns (CSV path, Extraction). Reads the knowledge
    base's vocabulary (never writes the database); refuses to replace an existing CSV unless `overwrite`,
    and never the paper itself. A PDF of more than `max_pages` pages or a paper of more than `max_chars`
    characters is refused in one line (drafting is linear in the text, so these bound its time). Cells a
    spreadsheet would run are neutralised unless `raw`."""
    target = Path(out) if out else Path(Path(paper).stem + ".draft.csv")
    kb.check_output(target, db or kb.default_path())
    kb.require_file(paper, "paper")
    if target.exists() and not overwrite:
        raise ExtractError(f"{target}: already exists; use --force to overwrite it")
    if target.exists() and Path(paper).exists() and target.resolve() == Path(paper).resolve():
        raise ExtractError(f"{target}: is the paper itself; choose another --out")
    document = read_paper(paper, max_pages=max_pages, max_chars=max_chars)
    result = draft(document, vocabulary(db))
    write_drafts(result.drafts, target, overwrite=overwrite, raw=raw)
    return target, result
