"""Tables whose cells ran together into prose-like lines: columns recovered from names and units."""

from __future__ import annotations

import re

from ...schema.names import Vocabulary
from .headers import _CONDITIONS, _KINDS, _table_label
from .names import _names
from .text import _COND_UNIT, _ORIENTATION_AFTER, _SCI, _THICKNESS, clean

_PROSE = re.compile(r"\b(?:was|were|is|are|has|have|had|shows?|showed|exhibit\w*|we|which|that)\b", re.I)


def _flat_header(text: str) -> list | None:
    """Kinds, in order, of a header whose cells ran together ('Ref. Composition Method T (°C) ...'):
    no verbs, no section number, and at least one unit."""
    t = clean(text)
    if len(t) > 300 or _table_label(t) or not re.search(r"conductiv|σ", t, re.I) or _PROSE.search(t) \
            or re.search(r"[.:;]$", t) or re.match(r"^\d+(?:\.\d+)*\.?\s", t) \
            or not re.search(r"nm\b|μm|°C|\bK\b|S\s*/?\s*cm|\beV\b", t):
        return None
    positions = []
    for kind, pattern in _KINDS:
        m = re.search(pattern, t, re.I | re.M)
        if m:
            positions.append((m.start(), kind))
    kinds = [k for _, k in sorted(positions)]
    return kinds if len(set(kinds) & _CONDITIONS) >= 2 and len(kinds) >= 4 else None


def _flat_row(text: str, vocab: Vocabulary) -> dict | None:
    """Cells of a table row whose columns ran together, anchored on what can be recognised: the
    reference [n], the method and substrate names, a thickness with its unit and the conductivity
    in scientific notation; the composition is what precedes the method, the structure what lies
    between substrate and thickness. None if the line has no conductivity and two conditions."""
    t = clean(text)
    names = _names(vocab)
    cells = {}
    ref = re.match(r"^\s*(\[[\d,\s–-]+\])\s*", t)
    start = ref.end() if ref else 0
    if ref:
        cells["ref"] = ref.group(1)
    sci = list(re.finditer(rf"(?<![\w.])(?:{_SCI})(?:\s*{_COND_UNIT})?(?![\w.])", t[start:]))
    sci = [m for m in sci if re.search(r"[×x^eE]|S", m.group(0))]
    if not sci:
        return None
    cond = sci[-1]
    cells["conductivity_s_cm"] = cond.group(0)
    end = start + cond.start()
    method = next(names.methods(t, start, end), None)
    after = method.end() if method else start
    substrate = None
    for m in names.substrates(t, after, end):
        substrate = m
        break
    if method:
        cells["method"] = method.group(0)
        if method.start() > start:
            cells["composition"] = t[start:method.start()].strip()
    sub_end = None
    if substrate:
        o = _ORIENTATION_AFTER.match(t, substrate.end())
        sub_end = o.end() if o else substrate.end()
        cells["substrate"] = t[substrate.start():sub_end]
        number = re.search(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(?:°\s*C|K)?(?![\w.])", t[after:substrate.start()])
        if number:
            cells["deposition_temp_c"] = number.group(0)
        elif re.search(r"\bRT\b|room", t[after:substrate.start()], re.I):
            cells["deposition_temp_c"] = "RT"
    thick = None
    for m in _THICKNESS.finditer(t, sub_end or after, end):
        thick = m
    if thick:
        cells["thickness_nm"] = thick.group(0)
        if sub_end is not None and thick.start() > sub_end:
            cells["phase"] = t[sub_end:thick.start()].strip()
    found = _CONDITIONS & set(cells)
    return cells if len(found) >= 2 else None
