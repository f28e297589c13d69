"""Ridge regression, its penalty by efficient leave-one-out on the training rows (scikit-learn RidgeCV)."""

from ..registry import Family


def make(seed: int, repeats: int):
    from ..baselines import RidgeModel

    return RidgeModel(seed)


def _files():
    from ..model_state import _build_ridge, _dump_ridge

    return _dump_ridge, _build_ridge


FAMILY = Family("ridge", make, order=10, title="ridge",
                summary="RidgeCV, penalty by leave-one-out; sd = its leave-one-out RMSE",
                candidate_lists=("default", "full", "small"), baseline=True, files=_files,
                citation="Hoerl & Kennard (1970), Technometrics 12, 55")
