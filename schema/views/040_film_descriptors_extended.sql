-- The "extended" descriptor set, for every film: the paper's seven with the quantities that span
-- decades on a log scale, plus the film and the measurement. Columns, units and sources:
--   inv_t_dep, t_dep_over_t_m, norm_shear_modulus, misfit, thermal_stress_term
--                               as in film_descriptors (Kireeva et al. 2023, section 3.3)
--   log10_thickness_nm          log10(h / nm); replaces film_elastic_per_h = E(1-nu)/h, a constant over h
--   log10_substrate_dielectric  log10 of the substrate's static relative permittivity (Table 2)
--   phase_cubic, phase_tetragonal, phase_mixed
--                               1/0 flags of the reported film phase (amorphous: all 0)
--   method_pvd, method_cvd, method_ald
--                               1/0 flags of the deposition-method family (sol-gel, solution, powder,
--                               other: all 0; schema/names.py METHOD_FAMILIES)
--   measurement_temp_c          temperature the target conductivity refers to, degrees C: the measurement's
--                               (films table), or 25 where it was converted to 25 C (Arrhenius)
--   li_per_o12, dopant_per_o12  Li and dopant atoms (not Li, La, Zr, O) per 12 O, pymatgen (film_materials)
--   has_ta, has_al, has_ga      1/0: the composition contains Ta / Al / Ga (pymatgen)
-- Computed from film_descriptors and film_conditions only (see 015_film_conditions.sql).
CREATE OR REPLACE VIEW film_descriptors_extended AS
SELECT
    d.film_id                                                   AS film_id,
    d.inv_t_dep                                                 AS inv_t_dep,
    d.t_dep_over_t_m                                            AS t_dep_over_t_m,
    d.norm_shear_modulus                                        AS norm_shear_modulus,
    log10(c.thickness_nm)                                       AS log10_thickness_nm,
    d.misfit                                                    AS misfit,
    log10(d.substrate_dielectric)                               AS log10_substrate_dielectric,
    d.thermal_stress_term                                       AS thermal_stress_term,
    CASE WHEN c.phase = 'cubic' THEN 1.0 ELSE 0.0 END           AS phase_cubic,
    CASE WHEN c.phase = 'tetragonal' THEN 1.0 ELSE 0.0 END      AS phase_tetragonal,
    CASE WHEN c.phase = 'mixed' THEN 1.0 ELSE 0.0 END           AS phase_mixed,
    CASE WHEN c.method_family = 'PVD' THEN 1.0 ELSE 0.0 END     AS method_pvd,
    CASE WHEN c.method_family = 'CVD' THEN 1.0 ELSE 0.0 END     AS method_cvd,
    CASE WHEN c.method_family = 'ALD' THEN 1.0 ELSE 0.0 END     AS method_ald,
    CASE WHEN c.conductivity_25c_derived THEN 25.0 ELSE c.measurement_temp_c END
                                                                AS measurement_temp_c,
    c.li_per_o12                                                AS li_per_o12,
    c.dopant_per_o12                                            AS dopant_per_o12,
    CASE WHEN c.ta_per_o12 > 0 THEN 1.0 ELSE 0.0 END            AS has_ta,
    CASE WHEN c.al_per_o12 > 0 THEN 1.0 ELSE 0.0 END            AS has_al,
    CASE WHEN c.ga_per_o12 > 0 THEN 1.0 ELSE 0.0 END            AS has_ga,
    d.neg_log10_sigma                                           AS neg_log10_sigma,
    d.reference_id                                              AS reference_id,
    d.substrate                                                 AS substrate,
    d.is_duplicate                                              AS is_duplicate,
    d.figure6_subset                                            AS figure6_subset,
    d.descriptor_choices                                        AS descriptor_choices
FROM film_descriptors d
JOIN film_conditions c ON c.film_id = d.film_id;
