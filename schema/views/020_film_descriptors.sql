-- The seven descriptors of Kireeva et al. (2023), section 3.3, and the target, for every film.
-- Film properties are those of the reference phase (c-LLZO, film_phases.is_descriptor_reference)
-- for every film, as in the paper. Units: temperatures in K, moduli in GPa, thickness in nm.
--   inv_t_dep            1 / T_dep                                    [1/K]
--   t_dep_over_t_m       T_dep / T_m(substrate)                       [-]
--   norm_shear_modulus   G_substrate / G_film                         [-]
--   film_elastic_per_h   E_film (1 - nu_film) / h                     [GPa/nm]
--   misfit               (n a_sub - a_film) / a_film; 0 if amorphous  [-]
--   substrate_dielectric static relative permittivity of substrate    [-]
--   thermal_stress_term  E_sub (1 - nu_sub) / h * T_dep * (CTE_sub - CTE_film)  [GPa/nm]
--   neg_log10_sigma      -log10(sigma_25C / S cm^-1)                  (target)
--                        sigma_25C: film_conditions.conductivity_25c_s_cm, the conductivity at 25 C (NULL for
--                        a film measured away from 20-30 C without an activation energy)
-- Computed from the view film_conditions only, so predictions for new conditions use this SQL too.
-- descriptor_choices spells out the documented choices (data/README.md) that touch each row.
CREATE OR REPLACE VIEW film_descriptors AS
SELECT
    f.film_id                                                     AS film_id,
    1.0 / (f.deposition_temp_c + 273.15)                          AS inv_t_dep,
    (f.deposition_temp_c + 273.15) / s.melting_point_k            AS t_dep_over_t_m,
    s.shear_modulus_gpa / fp.shear_modulus_gpa                    AS norm_shear_modulus,
    fp.youngs_modulus_gpa * (1.0 - fp.poisson_ratio) / f.thickness_nm AS film_elastic_per_h,
    s.misfit                                                      AS misfit,
    s.dielectric_constant                                         AS substrate_dielectric,
    s.youngs_modulus_gpa * (1.0 - s.poisson_ratio) / f.thickness_nm
        * (f.deposition_temp_c + 273.15) * (s.cte_per_k - fp.cte_per_k) AS thermal_stress_term,
    -log10(f.conductivity_25c_s_cm)                               AS neg_log10_sigma,
    f.reference_id                                                AS reference_id,
    s.name                                                        AS substrate,
    f.substrate_as_given                                          AS substrate_as_given,
    f.is_duplicate                                                AS is_duplicate,
    f.figure6_subset                                              AS figure6_subset,
    concat_ws('; ',
        CASE WHEN s.amorphous THEN 'misfit 0: amorphous substrate' END,
        CASE WHEN s.dielectric_imputed THEN 'substrate dielectric constant imputed' END,
        CASE WHEN lower(f.substrate_as_given) <> lower(s.name)
                  AND lower(f.substrate_as_given) NOT LIKE lower(s.name) || ' (%'
             THEN 'substrate ' || f.substrate_as_given || ' stored as ' || s.name END,
        CASE WHEN s.melting_kind = 'decomposition' THEN 'T_m is a decomposition point' END,
        CASE WHEN s.melting_kind = 'imputed' THEN 'substrate T_m imputed' END,
        'shear modulus normalised by G_film of ' || fp.name,
        CASE WHEN f.measurement_temp_assumed THEN 'measured at room temperature (assumed)' END,
        f.conductivity_25c_note
    )                                                             AS descriptor_choices
FROM film_conditions f
JOIN substrates s ON s.id = f.substrate_id
CROSS JOIN (SELECT * FROM film_phases WHERE is_descriptor_reference) fp;
