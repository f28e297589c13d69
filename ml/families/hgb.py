"""Histogram gradient boosting (scikit-learn HistGradientBoostingRegressor): takes films with a missing
descriptor as they are; sd = spread of a seeded bag of boosters + out-of-bag residual (ml/boosting.py)."""

from ..registry import Family


def make(seed: int, repeats: int):
    from ..boosting import HGBModel

    return HGBModel(seed)


def _files():
    from ..model_state import _build_hgb, _dump_hgb

    return _dump_hgb, _build_hgb


# Not in "default": on the curated films one nested evaluation of it costs ~0.2 s a fit x ~300 fits per
# descriptor set (measured), several times the whole default list's time.
FAMILY = Family("hgb", make, order=35, accepts_missing=True,
                summary="a bag of 5 histogram gradient-boosted tree ensembles (50 rounds, 7 leaves); missing "
                        "descriptors taken natively; sd = bag spread + out-of-bag residual",
                candidate_lists=("full",), citation="Ke et al. (2017), LightGBM, NeurIPS 30; scikit-learn "
                                                     "HistGradientBoostingRegressor", extra={"files": _files})
