"""Probabilistic Backpropagation networks (the seed paper's PBP), R seeds; members are Gaussians."""

from ..registry import Family


def make(seed: int, repeats: int):
    from ..neural import PBPModel

    return PBPModel(repeats=repeats, random_state=seed)


def _files():
    from ..model_state import _build_pbp, _dump_pbp

    return _dump_pbp, _build_pbp


FAMILY = Family("pbp", make, order=40, title="PBP",
                summary="Probabilistic Backpropagation, 5 hidden units, 100 epochs; "
                "members are Gaussians", stochastic=True, candidate_lists=("full",), files=_files,
                citation="Hernandez-Lobato & Adams (2015), ICML")
