"""Numbers in cells converted to the template column's unit (the cell's own, the header's or the default)."""

from __future__ import annotations

import re

from ..normalise import CellError, parse_quantity
from .text import clean

UNITS = {"deposition_temp_c": "degC", "measurement_temp_c": "degC", "thickness_nm": "nm",
         "conductivity_s_cm": "S/cm", "activation_energy_ev": "eV"}
_BARE_NUMBER = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?:\s*[x×·*]\s*10\s*\^?\s*[-+]?\d+)?$")
_ROOM = re.compile(r"^(?:rt|r\.t\.|room temp(?:erature)?\.?|ambient)$", re.I)


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def quantity_cell(cell: str, column: str, header_unit: str | None = None) -> float | None:
    """A table cell in the column's unit: its own unit, else the header's, else the column's;
    'RT'/'room temperature' is 25 °C. Raises CellError when it is not a quantity."""
    text = clean(cell)
    text = re.sub(r"(?<!\s)\s*(?:±|\+/-)\s*[\d.]+(?=\s|$|[×x])", "", text).strip().rstrip(".")
    text = re.sub(r"^[~≈<>≤≥]\s*|^ca\.?\s*", "", text)
    if not text or text in ("-", "–", "n/a", "na", "?"):
        return None
    if column.endswith("temp_c") and _ROOM.match(text):
        return 25.0
    if header_unit and _BARE_NUMBER.match(text):
        text = f"{text} {header_unit}"
    elif re.fullmatch(r"1?0\s*\^\s*[-+]?\d+.*", text):  # '10^-4 S/cm'
        text = "1 × " + text
    return parse_quantity(text, UNITS[column])


def _from_log(cell: str, header_unit: str | None) -> float:
    """A 'log σ' cell (-5.2) as S/cm, in the header's unit if it gives one."""
    text = clean(cell)
    try:
        exponent = float(text)
    except ValueError:
        raise CellError("not a number (the column holds log10 of the conductivity)") from None
    scale = parse_quantity(f"1 {header_unit}", "S/cm") if header_unit else 1.0
    return float(f"{10 ** exponent * scale:.12g}")


def _header_unit(cell: str, column: str) -> str | None:
    """The unit a header gives its column: 'Film Thickness, nm', 'T (°C)', 'σ [S cm⁻¹]', 'Ea/eV'."""
    text = clean(cell)
    for m in reversed(list(re.finditer(r"\(([^()]+)\)|\[([^\[\]]+)\]|,\s*([^,]+)$|/\s*([^/]+)$", text))):
        unit = next(g for g in m.groups() if g).strip()
        try:
            parse_quantity(f"1 {unit}", UNITS[column])
            return unit
        except (CellError, KeyError):
            continue
    return None
