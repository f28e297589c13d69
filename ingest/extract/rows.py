"""One drafted film row, the template row it starts from and the confidence rules all drafts share."""

from __future__ import annotations

from dataclasses import dataclass

from ...schema.names import Vocabulary

# Confidence of a row before deductions, by where it came from.
BASE_CONFIDENCE = {"table": 0.9, "flattened": 0.75, "sentence": 0.6}
# The fields a film row needs (the agreement figure compares the first six).
KEY_FIELDS = ("composition", "method", "deposition_temp_c", "substrate", "thickness_nm", "conductivity_s_cm", "phase")


@dataclass
class Draft:
    """One drafted film: template cells (text), confidence, source, and how it was found."""

    cells: dict
    confidence: float
    source: str
    origin: str  # table | flattened | sentence
    table: str | None = None
    row: int | None = None


class _Context:
    def __init__(self, vocab: Vocabulary, citation: dict, references: dict):
        self.vocab, self.citation, self.references = vocab, citation, references


def _empty_row(ctx: _Context) -> dict:
    from ..entries import TEMPLATE_COLUMNS

    row = dict.fromkeys(TEMPLATE_COLUMNS, "")
    for key, value in ctx.citation.items():
        if key in row:
            row[key] = value
    return row
