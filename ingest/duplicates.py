"""Which entries a database already holds: exact duplicates are skipped, near-duplicates flagged.

Two rows describe the same film when reference, formula, method, substrate, orientation,
deposition temperature and thickness agree; they are exact duplicates when the conductivity
agrees too. Numbers compare at 9 significant digits.
"""

from __future__ import annotations

from .entries import reference_key


def number_key(value):
    """A float rounded to 9 significant digits (None for missing) so equal readings compare equal."""
    return None if value is None or value != value else float(f"{value:.9g}")


def condition_key(ref: str, formula: str, method: str, substrate: str, orientation, t_dep, thickness) -> tuple:
    """What makes two rows the same film apart from the measured conductivity."""
    return (ref, formula, method, substrate, orientation or None, number_key(t_dep), number_key(thickness))


def _known(existing_rows) -> dict:
    """condition key -> [(film id, conductivity key)] from kb's `existing_conditions()` rows."""
    known = {}
    for fid, ref, formula, method, sub, orient, t_dep, h, sigma in existing_rows:
        known.setdefault(condition_key(ref, formula, method, sub, orient, t_dep, h), []).append((fid, number_key(sigma)))
    return known


def _identity(identities: dict):
    """entry reference -> the identity stored films are keyed by (DOI, else citation key)."""
    def identity(ref):
        if ref.key:
            return identities.get(ref.key, ref.key)
        if ref.doi:
            return ref.doi
        key = reference_key(ref.authors, ref.year, None)
        return identities.get(key, key)
    return identity


def classify_duplicates(entries, existing_rows, identities: dict):
    """Split entries into (to add, exact duplicates, near-duplicates) against the database and the batch."""
    known, identity = _known(existing_rows), _identity(identities)
    fresh, dups, near, pending = [], [], [], {}
    for e in entries:
        key = condition_key(identity(e.reference), e.material.formula, e.method, e.substrate,
                            e.substrate_orientation, e.deposition_temp_c, e.thickness_nm)
        sigma = number_key(e.conductivity_s_cm)
        same = [fid for fid, s in known.get(key, []) if s == sigma]
        earlier = [ln for ln, s in pending.get(key, []) if s == sigma]
        if same or earlier:
            dups.append((e.source_file, e.source_line, same[0] if same else f"line {earlier[0]}"))
            continue
        others = [fid for fid, _ in known.get(key, [])]
        if others:
            near.append((e.source_file, e.source_line, others[0]))
        pending.setdefault(key, []).append((e.source_line, sigma))
        fresh.append(e)
    return fresh, dups, near
