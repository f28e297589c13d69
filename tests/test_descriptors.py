"""The descriptor views against an independent pandas recomputation from the raw tables."""

import numpy as np
import pandas as pd
import pytest

from filmkb import kb


def _independent(kbase) -> pd.DataFrame:
    films = kbase.sql("SELECT * FROM films")
    subs = kbase.sql("SELECT * FROM substrates").set_index("id")
    ref = kbase.sql("SELECT * FROM film_phases WHERE name = 'c-LLZO'").iloc[0]
    s = subs.loc[films.substrate_id].reset_index(drop=True)
    t = films.deposition_temp_c + 273.15
    h = films.thickness_nm
    out = pd.DataFrame({
        "film_id": films.id,
        "inv_t_dep": 1 / t,
        "t_dep_over_t_m": t / s.melting_point_k,
        "norm_shear_modulus": s.shear_modulus_gpa / ref.shear_modulus_gpa,
        "film_elastic_per_h": ref.youngs_modulus_gpa * (1 - ref.poisson_ratio) / h,
        "misfit": np.where(s.amorphous, 0.0, (s.misfit_supercell_n.fillna(1) * s.lattice_a_angstrom - ref.lattice_a_angstrom) / ref.lattice_a_angstrom),
        "substrate_dielectric": s.dielectric_constant,
        "thermal_stress_term": s.youngs_modulus_gpa * (1 - s.poisson_ratio) / h * t * (s.cte_per_k - ref.cte_per_k),
        "neg_log10_sigma": -np.log10(films.conductivity_s_cm),
    })
    return out.set_index("film_id").sort_index()


def test_descriptor_view_equals_independent_pandas(kbase):
    view = kbase.descriptor_matrix(complete=False)[[*kb.DESCRIPTORS, kb.TARGET]]
    expected = _independent(kbase)[[*kb.DESCRIPTORS, kb.TARGET]]
    pd.testing.assert_frame_equal(view, expected, check_exact=False, rtol=1e-12, atol=1e-15, check_index_type=False)


def test_complete_view_is_distinct_complete_films(kbase):
    matrix = kbase.descriptor_matrix()
    assert len(matrix) == 26
    assert not matrix.is_duplicate.any()
    assert matrix[list(kb.DESCRIPTORS)].notna().all().all()


def test_choices_visible_in_descriptor_view(kbase):
    rows = kbase.descriptor_matrix(complete=False)
    chen = rows[rows.substrate_as_given == "Si-Pt"].descriptor_choices.iloc[0]
    assert "substrate Si-Pt stored as Pt" in chen
    sro = rows[rows.substrate == "SrRuO3"].descriptor_choices.iloc[0]
    assert "dielectric constant imputed" in sro and "substrate T_m imputed" in sro
    ito = rows[rows.substrate == "ITO"].descriptor_choices.iloc[0]
    assert "misfit 0: amorphous substrate" in ito


def test_golden_row_film_mgo_pld(kbase):
    """Park 2015 (Table 1 row 22): PLD at 600 C on MgO, 200 nm, 1.61e-6 S/cm."""
    fid = kbase.con.execute("SELECT id FROM films WHERE source_row = 22").fetchall()[0][0]
    row = kbase.descriptor_matrix().loc[fid]
    assert row.inv_t_dep == pytest.approx(1 / 873.15)
    assert row.film_elastic_per_h == pytest.approx(149.8 * (1 - 0.257) / 200)
    assert row.neg_log10_sigma == pytest.approx(-np.log10(1.61e-6))
    assert row.misfit == pytest.approx((3 * 4.212 - 12.9682) / 12.9682)


def test_condition_descriptors_come_from_the_view_sql_on_every_film(kbase):
    """Conditions that are not in the database get their descriptors from the view's own SQL."""
    films = kbase.sql("""SELECT f.id AS film_id, f.substrate_id, s.name AS substrate, f.deposition_temp_c, f.thickness_nm
                         FROM films f JOIN substrates s ON s.id = f.substrate_id ORDER BY f.id""")
    ours = kbase.condition_descriptors(films).set_index(films.film_id)[list(kb.DESCRIPTORS)]
    view = kbase.descriptor_matrix(complete=False)[list(kb.DESCRIPTORS)]
    pd.testing.assert_frame_equal(ours, view, check_exact=True, check_index_type=False, check_names=False)


def test_prediction_conditions_resolve_aliases_and_refuse_unknown_substrates(kbase):
    from filmkb.jobs.prediction import condition_frame

    rows = condition_frame(kbase, [{"substrate": "STO", "deposition_temp_c": 600, "thickness_nm": 100},
                                    {"substrate": "si-pt", "deposition_temp_c": 600, "thickness_nm": 100}])
    assert list(rows["substrate"]) == ["SrTiO3", "Pt"]
    assert rows["substrate_dielectric"].tolist() == [300.0, 58.0]
    with pytest.raises(kb.FilmkbError, match="unknown substrate"):
        condition_frame(kbase, [{"substrate": "Unobtainium", "deposition_temp_c": 600, "thickness_nm": 100}])
