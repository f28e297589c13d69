"""Pure normalisation of literature cells: units (pint), formulas (pymatgen), names, DOIs.

Every function takes text as papers print it and returns canonical values, or raises
`CellError` with a reason a scientist can act on. Nothing here touches the database.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

from ..schema.names import PHASES, alias_key, clean_text  # noqa: F401  (re-exported for ingest)


class CellError(ValueError):
    """A cell that cannot be normalised; the message is the reason shown to the user."""


# --- text -------------------------------------------------------------------------------------

def is_blank(value: object) -> bool:
    """True for None, NaN and empty or whitespace-only cells."""
    if value is None:
        return True
    if isinstance(value, float) and value != value:
        return True
    return clean_text(value) == ""


# --- DOIs -------------------------------------------------------------------------------------

_DOI_PREFIX = re.compile(r"^(?:https?://)?(?:dx\.)?(?:doi\.org/)|^doi:\s*", re.IGNORECASE)


def normalise_doi(value: object) -> str | None:
    """'https://doi.org/10.1039/C4TA02289K' -> '10.1039/c4ta02289k'; blank -> None."""
    if is_blank(value):
        return None
    doi = _DOI_PREFIX.sub("", clean_text(value)).strip().rstrip(".").lower()
    if not re.fullmatch(r"10\.\d{4,9}/\S+", doi):
        raise CellError("not a DOI (expected 10.NNNN/suffix, optionally as a doi.org URL)")
    return doi


# --- quantities -------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _ureg():
    import pint

    return pint.UnitRegistry()


_TIMES_TEN = re.compile(r"^\s*([-+]?\d*\.?\d+)\s*(?:[x×·*]\s*10\s*(?:\^|\*\*)?\s*([-+]?\d+))")
_PLAIN = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)")
_QUANTITY_NAMES = {"S/cm": "conductivity", "degC": "temperature", "K": "temperature", "nm": "length",
                   "angstrom": "length", "GPa": "pressure (modulus)", "1/K": "1/temperature",
                   "dimensionless": "dimensionless"}
_UNIT_ALIASES = {"°c": "degC", "ºc": "degC", "c": "degC", "°f": "degF", "k": "kelvin", "um": "micrometer"}


def _split_number(text: str) -> tuple[float, str]:
    """'1.2 × 10-4 S/cm' -> (1.2e-4, 'S/cm'); raises if no leading number."""
    m = _TIMES_TEN.match(text)
    if m:
        return float(f"{m.group(1)}e{int(m.group(2))}"), text[m.end():].strip()
    m = _PLAIN.match(text)
    if not m:
        raise CellError("not a number")
    return float(m.group(1)), text[m.end():].strip()


def _pint_unit(unit: str) -> str:
    """Spell a printed unit the way pint reads it ('S cm-1' -> 'S/cm', '°C' -> 'degC')."""
    unit = re.sub(r"[·⋅]", " ", unit).strip()
    if unit.lower() in _UNIT_ALIASES:
        return _UNIT_ALIASES[unit.lower()]
    unit = re.sub(r"([A-Za-zμµ]+)\s*\^?\s*-\s*1\b", r"/\1", unit)  # cm-1, cm^-1 -> /cm
    unit = re.sub(r"\s*/\s*", "/", unit).replace("°C", "degC").replace("°", "deg")
    return re.sub(r"(?<=\w)\s+/", "/", unit).replace(" ", "*")


def parse_quantity(value: object, unit: str) -> float | None:
    """A cell in `unit` (plain number) or with its own unit, converted to `unit`; blank -> None."""
    if is_blank(value):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    number, printed = _split_number(clean_text(value))
    if not math.isfinite(number):
        raise CellError("not a finite number")
    if not printed:
        return number
    try:
        scale, offset = _conversion(_pint_unit(printed), unit)
    except Exception as exc:  # pint raises several unrelated types
        kind = type(exc).__name__
        if "Dimensionality" in kind:
            kind = _QUANTITY_NAMES.get(unit, str(_ureg().Unit(unit).dimensionality))
            raise CellError(f"unit '{printed}' is not a {kind} unit (expected e.g. {unit})") from None
        raise CellError(f"unknown unit '{printed}'") from None
    return float(f"{number * scale + offset:.12g}")  # drop float noise of unit conversion (300 K -> 26.85 C)


@lru_cache(maxsize=4096)
def _conversion(pint_unit: str, unit: str) -> tuple[float, float]:
    """(scale, offset) with value_in_unit = number * scale + offset, from pint once per unit pair: every
    conversion here is affine (temperatures have an offset), and parsing units is most of ingest's time."""
    ureg = _ureg()
    zero = ureg.Quantity(0.0, pint_unit).to(unit).magnitude
    return ureg.Quantity(1.0, pint_unit).to(unit).magnitude - zero, zero


def parse_energy_ev(value: object) -> float | None:
    """An energy per ion in eV, e.g. an activation energy: '0.5 eV', '500 meV', a plain number (eV), or per
    mole ('48.2 kJ/mol', '11.5 kcal/mol', divided by Avogadro's number by pint); blank -> None."""
    try:
        return parse_quantity(value, "eV")
    except CellError as per_ion:
        try:
            return parse_quantity(value, "eV/particle")
        except CellError:
            if "is not a" not in str(per_ion):
                raise per_ion from None
            printed = _split_number(clean_text(value))[1]
            raise CellError(f"unit '{printed}' is not an energy unit (expected e.g. eV, meV or kJ/mol)") from None


# --- compositions -----------------------------------------------------------------------------

# Abbreviations and element-list names mapped to a nominal formula (documented in data/README.md).
ABBREVIATIONS = {
    "llzo": "Li7La3Zr2O12",
    "c-llzo": "Li7La3Zr2O12",
    "t-llzo": "Li7La3Zr2O12",
    "li-la-zr-o": "Li7La3Zr2O12",
    "li-la-zr sol": "Li7La3Zr2O12",
    "llzto": "Li6.4La3Zr1.4Ta0.6O12",
    "ta-llzo": "Li6.4La3Zr1.4Ta0.6O12",
    "al-llzo": "Li6.25Al0.25La3Zr2O12",
    "ga-llzo": "Li6.25Ga0.25La3Zr2O12",
    "nb-llzo": "Li6.75La3Zr1.75Nb0.25O12",
    "llto": "Li0.33La0.56TiO3",
    "llzo-llto": "Li0.33La0.56TiO3 + Li7La3Zr2O12",
}

_DOPANTS = ("Al", "Ga", "Ta", "Nb", "Ba", "Ca", "Sr", "Y", "W", "Mo", "Te", "Fe", "Ge", "Sc", "Ce", "Bi", "Sb")


@dataclass(frozen=True)
class CompositionInfo:
    """A normalised film composition: text, pymatgen reduced formula, family and Li content."""

    composition: str
    formula: str
    family: str
    li_per_formula_unit: float
    nominal: bool


def _family(elements: set[str]) -> str:
    """Classify by framework: Zr garnet (LLZO + dopants), Ta garnet (LLTaO), Ti perovskite (LLTO)."""
    dopants = ",".join(d for d in _DOPANTS if d in elements)
    if {"Li", "La", "Zr"} <= elements and "Ti" in elements:
        return "LLZO-LLTO"
    if {"Li", "La", "Zr"} <= elements:
        return f"{dopants}-LLZO" if dopants else "LLZO"
    if {"Li", "La", "Ta"} <= elements:
        rest = ",".join(d for d in _DOPANTS if d in elements and d != "Ta")
        return f"{rest}-LLTaO" if rest else "LLTaO"
    if {"Li", "La", "Ti"} <= elements:
        return "LLTO"
    return "other"


def parse_composition(value: object) -> CompositionInfo:
    """'Li₆.₄La₃Zr₁.₄Ta₀.₆O₁₂', 'LLZTO', 'A + B' (equal formula units) -> CompositionInfo."""
    from pymatgen.core import Composition, Element
    from pymatgen.core.periodic_table import DummySpecies

    text = clean_text(value)
    if not text:
        raise CellError("empty composition")
    key = text.lower().replace("–", "-")
    nominal = key in ABBREVIATIONS
    formula_text = ABBREVIATIONS.get(key, text)
    total = None
    for part in re.split(r"\s*\+\s*", formula_text):
        try:
            comp = Composition(part.replace(" ", ""))
        except Exception:
            raise CellError(
                f"pymatgen cannot parse '{part}' as a formula (known abbreviations: {', '.join(sorted(ABBREVIATIONS))})"
            ) from None
        # DummySpecies ('Q', 'Xx') stand in for unknown symbols; their Z is a hash, not a test.
        unknown = [str(el).rstrip("0+-") for el in comp.elements if not Element.is_valid_symbol(getattr(el, "symbol", ""))
                   or isinstance(el, DummySpecies)]
        if unknown:
            raise CellError(f"pymatgen cannot parse '{part}' as a formula: unknown element(s) {', '.join(unknown)}")
        if comp.num_atoms <= 0:
            raise CellError(f"'{part}' has no atoms")
        total = comp if total is None else total + comp
    elements = {el.symbol for el in total.elements}
    if "Li" not in elements:
        raise CellError(f"'{text}' contains no Li: not a Li-ion conductor")
    canonical = ABBREVIATIONS[key] if nominal else formula_text
    return CompositionInfo(
        composition=text if nominal else canonical,
        formula=total.reduced_formula,
        family=_family(elements),
        li_per_formula_unit=float(total["Li"]),
        nominal=nominal,
    )


# --- names: methods, substrates, phases -------------------------------------------------------

_ORIENTATION = re.compile(r"^(.*?)[\s(\[<{]*([-\d\s]{3,})[)\]>}]*\s*$")


def normalise_orientation(value: object) -> str | None:
    """'(100)', '<001>', '[1 1 1]', '100' -> '100'; a hexagonal Miller-Bravais plane (hkil, i = -(h+k))
    -> its Miller index hkl ('(0001)' -> '001', '(11-20)' -> '110'); blank -> None."""
    if is_blank(value):
        return None
    text = re.sub(r"[\s()\[\]<>{}]", "", clean_text(value))
    four = re.fullmatch(r"(-?\d)(-?\d)(-?\d)(-?\d)", text)
    if four:
        h, k, i, l = (int(x) for x in four.groups())
        if i != -(h + k):
            raise CellError(f"Miller-Bravais index ({text}) needs i = -(h+k) = {-(h + k)}")
        return "".join(four.group(n) for n in (1, 2, 4))
    if not re.fullmatch(r"(-?\d){3}", text):
        raise CellError("orientation must be a Miller index such as 100, (001) or [111], or hkil such as (0001)")
    return text


def split_substrate(value: object) -> tuple[str, str | None]:
    """'MgO (100)' -> ('MgO', '100'); 'Si-Pt' -> ('Si-Pt', None)."""
    text = clean_text(value)
    m = re.match(r"^(.*?)\s*[(\[<{]\s*(-?\d\s*-?\d\s*-?\d(?:\s*-?\d)?)\s*[)\]>}]\s*$", text)
    if m:
        return m.group(1).strip(), normalise_orientation(m.group(2))
    return text, None


_PHASE_ALIASES = {
    "c": "cubic", "c-llzo": "cubic", "cubic llzo": "cubic", "cubic garnet": "cubic",
    "t": "tetragonal", "t-llzo": "tetragonal", "tetragonal llzo": "tetragonal",
    "a": "amorphous", "amorphous llzo": "amorphous", "glass": "amorphous", "glassy": "amorphous",
}


def normalise_phase(value: object) -> str:
    """'c-LLZO' -> cubic, 't-LLZO + c-LLZO' -> mixed, 'amorphous' -> amorphous."""
    text = clean_text(value).lower()
    if not text:
        raise CellError(f"empty phase (expected one of {', '.join(PHASES)})")
    if text in PHASES:
        return text
    if text in _PHASE_ALIASES:
        return _PHASE_ALIASES[text]
    if "+" in text or " and " in text:
        return "mixed"
    raise CellError(f"unknown phase (expected one of {', '.join(PHASES)}, or aliases such as c-LLZO, t-LLZO)")
