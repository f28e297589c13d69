"""Gaussian process, Constant x ARD RBF + White kernel, hyper-parameters by marginal likelihood."""

from ..registry import Family


def make(seed: int, repeats: int):
    """As a candidate: no optimiser restarts, at most CANDIDATE_GP_ITERATIONS L-BFGS-B iterations."""
    from ..baselines import GPModel
    from ..select import CANDIDATE_GP_ITERATIONS

    return GPModel(seed, restarts=0, max_iter=CANDIDATE_GP_ITERATIONS)


def evaluated(seed: int):
    """On its own (the evaluation's baselines): 2 optimiser restarts, scikit-learn's iterations."""
    from ..baselines import GPModel

    return GPModel(seed)


def _files():
    from ..model_state import _build_gp, _dump_gp

    return _dump_gp, _build_gp


FAMILY = Family("gp", make, order=20, title="Gaussian process",
                summary="Gaussian process, ARD RBF + white noise; sd = predictive sd",
                candidate_lists=("default", "full"), baseline=True, evaluated=evaluated, files=_files,
                citation="Rasmussen & Williams (2006), Gaussian Processes for Machine Learning")
