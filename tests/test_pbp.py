"""Tests of the PBP Bayesian neural network (filmkb.ml.pbp): numerics, behaviour, vmap path."""

from __future__ import annotations

import numpy as np
import pytest

from filmkb.ml.pbp import (
    PBP,
    fit_many,
    forward_moments,
    log_evidence_and_grad,
    relu_moments,
)


def _random_net(rng, sizes, v_lo=0.05, v_hi=0.5):
    """Random Gaussian weight posterior (means, variances) for the layer sizes given."""
    shapes = [(n_out, n_in + 1) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    M = [rng.normal(size=s) for s in shapes]
    V = [rng.uniform(v_lo, v_hi, size=s) for s in shapes]
    return M, V


def _sample_forward(M, V, x, n, rng):
    """Monte-Carlo outputs of the same network with weights drawn from N(M, V)."""
    h = np.broadcast_to(x, (n, x.shape[0]))
    for layer, (Ml, Vl) in enumerate(zip(M, V)):
        W = Ml + np.sqrt(Vl) * rng.standard_normal((n,) + Ml.shape)
        h1 = np.concatenate([h, np.ones((n, 1))], axis=1)
        a = np.einsum("sj,sij->si", h1, W) / np.sqrt(h1.shape[1])
        h = np.maximum(a, 0.0) if layer < len(M) - 1 else a
    return h[:, 0]


@pytest.fixture(scope="module")
def toy_1d():
    """Noisy sine on [-1, 1] and a PBP fitted to it (shared by several tests)."""
    rng = np.random.default_rng(1)
    x = np.sort(rng.uniform(-1.0, 1.0, 40))
    y = np.sin(3.0 * x) + 0.1 * rng.normal(size=x.size)
    model = PBP(hidden=(20,), epochs=40, seed=3).fit(x[:, None], y)
    return x, y, model


def test_forward_moments_match_monte_carlo():
    """Moment propagation equals MC moments (exact for one hidden layer, fixed input)."""
    rng = np.random.default_rng(0)
    M, V = _random_net(rng, (3, 6, 1))
    n = 400_000
    for x in rng.normal(size=(3, 3)):
        m, v = forward_moments(M, V, x[None, :])
        s = _sample_forward(M, V, x, n, rng)
        se_mean = np.sqrt(s.var() / n)
        assert abs(s.mean() - m[0]) < 5 * se_mean
        assert abs(s.var() - v[0]) < 0.02 * v[0]


def test_relu_moments_match_monte_carlo():
    """E and Var of max(0, a), a ~ N(m, v), at moderate alpha, against sampling."""
    rng = np.random.default_rng(2)
    m_a = np.array([-2.0, -0.5, 0.0, 0.7, 3.0])
    v_a = np.array([0.5, 1.0, 2.0, 0.3, 1.5])
    m_z, v_z = relu_moments(m_a, v_a)
    z = np.maximum(m_a + np.sqrt(v_a) * rng.standard_normal((400_000, m_a.size)), 0.0)
    np.testing.assert_allclose(m_z, z.mean(0), rtol=0.02, atol=2e-3)
    np.testing.assert_allclose(v_z, z.var(0), rtol=0.02, atol=2e-3)


def test_log_evidence_gradient_matches_finite_differences():
    """d logZ / d(M, V) used by ADF agree with central differences (3-5-4-1 net)."""
    rng = np.random.default_rng(4)
    M, V = _random_net(rng, (3, 5, 4, 1))
    x, y, a, b = rng.normal(size=3), 0.7, 7.5, 5.0
    _, gM, gV = log_evidence_and_grad(M, V, x, y, a, b)
    h = 1e-5
    max_err = 0.0
    for which, grads in ((M, gM), (V, gV)):
        for layer, g in enumerate(grads):
            for idx in np.ndindex(g.shape):
                orig = which[layer][idx]
                which[layer][idx] = orig + h
                up = log_evidence_and_grad(M, V, x, y, a, b)[0]
                which[layer][idx] = orig - h
                down = log_evidence_and_grad(M, V, x, y, a, b)[0]
                which[layer][idx] = orig
                max_err = max(max_err, abs((up - down) / (2 * h) - g[idx]))
    assert max_err < 1e-6


def test_relu_moments_extreme_alpha_finite():
    """No NaN/inf in the ReLU moments or in the ADF gradients for extreme alpha."""
    alpha = np.array([-1e6, -1e4, -1e3, -100.0, -40.0, -38.0, -30.0, -20.0, -8.0,
                      0.0, 8.0, 20.0, 40.0, 1e3, 1e6])
    for v_a in (1e-12, 1.0, 1e6):
        m_a = alpha * np.sqrt(v_a)
        m_z, v_z = relu_moments(m_a, np.full_like(alpha, v_a))
        assert np.all(np.isfinite(m_z)) and np.all(np.isfinite(v_z))
        assert np.all(m_z >= 0.0) and np.all(v_z >= -1e-12 * v_a)
        big = alpha >= 20  # ReLU is the identity there
        np.testing.assert_allclose(m_z[big], m_a[big], rtol=1e-12)
        np.testing.assert_allclose(v_z[big], v_a, rtol=1e-9)
        tiny = alpha <= -40  # ReLU is 0 there
        assert np.all(m_z[tiny] <= 1e-300 * max(1.0, np.sqrt(v_a)))
    # Gradients through saturated hidden units (huge |alpha|) stay finite as well.
    rng = np.random.default_rng(5)
    M, V = _random_net(rng, (2, 6, 1), v_lo=1e-10, v_hi=1e-9)
    M[0][:3] *= 1e4
    M[0][3:] *= -1e4
    logz, gM, gV = log_evidence_and_grad(M, V, np.array([1.0, -1.0]), 0.3, 10.0, 2.0)
    assert np.isfinite(logz)
    assert all(np.all(np.isfinite(g)) for g in gM + gV)


def test_predictive_interval_widens_away_from_data(toy_1d):
    """1-D regression: predictive variance far outside [-1, 1] exceeds that inside."""
    x, y, model = toy_1d
    mean, var = model.predict(np.array([[-4.0], [0.0], [4.0]]))
    assert np.all(var > model.noise_variance)  # variance includes the noise term
    assert var[0] > 3 * var[1] and var[2] > 3 * var[1]
    m_in, _ = model.predict(x[:, None])
    assert np.sqrt(np.mean((m_in - y) ** 2)) < 0.3  # it did learn the sine


def test_predict_samples_agree_with_predict(toy_1d):
    """Samples of f with W ~ q(W) have the predicted mean and model variance."""
    _, _, model = toy_1d
    xq = np.array([[-2.0], [0.0], [0.5], [2.0]])
    mean, var = model.predict(xq)
    s = model.predict_samples(xq, 20_000, seed=0)
    assert s.shape == (20_000, 4)
    model_var = var - model.noise_variance
    np.testing.assert_allclose(s.mean(0), mean, atol=5 * np.sqrt(model_var.max() / 20_000))
    np.testing.assert_allclose(s.var(0), model_var, rtol=0.1)


def test_deterministic_for_seed(toy_1d):
    """Same seed -> identical predictions; another seed -> different ones."""
    x, y, model = toy_1d
    xq = np.linspace(-2, 2, 7)[:, None]
    again = PBP(hidden=(20,), epochs=40, seed=3).fit(x[:, None], y)
    other = PBP(hidden=(20,), epochs=40, seed=4).fit(x[:, None], y)
    m1, v1 = model.predict(xq)
    m2, v2 = again.predict(xq)
    np.testing.assert_array_equal(m1, m2)
    np.testing.assert_array_equal(v1, v2)
    assert not np.allclose(m1, other.predict(xq)[0])
    np.testing.assert_array_equal(model.predict_samples(xq, 5), again.predict_samples(xq, 5))


def test_fit_many_matches_single_model_path():
    """The vmapped many-models path reproduces PBP(seed).fit(X[mask], y[mask]).predict."""
    rng = np.random.default_rng(6)
    n, d = 12, 3
    X = rng.normal(size=(n, d))
    y = X @ np.array([1.0, -0.5, 0.2]) + 0.2 * rng.normal(size=n)
    Xq = rng.normal(size=(5, d))
    masks = np.ones((4, n), bool)
    masks[0, 4] = masks[1, 0] = masks[2, 7] = masks[3, 11] = False  # 11 rows each: one single-model program
    seeds = np.array([10, 11, 12, 13])
    mean, var = fit_many(X, y, masks, seeds, Xq, hidden=(5,), epochs=30)
    assert mean.shape == var.shape == (4, 5)
    for r in range(4):
        single = PBP(hidden=(5,), epochs=30, seed=int(seeds[r])).fit(X[masks[r]], y[masks[r]])
        m1, v1 = single.predict(Xq)
        np.testing.assert_allclose(mean[r], m1, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(var[r], v1, rtol=1e-8)
    mean2, var2 = fit_many(X, y, masks, seeds, Xq, hidden=(5,), epochs=30)
    np.testing.assert_array_equal(mean, mean2)
    np.testing.assert_array_equal(var, var2)


def test_x64_not_switched_on_globally(toy_1d):
    """Fitting runs in a scoped float64 context: JAX's global x64 flag is unchanged."""
    import jax

    x, y, _ = toy_1d
    before = jax.config.jax_enable_x64
    PBP(hidden=(20,), epochs=1).fit(x[:, None], y)  # toy_1d's shapes: its compiled program
    assert jax.config.jax_enable_x64 == before
