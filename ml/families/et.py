"""Extra trees (scikit-learn ExtraTreesRegressor); the spread of the trees is its uncertainty."""

from ..registry import Family


def make(seed: int, repeats: int):
    from ..baselines import ForestModel
    from ..select import CANDIDATE_TREES

    return ForestModel(seed, n_estimators=CANDIDATE_TREES, extra=True)


def evaluated(seed: int):
    from ..baselines import ForestModel

    return ForestModel(seed, extra=True)


def _files():
    from ..model_state import _build_forest, _dump_forest

    return _dump_forest, _build_forest


FAMILY = Family("et", make, order=30, title="extra trees",
                summary="extra trees, min_samples_leaf 2; sd = spread of the trees",
                candidate_lists=("default", "full"), evaluated=evaluated, files=_files,
                citation="Geurts, Ernst & Wehenkel (2006), Machine Learning 63, 3")
