-- What the descriptors are computed from, one row per film: the substrate, the deposition
-- conditions, the film (phase, method family, composition features) and the measurement.
-- The descriptor views read this view (with substrates and the reference film phase) and no
-- other film data, so conditions that are not in the database (a prediction, a candidate) get
-- their descriptors from the same SQL: kb binds a relation of this name to them.
-- conductivity_s_cm is what the paper reports, at measurement_temp_c; the target is conductivity_25c_s_cm,
-- the value at 25 C (schema/arrhenius.py): measured at 20-30 C, or converted with the activation energy
-- (conductivity_25c_derived), or NULL. conductivity_25c_note says which, when it is not the measured value.
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
    f.measurement_temp_assumed  AS measurement_temp_assumed,
    f.measurement_temp_c        AS measurement_temp_c,
    f.activation_energy_ev      AS activation_energy_ev,
    f.conductivity_25c_s_cm     AS conductivity_25c_s_cm,
    f.conductivity_25c_derived  AS conductivity_25c_derived,
    CASE WHEN f.conductivity_25c_derived
         THEN 'conductivity converted from ' || CAST(f.measurement_temp_c AS VARCHAR) || ' C to 25 C (Arrhenius, Ea '
              || CAST(f.activation_energy_ev AS VARCHAR) || ' eV)'
         WHEN f.conductivity_25c_s_cm IS NULL
         THEN 'measured at ' || CAST(f.measurement_temp_c AS VARCHAR)
              || ' C without an activation energy: no 25 C conductivity (not modelled)'
    END                         AS conductivity_25c_note,
    f.phase                     AS phase,
    dm.family                   AS method_family,
    m.li_per_o12                AS li_per_o12,
    m.dopant_per_o12            AS dopant_per_o12,
    m.ta_per_o12                AS ta_per_o12,
    m.al_per_o12                AS al_per_o12,
    m.ga_per_o12                AS ga_per_o12
FROM films f
JOIN deposition_methods dm ON dm.id = f.method_id
JOIN film_materials m      ON m.id = f.material_id;
