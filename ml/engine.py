"""Train many copies of one Keras model at once: ``stateless_call`` + ``vmap`` + ``lax.scan``.

:func:`fit_predict_many` fits R copies of the same (uncompiled) Keras regression model, each
with its own seed (weight initialisation, shuffling, dropout) and its own training rows (a
boolean mask over shared data), and predicts shared query points. It reproduces what
``model.fit(..., shuffle=True)`` + ``model.predict`` do for one copy:

- every epoch visits the copy's training rows in a fresh random order, in mini-batches of
  ``batch_size`` (the last one may be short), MSE loss, Keras' Adam update rule (same
  defaults, bias correction as ``keras.optimizers.Adam``);
- the model runs through ``model.stateless_call(trainable, non_trainable, x, training=True)``,
  so dropout is active and every copy keeps its own seed-generator state;
- kernels are drawn Glorot-uniform, recurrent kernels orthogonal, biases take the Keras
  initial values (LSTM forget-gate bias 1): the Keras defaults;
- inputs and the target are standardised with each copy's own training rows only.

Masked rows are sorted behind the training rows of each epoch's permutation, so batches of
masked rows are skipped (the update is discarded) and never touch the copy.

Speed: the whole fit is one XLA program: ``lax.fori_loop`` over epochs (the epoch count is a
traced argument, per copy: no recompile when only epochs change; a call costs its largest
count), ``lax.scan`` over batches, all under ``jax.jit(jax.vmap(...))``. The program is specialised on
the number of copies, so a call's copies are padded to a multiple of 16 (:func:`padded_copies`; the
extra lanes train 0 epochs): counts 1-16 share one program, 17-32 the next, and a copy's numbers do not
depend on the padding. It runs on one JAX CPU
device, whose XLA thread pool already keeps both cores of this machine busy (measured: 1.4
cores of user time per wall second). Splitting the copies over two forced host devices
(``--xla_force_host_platform_device_count=2``) was measured too: one ``NamedSharding``ed call
and per-device calls from two threads both deadlocked inside the epoch loop, and asynchronous
per-device dispatch was no faster than one device, so the engine does not do it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

__all__ = ["fit_predict_many", "masked_standardise", "predict_copies", "TrainedCopies", "MAX_STEPS",
           "effective_epochs", "padded_copies", "PAD_STEP"]

_CACHE: dict = {}
# Most Adam steps (mini-batches) a copy takes: 3,200 epochs of 32 rows at batch size 1. The paper trains its
# 28 films at batch size 1 for 3,200 epochs (~86,000 steps a model); on a thousand films the same epochs
# would be 3.2 million sequential steps a model, a budget the paper never chose, and the cost would grow
# with the films. Beyond the budget the epochs are cut so that a copy keeps about the paper's number of
# steps at the paper's batch size (1,000 rows: 103 epochs); up to 32 rows (the curated films) nothing changes.
MAX_STEPS = 3200 * 32


def effective_epochs(epochs, n: int, batch_size: int = 1):
    """The epochs a copy trains for on n rows (int or array): at most MAX_STEPS mini-batches in all."""
    cap = max(1, MAX_STEPS // -(-n // max(1, min(int(batch_size), n))))
    return np.minimum(epochs, cap) if isinstance(epochs, np.ndarray) else min(int(epochs), cap)


def _cached(key, model, build):
    """The compiled function for `key`, built once (at most 32 kept; the model stays referenced)."""
    from . import xla

    xla.configure()
    if key not in _CACHE:
        if len(_CACHE) >= 32:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = (model, build())
    return _CACHE[key][1]


def masked_standardise(X, train_mask, eps: float = 1e-12):
    """Per-copy (mean, std) of the masked rows: (R, d) each; constant columns get std 1."""
    X = np.asarray(X, dtype=np.float64)
    m = np.asarray(train_mask, dtype=np.float64)
    cnt = m.sum(axis=1, keepdims=True)
    mean = m @ X / cnt
    var = (m @ X**2) / cnt - mean**2
    std = np.sqrt(np.maximum(var, 0.0))
    std = np.where(std > eps * np.maximum(1.0, np.abs(mean)), std, 1.0)
    return mean, std


def _initialiser(model, override_names=()):
    """(key, seed, overrides) -> (trainable, non_trainable) lists for one fresh copy of ``model``.

    ``override_names``: suffixes of non-trainable variable paths (e.g. "rate") whose value is
    given per copy (``overrides``, same order)."""
    import jax
    import jax.numpy as jnp

    glorot = jax.nn.initializers.glorot_uniform()
    ortho = jax.nn.initializers.orthogonal()
    specs = []
    for v in model.trainable_variables:
        name = v.path.rsplit("/", 1)[-1]
        kind = "ortho" if name == "recurrent_kernel" else ("glorot" if name.endswith("kernel") else "const")
        specs.append((kind, tuple(v.shape), v.dtype, np.asarray(v.value)))
    def nt_kind(path):
        if path.endswith("seed_generator_state"):
            return "seed"
        for j, name in enumerate(override_names):
            if path.endswith(name):
                return j
        return "const"

    nt_specs = [(nt_kind(v.path), np.asarray(v.value), v.dtype) for v in model.non_trainable_variables]

    def init(key, seed, overrides=()):
        keys = jax.random.split(key, len(specs))
        tr = []
        for k, (kind, shape, dtype, value) in zip(keys, specs):
            if kind == "glorot":
                tr.append(glorot(k, shape, jnp.float32).astype(dtype))
            elif kind == "ortho":
                tr.append(ortho(k, shape, jnp.float32).astype(dtype))
            else:
                tr.append(jnp.asarray(value, dtype))
        nt = []
        for j, (kind, value, dtype) in enumerate(nt_specs):
            if kind == "seed":
                nt.append(jnp.stack([seed.astype(jnp.uint32) + jnp.uint32(7919 * j), jnp.uint32(0)]).astype(dtype))
            elif isinstance(kind, int):
                nt.append(jnp.reshape(overrides[kind], value.shape).astype(dtype))
            else:
                nt.append(jnp.asarray(value, dtype))
        return tr, nt

    return init


def _zero_gradient(model) -> frozenset:
    """Indices (into ``model.trainable_variables``) whose gradient is identically zero: the recurrent
    kernel of an LSTM fed a one-step sequence from its zero initial state (h0 @ U with h0 = 0, the
    paper's "features" arrangement). Adam moves such a weight by exactly 0 (m = v = 0), so leaving it
    out of the update changes no bit and saves ~60 % of the optimiser's work on the paper LSTM."""
    import keras

    ids = {id(v): i for i, v in enumerate(model.trainable_variables)}
    frozen = set()
    for layer in model.layers:
        if type(layer) is keras.layers.LSTM and not layer.stateful and layer.input.shape[1] == 1:
            frozen.add(ids[id(layer.cell.recurrent_kernel)])
    return frozenset(frozen)


def _frozen_split(model):
    """(split, merged): split(trainable) -> (updated, frozen) weight lists (frozen: _zero_gradient), and
    merged(updated, frozen) -> the trainable list in the model's order again."""
    frozen = _zero_gradient(model)
    n_tr = len(model.trainable_variables)

    def split(tr):
        return [tr[i] for i in range(n_tr) if i not in frozen], [tr[i] for i in sorted(frozen)]

    def merged(live, fixed):
        live, fixed = iter(live), iter(fixed)
        return [next(fixed) if i in frozen else next(live) for i in range(n_tr)]

    return split, merged


def _build_fn(model, n: int, batch_size: int, learning_rate: float, override_names=(), beta_1=0.9, beta_2=0.999,
              epsilon=1e-7):
    """The jitted, vmapped fit-and-predict function for this model and data size."""
    import jax
    import jax.numpy as jnp
    from jax import lax

    init = _initialiser(model, override_names)
    n_batches = -(-n // batch_size)
    pad = n_batches * batch_size - n
    split, merged = _frozen_split(model)

    def loss_fn(live, fixed, nt, xb, yb, wb):
        out, nt_new = model.stateless_call(merged(live, fixed), nt, xb, training=True)
        err = out[:, 0] - yb
        return jnp.sum(wb * err * err) / jnp.maximum(jnp.sum(wb), 1.0), nt_new

    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

    def fit_one(key, seed, Xs, ys, mask, Xq, epochs, overrides):
        k_init, k_shuffle = jax.random.split(key)
        tr0, nt = init(k_init, seed, overrides)
        tr, fixed = split(tr0)
        m = [jnp.zeros_like(p) for p in tr]
        v = [jnp.zeros_like(p) for p in tr]
        w_all = mask.astype(jnp.float32)

        def batch_step(carry, batch):
            tr, nt, m, v, t = carry
            idx, wb = batch
            (_, nt_new), g = grad_fn(tr, fixed, nt, Xs[idx], ys[idx], wb)
            live = jnp.sum(wb) > 0
            t_new = t + 1.0
            m_new = [mi + (gi - mi) * (1 - beta_1) for mi, gi in zip(m, g)]
            v_new = [vi + (gi * gi - vi) * (1 - beta_2) for vi, gi in zip(v, g)]
            alpha = learning_rate * jnp.sqrt(1 - beta_2**t_new) / (1 - beta_1**t_new)
            tr_new = [p - alpha * mi / (jnp.sqrt(vi) + epsilon) for p, mi, vi in zip(tr, m_new, v_new)]
            pick = lambda a, b: jax.tree_util.tree_map(lambda x, y: jnp.where(live, x, y), a, b)  # noqa: E731
            return (pick(tr_new, tr), pick(nt_new, nt), pick(m_new, m), pick(v_new, v),
                    jnp.where(live, t_new, t)), None

        def epoch(e, carry):
            u = jax.random.uniform(jax.random.fold_in(k_shuffle, e), (n,))
            order = jnp.argsort(jnp.where(mask, u, 2.0 + u))
            w = w_all[order]
            if pad:
                order = jnp.concatenate([order, jnp.zeros((pad,), order.dtype)])
                w = jnp.concatenate([w, jnp.zeros((pad,), w.dtype)])
            carry, _ = lax.scan(batch_step, carry, (order.reshape(n_batches, batch_size),
                                                    w.reshape(n_batches, batch_size)))
            return carry

        tr, nt, m, v, _ = lax.fori_loop(0, epochs, epoch, (tr, nt, m, v, jnp.float32(0.0)))
        tr = merged(tr, fixed)
        pred, _ = model.stateless_call(tr, nt, Xq, training=False)
        return pred[:, 0], tr, nt

    return jax.jit(jax.vmap(fit_one))


@dataclass
class TrainedCopies:
    """Weights of R trained copies, stacked along axis 0, and each copy's standardisation.

    ``trainable[k]`` / ``non_trainable[k]`` have shape (R, *variable k's shape), in the order of
    ``model.trainable_variables`` / ``model.non_trainable_variables``; a copy predicts
    ``model(weights, (x - x_mean[r]) / x_std[r]) * y_std[r] + y_mean[r]``.
    """

    trainable: list
    non_trainable: list
    x_mean: np.ndarray  # (R, d)
    x_std: np.ndarray  # (R, d)
    y_mean: np.ndarray  # (R,)
    y_std: np.ndarray  # (R,)

    def copy(self, r: int) -> tuple[list, list]:
        """(trainable, non_trainable) weight lists of copy r."""
        return [w[r] for w in self.trainable], [w[r] for w in self.non_trainable]


def predict_copies(model, copies: TrainedCopies, X) -> np.ndarray:
    """(R, m) predictions of every stored copy at the rows of X (dropout off), in one vmapped call."""
    import jax

    X = np.asarray(X, dtype=np.float64)
    Xs = ((X[None] - copies.x_mean[:, None]) / copies.x_std[:, None]).astype(np.float32)
    def one(tr, nt, x):
        out, _ = model.stateless_call(tr, nt, x, training=False)
        return out[:, 0]

    fn = _cached(("predict", json.dumps(model.get_config(), sort_keys=True, default=str)), model,
                 lambda: jax.jit(jax.vmap(one)))
    out = np.asarray(fn(copies.trainable, copies.non_trainable, Xs), dtype=np.float64)
    return out * copies.y_std[:, None] + copies.y_mean[:, None]


PAD_STEP = 16  # copies per engine call are padded up to a multiple of this: one compiled program serves 1..16 copies


def padded_copies(k: int) -> int:
    """The number of copies an engine call of k copies runs (k rounded up to a multiple of PAD_STEP).

    The compiled program is specialised on the number of copies, so every distinct count would compile
    again (seconds each); padding to a few sizes reuses one program. Each copy's lane of the vmapped
    program computes the same numbers whatever the count (checked bit for bit by tests/test_lstm.py),
    and a padded lane runs 0 epochs, so it costs only its share of each vectorised step."""
    return max(PAD_STEP, -(-int(k) // PAD_STEP) * PAD_STEP)


def _pad_copies(a, size: int):
    """`a` (copies along axis 0) with its first copy repeated up to `size` copies (a fresh array)."""
    a = np.asarray(a)
    if a.shape[0] >= size:
        return a.copy()
    return np.concatenate([a, np.repeat(a[:1], size - a.shape[0], axis=0)])


def _checked(X, train_mask, seeds):
    """X (float64), the masks and seeds as arrays, their shapes checked against each other."""
    X = np.asarray(X, dtype=np.float64)
    mask = np.asarray(train_mask, dtype=bool)
    seeds = np.asarray(seeds, dtype=np.int64).reshape(-1)
    if seeds.shape[0] != mask.shape[0] or mask.shape[1] != X.shape[0]:
        raise ValueError(f"train_mask must be (len(seeds), n) = ({seeds.shape[0]}, {X.shape[0]}); got {mask.shape}")
    if np.any(mask.sum(axis=1) < 2):
        raise ValueError("every copy needs at least 2 training rows")
    return X, mask, seeds


def _standardised_copies(X, y, Xq, mask):
    """Inputs, queries and targets standardised with each copy's own training rows (float32 for
    XLA), and the statistics (x mean, x std, y mean, y std) to map predictions back."""
    mu, sd = masked_standardise(X, mask)
    m = mask.astype(np.float64)
    y_mu = m @ y / m.sum(axis=1)
    y_sd = np.sqrt(np.maximum(m @ y**2 / m.sum(axis=1) - y_mu**2, 0.0))
    y_sd = np.where(y_sd > 0, y_sd, 1.0)
    Xs = ((X[None] - mu[:, None]) / sd[:, None]).astype(np.float32)
    Xqs = ((Xq[None] - mu[:, None]) / sd[:, None]).astype(np.float32)
    ys = ((y[None] - y_mu[:, None]) / y_sd[:, None]).astype(np.float32)
    return Xs, Xqs, ys, (mu, sd, y_mu, y_sd)


def fit_predict_many(model, X, y, train_mask, seeds, X_query=None, epochs=3200, batch_size: int = 1,
                     learning_rate: float = 1e-3, chunk: int | None = None, progress=None, nt_values: dict | None = None,
                     return_weights: bool = False):
    """Fit R copies of ``model`` (seed r, training rows ``train_mask[r]``) and predict X_query.

    Args:
        model: an uncompiled Keras model mapping (n, d) to (n, 1), e.g. ``lstm.build_model()``.
            Only its architecture is used; its own weights are left alone.
        X, y: (n, d) inputs and (n,) targets shared by all copies.
        train_mask: (R, n) booleans, True for copy r's training rows.
        seeds: (R,) integer seeds (initialisation, shuffling, dropout).
        X_query: (n_q, d) query points (default X).
        epochs: an int, or (R,) ints (one per copy; a call then costs its largest value).
        batch_size, learning_rate: as for ``model.fit`` with ``Adam(learning_rate)``; the epochs are cut
            so that a copy takes at most MAX_STEPS mini-batches (:func:`effective_epochs`).
        nt_values: {path suffix: (R,) values} to set non-trainable variables per copy, e.g.
            ``{"rate": dropout_rates}`` for ``lstm.build_model(..., variable_dropout=True)``.
        chunk: copies per XLA call (default: all); bounds memory for very large R.
        progress: optional callable(n_done) called after each chunk.
        return_weights: also return the trained weights (:class:`TrainedCopies`).

    Returns:
        (R, n_q) predictions in the original units of y (dropout off at prediction), and with
        ``return_weights`` the pair (predictions, TrainedCopies).
    """
    import jax
    import jax.numpy as jnp

    X, mask, seeds = _checked(X, train_mask, seeds)
    R, n = mask.shape
    batch_size = max(1, min(int(batch_size), n))
    Xq = X if X_query is None else np.asarray(X_query, dtype=np.float64)
    Xs, Xqs, ys, (mu, sd, y_mu, y_sd) = _standardised_copies(X, np.asarray(y, dtype=np.float64), Xq, mask)

    arch = json.dumps(model.get_config(), sort_keys=True, default=str)
    names = tuple(sorted(nt_values or {}))
    ov_all = [np.asarray(nt_values[k], dtype=np.float32).reshape(R) for k in names]
    ep_all = effective_epochs(np.broadcast_to(np.asarray(epochs, dtype=np.int32), (R,)), n, batch_size)
    cache_key = (arch, n, batch_size, float(learning_rate), names)
    fn = _cached(cache_key, model, lambda: _build_fn(model, n, batch_size, float(learning_rate), names))

    chunk = R if chunk is None else max(1, int(chunk))
    out, weights = np.empty((R, Xq.shape[0]), dtype=np.float64), []
    for start in range(0, R, chunk):
        sl = slice(start, min(R, start + chunk))
        k = sl.stop - sl.start
        # the call's copies padded to a fixed size (0 epochs: the extra lanes do nothing); its outputs cut back to k
        pad = lambda a: _pad_copies(a[sl], padded_copies(k))  # noqa: E731
        keys = jax.vmap(jax.random.PRNGKey)(jnp.asarray(pad(seeds), dtype=jnp.uint32))
        ov = tuple(jnp.asarray(pad(o)) for o in ov_all)
        epochs_k = pad(ep_all)
        epochs_k[k:] = 0
        pred, tr, nt = fn(keys, pad(seeds).astype(np.uint32), pad(Xs), pad(ys), pad(mask), pad(Xqs), epochs_k, ov)
        out[sl] = np.asarray(pred)[:k] * y_sd[sl, None] + y_mu[sl, None]
        if return_weights:
            weights.append(([np.asarray(w)[:k] for w in tr], [np.asarray(w)[:k] for w in nt]))
        if progress is not None:
            progress(sl.stop - sl.start)
    if not return_weights:
        return out
    return out, TrainedCopies([np.concatenate(ws) for ws in zip(*(w[0] for w in weights))],
                              [np.concatenate(ws) for ws in zip(*(w[1] for w in weights))], mu, sd, y_mu, y_sd)
