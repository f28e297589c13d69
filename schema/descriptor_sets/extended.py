"""paper7 with thickness and dielectric constant on a log scale, plus the film's phase, the method family,
the measurement temperature and the composition (views film_descriptors_extended and
film_descriptors_extended_complete, schema/views/040 and 050)."""

from ..descriptors import Descriptor, DescriptorSet

_PAPER7 = "as in paper7 (Kireeva, Tsivadze & Pervov 2023, section 3.3)"


def _flag(name: str, what: str) -> Descriptor:
    return Descriptor(name, "0/1", what)


SET = DescriptorSet(
    "extended",
    (Descriptor("inv_t_dep", "1/K", _PAPER7),
     Descriptor("t_dep_over_t_m", "-", _PAPER7),
     Descriptor("norm_shear_modulus", "-", _PAPER7),
     Descriptor("log10_thickness_nm", "log10(nm)", "log10 of the film thickness h; replaces film_elastic_per_h, "
                "E(1-nu)/h, a constant over h"),
     Descriptor("misfit", "-", _PAPER7),
     Descriptor("log10_substrate_dielectric", "log10(-)", "log10 of the substrate's static relative permittivity "
                "(Table 2)"),
     Descriptor("thermal_stress_term", "GPa/nm", _PAPER7),
     _flag("phase_cubic", "the reported film phase is cubic (amorphous: every phase flag 0)"),
     _flag("phase_tetragonal", "the reported film phase is tetragonal"),
     _flag("phase_mixed", "the reported film phase is mixed"),
     _flag("method_pvd", "deposition-method family PVD (schema/names.py METHOD_FAMILIES)"),
     _flag("method_cvd", "deposition-method family CVD"),
     _flag("method_ald", "deposition-method family ALD (sol-gel, solution, powder, other: every method flag 0)"),
     Descriptor("measurement_temp_c", "degC", "temperature the target conductivity refers to: the measurement's, "
                "or 25 where it was converted to 25 C (Arrhenius)"),
     Descriptor("li_per_o12", "atoms per 12 O", "Li atoms per 12 O of the composition (pymatgen)"),
     Descriptor("dopant_per_o12", "atoms per 12 O", "dopant atoms (not Li, La, Zr, O) per 12 O (pymatgen)"),
     _flag("has_ta", "the composition contains Ta (pymatgen)"),
     _flag("has_al", "the composition contains Al (pymatgen)"),
     _flag("has_ga", "the composition contains Ga (pymatgen)")),
    view="film_descriptors_extended_complete", all_view="film_descriptors_extended",
    chain=("film_descriptors", "film_descriptors_extended"),
    description="paper7 with thickness and dielectric constant on a log scale, plus film phase, "
                "method family, measurement temperature and composition (pymatgen)",
    uses="the extended descriptors (also phase, method family, composition, measurement temperature)",
    covers="the paper7 films whose measurement temperature and composition are known too", order=10)
