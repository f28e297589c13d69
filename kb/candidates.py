"""Descriptors for films that are not in the database (conditions a user asks to predict).

The SQL view `film_descriptors` is the definition; this is its pandas twin for hypothetical
conditions, and a test holds the two equal on every stored film so they cannot drift apart.
"""

from __future__ import annotations

import pandas as pd

from .api import DESCRIPTORS
from .db import KBError


def _substrates(con) -> pd.DataFrame:
    return con.execute("""SELECT a.alias, s.* FROM substrate_aliases a JOIN substrates s ON s.id = a.substrate_id""").df()


def descriptors(con, conditions: pd.DataFrame) -> pd.DataFrame:
    """The seven descriptors for rows of (substrate, deposition_temp_c, thickness_nm).

    `substrate` may be any stored alias; unknown substrates raise KBError naming them.
    """
    subs = _substrates(con).set_index("alias")
    keys = conditions["substrate"].map(lambda v: " ".join(str(v).lower().split()))
    unknown = sorted(set(conditions["substrate"][~keys.isin(subs.index)]))
    if unknown:
        raise KBError(f"unknown substrate(s) {', '.join(map(str, unknown))}; see `filmkb substrates`")
    s = subs.loc[keys].reset_index(drop=True)
    fp = con.execute("SELECT * FROM film_phases WHERE is_descriptor_reference").df().iloc[0]
    t = conditions["deposition_temp_c"].reset_index(drop=True).astype(float) + 273.15
    h = conditions["thickness_nm"].reset_index(drop=True).astype(float)
    out = pd.DataFrame({
        "inv_t_dep": 1.0 / t,
        "t_dep_over_t_m": t / s["melting_point_k"],
        "norm_shear_modulus": s["shear_modulus_gpa"] / fp["shear_modulus_gpa"],
        "film_elastic_per_h": fp["youngs_modulus_gpa"] * (1.0 - fp["poisson_ratio"]) / h,
        "misfit": s["misfit"],
        "substrate_dielectric": s["dielectric_constant"],
        "thermal_stress_term": s["youngs_modulus_gpa"] * (1.0 - s["poisson_ratio"]) / h * t
        * (s["cte_per_k"] - fp["cte_per_k"]),
    })
    out["substrate"] = s["name"]
    return out[[*DESCRIPTORS, "substrate"]]
