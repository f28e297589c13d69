"""Draft film entries from a paper: its tables and sentences in, rows of the ingest template out.

Nothing here touches the database. `read_paper` turns a PDF (pdfplumber), an HTML page
(html.parser) or a plain-text file into numbered lines and tables; `extract` drafts one row per
film found, each with a `confidence` (0-1) and its `source` (page/line) for the person who reviews
the drafts before `filmkb ingest`:

- tables: a header naming the conductivity and at least two conditions (composition, method,
  temperature, substrate, thickness) maps its columns to template columns; every row below it is
  a draft (cells as published, numbers converted to the column's unit with pint). A row that cites
  a reference ([62]) gets that citation in its notes; when the table lists precursors or targets
  instead of the film (organometallics, a sol, Li2O + Ga2O3), the composition is taken from the
  targets or from the cited paper's title, and the notes say so.
- sentences: "LLZO films were deposited at 700 °C on MgO(100) by PLD; the conductivity was
  1.2 × 10⁻⁵ S cm⁻¹ at room temperature" (lower confidence).

Names (methods, substrates) are recognised with a `Vocabulary` (by default the curated one in
data/; `filmkb.jobs.extraction` passes the knowledge base's); cells are written as the paper prints
them and `filmkb ingest` resolves them.

Modules, each importing only those above it:

    text          cleaning of extracted text; number/unit patterns
    compositions  compositions in text and cells       (text)
    quantities    cells in the column's unit           (text)
    headers       header cells -> template columns     (text)
    names         method/substrate names of a vocabulary
    papers        PDF/text/HTML -> lines and tables    (headers)
    flattened     tables whose cells ran together      (text, headers, names)
    tables        film tables among text lines         (headers, papers, flattened)
    citations     reference list, the paper's own DOI  (text, papers)
    rows          Draft, the empty template row, confidence rules
    table_rows    drafts from table rows               (text, compositions, quantities, headers, rows)
    sentences     drafts from sentences                (text, compositions, quantities, names, rows)
    drafts        extract(), extract_file(), write_drafts()
                                                       (papers, names, tables, citations, rows, table_rows, sentences)
    agreement     field_agreement() against a curated table   (names)
"""

from .agreement import AGREEMENT_FIELDS, field_agreement
from .citations import reference_list
from .compositions import composition_cell
from .drafts import extract, extract_file, write_drafts
from .papers import Line, paper_from_text

__all__ = ["AGREEMENT_FIELDS", "Line", "composition_cell", "extract", "extract_file", "field_agreement",
           "paper_from_text", "reference_list", "write_drafts"]
