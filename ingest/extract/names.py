"""Method and substrate names to look for in a paper, from a vocabulary (default: curated files)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from ...schema.names import Vocabulary, alias_key


class _Names:
    """Regexes for every method and substrate name/alias of a vocabulary (longest first). A name of
    three letters or fewer counts only when it starts with a capital (PLD, Si, AD; not 'ad', 'sin')."""

    def __init__(self, vocab: Vocabulary):
        self.vocab = vocab
        self._method = self._pattern(vocab.methods)
        self._substrate = self._pattern(vocab.substrates)

    @staticmethod
    def _matches(pattern, text: str, start: int = 0, end: int | None = None):
        for m in pattern.finditer(text, start, len(text) if end is None else end):
            if len(m.group(0)) > 3 or m.group(0)[:1].isupper():
                yield m

    def methods(self, text: str, start: int = 0, end: int | None = None):
        return self._matches(self._method, text, start, end)

    def substrates(self, text: str, start: int = 0, end: int | None = None):
        return self._matches(self._substrate, text, start, end)

    @staticmethod
    def _pattern(table: dict):
        names = sorted((k for k in table if k), key=len, reverse=True)
        if not names:
            return re.compile(r"(?!x)x")
        alternation = "|".join(re.escape(n).replace(r"\ ", r"\s+") for n in names)
        return re.compile(rf"(?<![\w-])(?:{alternation})(?![\w])", re.I)


_NAMES_CACHE: dict = {}


def _names(vocab: Vocabulary) -> _Names:
    key = id(vocab)
    if key not in _NAMES_CACHE or _NAMES_CACHE[key].vocab is not vocab:
        _NAMES_CACHE.clear()
        _NAMES_CACHE[key] = _Names(vocab)
    return _NAMES_CACHE[key]


def curated_vocabulary(data_dir=None) -> Vocabulary:
    """The method and substrate names of the curated data files (no database needed)."""
    from ..datafiles import DATA_DIR

    d = Path(data_dir or DATA_DIR)
    tables = []
    for name, columns in (("substrates.csv", ("name", "formula")), ("methods.csv", ("name",))):
        table = {}
        with open(d / name, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                for alias in [row[c] for c in columns] + (row.get("aliases") or "").split("|"):
                    if alias and alias.strip():
                        table.setdefault(alias_key(alias), row["name"])
        tables.append(table)
    return Vocabulary(tables[0], tables[1])
