"""A saved paper ensemble's members predicted in NumPy: no JAX, no Keras (what `predict`, `explain` and
`suggest` read a paper run with; :func:`filmkb.ml.paper_run.load` with ``numpy_forward=True``).

Importing Keras on JAX costs several times what the rest of a prediction costs, in every new process,
and a prediction is two small forward passes: the Keras LSTM cell (gates i, f, c, o
from one kernel, sigmoid and tanh, zero initial state, dropout off) and PBP's moment propagation.
Both are written here from the stored weights, in float64 (the LSTM's weights are the float32 values
it was trained with, and its inputs are rounded to float32 as the Keras model receives them), so
they agree with the JAX/Keras code that trained them to float32 round-off: FORWARD_TOLERANCE on
-log10 sigma, for every member and the ensemble's mean and variance, checked by
tests/test_numpy_forward.py. Training, evaluation and ``reproduce`` keep the JAX/Keras path.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from .contract import Members
from .neural import LSTMModel, PBPModel

__all__ = ["FORWARD_TOLERANCE", "lstm_members", "pbp_members", "StoredPBP", "NumpyLSTM", "NumpyPBP"]

FORWARD_TOLERANCE = 1e-5  # absolute, on -log10 sigma (mean) and its variance: float32 round-off is ~1e-6
BLOCK_ROWS = 2048  # rows per pass: the temporaries stay in the CPU's cache (measured: 8192 rows of the ensemble
                   # cost 1.7 times as much CPU in one pass as in four)


def _sigmoid(z):
    with np.errstate(over="ignore"):  # exp(-z) = inf for z < -709: the sigmoid is then 0, as it should be
        return 1.0 / (1.0 + np.exp(-z))


def _one_blas_thread():
    """Matrix products of a few columns run fastest on one BLAS thread (measured on 2 busy cores: a
    (8192, 7) x (7, 48) product 4 ms on one thread, 100 ms on two)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1, user_api="blas")


def _in_blocks(forward, X, *args):
    """`forward` (rows -> arrays of (R, rows)) over the rows of X in blocks of BLOCK_ROWS, joined."""
    X = np.asarray(X, dtype=np.float64)
    with _one_blas_thread():
        parts = [forward(X[start:start + BLOCK_ROWS], *args) for start in range(0, max(len(X), 1), BLOCK_ROWS)]
    if isinstance(parts[0], tuple):
        return tuple(np.concatenate(p, axis=1) for p in zip(*parts))
    return np.concatenate(parts, axis=1)


def lstm_members(copies, X, arrangement: str = "features") -> np.ndarray:
    """(R, m) predictions of R stored LSTM copies (:class:`filmkb.ml.engine.TrainedCopies` of
    ``lstm.build_model``: LSTM kernel, recurrent kernel, bias, then the Dense kernel and bias) at the rows
    of X, in the original units (dropout off, as ``predict_copies``)."""
    return _in_blocks(_lstm, X, copies, arrangement)


def _lstm(X, copies, arrangement):
    """:func:`lstm_members` for one block of rows."""
    W, U, b, Wd, bd = (np.asarray(w, dtype=np.float64) for w in copies.trainable)
    Xs = ((X[None] - copies.x_mean[:, None]) / copies.x_std[:, None]).astype(np.float32).astype(np.float64)
    steps = Xs[:, :, None, :] if arrangement == "features" else Xs[..., None]  # (R, m, T, features per step)
    u = U.shape[1]
    igo = np.r_[0:u, 2 * u:4 * u]  # the first step starts from zero state: the forget gate multiplies c = 0
    for t in range(steps.shape[2]):
        if t == 0:
            i, g, o = np.split(steps[:, :, 0, :] @ W[..., igo] + b[:, None, igo], 3, axis=-1)
            c = _sigmoid(i) * np.tanh(g)
        else:
            i, f, g, o = np.split(steps[:, :, t, :] @ W + h @ U + b[:, None, :], 4, axis=-1)  # Keras' gate order
            c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
    out = (h @ Wd)[..., 0] + bd
    return out * copies.y_std[:, None] + copies.y_mean[:, None]


def _relu_moments(m_a, v_a):
    """Mean and variance of max(0, a) for a ~ N(m_a, v_a): ``pbp._relu_moments`` in NumPy."""
    from scipy.special import log_ndtr, ndtr

    sd = np.sqrt(v_a)
    alpha = m_a / sd
    log_cdf = log_ndtr(alpha)
    gamma_r = np.exp(-0.5 * alpha**2 - 0.5 * np.log(2.0 * np.pi) - log_cdf)
    cdf = np.exp(log_cdf)
    r = m_a + sd * gamma_r
    m_z = cdf * r
    return m_z, m_z * r * ndtr(-alpha) + cdf * v_a * (1.0 - gamma_r**2 - gamma_r * alpha)


def _moments(M, V, x):
    """Output mean and variance of the stacked networks (M, V: per layer (R, out, in + 1)) at the
    deterministic inputs x (R, m, d): ``pbp._forward`` with a leading member axis."""
    m, v = x, None
    for layer, (Ml, Vl) in enumerate(zip(M, V)):
        ones = np.ones(m.shape[:-1] + (1,))
        m1 = np.concatenate([m, ones], axis=-1)
        s = 1.0 / m1.shape[-1]
        Mt, Vt = np.swapaxes(Ml, 1, 2), np.swapaxes(Vl, 1, 2)  # (R, in + 1, out)
        m_a = np.sqrt(s) * (m1 @ Mt)
        v_a = (m1 * m1) @ Vt
        if v is not None:
            v1 = np.concatenate([v, np.zeros_like(ones)], axis=-1)
            v_a = v_a + v1 @ (Mt * Mt) + v1 @ Vt
        v_a = s * v_a
        m, v = _relu_moments(m_a, v_a) if layer < len(M) - 1 else (m_a, v_a)
    return m[..., 0], v[..., 0]


def pbp_members(members, X) -> tuple[np.ndarray, np.ndarray]:
    """(mean, variance incl. noise), each (R, m), of R stored PBP networks at the rows of X in the
    original units: ``pbp._predict_core`` in NumPy, every member at once."""
    return _in_blocks(_pbp, X, members)


def _pbp(X, members):
    """:func:`pbp_members` for one block of rows."""
    x = (X[None] - members.x_mean[:, None]) / members.x_std[:, None]  # (R, m, d)
    m, v = _moments(members.M, members.V, x)
    noise = members.b_n / (members.a_n - 1.0)
    y_mean, y_std = members.y_mean[:, None], members.y_std[:, None]
    return m * y_std + y_mean, (v + noise[:, None]) * y_std**2


@dataclass
class StoredPBP:
    """R trained PBP networks as read from ``pbp_members.npz`` (the fields of ``pbp.PBPMembers``, read
    without importing JAX); predicts in NumPy."""

    M: tuple
    V: tuple
    a_n: np.ndarray
    b_n: np.ndarray
    x_mean: np.ndarray
    x_std: np.ndarray
    y_mean: np.ndarray
    y_std: np.ndarray

    def __len__(self) -> int:
        return int(self.a_n.shape[0])

    def predict(self, X):
        return pbp_members(self, X)

    @classmethod
    def load(cls, data: bytes) -> "StoredPBP":
        """The members in the bytes of a file ``PBPMembers.save`` wrote (data only: a pickle is refused)."""
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            layers = sum(1 for k in z.files if k.startswith("M"))
            members = cls(tuple(np.asarray(z[f"M{i}"], dtype=np.float64) for i in range(layers)),
                          tuple(np.asarray(z[f"V{i}"], dtype=np.float64) for i in range(layers)),
                          *(np.asarray(z[k], dtype=np.float64) for k in ("a_n", "b_n", "x_mean", "x_std", "y_mean",
                                                                          "y_std")))
        R = len(members)
        if not layers or any(a.ndim != 3 or a.shape[0] != R for a in members.M + members.V):
            raise ValueError("its layers are not R stacked weight matrices")
        return members


class NumpyLSTM(LSTMModel):
    """Fitted LSTM members whose predictions run in NumPy (:func:`lstm_members`); fitting is the parent's."""

    @classmethod
    def of(cls, fitted: LSTMModel) -> "NumpyLSTM":
        """The same fitted members (shared arrays), checked to be the paper LSTM's five weight arrays."""
        model = cls(fitted.config, fitted.repeats, fitted.random_state)
        model.__dict__.update(fitted.__dict__)
        shapes = [np.shape(w) for w in fitted.copies_.trainable]
        R, d, u = len(fitted.seeds_), int(fitted.n_features_in_), int(fitted.config.units)
        d_step = d if fitted.config.arrangement == "features" else 1
        if shapes != [(R, d_step, 4 * u), (R, u, 4 * u), (R, 4 * u), (R, u, 1), (R, 1)]:
            raise ValueError(f"weight shapes {shapes} are not those of {R} LSTM({u}) regressors of {d} descriptors")
        return model

    def predict_members(self, X) -> Members:
        return Members(lstm_members(self.copies_, X, self.config.arrangement))


class NumpyPBP(PBPModel):
    """Fitted PBP members (:class:`StoredPBP`) whose predictions run in NumPy; fitting is the parent's."""

    def predict_members(self, X) -> Members:
        return Members(*self.members_.predict(X))
