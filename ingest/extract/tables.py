"""Film tables among a paper's text lines, and the lines tables take up so sentences skip them."""

from __future__ import annotations

import re

from ...schema.names import Vocabulary
from .flattened import _PROSE, _flat_header, _flat_row
from .headers import _merge_header, _row_cells, _table_label, _unit_row, header_kinds
from .papers import Table


def _cells(text: str) -> list:
    """A line's cells: tab-separated, Markdown pipes, or runs of 2+ spaces between short cells (not
    prose with two spaces after each full stop); else one cell."""
    if "\t" in text:
        return [c.strip() for c in text.split("\t")]
    if text.count("|") >= 2:
        return [c.strip() for c in text.strip().strip("|").split("|")]
    if re.search(r"\S {2,}\S", text.strip()):
        cells = [c.strip() for c in re.split(r" {2,}", text.strip())]
        if max(len(c) for c in cells) <= 60 and not any(c.endswith(".") and len(c) > 30 for c in cells):
            return cells
    return [text.strip()]


def find_tables(lines: list, vocab: Vocabulary) -> tuple[list, set]:
    """Film tables among text lines (header + the rows under it) and the indexes of every line that
    belongs to a table (any table with 3+ cells a row), so sentences skip them."""
    tables, used, i = [], set(), 0
    while i < len(lines):
        cells = _cells(lines[i].text)
        kinds = header_kinds(cells) if len(cells) >= 3 else None
        flat = False
        if kinds is None and len(cells) == 1 and len(cells[0]) < 300 and not re.search(r"\d\s*[×x]\s*10", cells[0]):
            words = _flat_header(cells[0])
            if words:
                kinds, flat = words, True
        if len(cells) >= 3 and kinds is None:
            used.add(i)
        if kinds is None:
            i += 1
            continue
        rows, places, j, blank = [], [], i + 1, 0
        if not flat and j < len(lines) and _unit_row(_cells(lines[j].text)):
            cells = _merge_header(cells, _cells(lines[j].text))
            kinds = header_kinds(cells) or kinds
            used.add(j)
            j += 1
        while j < len(lines):
            text = lines[j].text
            if not text.strip():
                blank += 1
                if blank > 1:
                    break
                j += 1
                continue
            if _table_label(text):
                break
            row = _cells(text)
            if flat and len(row) == 1:
                parsed = None if _PROSE.search(row[0]) else _flat_row(row[0], vocab)
                if parsed is None:
                    break
                rows.append(parsed)
            elif not flat and len(row) >= max(3, len(cells) - 2):
                rows.append(dict(_row_cells(row, kinds)))
            else:
                break
            places.append(lines[j])
            used.add(j)
            blank, j = 0, j + 1
        used.add(i)
        if rows:
            label = _nearby_label(lines, i, j)
            tables.append(Table([k for k in kinds if k] if flat else list(cells), rows, places, label, flat))
        i = j
    return tables, used


def _nearby_label(lines: list, start: int, end: int) -> str | None:
    """'Table N' from a caption just below the rows (unless the next table's header is nearer to it:
    then it is that table's caption) or just above the header."""
    for k in range(end, min(end + 3, len(lines))):
        label = _table_label(lines[k].text)
        if label:
            following = [n for n in range(k + 1, min(k + 4, len(lines))) if len(_cells(lines[n].text)) >= 3]
            if not following or following[0] - k > k - end + 1:  # nearer to these rows than to the next table
                return label
            break
    for k in range(start - 1, max(start - 4, -1), -1):
        label = _table_label(lines[k].text)
        if label:
            return label
    return None
