"""Share of a curated table's fields the drafts reproduce: the measure of extraction quality."""

from __future__ import annotations

from ...schema.names import Vocabulary, alias_key
from ..normalise import CellError, normalise_orientation, parse_composition, split_substrate
from .names import curated_vocabulary

AGREEMENT_FIELDS = ("composition", "method", "deposition_temp_c", "substrate", "thickness_nm", "conductivity_s_cm")


def _same_number(a, b) -> bool:
    try:
        x, y = float(a), float(b)
    except (TypeError, ValueError):
        return False
    return abs(x - y) <= 0.01 * max(abs(x), abs(y)) or x == y


def _composition_key(text):
    try:
        return parse_composition(text).formula
    except CellError:
        return alias_key(text)


def _substrate_key(name, orientation, vocab):
    if not name:
        return None
    base, in_name = split_substrate(name)
    try:
        orientation = normalise_orientation(orientation) if orientation else in_name
    except CellError:
        orientation = in_name
    return vocab.resolve("substrate", base) or alias_key(base), orientation or None


def field_agreement(drafts: list, curated: list, vocab: Vocabulary | None = None, table: str | None = None) -> dict:
    """Share of fields of `curated` rows (dicts with source_row, as in data/seed_films.csv) that the
    table drafts reproduce, matched by table row: {'overall': x, field: x, 'matched': n, 'rows': n}.
    Numbers agree within 1 % relative; names after alias resolution; compositions by formula."""
    vocab = vocab or curated_vocabulary()
    rows = [d for d in drafts if d.origin in ("table", "flattened")]
    if table is None and rows:
        table = rows[0].table
    by_row = {d.row: d for d in rows if d.table == table}
    hits = dict.fromkeys(AGREEMENT_FIELDS, 0)
    matched = 0
    for c in curated:
        d = by_row.get(int(c["source_row"]))
        if d is None:
            continue
        matched += 1
        x = d.cells
        hits["composition"] += bool(x["composition"]) and (
            _composition_key(x["composition"]) == _composition_key(c["composition"]))
        hits["method"] += bool(x["method"]) and (vocab.resolve("method", x["method"]) or alias_key(x["method"])) == (
            vocab.resolve("method", c["method"]) or alias_key(c["method"]))
        hits["substrate"] += _substrate_key(x["substrate"], x["substrate_orientation"], vocab) == _substrate_key(
            c["substrate"], c.get("substrate_orientation"), vocab)
        for f in ("deposition_temp_c", "thickness_nm", "conductivity_s_cm"):
            hits[f] += _same_number(x[f], c[f])
    n = len(curated)
    out = {f: hits[f] / n if n else 0.0 for f in AGREEMENT_FIELDS}
    out["overall"] = sum(hits.values()) / (n * len(AGREEMENT_FIELDS)) if n else 0.0
    out["matched"], out["rows"] = matched, n
    return out
