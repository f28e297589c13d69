"""The seed paper's averaged LSTM + PBP ensemble (ml/ensemble.py); as a candidate it averages the
held-out predictions of its parts, the lstm and pbp candidates."""

from ..registry import Family


def make(seed: int, repeats: int):
    from ..ensemble import PaperEnsemble
    from ..neural import LSTMModel, PBPModel
    from ..select import CANDIDATE_LSTM

    return PaperEnsemble(LSTMModel(CANDIDATE_LSTM, repeats=repeats, random_state=seed),
                         PBPModel(repeats=repeats, random_state=seed))


def _files():
    from ..model_state import _build_ensemble, _dump_ensemble

    return _dump_ensemble, _build_ensemble


FAMILY = Family("ensemble", make, order=60, title="Ensemble (LSTM + PBP)",
                summary="mean of R LSTM + R PBP members (the paper's ensemble)",
                stochastic=True, candidate_lists=("full",), parts=("lstm", "pbp"), files=_files,
                citation="Kireeva, Tsivadze & Pervov (2023)")
