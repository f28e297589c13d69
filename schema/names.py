"""Names as the knowledge base stores them: text cleaning, the alias key, closed vocabularies.

A substrate or method is looked up by `alias_key(text)` in its alias table; the same key is
written when an alias is stored, so lookup and storage cannot disagree.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

PHASES = ("cubic", "tetragonal", "amorphous", "mixed")
# Deposition-method families. The extended descriptor set one-hot encodes PVD, CVD and ALD only
# (method_pvd, method_cvd, method_ald); every other family is all 0 there, as sol-gel always was.
#   solution: chemical solution routes other than sol-gel coating (CSD/MOD, spray pyrolysis)
#   powder:   films or sheets consolidated from ceramic powder (aerosol deposition, tape casting)
#   other:    a method that fits none of the above
METHOD_FAMILIES = ("PVD", "CVD", "ALD", "sol-gel", "solution", "powder", "other")
ROOM_TEMPERATURE_C = 25.0  # a conductivity without a measurement temperature is recorded as measured here
# A conductivity measured within ROOM_TEMPERATURE_C +- this (20-30 C, bounds included) counts as a room-
# temperature value: its 25 C conductivity is the measured one, not converted. Further away it is converted to
# 25 C with its activation energy (schema/arrhenius.py), or, without one, kept out of the descriptor matrix.
ROOM_TEMPERATURE_TOLERANCE_C = 5.0

_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2212"), "-")


def clean_text(value: object) -> str:
    """NFKC-normalise (subscripts -> digits, micro sign -> mu), unify dashes, collapse spaces."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", str(value)).translate(_DASHES)
    return re.sub(r"\s+", " ", text).strip()


def alias_key(value: object) -> str:
    """The lookup key of a method or substrate name: cleaned, lower case, single spaces."""
    return clean_text(value).lower()


@dataclass(frozen=True)
class Vocabulary:
    """Known names: alias key -> canonical name for substrates and methods, and reference keys."""

    substrates: dict
    methods: dict
    reference_keys: frozenset = frozenset()

    def resolve(self, kind: str, name: object) -> str | None:
        """Canonical substrate or method name of `name` (any stored alias), None if unknown."""
        table = self.substrates if kind == "substrate" else self.methods
        return table.get(alias_key(name))
