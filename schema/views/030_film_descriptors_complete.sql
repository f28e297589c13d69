-- The descriptor matrix the models consume: distinct films (repeated rows dropped) whose seven
-- descriptors and target are all known (a film without a stated thickness is left out here).
CREATE OR REPLACE VIEW film_descriptors_complete AS
SELECT *
FROM film_descriptors
WHERE NOT is_duplicate
  AND inv_t_dep IS NOT NULL
  AND t_dep_over_t_m IS NOT NULL
  AND norm_shear_modulus IS NOT NULL
  AND film_elastic_per_h IS NOT NULL
  AND misfit IS NOT NULL
  AND substrate_dielectric IS NOT NULL
  AND thermal_stress_term IS NOT NULL
  AND neg_log10_sigma IS NOT NULL;
