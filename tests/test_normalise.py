"""Pure normalisation functions: units, formulas, DOIs, substrates, orientations, phases."""

import pytest

from filmkb.ingest.normalise import (
    CellError, normalise_doi, normalise_orientation, normalise_phase, parse_composition, parse_quantity, split_substrate,
)


@pytest.mark.parametrize("cell,unit,expected", [
    ("0.12 mS/cm", "S/cm", 1.2e-4), ("1.2e-4 S/cm", "S/cm", 1.2e-4), ("1.67 × 10−6", "S/cm", 1.67e-6),
    ("3.5 S cm⁻¹", "S/cm", 3.5), ("1e-3 S/m", "S/cm", 1e-5), ("700 °C", "degC", 700.0), ("700 K", "degC", 426.85),
    ("25 °C", "degC", 25.0), ("0.2 µm", "nm", 200.0), ("0.2 um", "nm", 200.0), ("307 nm", "nm", 307.0),
    ("600", "degC", 600.0), (86.5, "nm", 86.5),
])
def test_quantities(cell, unit, expected):
    assert parse_quantity(cell, unit) == pytest.approx(expected, rel=1e-12)


def test_blank_quantity_is_none():
    assert parse_quantity("  ", "nm") is None


@pytest.mark.parametrize("cell,unit,reason", [
    ("3 nm", "S/cm", "is not a"), ("abc", "nm", "not a number"), ("3 furlongz", "nm", "unknown unit"),
])
def test_bad_quantities(cell, unit, reason):
    with pytest.raises(CellError, match=reason):
        parse_quantity(cell, unit)


@pytest.mark.parametrize("text,formula,family", [
    ("Li₆.₄La₃Zr₁.₄Ta₀.₆O₁₂", "Li6.4La3Zr1.4Ta0.6O12", "Ta-LLZO"),
    ("LLZO", "Li7La3Zr2O12", "LLZO"), ("LLZTO", "Li6.4La3Zr1.4Ta0.6O12", "Ta-LLZO"),
    ("Ga-LLZO", "Li6.25La3Zr2Ga0.25O12", "Ga-LLZO"), ("LLTO", "Li0.33La0.56Ti1O3", "LLTO"),
    ("Li–La–Zr–O", "Li7La3Zr2O12", "LLZO"), ("Li6BaLa2Ta2O12", "BaLi6La2Ta2O12", "Ba-LLTaO"),
    ("Li6.19Al0.28La3Zr1.75Ta0.25O12", "Li6.19La3Zr1.75Ta0.25Al0.28O12", "Al,Ta-LLZO"),
])
def test_compositions(text, formula, family):
    info = parse_composition(text)
    assert (info.formula, info.family) == (formula, family)


@pytest.mark.parametrize("text", ["banana", "La2Zr2O7", ""])
def test_bad_compositions(text):
    with pytest.raises(CellError):
        parse_composition(text)


def test_doi():
    assert normalise_doi("https://doi.org/10.1039/C4TA02289K") == "10.1039/c4ta02289k"
    assert normalise_doi("doi:10.1021/ACS.CHEMMATER.7B00944") == "10.1021/acs.chemmater.7b00944"
    with pytest.raises(CellError):
        normalise_doi("not-a-doi")


def test_substrate_and_orientation():
    assert split_substrate("MgO (100)") == ("MgO", "100")
    assert split_substrate("STO(100)") == ("STO", "100")
    assert split_substrate("Si-Pt") == ("Si-Pt", None)
    assert normalise_orientation("[1 1 1]") == "111"
    with pytest.raises(CellError):
        normalise_orientation("top")


def test_hexagonal_miller_bravais_planes_become_miller_indices():
    assert normalise_orientation("(0001)") == "001"
    assert normalise_orientation("11-20") == "110"
    assert split_substrate("sapphire (0001)") == ("sapphire", "001")
    with pytest.raises(CellError, match="i = -"):
        normalise_orientation("(1111)")


@pytest.mark.parametrize("text,phase", [
    ("c-LLZO", "cubic"), ("t-LLZO", "tetragonal"), ("amorphous", "amorphous"), ("c-LLZO+t- LLZO", "mixed"),
])
def test_phases(text, phase):
    assert normalise_phase(text) == phase
