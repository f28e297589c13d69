"""Drafts from film table rows: cells to template columns, units converted, citations noted."""

from __future__ import annotations

import re

from ..normalise import CellError, normalise_phase, split_substrate
from .compositions import composition_cell
from .headers import _row_cells, header_kinds
from .quantities import UNITS, _fmt, _from_log, _header_unit, quantity_cell
from .rows import BASE_CONFIDENCE, KEY_FIELDS, Draft, _Context, _empty_row
from .text import clean


def _draft_from_cells(cells: dict, header: dict, ctx: _Context, origin: str, source: str, label: str | None,
                      number: int | None) -> Draft:
    """One table row (template column -> cell as printed) as a Draft."""
    row, notes, penalty = _empty_row(ctx), [], 0.0
    if label:
        notes.append(f"{label} row {number}")
    cells, cited = _cited(cells, ctx, notes)
    if cells.get("composition"):
        comp = composition_cell(cells["composition"], cited.title if cited else None)
        row["composition"] = comp.composition or ""
        row["precursors"] = comp.precursors or ""
        notes += comp.notes
        penalty += comp.penalty
    if cells.get("precursors") and not row["precursors"]:
        row["precursors"] = clean(cells["precursors"])
    if cells.get("method"):
        row["method"] = clean(cells["method"])
        if ctx.vocab.resolve("method", row["method"]) is None:
            penalty += 0.1
            notes.append(f"unknown method '{row['method']}'")
    if cells.get("substrate"):
        name, orientation = split_substrate(clean(cells["substrate"]))
        row["substrate"], row["substrate_orientation"] = name, orientation or ""
        if ctx.vocab.resolve("substrate", name) is None:
            penalty += 0.1
            notes.append(f"unknown substrate '{name}'")
    if cells.get("phase"):
        phase = clean(cells["phase"])
        try:
            normalise_phase(phase)
            row["phase"] = phase
        except CellError:
            notes.append(f"structure '{phase}' not recognised as a phase")
    penalty = _quantities(cells, header, row, notes, penalty)
    missing = [f for f in KEY_FIELDS if not row.get(f)]
    confidence = BASE_CONFIDENCE[origin] - 0.1 * len(missing) - penalty
    row["notes"] = "; ".join(notes)
    return Draft(row, round(min(1.0, max(0.05, confidence)), 2), source, origin, label, number)


def _cited(cells: dict, ctx: _Context, notes: list) -> tuple:
    """(cells, Citation or None): the reference the row cites, from its ref cell or from '[62]' inside
    another cell (taken out of that cell); noted as 'cites [62] Chen et al. 2014'."""
    cited = None
    ref = cells.get("ref", "")
    if not re.search(r"\d", ref):  # a citation inside another cell: 'LLZO [62]'
        for key, value in cells.items():
            m = re.search(r"\[(\d{1,4}(?:\s*[,–-]\s*\d{1,4})*)\]", str(value))
            if m and key != "ref":
                ref, cells = m.group(0), {**cells, key: (str(value)[:m.start()] + str(value)[m.end():]).strip()}
                break
    numbers = [int(n) for n in re.findall(r"\d+", ref)]
    if numbers:
        cited = ctx.references.get(numbers[0])
        notes.append(f"cites [{numbers[0]}] {cited.short()}" if cited else f"cites [{numbers[0]}]")
    return cells, cited


def _quantities(cells: dict, header: dict, row: dict, notes: list, penalty: float) -> float:
    """Fill the row's numeric columns in the template's units (a cell that is not a quantity is noted
    and costs 0.1); returns the penalty so far."""
    for column in ("deposition_temp_c", "thickness_nm", "conductivity_s_cm", "measurement_temp_c",
                   "activation_energy_ev"):
        if not cells.get(column) or column not in row:
            continue
        try:
            if column == "conductivity_s_cm" and header.get("conductivity_is_log"):
                value = _from_log(cells[column], header.get(column))
                notes.append("conductivity converted from log10")
            else:
                value = quantity_cell(cells[column], column, header.get(column))
        except CellError as exc:
            notes.append(f"{column} '{clean(cells[column])}': {exc}")
            penalty += 0.1
            continue
        if value is not None:
            row[column] = _fmt(value)
    return penalty


def _table_drafts(tables: list, ctx: _Context) -> list:
    """Drafts of every film table's rows; a row whose conductivity cell holds no number (a group
    heading such as 'Sputtered films', a repeated header) is not a film and is not counted."""
    drafts, count = [], 0
    for table in tables:
        if table.flattened:
            kinds, units = None, {}
        else:
            kinds = header_kinds(table.header)
            if kinds is None:
                continue
            units = {kind: _header_unit(c, kind) for c, kind in zip(table.header, kinds) if kind in UNITS}
            units["conductivity_is_log"] = any(kind == "conductivity_s_cm" and re.search(r"\blog", clean(c), re.I)
                                               for c, kind in zip(table.header, kinds))
        count += 1
        label, n = table.label or f"table {count}", 0
        for cells, place in zip(table.rows, table.places):
            if kinds is not None and not isinstance(cells, dict):
                cells = dict(_row_cells(cells, kinds))
            if not re.search(r"\d", str(cells.get("conductivity_s_cm", ""))):
                continue
            n += 1
            origin = "flattened" if table.flattened else "table"
            drafts.append(_draft_from_cells(cells, units, ctx, origin, place.where(), label, n))
    _mark_repeats(drafts)
    return drafts


def _mark_repeats(drafts: list) -> None:
    """A row with the same reference, conditions and conductivity as an earlier one is flagged."""
    seen = {}
    for d in drafts:
        c = d.cells
        cited = re.findall(r"cites \[\d+\]", c["notes"])
        values = tuple(c.get(k, "") for k in ("deposition_temp_c", "substrate", "thickness_nm", "conductivity_s_cm"))
        if not all(values):
            continue
        key = values + (c.get("substrate_orientation", ""), cited[0] if cited else "")
        if key in seen:
            first = seen[key]
            c["notes"] = "; ".join(filter(None, [c["notes"], f"same conditions and conductivity as {first.table} row "
                                                              f"{first.row}: possibly the same film"]))
            d.confidence = round(max(0.05, d.confidence - 0.1), 2)
        else:
            seen[key] = d
