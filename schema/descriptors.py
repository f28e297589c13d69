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


@dataclass(frozen=True)
class DescriptorSet:
    """A named list of descriptor columns and the view holding them for the modelled films."""

    name: str
    columns: tuple
    view: str  # complete, distinct films: the model input
    all_view: str  # every film, with gaps
    description: str


PAPER = DescriptorSet("paper7", PAPER7, "film_descriptors_complete", "film_descriptors",
                      "the seven descriptors of the seed paper, section 3.3")
SETS = {PAPER.name: PAPER}
DEFAULT_SET = PAPER.name
