-- The extended descriptor matrix the models consume: distinct films with every column known.
CREATE OR REPLACE VIEW film_descriptors_extended_complete AS
SELECT *
FROM film_descriptors_extended
WHERE NOT is_duplicate
  AND inv_t_dep IS NOT NULL AND t_dep_over_t_m IS NOT NULL AND norm_shear_modulus IS NOT NULL
  AND log10_thickness_nm IS NOT NULL AND misfit IS NOT NULL AND log10_substrate_dielectric IS NOT NULL
  AND thermal_stress_term IS NOT NULL AND measurement_temp_c IS NOT NULL AND li_per_o12 IS NOT NULL
  AND dopant_per_o12 IS NOT NULL AND neg_log10_sigma IS NOT NULL;
