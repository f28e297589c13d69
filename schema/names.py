"""Names as the knowledge base stores them: text cleaning, the alias key, closed vocabularies.

A substrate or method is looked up by `alias_key(text)` in its alias table; the same key is
written when an alias is stored, so lookup and storage cannot disagree.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

PHASES = ("cubic", "tetragonal", "amorphous", "mixed")
METHOD_FAMILIES = ("PVD", "CVD", "ALD", "sol-gel")
ROOM_TEMPERATURE_C = 25.0  # a conductivity without a measurement temperature is recorded as measured here

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
