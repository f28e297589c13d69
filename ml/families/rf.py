"""Random forest (scikit-learn RandomForestRegressor); the spread of the trees is its uncertainty."""

from ..registry import Family


def make(seed: int, repeats: int):
    from ..baselines import ForestModel
    from ..select import CANDIDATE_TREES

    return ForestModel(seed, n_estimators=CANDIDATE_TREES, extra=False)


def evaluated(seed: int):
    """On its own (the evaluation's baselines): 200 trees."""
    from ..baselines import ForestModel

    return ForestModel(seed)


def _files():
    from ..model_state import _build_forest, _dump_forest

    return _dump_forest, _build_forest


FAMILY = Family("rf", make, order=35, title="random forest",
                summary="random forest, min_samples_leaf 2; sd = spread of the trees",
                candidate_lists=(), baseline=True, evaluated=evaluated, files=_files,
                citation="Breiman (2001), Machine Learning 45, 5")
