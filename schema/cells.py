"""Cells as people see them: spreadsheet formulas neutralised in CSV, control characters made visible.

CSV written for people follows OWASP's CSV-injection rule: a text cell that a spreadsheet would run
(one beginning with =, +, -, @, a tab or a carriage return) gets a leading `'`, which spreadsheets
show as "text" and do not keep. Text that reads as a plain number (-0.5, +1e-3) is data and is left
alone. The rule is invertible: a cell is also quoted when it already begins with `'`s followed by
such a character, so `unneutralise` (ingest reading a CSV) takes exactly one `'` off and gives back
the stored text, `'=x` included.

Anything printed to a terminal shows control characters other than newline and tab (and the
bidirectional overrides that reorder a line) as `\\u001b`, so a stored escape sequence cannot
retitle, clear or rewrite the reader's terminal. The `\\u` form keeps JSON text valid.
"""

from __future__ import annotations

import re

FORMULA_START = frozenset("=+-@\t\r")
_NUMBER = re.compile(r"[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)", re.IGNORECASE)
_SUSPECT = re.compile("'*[=+\\-@\t\r]")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")

__all__ = ["FORMULA_START", "neutralise", "neutralised_frame", "unneutralise", "visible"]


def _runs_as_formula(text: str) -> bool:
    """True for text a spreadsheet would run, or text that would read as such once one `'` is taken off."""
    core = text.lstrip("'")
    return bool(core) and core[0] in FORMULA_START and not _NUMBER.fullmatch(core)


def neutralise(value):
    """A CSV cell for people: text a spreadsheet would run gets a leading `'`; anything else as it is."""
    return "'" + value if isinstance(value, str) and _runs_as_formula(value) else value


def unneutralise(value):
    """A CSV cell as read back: one leading `'` that `neutralise` added is taken off."""
    if isinstance(value, str) and value.startswith("'") and _runs_as_formula(value[1:]):
        return value[1:]
    return value


def neutralised_frame(frame):
    """A copy of a DataFrame whose text cells and column names are neutralised (numbers stay numbers)."""
    out = frame.rename(columns=lambda c: neutralise(c) if isinstance(c, str) else c)
    for i, dtype in enumerate(frame.dtypes):
        if str(dtype) in ("str", "string"):
            out.isetitem(i, _neutralised_strings(frame.iloc[:, i]))
        elif dtype == object:
            out.isetitem(i, frame.iloc[:, i].map(neutralise, na_action="ignore"))
    return out


def _neutralised_strings(column):
    """`neutralise` over a pandas string column, vectorised (most columns hold no formula at all)."""
    suspect = column.str.match(_SUSPECT.pattern, na=False)
    if not suspect.any():
        return column
    number = column.str.lstrip("'").str.fullmatch(_NUMBER.pattern, flags=re.IGNORECASE, na=False)
    return column.mask(suspect & ~number, "'" + column)


def visible(text: str) -> str:
    """Text safe to print: control characters other than newline and tab, and bidirectional overrides,
    written as `\\uXXXX`."""
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
