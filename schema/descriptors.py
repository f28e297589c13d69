"""The descriptor sets the models use: names, units and where each is defined.

Every set is an SQL view under schema/views (the definition); this module only names the
columns, their units and the view, so that kb, ml and the report agree on one list.
"""

from __future__ import annotations

from dataclasses import dataclass

TARGET = "neg_log10_sigma"  # -log10(sigma / S cm^-1) of the film
TARGET_UNIT = "-log10(S/cm)"

# The seven descriptors of Kireeva, Tsivadze & Pervov (2023), section 3.3 (view film_descriptors).
PAPER7 = (
    "inv_t_dep", "t_dep_over_t_m", "norm_shear_modulus", "film_elastic_per_h",
    "misfit", "substrate_dielectric", "thermal_stress_term",
)
UNITS = {
    "inv_t_dep": "1/K",
    "t_dep_over_t_m": "-",
    "norm_shear_modulus": "-",
    "film_elastic_per_h": "GPa/nm",
    "misfit": "-",
    "substrate_dielectric": "-",
    "thermal_stress_term": "GPa/nm",
}


EXTENDED_COLUMNS = (
    "inv_t_dep", "t_dep_over_t_m", "norm_shear_modulus", "log10_thickness_nm", "misfit",
    "log10_substrate_dielectric", "thermal_stress_term", "phase_cubic", "phase_tetragonal", "phase_mixed",
    "method_pvd", "method_cvd", "method_ald", "measurement_temp_c", "li_per_o12", "dopant_per_o12",
    "has_ta", "has_al", "has_ga",
)
UNITS.update({
    "log10_thickness_nm": "log10(nm)", "log10_substrate_dielectric": "log10(-)", "measurement_temp_c": "degC",
    "li_per_o12": "atoms per 12 O", "dopant_per_o12": "atoms per 12 O",
    **{flag: "0/1" for flag in ("phase_cubic", "phase_tetragonal", "phase_mixed", "method_pvd", "method_cvd",
                                "method_ald", "has_ta", "has_al", "has_ga")},
})
# The continuous descriptors of the extended set: the space the domain of applicability is measured in.
DOMAIN_COLUMNS = EXTENDED_COLUMNS[:7]


@dataclass(frozen=True)
class DescriptorSet:
    """A named list of descriptor columns and the views holding them (schema/views)."""

    name: str
    columns: tuple
    view: str  # complete, distinct films: the model input
    all_view: str  # every film, with gaps
    chain: tuple  # the views from film_conditions to all_view, in order (to compute them for new conditions)
    description: str


PAPER = DescriptorSet("paper7", PAPER7, "film_descriptors_complete", "film_descriptors", ("film_descriptors",),
                      "the seven descriptors of the seed paper, section 3.3")
EXTENDED = DescriptorSet("extended", EXTENDED_COLUMNS, "film_descriptors_extended_complete",
                         "film_descriptors_extended", ("film_descriptors", "film_descriptors_extended"),
                         "paper7 with thickness and dielectric constant on a log scale, plus film phase, "
                         "method family, measurement temperature and composition (pymatgen)")
SETS = {PAPER.name: PAPER, EXTENDED.name: EXTENDED}
DEFAULT_SET = PAPER.name
# Every column a model may use, once each (kb's model_matrix): paper7, then what extended adds.
MODEL_COLUMNS = PAPER7 + tuple(c for c in EXTENDED_COLUMNS if c not in PAPER7)


def column_indices(names) -> list[int]:
    """Positions of descriptor columns in MODEL_COLUMNS."""
    return [MODEL_COLUMNS.index(c) for c in names]
