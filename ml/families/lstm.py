"""The seed paper's LSTM regressor, R seeds; members are point predictions."""

from ..registry import Family


def make(seed: int, repeats: int):
    """As a candidate: CANDIDATE_LSTM's epochs (a cost bound, see ml/select.py)."""
    from ..neural import LSTMModel
    from ..select import CANDIDATE_LSTM

    return LSTMModel(CANDIDATE_LSTM, repeats=repeats, random_state=seed)


def _files():
    from ..model_state import _build_lstm, _dump_lstm

    return _dump_lstm, _build_lstm


FAMILY = Family("lstm", make, order=50, title="LSTM",
                summary="the paper's LSTM (12 units), 400 epochs as a candidate; "
                "members are point predictions", stochastic=True, candidate_lists=("full",), files=_files,
                citation="Kireeva, Tsivadze & Pervov (2023)")
