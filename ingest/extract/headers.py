"""Table headers: the template column each cell names, so a film table can be told from others."""

from __future__ import annotations

import re
from itertools import zip_longest

from .text import clean

_KINDS = (
    ("conductivity_s_cm", r"conductiv|σ|\bsigma\b"),
    ("activation_energy_ev", r"activation|\bE\s*_?a\b"),
    ("thickness_nm", r"thick"),
    ("measurement_temp_c", r"measur|\bT\s*_?meas"),
    ("deposition_temp_c", r"temperat|\bT\s*_?(?:dep|depos|s|sub)\b|^T\b|^T\s*[(\[/,]"),
    ("substrate", r"substrat"),
    ("phase", r"structure|phase|crystal|polymorph"),
    ("method", r"method|techni|process|route|deposition"),
    ("composition", r"composition|compound|target|precursor|material|formula|electrolyte|film|sample|garnet"),
    ("ref", r"^\W*ref|citation|^\W*source"),
)
_CONDITIONS = {"composition", "method", "deposition_temp_c", "substrate", "thickness_nm"}


def column_kind(cell: str) -> str | None:
    text = clean(cell)
    for kind, pattern in _KINDS:
        if re.search(pattern, text, re.I):
            return kind
    return None


def header_kinds(cells) -> list | None:
    """Template column of each header cell (None for unknown or repeated ones), or None if this is
    not a film table: it must name the conductivity and at least two conditions."""
    kinds, seen = [], set()
    for cell in cells:
        kind = column_kind(cell) if len(clean(cell)) < 80 else None
        kinds.append(None if kind in seen else kind)
        seen.add(kind)
    if "conductivity_s_cm" in seen and len(seen & _CONDITIONS) >= 2:
        return kinds
    return None


def _unit_row(cells) -> bool:
    """A header's second row holding only units: '(K)', '[nm]', '(S cm⁻¹)', or empty cells."""
    texts = [clean(c) for c in cells]
    return any(texts) and all(not t or re.fullmatch(r"[(\[][^()\[\]]{1,20}[)\]]", t) for t in texts)


def _merge_header(first, second) -> list:
    return [f"{a} {b}".strip() for a, b in zip_longest(first, second, fillvalue="")]


def _table_label(text: str) -> str | None:
    m = re.match(r"^\W*(Table\s+[A-Z]?\d+[a-z]?)\b", clean(text), re.I)
    return m.group(1) if m else None


def _row_cells(row: list, kinds: list) -> list:
    """(kind, cell) pairs; a row one cell short of a header that starts with 'Ref.' has no ref cell."""
    if len(row) == len(kinds) - 1 and kinds and kinds[0] == "ref" and not re.match(r"^\[?\d", row[0]):
        kinds = kinds[1:]
    return [(k, c) for k, c in zip(kinds, row) if k]
