"""What the literature-checked substrate properties change against the paper's Table 2: per substrate and
property the two values (with the checked value's source), and per descriptor of the model matrix how far
the two versions differ (max |change|, films changed, correlation). For the report and the benchmark."""

from __future__ import annotations

import numpy as np

from ..schema.descriptors import MODEL_COLUMNS
from ..schema.properties import CHECKED, PAPER
from .properties import use

# Substrate columns the report compares, as `filmkb substrates` names them, with the unit of the data files.
COMPARED = {"lattice_a_angstrom": "angstrom", "misfit": "-", "cte_per_k": "1/K", "poisson_ratio": "-",
            "youngs_modulus_gpa": "GPa", "bulk_modulus_gpa": "GPa", "shear_modulus_gpa": "GPa",
            "dielectric_constant": "-", "melting_point_k": "K"}


def property_changes(k) -> dict:
    """{"values": rows of changed substrate values, "descriptors": per model column the change, "films": n,
    "unchanged_substrates": substrates the checked set leaves as they are}; `k` is left on its set."""
    from ..ingest.property_sets import checked_entries

    before = k.properties
    try:
        use(k, PAPER)
        paper_subs, paper = k.substrates().set_index("name"), k.model_matrix()
        use(k, CHECKED)
        checked_subs, checked = k.substrates().set_index("name"), k.model_matrix()
    finally:
        use(k, before)
    sources = {(e.name, v.column): v.source for e in checked_entries() for v in e.values.values()}
    values = []
    for name in paper_subs.index:
        for column, unit in COMPARED.items():
            a, b = paper_subs.at[name, column], checked_subs.at[name, column]
            if not _same(a, b):
                values.append({"substrate": name, "property": column, "unit": unit, "paper": _num(a),
                               "checked": _num(b), "source": sources.get((name, column), "derived (pymatgen misfit)")})
    changed = {v["substrate"] for v in values}
    return {"values": values, "descriptors": descriptor_changes(paper, checked), "films": int(len(paper)),
            "unchanged_substrates": [s for s in paper_subs.index if s not in changed]}


def descriptor_changes(paper, checked) -> list[dict]:
    """Per model column: max |checked - paper|, that change relative to the paper column's sd, films whose
    value changed, and the correlation of the two versions (rows matched by film id)."""
    checked = checked.reindex(paper.index)
    rows = []
    for column in MODEL_COLUMNS:
        a, b = paper[column].to_numpy(dtype=float), checked[column].to_numpy(dtype=float)
        both = np.isfinite(a) & np.isfinite(b)
        diff = np.abs(b[both] - a[both])
        sd = float(np.std(a[both])) if both.any() else float("nan")
        corr = float(np.corrcoef(a[both], b[both])[0, 1]) if both.sum() > 1 and np.std(a[both]) > 0 \
            and np.std(b[both]) > 0 else float("nan")
        rows.append({"descriptor": column, "max_abs_change": float(diff.max()) if diff.size else 0.0,
                     "relative_to_sd": float(diff.max() / sd) if diff.size and sd > 0 else 0.0,
                     "films_changed": int((diff > 1e-12 * np.maximum(1.0, np.abs(a[both]))).sum()),
                     "correlation": corr})
    return rows


def _same(a, b) -> bool:
    if a is None or b is None or (isinstance(a, float) and np.isnan(a)) or (isinstance(b, float) and np.isnan(b)):
        return (a is None or a != a) and (b is None or b != b)
    return abs(float(a) - float(b)) <= 1e-12 * max(1.0, abs(float(a)))


def _num(value):
    return None if value is None or value != value else float(value)
