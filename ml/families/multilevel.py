"""The linear multilevel model (ml/multilevel.py): ridge-shrunk descriptors plus a paper random intercept by REML.

A candidate on the extended set only, by measurement on the curated films (leave one film out / one
paper out, RMSE): extended 0.70 / 0.73 against the mean's 1.04 / 1.09; on paper7 (no phase, no
flags) 0.76 / 1.38, worse than the mean for new papers.
"""

from ..registry import Family


def _make(seed: int, repeats: int):
    from ..multilevel import MultilevelModel

    return MultilevelModel(random_state=seed)


FAMILY = Family(
    name="multilevel",
    make=_make,
    order=15,  # a linear model like ridge (simpler than the GP and the trees); its paper level is a random intercept
    summary="linear multilevel: ridge-shrunk descriptors (one penalty for 0/1 flags, one for continuous) + a "
            "paper random intercept, REML, empirical-Bayes predictive (known paper: its offset; new paper: + tau2)",
    stochastic=False,
    uses_groups=True,
    accepts_missing=False,
    candidate_lists=("default", "full"),
    descriptor_sets=("extended",),
    citation="Patterson & Thompson (1971), Biometrika 58:545 (REML); Robinson (1991), Stat. Sci. 6:15 (BLUP)",
)
