"""Film compositions named in text or in a table's target/precursor cell, as ingest accepts them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ...schema.names import clean_text
from ..normalise import ABBREVIATIONS, CellError, parse_composition
from .text import clean

_ELEMENTS = (
    "H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Kr Rb Sr Y "
    "Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb Lu Hf Ta W Re "
    "Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm Md No Lr").split()
_EL = "(?:" + "|".join(sorted(_ELEMENTS, key=len, reverse=True)) + ")"
_STOICH = r"(?:\d*(?:\.\d+)?(?:[-+]\d*(?:\.\d+)?[xyzδ])?|[xyzδ])"
_FORMULA = re.compile(rf"(?<![A-Za-z])(?:{_EL}{_STOICH}){{2,}}(?![a-z])")
_ELEMENT_LIST = re.compile(rf"(?<![A-Za-z-])(?:{_EL}-){{2,}}{_EL}(?![a-z])")
_DOPED = re.compile(rf"(?<![A-Za-z])({_EL})[- ](?:doped|substituted|stabili[sz]ed|containing)\s+(\S+)", re.I)
_ABBREVIATION = re.compile(r"(?<![\w-])(" + "|".join(re.escape(k) for k in sorted(ABBREVIATIONS, key=len, reverse=True))
                           + r")(?![\w-])", re.I)
_FRAMEWORK = {"Li", "La", "Zr", "O"}
_SIMPLE_LI = {"Li", "O", "C", "H", "N"}  # Li2O, Li2CO3, LiOH, LiNO3: lithium sources, not the film


def _elements(text: str) -> set:
    """Element symbols of a formula, element list or known abbreviation ('LLZO' -> Li, La, Zr, O)."""
    key = clean_text(text).lower()
    if key in ABBREVIATIONS:
        text = ABBREVIATIONS[key]
    return set(re.findall(rf"{_EL}(?![a-z])", text))


def _variable(text: str) -> bool:
    return bool(re.search(r"\d?[xyzδ]", text))


def _composition_of(candidate: str, dopant: str | None = None) -> str | None:
    """A composition ingest accepts for a formula/abbreviation found in text, or None: formulas with
    variable stoichiometry (Li7-3xGaxLa3Zr2O12) and doped names become the known abbreviation
    (Ga-LLZO) when there is one."""
    elements = _elements(candidate)
    if "Li" not in elements:
        return None
    dopants = ({dopant} if dopant else set()) | (elements - _FRAMEWORK if _variable(candidate) else set())
    if dopants or _variable(candidate):
        if _FRAMEWORK <= elements | {"O"} and len(dopants) == 1:
            name = f"{next(iter(dopants))}-LLZO"
            if name.lower() in ABBREVIATIONS:
                return name
        if _variable(candidate):
            return None
    try:
        parse_composition(candidate)
    except CellError:
        return None
    return candidate


def _candidates(text: str) -> list:
    """(position, as printed, composition or None) of every Li compound a text names, in order."""
    t = clean(text)
    found = []
    for m in _DOPED.finditer(t):
        inner = m.group(2).rstrip(".,;:)")
        if "Li" in _elements(inner):
            found.append((m.start(), m.group(0), _composition_of(inner, dopant=m.group(1).capitalize())))
    for pattern in (_FORMULA, _ELEMENT_LIST, _ABBREVIATION):
        for m in pattern.finditer(t):
            if "Li" in _elements(m.group(0)) and not any(s <= m.start() < s + len(p) for s, p, _ in found):
                found.append((m.start(), m.group(0), _composition_of(m.group(0))))
    return sorted(found)


def composition_in_text(text: str) -> str | None:
    """The first film composition a title or sentence names (garnet frameworks before others)."""
    ok = [(s, c) for s, _, c in _candidates(text) if c]
    if not ok:
        return None
    garnet = [(s, c) for s, c in ok if _elements(c) & {"Zr", "Ta", "Nb"} and "La" in _elements(c)]
    return (garnet or ok)[0][1]


def _named(text: str) -> str | None:
    """The first Li compound a text names as printed, parseable or not ('Li-La-Ti-Zr-O')."""
    found = _candidates(text)
    return found[0][1] if found else None


def _split_list(text: str) -> list:
    """'A, B; C' -> parts (a comma without a space, as in 2,2,6,6-tetramethyl, does not split)."""
    return [p.strip() for p in re.split(r",\s+|;\s*|\s+and\s+", text) if p.strip()]


@dataclass
class _Composition:
    composition: str | None
    precursors: str | None = None
    notes: list = field(default_factory=list)
    penalty: float = 0.0


def composition_cell(cell: str, cited_title: str | None = None) -> _Composition:
    """The film composition of a 'target compound / precursors' cell.

    A formula or abbreviation is the composition. A list of Li-bearing targets is their sum
    (co-deposition); a framework with simple oxides (Li7La3Zr2O12, Li2O, Ga2O3) is the framework
    doped with their cations (Ga-LLZO). Precursor names or a sol are kept as precursors and the
    composition is taken from the cited paper's title when it names one."""
    text = clean(cell)
    core = re.sub(r"(?<!\s)\s*\([A-Za-z-]{2,12}\)\s*$", "", text) or text  # a trailing label: '..., Li7La3Zr2O12 (LLTO)'
    parts = _split_list(core)
    from_title = composition_in_text(cited_title) if cited_title else None
    is_sol = bool(re.search(r"\bsol\b|precursor|solution|alkoxide", text, re.I))
    lithium = [p for p in parts if _composition_of(p)]
    simple = [p for p in parts if p not in lithium and _FORMULA.fullmatch(p)]
    if len(parts) == 1 and lithium and not is_sol:
        out = _Composition(lithium[0])
    elif len(parts) > 1 and len(lithium) + len(simple) == len(parts) and lithium:
        frameworks = [p for p in lithium if not _elements(p) <= _SIMPLE_LI] or lithium
        dopants = sorted({e for p in simple for e in _elements(p)} - {"O", "Li", "C", "H", "N"})
        if dopants and len(frameworks) == 1 and _FRAMEWORK <= _elements(frameworks[0]) and len(dopants) == 1 \
                and f"{dopants[0]}-llzo".lower() in ABBREVIATIONS:
            comp = f"{dopants[0]}-LLZO"
        elif not dopants:
            comp = " + ".join(frameworks)
        else:
            comp = None
        out = _Composition(comp, precursors=text, penalty=0.05,
                           notes=[f"composition from the targets/precursors listed ({text})"] if comp else
                           ["composition not stated: the table lists targets/precursors"])
        if comp is None:
            out.penalty = 0.3
    elif from_title:
        return _Composition(from_title, precursors=text, penalty=0.1,
                            notes=["composition from the cited paper's title (the table lists precursors)"])
    elif lithium:
        out = _Composition(lithium[0], precursors=text if is_sol else None, penalty=0.1 if is_sol else 0.0)
    else:
        return _Composition(None, precursors=text or None, penalty=0.3,
                            notes=["composition not stated: the table lists precursors"])
    named = _named(cited_title) if cited_title else None
    if out.composition and named and _elements(named) != _elements(out.composition):
        out.notes.append(f"check the composition: the cited paper's title names {named}")
        out.penalty += 0.15
    return out
