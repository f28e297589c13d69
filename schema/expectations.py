"""Quality gates as data: one great-expectations suite per table and one for the descriptor matrix.

Each entry is (expectation class name, kwargs). kb/quality.py turns them into suites. Ranges are
physical limits, wide enough for any real film yet narrow enough to catch unit slips
(a conductivity in S/m typed as S/cm, a temperature in K typed as C is caught by T_dep <= 1500 C).
"""

from .arrhenius import MAX_ACTIVATION_ENERGY_EV
from .names import METHOD_FAMILIES, PHASES

MILLER = r"^-?\d-?\d-?\d$"


def between(column, lo, hi, **kw):
    return ("ExpectColumnValuesToBeBetween", dict(column=column, min_value=lo, max_value=hi, **kw))


def not_null(column):
    return ("ExpectColumnValuesToNotBeNull", dict(column=column))


def unique(column):
    return ("ExpectColumnValuesToBeUnique", dict(column=column))


def in_set(column, values):
    return ("ExpectColumnValuesToBeInSet", dict(column=column, value_set=values))


def regex(column, pattern):
    return ("ExpectColumnValuesToMatchRegex", dict(column=column, regex=pattern))


DEPOSITION_TEMP_C = (-273.15, 1500.0)   # above absolute zero; a temperature in K typed as C is caught
MEASUREMENT_TEMP_C = (-273.15, 1000.0)
THICKNESS_NM = (0.1, 1e6)                # one atomic layer to a millimetre

# Checks on a batch of normalised film entries, before anything is written (ingest).
FILM_ENTRY_SUITE = [
    not_null("deposition_temp_c"), between("deposition_temp_c", *DEPOSITION_TEMP_C, strict_min=True),
    not_null("conductivity_s_cm"), between("conductivity_s_cm", 1e-12, 1e-1),
    between("thickness_nm", *THICKNESS_NM),
    not_null("measurement_temp_c"), between("measurement_temp_c", *MEASUREMENT_TEMP_C, strict_min=True),
    between("activation_energy_ev", 0.0, MAX_ACTIVATION_ENERGY_EV, strict_min=True, strict_max=True),
    not_null("phase"), in_set("phase", list(PHASES)),
    regex("substrate_orientation", MILLER),
    not_null("method"), not_null("substrate"), not_null("composition"),
]

# A model's output is a result, stored as computed however wild (a held-out ridge fit on a new paper reaches
# 45 decades): these ranges catch only values no computation gives (NaN, infinities, a negative sd), so that
# a bad model never makes the knowledge base fail validation and block the next `reproduce`.
PREDICTION_LIMIT = 1e6
PREDICTED_VALUES = [between("neg_log10_sigma_mean", -PREDICTION_LIMIT, PREDICTION_LIMIT),
                    between("neg_log10_sigma_std", 0.0, PREDICTION_LIMIT)]

SUITES = {
    "films": [
        unique("id"), not_null("reference_id"), not_null("material_id"), not_null("method_id"),
        not_null("substrate_id"), not_null("batch_id"), not_null("source_file"), not_null("source_line"),
        not_null("conductivity_25c_derived"),
        *[e for e in FILM_ENTRY_SUITE if e[1]["column"] not in ("method", "substrate", "composition")],
    ],
    "publications": [
        unique("id"), unique("key"), not_null("key"), unique("doi"), regex("doi", r"^10\.\d{4,9}/\S+$"),
        between("year", 1900, 2100),
    ],
    "substrates": [
        unique("id"), unique("name"), not_null("formula"), in_set("amorphous", [True, False]),
        not_null("cte_per_k"), between("cte_per_k", 1e-8, 1e-4),
        not_null("poisson_ratio"), between("poisson_ratio", -1.0, 0.5),
        not_null("youngs_modulus_gpa"), between("youngs_modulus_gpa", 1.0, 1200.0),
        between("bulk_modulus_gpa", 1.0, 500.0),
        not_null("shear_modulus_gpa"), between("shear_modulus_gpa", 1.0, 600.0),
        not_null("dielectric_constant"), between("dielectric_constant", 1.0, 30000.0),
        not_null("melting_point_k"), between("melting_point_k", 300.0, 4500.0),
        in_set("melting_kind", ["melting", "decomposition", "imputed"]),
        not_null("misfit"), between("misfit", -0.5, 0.5),
        between("lattice_a_angstrom", 2.0, 40.0),
    ],
    "film_phases": [
        unique("name"), not_null("lattice_a_angstrom"), between("lattice_a_angstrom", 5.0, 20.0),
        between("youngs_modulus_gpa", 20.0, 400.0), between("poisson_ratio", 0.0, 0.5),
        between("cte_per_k", 1e-6, 5e-5),
    ],
    "deposition_methods": [unique("name"), not_null("family"), in_set("family", list(METHOD_FAMILIES))],
    "film_materials": [
        unique("composition"), not_null("formula"), not_null("family"),
        between("li_per_formula_unit", 0.0, 20.0, strict_min=True),
    ],
    "descriptors": [
        unique("film_id"), not_null("inv_t_dep"), between("inv_t_dep", 1.0 / 1773.15, 1.0 / 150.0),
        not_null("t_dep_over_t_m"), between("t_dep_over_t_m", 0.0, 1.0),
        not_null("norm_shear_modulus"), between("norm_shear_modulus", 0.01, 20.0),
        not_null("film_elastic_per_h"), between("film_elastic_per_h", 0.0, 1e4, strict_min=True),
        not_null("misfit"), between("misfit", -0.5, 0.5),
        not_null("substrate_dielectric"), between("substrate_dielectric", 1.0, 30000.0),
        not_null("thermal_stress_term"), between("thermal_stress_term", -1e4, 1e4),
        not_null("neg_log10_sigma"), between("neg_log10_sigma", 1.0, 12.0),
    ],
    "substrate_aliases": [unique("alias"), not_null("alias"), not_null("substrate_id")],
    "method_aliases": [unique("alias"), not_null("alias"), not_null("method_id")],
    "property_sources": [
        unique("id"), in_set("entity", ["substrate", "film_phase"]), not_null("entity_name"), not_null("property"),
        not_null("value_as_given"), not_null("source"),
    ],
    "interface_matches": [
        unique("id"), not_null("substrate_id"), regex("substrate_orientation", MILLER),
        between("von_mises_strain", 0.0, 0.5), between("strain_xx", -0.5, 0.5), between("strain_yy", -0.5, 0.5),
        between("match_area_angstrom2", 1.0, 1e4),
    ],
    "ingest_batches": [unique("id"), in_set("kind", ["curated", "user", "retracted"]), not_null("created_at")],
    "schema_migrations": [unique("version"), not_null("applied_at")],
    "model_runs": [unique("id"), in_set("kind", ["evaluate", "train", "suggest"]), not_null("data_hash"),
                   not_null("config_json")],
    "predictions": [
        unique("id"), not_null("run_id"), not_null("model"), not_null("neg_log10_sigma_mean"),
        *PREDICTED_VALUES,
    ],
    "suggestions": [
        unique("id"), not_null("run_id"), not_null("model_run_id"), in_set("goal", ["exploit", "explore", "balanced"]),
        *PREDICTED_VALUES,
        between("rank", 1, 100_000),
    ],
    "shap_values": [unique("id"), not_null("run_id"), not_null("film_id"), not_null("descriptor"), not_null("shap_value")],
    "audit_log": [unique("id"), not_null("table_name"), in_set("op", ["INSERT", "UPDATE", "DELETE"]),
                  not_null("row_key"), not_null("changed_by"), not_null("changed_at")],
    "run_artifacts": [not_null("run_id"), not_null("name"), regex("sha256", r"^[0-9a-f]{64}$"),
                      between("size", 0, 2**40)],
}
# Which column names a failing row in each suite's table.
_KEYS = {"descriptors": "film_id", "substrate_aliases": "alias", "method_aliases": "alias", "schema_migrations": "version",
         "run_artifacts": "name"}
ID_COLUMNS = {name: _KEYS.get(name, "id") for name in SUITES}
SOURCES = {"descriptors": "film_descriptors_complete"}
