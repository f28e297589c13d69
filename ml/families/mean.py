"""The training mean: the null model every candidate must beat, and the simplest baseline."""

from ..registry import Family


def make(seed: int, repeats: int):
    from ..baselines import MeanModel

    return MeanModel(seed)


def _files():
    from ..model_state import _build_mean, _dump_mean

    return _dump_mean, _build_mean


FAMILY = Family("mean", make, order=0, title="training mean", accepts_missing=True,
                summary="the training mean; sd = training sd x sqrt(1 + 1/n)",
                candidate_lists=("default", "full", "small"), descriptor_sets=("",), baseline=True, files=_files)
