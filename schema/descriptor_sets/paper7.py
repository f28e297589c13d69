"""The seven descriptors of Kireeva, Tsivadze & Pervov (2023), section 3.3 (views film_descriptors and
film_descriptors_complete, schema/views/020 and 030)."""

from ..descriptors import Descriptor, DescriptorSet

_PAPER = "Kireeva, Tsivadze & Pervov (2023), section 3.3"

SET = DescriptorSet(
    "paper7",
    (Descriptor("inv_t_dep", "1/K", f"1 / T_dep, deposition temperature in K; {_PAPER}"),
     Descriptor("t_dep_over_t_m", "-", f"T_dep / T_m of the substrate (Table 2 melting point); {_PAPER}"),
     Descriptor("norm_shear_modulus", "-", f"G_substrate / G_film (Table 2, c-LLZO); {_PAPER}"),
     Descriptor("film_elastic_per_h", "GPa/nm", f"E_film (1 - nu_film) / h, h the film thickness; {_PAPER}"),
     Descriptor("misfit", "-", f"(n a_sub - a_film) / a_film, pymatgen lattice constants, 0 if amorphous; {_PAPER}"),
     Descriptor("substrate_dielectric", "-", f"static relative permittivity of the substrate (Table 2); {_PAPER}"),
     Descriptor("thermal_stress_term", "GPa/nm",
                f"E_sub (1 - nu_sub) / h * T_dep * (CTE_sub - CTE_film) (Table 2); {_PAPER}")),
    view="film_descriptors_complete", all_view="film_descriptors", chain=("film_descriptors",),
    description="the seven descriptors of the seed paper, section 3.3",
    uses="the paper's seven descriptors (substrate, T_dep, thickness)",
    covers="distinct films with a thickness, a known substrate and a 25 C conductivity", order=0)
