"""Histogram gradient boosting (scikit-learn HistGradientBoostingRegressor): takes films with a missing
descriptor as they are; sd = spread of a seeded bag of boosters + out-of-bag residual (ml/boosting.py)."""

from ..registry import Family


def make(seed: int, repeats: int):
    from ..boosting import HGBModel

    return HGBModel(seed)


def _dump(m):
    return {"params": m.get_params(), "seed": int(m.seed_)}, {"X_train": m.X_train_, "y_train": m.y_train_}


def _build(meta, a):
    """A bag of boosters refitted from its training rows and seed: single-threaded and seeded, the fit
    is a function of them (the same numbers bit for bit), and no tree format is read from a file."""
    from ..boosting import HGBModel

    return HGBModel(**meta["params"]).fit(a["X_train"], a["y_train"], seeds=[int(meta["seed"])])


def _files():
    return _dump, _build


# Not in "default": on the curated films one nested evaluation of it costs ~0.2 s a fit x ~300 fits per
# descriptor set (measured), several times the whole default list's time.
FAMILY = Family("hgb", make, order=35, accepts_missing=True,
                summary="a bag of 5 histogram gradient-boosted tree ensembles (50 rounds, 7 leaves); missing "
                        "descriptors taken natively; sd = bag spread + out-of-bag residual",
                candidate_lists=("full",), citation="Ke et al. (2017), LightGBM, NeurIPS 30; scikit-learn "
                                                     "HistGradientBoostingRegressor", files=_files)
