-- A readable row per film: joined to its publication, material, method and substrate.
-- Portable SQL (DuckDB and PostgreSQL): CREATE OR REPLACE VIEW, CASE, concat_ws, log10.
CREATE OR REPLACE VIEW film_overview AS
SELECT
    f.id                                   AS film_id,
    p.key                                  AS reference,
    p.authors                              AS authors,
    p.year                                 AS year,
    p.doi                                  AS doi,
    m.composition                          AS composition,
    m.formula                              AS formula,
    m.family                               AS family,
    dm.name                                AS method,
    dm.family                              AS method_family,
    f.deposition_temp_c                    AS deposition_temp_c,
    s.name                                 AS substrate,
    f.substrate_orientation                AS orientation,
    f.phase                                AS phase,
    f.thickness_nm                         AS thickness_nm,
    f.conductivity_s_cm                    AS conductivity_s_cm,
    log10(f.conductivity_s_cm)             AS log10_sigma,
    f.measurement_temp_c                   AS measurement_temp_c,
    f.measurement_temp_assumed             AS measurement_temp_assumed,
    f.activation_energy_ev                 AS activation_energy_ev,
    f.conductivity_25c_s_cm                AS conductivity_25c_s_cm,
    f.conductivity_25c_derived             AS conductivity_25c_derived,
    f.duplicate_of                         AS duplicate_of,
    f.figure6_subset                       AS figure6_subset,
    f.precursors                           AS precursors,
    f.notes                                AS notes,
    CASE WHEN f.source_table IS NOT NULL
         THEN f.source_table || ' row ' || CAST(f.source_row AS VARCHAR)
         ELSE f.source_file || ':' || CAST(f.source_line AS VARCHAR) END AS source,
    f.batch_id                             AS batch_id
FROM films f
JOIN publications p        ON p.id = f.reference_id
JOIN film_materials m      ON m.id = f.material_id
JOIN deposition_methods dm ON dm.id = f.method_id
JOIN substrates s          ON s.id = f.substrate_id;
