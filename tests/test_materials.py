"""pymatgen derivations: lattices from space groups, misfit against c-LLZO, ZSL strain, formulas."""

import json

import pytest

from filmkb.ingest.normalise import parse_composition
from filmkb.kb import materials

# Table 2 of Kireeva et al. 2023: lattice mismatch of c-LLZO on each crystalline substrate.
TABLE2_MISFIT = {"SrRuO3": -0.09, "Pt": -0.09, "MgO": -0.03, "SrTiO3": -0.09, "GGG": -0.05}


@pytest.mark.parametrize("name,published", TABLE2_MISFIT.items())
def test_misfit_reproduces_table2(kbase, name, published):
    misfit = kbase.con.execute("SELECT misfit FROM substrates WHERE name = ?", [name]).fetchall()[0][0]
    assert abs(misfit - published) <= 0.005
    assert round(misfit, 2) == published


def test_amorphous_substrates_have_zero_misfit_by_convention(kbase):
    rows = kbase.con.execute("SELECT name, misfit FROM substrates WHERE amorphous ORDER BY name").fetchall()
    assert rows == [("ITO", 0.0), ("Si", 0.0), ("Si3N4", 0.0), ("SiO2", 0.0)]


def test_supercell_multiple():
    assert materials.misfit(4.212, 12.9682)[1] == 3
    assert materials.misfit(12.383, 12.9682)[1] == 1


def test_lattice_checked_against_space_group():
    lattice = materials.build_lattice("I4_1/acd", 13.134, c=12.663)
    assert (lattice.a, lattice.c) == (13.134, 12.663)
    with pytest.raises(ValueError):
        materials.build_lattice("Fm-3m", 4.0, 4.0, 5.0, gamma=120)


def test_structure_from_prototype_sites_has_the_space_group():
    mgo = materials.build_structure("Fm-3m", materials.build_lattice("Fm-3m", 4.212), "Mg 0 0 0; O 0.5 0.5 0.5")
    assert mgo.composition.reduced_formula == "MgO" and len(mgo) == 8
    assert mgo.get_space_group_info()[1] == 225


def test_zsl_strain_on_mgo_is_green_lagrange(kbase):
    row = kbase.sql("""SELECT m.* FROM interface_matches m JOIN substrates s ON s.id = m.substrate_id
                       WHERE s.name = 'MgO' AND m.substrate_orientation = '100'""").iloc[0]
    # Green-Lagrange E = ((3 a_MgO / a_LLZO)^2 - 1) / 2, not the engineering misfit (-2.56 %)
    expected = ((3 * 4.212 / 12.9682) ** 2 - 1) / 2
    assert row.strain_xx == pytest.approx(expected, abs=1e-4)
    assert row.strain_yy == pytest.approx(expected, abs=1e-4)


def test_every_oriented_crystalline_pair_has_a_match(kbase):
    pairs = kbase.con.execute("""SELECT DISTINCT s.name, f.substrate_orientation FROM films f
        JOIN substrates s ON s.id = f.substrate_id WHERE NOT s.amorphous AND f.substrate_orientation IS NOT NULL
        EXCEPT SELECT s.name, m.substrate_orientation FROM interface_matches m JOIN substrates s ON s.id = m.substrate_id
    """).fetchall()
    assert pairs == []


def test_reduced_formula_invariance():
    assert parse_composition("Li7La3Zr2O12").formula == parse_composition("Li14La6Zr4O24").formula


def test_materials_store_reduced_formula_and_li(kbase):
    rows = dict(kbase.con.execute("SELECT composition, li_per_formula_unit FROM film_materials").fetchall())
    assert rows["Li6.19Al0.28La3Zr1.75Ta0.25O12"] == 6.19
    assert rows["LLZO"] == 7.0


def test_a_remembered_search_is_the_search_and_a_damaged_entry_is_searched_again(tmp_path, monkeypatch):
    """interface_strain keeps each ZSL answer under a digest of its inputs: the same structures in another
    site order hit it, a changed lattice does not, and a file that does not read back is searched again."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("FILMKB_INTERFACE_CACHE", raising=False)
    film = materials.build_structure("Ia-3d", materials.build_lattice("Ia-3d", 12.9682), "Li 0.375 0 0.25; "
                                     "La 0.125 0 0.25; Zr 0 0 0; O 0.28 0.1 0.2")
    mgo = materials.build_structure("Fm-3m", materials.build_lattice("Fm-3m", 4.212), "Mg 0 0 0; O 0.5 0.5 0.5")
    searched = materials._search(film, mgo, "100")
    assert materials.interface_strain(film, mgo, "100") == searched
    files = list((tmp_path / "filmkb" / "interfaces").glob("*.json"))
    assert len(files) == 1
    shuffled = mgo.copy()
    shuffled.reverse()  # the same crystal, its sites in another order
    assert materials._search_key(film, shuffled, "100") == materials._search_key(film, mgo, "100")
    wider = materials.build_structure("Fm-3m", materials.build_lattice("Fm-3m", 4.3), "Mg 0 0 0; O 0.5 0.5 0.5")
    assert materials._search_key(film, wider, "100") != materials._search_key(film, mgo, "100")
    files[0].write_text('{"film_miller": ')  # cut short
    assert materials.interface_strain(film, mgo, "100") == searched
    assert materials.InterfaceStrain(**json.loads(files[0].read_text())) == searched
