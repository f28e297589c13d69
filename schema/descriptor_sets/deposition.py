"""The deposition set: only what a grower chooses (deposition temperature, thickness, the film phase aimed for,
the method family), nothing of the substrate or the composition: does the growth recipe alone predict the
conductivity? In no family's candidate list; ask for it as `--candidates mean,ridge:deposition` or
`--descriptors deposition`. Its two views are below (kb creates them after schema/views/*.sql)."""

from ..descriptors import Descriptor, DescriptorSet


def _flag(name: str, what: str) -> Descriptor:
    return Descriptor(name, "0/1", what)


DESCRIPTORS = (
    Descriptor("inv_t_dep", "1/K", "1 / T_dep, deposition temperature in K"),
    Descriptor("log10_thickness_nm", "log10(nm)", "log10 of the film thickness h"),
    _flag("phase_cubic", "the reported film phase is cubic (amorphous: every phase flag 0)"),
    _flag("phase_tetragonal", "the reported film phase is tetragonal"),
    _flag("phase_mixed", "the reported film phase is mixed"),
    _flag("method_pvd", "deposition-method family PVD (schema/names.py METHOD_FAMILIES)"),
    _flag("method_cvd", "deposition-method family CVD"),
    _flag("method_ald", "deposition-method family ALD (sol-gel, solution, powder, other: every method flag 0)"))

VIEWS = {
    # every film of the extended view (so of paper7's), with the columns above only
    "film_descriptors_deposition": f"""
SELECT film_id, {", ".join(d.name for d in DESCRIPTORS)},
       neg_log10_sigma, reference_id, substrate, is_duplicate, figure6_subset, descriptor_choices
FROM film_descriptors_extended""",
    # the model input: distinct films with a target, a deposition temperature and a thickness (flags are 0/1)
    "film_descriptors_deposition_complete": """
SELECT * FROM film_descriptors_deposition
WHERE NOT is_duplicate AND inv_t_dep IS NOT NULL AND log10_thickness_nm IS NOT NULL
  AND neg_log10_sigma IS NOT NULL""",
}

SET = DescriptorSet(
    "deposition", DESCRIPTORS,
    view="film_descriptors_deposition_complete", all_view="film_descriptors_deposition",
    chain=("film_descriptors", "film_descriptors_extended", "film_descriptors_deposition"),
    description="what a grower chooses: deposition temperature, thickness, film phase and method family",
    uses="the deposition descriptors (temperature, thickness, phase, method family)",
    covers="distinct films with a deposition temperature, a thickness and a 25 C conductivity", order=20,
    views=VIEWS)
