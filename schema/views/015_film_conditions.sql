-- What the descriptors are computed from, one row per film: the substrate, the deposition
-- conditions and the measurement. film_descriptors reads this view only (with substrates and the
-- reference film phase), so conditions that are not in the database (a prediction, a candidate)
-- get their descriptors from the same SQL: kb binds a relation of that name to them.
CREATE OR REPLACE VIEW film_conditions AS
SELECT
    f.id                        AS film_id,
    f.substrate_id              AS substrate_id,
    f.deposition_temp_c         AS deposition_temp_c,
    f.thickness_nm              AS thickness_nm,
    f.conductivity_s_cm         AS conductivity_s_cm,
    f.reference_id              AS reference_id,
    f.substrate_as_given        AS substrate_as_given,
    f.duplicate_of IS NOT NULL  AS is_duplicate,
    f.figure6_subset            AS figure6_subset,
    f.measurement_temp_assumed  AS measurement_temp_assumed
FROM films f;
