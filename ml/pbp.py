"""Probabilistic Backpropagation (PBP) Bayesian neural network, in JAX.

Implements Hernández-Lobato & Adams (ICML 2015) from ``shared/benchmarks/pbp/SPEC.md``:
a ReLU network with a fully factorised Gaussian posterior over its weights, a Gamma
posterior over the noise precision, trained by assumed density filtering (one ADF update
per training point per epoch) plus an EP refinement of the weight prior after each epoch.

Public API
----------
- :class:`PBP` -- scikit-learn-style single model: ``PBP(hidden=(50,), epochs=40,
  seed=0).fit(X, y)``; ``predict(X) -> (mean, variance)`` in the original units of ``y``
  (the variance includes the noise term ``E[1/gamma]``); ``predict_samples(X, n)`` draws
  network outputs with weights sampled from the posterior.
- :func:`fit_many` -- trains R independent PBP models (own seed and own training rows,
  given as a boolean mask) in one jitted ``jax.vmap`` call and returns their predictive
  means and variances on shared query points. Built for leave-one-out on tiny data.
- :func:`relu_moments`, :func:`forward_moments`, :func:`log_evidence_and_grad` -- the
  numerical building blocks, exposed (numpy in, numpy out) for tests.

Implementation choices
----------------------
- The ADF update is sequential over points, so training is a ``lax.scan`` over the
  (shuffled) points inside a ``lax.fori_loop`` over epochs, all in one ``jax.jit``;
  the per-epoch prior refinement is a ``lax.scan`` over the flattened weights, because the
  shared q(lambda) changes after every weight (SPEC section 6). Gradients of log Z come
  from ``jax.value_and_grad`` of the moment-propagation forward pass.
- Float64: the Gamma moment matching takes second differences of log evidences whose
  relative size is about 1/a_n (a_n reaches ~1.4e5 on Kin8nm), which float32 cannot
  resolve. All model math therefore runs inside a *scoped* ``jax.enable_x64(True)``
  context. x64 is **not** switched on globally, so importing or using this module leaves
  JAX (and Keras-on-JAX) in its default float32 mode.
- Training rows are moved to the front (original order kept) and visited in an order set
  by per-row random keys ``fold_in(epoch_key, rank)``. Hence ``fit_many`` with a mask
  reproduces ``PBP(seed).fit(X[mask], y[mask])`` up to floating-point round-off.
- Deterministic for a given seed: all randomness comes from ``jax.random.PRNGKey(seed)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.scipy.special import log_ndtr, ndtr

from . import xla

xla.configure()

__all__ = [
    "PBP",
    "fit_many",
    "fit_members",
    "PBPMembers",
    "relu_moments",
    "forward_moments",
    "log_evidence_and_grad",
]

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_HYPER_A = 6.0  # Gamma(6, 6) hyperpriors on lambda and gamma (3 pseudo-observations)
_HYPER_B = 6.0
_V_MIN = 1e-100  # ADF safeguard: reject an update that makes a variance this small
_V_CAVITY_MAX = 1e6  # prior refinement skips weights whose cavity variance exceeds this
_STD_REL_TOL = 1e-12  # a training std this small (relative to |mean|) counts as constant


def _x64():
    """Scoped float64 for JAX, so the global (Keras) float32 default is left alone."""
    return jax.enable_x64(True)


class _State(NamedTuple):
    """Approximate posterior plus EP prior factors; one entry per layer in each tuple."""

    M: tuple  # weight means, (n_out, n_in + 1), bias last
    V: tuple  # weight variances
    mhat: tuple  # prior factor: precision x mean
    vhat: tuple  # prior factor: precision
    ahat: tuple  # prior factor: Gamma shape increment
    bhat: tuple  # prior factor: Gamma rate increment
    a_n: jax.Array  # q(gamma) = Gamma(a_n, b_n), noise precision
    b_n: jax.Array
    a_p: jax.Array  # q(lambda) = Gamma(a_p, b_p), prior precision
    b_p: jax.Array


class _Stats(NamedTuple):
    """Training-set normalisation statistics (population std, constants -> 1)."""

    x_mean: jax.Array
    x_std: jax.Array
    y_mean: jax.Array
    y_std: jax.Array


# ----------------------------------------------------------------------------- moments


def _log_normal(y, m, v):
    """log N(y | m, v), constant included (only differences matter for the updates)."""
    return -0.5 * jnp.log(v) - 0.5 * (y - m) ** 2 / v - _LOG_SQRT_2PI


def _relu_moments(m_a, v_a):
    """Mean and variance of max(0, a) for a ~ N(m_a, v_a), stable for extreme alpha.

    gamma_r = phi/Phi is computed as exp(log phi - log Phi) so it stays finite where
    Phi(alpha) underflows (alpha << 0); there m_z and v_z go to 0 without inf * 0.
    """
    sd = jnp.sqrt(v_a)
    alpha = m_a / sd
    log_cdf = log_ndtr(alpha)
    gamma_r = jnp.exp(-0.5 * alpha**2 - _LOG_SQRT_2PI - log_cdf)
    cdf = jnp.exp(log_cdf)
    r = m_a + sd * gamma_r
    m_z = cdf * r
    v_z = m_z * r * ndtr(-alpha) + cdf * v_a * (1.0 - gamma_r**2 - gamma_r * alpha)
    return m_z, v_z


def _forward(M, V, x):
    """Propagate means/variances of deterministic inputs x (..., d) to the output.

    Each layer maps [z; 1] through W / sqrt(d + 1); the scaling is part of the model.
    Returns (m_L, v_L) with the trailing unit axis dropped.
    """
    m = x
    v = None  # inputs are deterministic: variance 0
    n_layers = len(M)
    for layer in range(n_layers):
        ones = jnp.ones(m.shape[:-1] + (1,), m.dtype)
        m1 = jnp.concatenate([m, ones], axis=-1)
        s = 1.0 / m1.shape[-1]
        Ml, Vl = M[layer], V[layer]
        m_a = math.sqrt(s) * (m1 @ Ml.T)
        v_a = (m1 * m1) @ Vl.T
        if v is not None:
            v1 = jnp.concatenate([v, jnp.zeros_like(ones)], axis=-1)
            v_a = v_a + v1 @ (Ml * Ml).T + v1 @ Vl.T
        v_a = s * v_a
        if layer < n_layers - 1:
            m, v = _relu_moments(m_a, v_a)
        else:
            m, v = m_a, v_a
    return m[..., 0], v[..., 0]


def _log_z(M, V, x, y, a, b):
    """ADF evidence log N(y | m_L, v_L + b/(a-1)) for one point; aux = (m_L, v_L)."""
    m, v = _forward(M, V, x)
    return _log_normal(y, m, v + b / (a - 1.0)), (m, v)


def _gamma_match(logz, logz1, logz2, a, b):
    """Moment-match a Gamma(a, b) after multiplying in a Gaussian factor (SPEC 5.4)."""
    a_new = 1.0 / (jnp.exp(logz2 - 2.0 * logz1 + logz) * (a + 1.0) / a - 1.0)
    b_new = 1.0 / (jnp.exp(logz2 - logz1) * (a + 1.0) / b - jnp.exp(logz1 - logz) * a / b)
    return a_new, b_new


# ------------------------------------------------------------------------------ updates


def _adf_step(state: _State, x, y) -> _State:
    """One ADF update of the weights and of q(gamma) for the (normalised) point (x, y)."""
    a, b = state.a_n, state.b_n
    (logz, (m, v)), (gM, gV) = jax.value_and_grad(_log_z, argnums=(0, 1), has_aux=True)(
        state.M, state.V, x, y, a, b
    )
    logz1 = _log_normal(y, m, v + b / a)
    logz2 = _log_normal(y, m, v + b / (a + 1.0))
    new_M, new_V = [], []
    for Ml, Vl, gm, gv in zip(state.M, state.V, gM, gV):
        Mn = Ml + Vl * gm
        Vn = Vl - Vl**2 * (gm**2 - 2.0 * gv)
        ok = (Vn > _V_MIN) & jnp.isfinite(Mn) & jnp.isfinite(Vn)
        new_M.append(jnp.where(ok, Mn, Ml))
        new_V.append(jnp.where(ok, Vn, Vl))
    a_new, b_new = _gamma_match(logz, logz1, logz2, a, b)
    # Extra guard (not in the spec): never let q(gamma) become improper.
    ok = jnp.isfinite(a_new) & jnp.isfinite(b_new) & (a_new > 1.0) & (b_new > 0.0)
    return state._replace(
        M=tuple(new_M),
        V=tuple(new_V),
        a_n=jnp.where(ok, a_new, a),
        b_n=jnp.where(ok, b_new, b),
    )


def _refine_weight(carry, w):
    """EP update of one weight's prior factor N(w | 0, 1/lambda) (SPEC section 6)."""
    a_p, b_p = carry
    m, v, mh, vh, ah, bh = w
    prec_c = 1.0 / v - vh
    mprec_c = m / v - mh
    v_c = 1.0 / prec_c
    m_c = mprec_c * v_c
    a_c = a_p - ah
    b_c = b_p + bh
    ok = (v_c > 0.0) & (b_c > 0.0) & (a_c > 1.0) & (v_c < _V_CAVITY_MAX)
    # Harmless stand-ins where skipped, so the unused branch produces no NaN.
    v_c = jnp.where(ok, v_c, 1.0)
    m_c = jnp.where(ok, m_c, 0.0)
    a_c = jnp.where(ok, a_c, 2.0)
    b_c = jnp.where(ok, b_c, 1.0)
    S = v_c + b_c / (a_c - 1.0)
    logz = _log_normal(0.0, m_c, S)
    logz1 = _log_normal(0.0, m_c, v_c + b_c / a_c)
    logz2 = _log_normal(0.0, m_c, v_c + b_c / (a_c + 1.0))
    dm = -m_c / S
    dv = -0.5 / S + 0.5 * m_c**2 / S**2
    m_new = m_c + v_c * dm
    v_new = v_c - v_c**2 * (dm**2 - 2.0 * dv)
    a_new, b_new = _gamma_match(logz, logz1, logz2, a_c, b_c)
    out = (
        jnp.where(ok, m_new, m),
        jnp.where(ok, v_new, v),
        jnp.where(ok, m_new / v_new - mprec_c, mh),
        jnp.where(ok, 1.0 / v_new - prec_c, vh),
        jnp.where(ok, a_new - a_c, ah),
        jnp.where(ok, b_c - b_new, bh),
    )
    return (jnp.where(ok, a_new, a_p), jnp.where(ok, b_new, b_p)), out


def _refine_prior(state: _State) -> _State:
    """Sequential EP pass over all weights: layer by layer, row-major, bias last."""
    shapes = [Ml.shape for Ml in state.M]

    def flat(ts):
        return jnp.concatenate([t.ravel() for t in ts])

    xs = tuple(flat(t) for t in (state.M, state.V, state.mhat, state.vhat, state.ahat, state.bhat))
    (a_p, b_p), ys = lax.scan(_refine_weight, (state.a_p, state.b_p), xs)

    def unflat(vec):
        parts, start = [], 0
        for shp in shapes:
            size = shp[0] * shp[1]
            parts.append(vec[start : start + size].reshape(shp))
            start += size
        return tuple(parts)

    M, V, mhat, vhat, ahat, bhat = (unflat(y) for y in ys)
    return state._replace(M=M, V=V, mhat=mhat, vhat=vhat, ahat=ahat, bhat=bhat, a_p=a_p, b_p=b_p)


# ----------------------------------------------------------------------------- training


def _init_state(key, sizes: Sequence[int]) -> _State:
    """Random means N(0,1)/sqrt(n_in+1), variances b/(a-1), prior factors at the prior."""
    keys = jax.random.split(key, len(sizes) - 1)
    shapes = [(n_out, n_in + 1) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    M = tuple(jax.random.normal(k, shp) / math.sqrt(shp[1]) for k, shp in zip(keys, shapes))
    V = tuple(jnp.full(shp, _HYPER_B / (_HYPER_A - 1.0)) for shp in shapes)
    zeros = tuple(jnp.zeros(shp) for shp in shapes)
    vhat = tuple(jnp.full(shp, (_HYPER_A - 1.0) / _HYPER_B) for shp in shapes)
    a, b = jnp.asarray(_HYPER_A), jnp.asarray(_HYPER_B)
    return _State(M, V, zeros, vhat, zeros, zeros, a, b, a, b)


def _masked_stats(X, y, valid) -> _Stats:
    """Mean and population std over the valid rows; (near-)constant columns get std 1."""
    n = jnp.sum(valid)
    w = valid.astype(X.dtype)

    def mean_std(Z, wz):
        mu = jnp.sum(Z * wz, axis=0) / n
        sd = jnp.sqrt(jnp.sum(((Z - mu) ** 2) * wz, axis=0) / n)
        const = sd <= _STD_REL_TOL * jnp.maximum(jnp.abs(mu), 1.0)
        return mu, jnp.where(const, 1.0, sd)

    x_mean, x_std = mean_std(X, w[:, None])
    y_mean, y_std = mean_std(y, w)
    return _Stats(x_mean, x_std, y_mean, y_std)


def _epoch(state: _State, key, Xn, yn, valid, masked: bool) -> _State:
    """One ADF pass over the valid rows in a random order, then the prior refinement.

    Row i (its rank among the training rows) gets the random key u_i from
    fold_in(key, i), so the visiting order does not depend on padding rows.
    """
    n = Xn.shape[0]
    u = jax.vmap(lambda i: jax.random.uniform(jax.random.fold_in(key, i)))(jnp.arange(n))
    order = jnp.argsort(jnp.where(valid, u, 2.0))  # padding rows go last

    def step(st, inp):
        x, y, ok = inp
        new = _adf_step(st, x, y)
        if masked:
            new = new._replace(
                M=tuple(jnp.where(ok, a, b) for a, b in zip(new.M, st.M)),
                V=tuple(jnp.where(ok, a, b) for a, b in zip(new.V, st.V)),
                a_n=jnp.where(ok, new.a_n, st.a_n),
                b_n=jnp.where(ok, new.b_n, st.b_n),
            )
        return new, None

    state, _ = lax.scan(step, state, (Xn[order], yn[order], valid[order]))
    return _refine_prior(state)


def _fit_core(X, y, mask, key, epochs, hidden: tuple, masked: bool):
    """Train one model on the rows of (X, y) where mask is True; returns (state, stats)."""
    n, d = X.shape
    front = jnp.argsort(jnp.logical_not(mask).astype(jnp.int32), stable=True)
    Xc, yc = X[front], y[front]
    valid = jnp.arange(n) < jnp.sum(mask)
    stats = _masked_stats(Xc, yc, valid)
    Xn = jnp.where(valid[:, None], (Xc - stats.x_mean) / stats.x_std, 0.0)
    yn = jnp.where(valid, (yc - stats.y_mean) / stats.y_std, 0.0)
    k_init, k_perm = jax.random.split(key)
    state = _init_state(k_init, (d,) + hidden + (1,))

    def body(e, st):
        return _epoch(st, jax.random.fold_in(k_perm, e), Xn, yn, valid, masked)

    state = lax.fori_loop(0, epochs, body, state)
    return state, stats


def _predict_core(state: _State, stats: _Stats, Xq):
    """Predictive mean and variance (model + noise E[1/gamma]) in original units."""
    m, v = _forward(state.M, state.V, (Xq - stats.x_mean) / stats.x_std)
    noise = state.b_n / (state.a_n - 1.0)
    return m * stats.y_std + stats.y_mean, (v + noise) * stats.y_std**2


_fit_jit = jax.jit(_fit_core, static_argnames=("hidden", "masked"))
_predict_jit = jax.jit(_predict_core)


def _hidden_tuple(hidden) -> tuple:
    """Normalise the hidden-layer spec (int or sequence of ints) to a tuple."""
    if isinstance(hidden, (int, np.integer)):
        return (int(hidden),)
    return tuple(int(h) for h in hidden)


def _check_xy(X, y):
    """Validate and convert the training data to float64 arrays of shapes (n, d), (n,)."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).ravel()
    if X.ndim != 2 or X.shape[0] != y.shape[0]:
        raise ValueError(f"X must be (n, d) and y (n,); got {X.shape} and {y.shape}")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise ValueError("X and y must be finite")
    return X, y


# ---------------------------------------------------------------------------- public API


class PBP:
    """Bayesian neural network trained with Probabilistic Backpropagation.

    ``PBP(hidden=(50,), epochs=40, seed=0).fit(X, y)`` then ``predict(X) -> (mean, var)``
    in original units (var includes the noise variance). Inputs and targets are
    standardised with training statistics inside the model. Same seed -> same result.
    """

    def __init__(self, hidden=(50,), epochs: int = 40, seed: int = 0):
        self.hidden = _hidden_tuple(hidden)
        self.epochs = int(epochs)
        self.seed = int(seed)
        self.state_: _State | None = None
        self.stats_: _Stats | None = None

    def fit(self, X, y) -> "PBP":
        """Run ``epochs`` ADF passes with prior refinement on (X, y); returns self."""
        X, y = _check_xy(X, y)
        if X.shape[0] < 2:
            raise ValueError("PBP needs at least 2 training points")
        with _x64():
            state, stats = _fit_jit(
                jnp.asarray(X),
                jnp.asarray(y),
                jnp.ones(X.shape[0], bool),
                jax.random.PRNGKey(self.seed),
                self.epochs,
                hidden=self.hidden,
                masked=False,
            )
            self.state_ = jax.tree_util.tree_map(np.asarray, state)
            self.stats_ = jax.tree_util.tree_map(np.asarray, stats)
        return self

    def _require_fit(self):
        """Raise if the model has not been fitted."""
        if self.state_ is None:
            raise RuntimeError("call fit() first")

    def _query(self, X) -> np.ndarray:
        """Check query points against the training dimension."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.stats_.x_mean.shape[0]:
            raise ValueError(f"X must be (n, {self.stats_.x_mean.shape[0]}); got {X.shape}")
        return X

    def predict(self, X):
        """Predictive mean and variance N(y | mean, var) in original units, var incl. noise."""
        self._require_fit()
        X = self._query(X)
        with _x64():
            mean, var = _predict_jit(self.state_, self.stats_, jnp.asarray(X))
            return np.asarray(mean), np.asarray(var)

    @property
    def noise_variance(self) -> float:
        """Posterior-mean noise variance E[1/gamma] = b_n/(a_n - 1), original units."""
        self._require_fit()
        s = self.state_
        return float(s.b_n / (s.a_n - 1.0) * self.stats_.y_std**2)

    def predict_samples(self, X, n: int, seed: int | None = None, chunk: int = 64):
        """Draw n network outputs f(X; W), W ~ q(W), in original units; shape (n, n_X).

        Noise is not added: these are samples of the regression function (add
        N(0, noise_variance) for draws of y).
        """
        self._require_fit()
        X = self._query(X)
        rng = np.random.default_rng(self.seed if seed is None else seed)
        Xn = (X - self.stats_.x_mean) / self.stats_.x_std
        out = np.empty((int(n), X.shape[0]))
        for start in range(0, int(n), chunk):
            k = min(chunk, int(n) - start)
            h = np.broadcast_to(Xn, (k,) + Xn.shape)
            for layer, (Ml, Vl) in enumerate(zip(self.state_.M, self.state_.V)):
                W = Ml + np.sqrt(Vl) * rng.standard_normal((k,) + Ml.shape)
                h1 = np.concatenate([h, np.ones(h.shape[:-1] + (1,))], axis=-1)
                a = np.einsum("sqj,sij->sqi", h1, W) / math.sqrt(h1.shape[-1])
                h = np.maximum(a, 0.0) if layer < len(self.state_.M) - 1 else a
            out[start : start + k] = h[..., 0]
        return out * self.stats_.y_std + self.stats_.y_mean


def _masks_and_seeds(n: int, seeds, train_mask):
    """(R, n) training masks and (R,) seeds: None -> all rows; a 1-D mask is shared; one seed s
    with R masks means s, s+1, ..., s+R-1. Every model needs at least 2 training rows."""
    seeds = np.atleast_1d(np.asarray(seeds, dtype=np.int64))
    if train_mask is None:
        train_mask = np.ones((seeds.shape[0], n), bool)
    train_mask = np.asarray(train_mask, dtype=bool)
    if train_mask.ndim == 1:
        train_mask = np.broadcast_to(train_mask, (seeds.shape[0], n))
    if seeds.shape[0] == 1 and train_mask.shape[0] > 1:
        seeds = np.arange(train_mask.shape[0]) + seeds[0]
    if train_mask.shape != (seeds.shape[0], n):
        raise ValueError(f"train_mask must be (R, n) = ({seeds.shape[0]}, {n})")
    if np.any(train_mask.sum(axis=1) < 2):
        raise ValueError("every model needs at least 2 training rows")
    return train_mask, seeds


CHUNK = 64  # models per XLA call: every call has this shape (the last one padded), so one compile (~9 s)
# serves every layout of the same data: films left out (260 models), papers left out (160), final members (10)


def _chunks(train_mask, seeds, chunk):
    """(masks, seeds, real count) per call of `chunk` models, the last padded with all-rows copies."""
    size = len(seeds) if not chunk else int(chunk)
    for start in range(0, len(seeds), size):
        m, s = train_mask[start:start + size], np.asarray(seeds[start:start + size])
        pad = size - len(m)
        if pad:
            m = np.concatenate([m, np.ones((pad, m.shape[1]), bool)])
            s = np.concatenate([s, np.zeros(pad, dtype=s.dtype)])
        yield m, s, size - pad


def _fitted_states(X, y, train_mask, seeds, hidden, epochs, chunk):
    """Per call of `chunk` models (inside the x64 context): (state, stats, real count)."""
    for m, s, real in _chunks(train_mask, seeds, chunk):
        keys = jax.vmap(jax.random.PRNGKey)(jnp.asarray(np.asarray(s, dtype=np.int64)))
        state, stats = _fit_states_jit(jnp.asarray(X), jnp.asarray(y), jnp.asarray(m), keys, int(epochs),
                                       hidden=_hidden_tuple(hidden))
        yield state, stats, real


def fit_many(X, y, train_mask=None, seeds=(0,), X_query=None, hidden=(5,), epochs=100, chunk: int | None = CHUNK):
    """Train R independent PBP models in one jitted ``jax.vmap`` call and predict.

    Args:
        X: (n, d) inputs shared by all models.
        y: (n,) targets.
        train_mask: (R, n) booleans, True where a row is in model r's training set
            (e.g. leave-one-out: ``~np.eye(n, dtype=bool)``). None -> all rows, with
            R = len(seeds).
        seeds: (R,) integer seeds; model r uses ``PRNGKey(seeds[r])``. A single seed s
            with R masks means seeds s, s+1, ..., s+R-1.
        X_query: (n_q, d) query points (default: X).
        hidden, epochs: as for :class:`PBP` (the seed paper uses hidden=(5,), epochs=100).

    Returns:
        (mean, variance), each (R, n_q), in original units of y; the variance includes the
        noise term. Row r equals ``PBP(hidden, epochs, seeds[r]).fit(X[m], y[m]).predict(
        X_query)`` with ``m = train_mask[r]``, up to floating-point round-off.

    Models train in calls of `chunk` (None: all in one call); one XLA program is compiled per
    (n, d, chunk, hidden) and reused, and one per query size for the predictions. Measured on one
    core: R=100 models, 28 x 7 data, hidden=(5,), 100 epochs take ~0.3 s after a ~6 s
    first-call compile (see benchmarks/README.md).

    Example (leave-one-out, 100 repeats with different seeds)::

        n = len(y)
        masks = np.tile(~np.eye(n, dtype=bool), (100, 1))      # (100 n, n)
        mean, var = fit_many(X, y, masks, np.arange(100 * n), X, hidden=(5,), epochs=100)
        loo_mean = mean[np.arange(100 * n), np.tile(np.arange(n), 100)]
    """
    X, y = _check_xy(X, y)
    train_mask, seeds = _masks_and_seeds(X.shape[0], seeds, train_mask)
    Xq = X if X_query is None else np.asarray(X_query, dtype=np.float64)
    if Xq.ndim != 2 or Xq.shape[1] != X.shape[1]:
        raise ValueError(f"X_query must be (n_q, {X.shape[1]}); got {Xq.shape}")
    means, variances = [], []
    with _x64():
        for state, stats, real in _fitted_states(X, y, train_mask, seeds, hidden, epochs, chunk):
            mean, var = _predict_states_jit(state, stats, jnp.asarray(Xq))
            means.append(np.asarray(mean)[:real])
            variances.append(np.asarray(var)[:real])
    return np.concatenate(means), np.concatenate(variances)


@dataclass
class PBPMembers:
    """R trained PBP networks stacked along axis 0: posterior means/variances per layer, noise
    Gamma(a_n, b_n) and the training standardisation. Saved and loaded as one ``.npz``."""

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
        """(mean, variance), each (R, m), of every member at the rows of X (variance incl. noise)."""
        X = np.asarray(X, dtype=np.float64)
        with _x64():
            mean, var = _predict_members_jit(tuple(map(jnp.asarray, self.M)), tuple(map(jnp.asarray, self.V)),
                                             jnp.asarray(self.a_n), jnp.asarray(self.b_n), jnp.asarray(self.x_mean),
                                             jnp.asarray(self.x_std), jnp.asarray(self.y_mean),
                                             jnp.asarray(self.y_std), jnp.asarray(X))
            return np.asarray(mean), np.asarray(var)

    def save(self, path) -> None:
        arrays = {f"M{i}": m for i, m in enumerate(self.M)} | {f"V{i}": v for i, v in enumerate(self.V)}
        np.savez(path, a_n=self.a_n, b_n=self.b_n, x_mean=self.x_mean, x_std=self.x_std, y_mean=self.y_mean,
                 y_std=self.y_std, **arrays)

    @classmethod
    def load(cls, path) -> "PBPMembers":
        with np.load(path, allow_pickle=False) as z:  # data only: a pickled array is refused
            layers = sum(1 for k in z.files if k.startswith("M"))
            return cls(tuple(z[f"M{i}"] for i in range(layers)), tuple(z[f"V{i}"] for i in range(layers)),
                       z["a_n"], z["b_n"], z["x_mean"], z["x_std"], z["y_mean"], z["y_std"])


def _predict_members(M, V, a_n, b_n, x_mean, x_std, y_mean, y_std, Xq):
    """vmap of _predict_core over stored members; it reads only M, V, a_n and b_n of the state."""
    def one(M, V, a_n, b_n, x_mean, x_std, y_mean, y_std):
        state = _State(M, V, (), (), (), (), a_n, b_n, a_n, b_n)
        return _predict_core(state, _Stats(x_mean, x_std, y_mean, y_std), Xq)

    return jax.vmap(one)(M, V, a_n, b_n, x_mean, x_std, y_mean, y_std)


_predict_members_jit = jax.jit(_predict_members)


def _fit_states(X, y, masks, keys, epochs, hidden: tuple):
    return jax.vmap(lambda m, k: _fit_core(X, y, m, k, epochs, hidden, True))(masks, keys)


_fit_states_jit = jax.jit(_fit_states, static_argnames=("hidden",))
_predict_states_jit = jax.jit(jax.vmap(_predict_core, in_axes=(0, 0, None)))


def fit_members(X, y, seeds, hidden=(5,), epochs=100, train_mask=None, chunk: int | None = CHUNK) -> PBPMembers:
    """Train one PBP network per seed (on all rows, or on ``train_mask[r]``) in vmapped calls of
    `chunk` (the program fit_many compiles) and keep them (fit_many only keeps their predictions)."""
    X, y = _check_xy(X, y)
    mask, seeds = _masks_and_seeds(X.shape[0], seeds, train_mask)
    parts = []
    with _x64():
        for state, stats, real in _fitted_states(X, y, mask, seeds, hidden, epochs, chunk):
            fields = (state.M, state.V, state.a_n, state.b_n, stats.x_mean, stats.x_std, stats.y_mean, stats.y_std)
            parts.append(jax.tree_util.tree_map(lambda a, real=real: np.asarray(a)[:real], fields))
    return PBPMembers(*jax.tree_util.tree_map(lambda *chunks: np.concatenate(chunks), *parts))


_relu_jit = jax.jit(_relu_moments)
_forward_jit = jax.jit(_forward)
_log_z_grad_jit = jax.jit(jax.value_and_grad(_log_z, argnums=(0, 1), has_aux=True))


def _as64(ts) -> tuple:
    """Tuple of float64 jax arrays (call inside the x64 context)."""
    return tuple(jnp.asarray(t, jnp.float64) for t in ts)


def relu_moments(m_a, v_a):
    """Numpy wrapper of the ReLU moment matching: (E[max(0,a)], Var[max(0,a)])."""
    with _x64():
        m, v = _relu_jit(jnp.asarray(m_a, jnp.float64), jnp.asarray(v_a, jnp.float64))
        return np.asarray(m), np.asarray(v)


def forward_moments(M, V, X):
    """Numpy wrapper of the forward moment propagation (normalised units): (m_L, v_L)."""
    with _x64():
        m, v = _forward_jit(_as64(M), _as64(V), jnp.asarray(X, jnp.float64))
        return np.asarray(m), np.asarray(v)


def log_evidence_and_grad(M, V, x, y, a, b):
    """log Z = log N(y | m_L, v_L + b/(a-1)) for one point and its gradients wrt M and V.

    Returns (logZ, [dlogZ/dM_l], [dlogZ/dV_l]) as numpy; this is exactly what the ADF
    update uses.
    """
    with _x64():
        args = (jnp.asarray(x, jnp.float64),) + tuple(jnp.float64(t) for t in (y, a, b))
        (logz, _), (gM, gV) = _log_z_grad_jit(_as64(M), _as64(V), *args)
        return float(logz), [np.asarray(g) for g in gM], [np.asarray(g) for g in gV]
