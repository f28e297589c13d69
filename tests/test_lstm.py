"""LSTM regressor and the many-copies training engine (stateless_call + vmap + scan)."""

import numpy as np
import pytest

from filmkb.ml import engine
from filmkb import kb
from filmkb.ml.lstm import PAPER, build_model, fit_reference


@pytest.fixture(scope="module")
def data(built_db):
    with kb.open(built_db) as db:
        matrix = db.descriptor_matrix()
    X = matrix[list(kb.DESCRIPTORS)].to_numpy()
    y = matrix[kb.TARGET].to_numpy()
    return X, y


def test_paper_defaults_and_architecture():
    assert (PAPER.units, PAPER.dropout, PAPER.batch_size, PAPER.epochs) == (12, 0.06, 1, 3200)
    model = build_model(7, 12, 0.06)
    names = [layer.name for layer in model.layers]
    assert names == ["descriptors", "as_sequence", "lstm", "dropout", "out"]
    assert tuple(model.get_layer("as_sequence").output.shape) == (None, 1, 7)
    assert tuple(build_model(7, arrangement="steps").get_layer("as_sequence").output.shape) == (None, 7, 1)
    assert model.get_layer("lstm").units == 12 and model.get_layer("dropout").rate == 0.06
    assert model.get_layer("out").activation.__name__ == "linear"


def test_the_reference_fit_is_seeded_and_answers_in_the_units_of_y(data):
    """model.fit's path (the reference the slow tier compares the engine with), cheaply: 5 epochs."""
    X, y = data
    cfg = PAPER.replace(epochs=5)
    a, b = (fit_reference(X[:20], y[:20], X, cfg, seed=1) for _ in range(2))
    np.testing.assert_array_equal(a, b)  # same seed -> same model
    assert a.shape == (len(y),) and np.all(np.isfinite(a))
    # standardised inside, mapped back: the predictions sit within the targets' range, not around 0
    assert abs(float(a.mean()) - float(y[:20].mean())) < float(y[:20].std())
    assert not np.allclose(a, fit_reference(X[:20], y[:20], X, cfg, seed=2))


@pytest.mark.slow  # 3 x model.fit at batch 1 for 150 epochs (~9,000 Keras steps)
def test_engine_matches_model_fit_quality(data):
    """Both training paths, same data/settings (batch 1, 150 epochs, 3 seeds): same quality."""
    X, y = data
    n = len(y)
    train = np.ones(n, bool)
    train[np.random.default_rng(0).choice(n, 6, replace=False)] = False
    cfg = PAPER.replace(epochs=150)
    seeds = np.arange(3)
    ref = np.stack([fit_reference(X[train], y[train], X, cfg, seed=int(s)) for s in seeds])
    many = engine.fit_predict_many(build_model(7, 12, 0.06), X, y, np.tile(train, (3, 1)), seeds, X, epochs=150)

    def rmse(pred, rows):
        return float(np.mean(np.sqrt(np.mean((pred[:, rows] - y[rows]) ** 2, axis=1))))

    baseline = float(np.std(y[train]))
    for rows in (train, ~train):
        assert abs(rmse(many, rows) - rmse(ref, rows)) < 0.15, (rmse(many, rows), rmse(ref, rows))
    assert rmse(many, train) < 0.8 * baseline and rmse(ref, train) < 0.8 * baseline


def test_engine_masks_seeds_and_determinism(data):
    X, y = data
    n = len(y)
    # 3 copies (the previous test's program): film 0 left out with seeds 0 and 1, film 1 left out with seed 2
    masks = ~np.eye(n, dtype=bool)[[0, 0, 1]]
    seeds = np.arange(3)
    model = build_model(7, 12, 0.06)
    a = engine.fit_predict_many(model, X, y, masks, seeds, X, epochs=20)
    b = engine.fit_predict_many(model, X, y, masks, seeds, X, epochs=20)
    np.testing.assert_array_equal(a, b)  # same seeds -> identical predictions
    assert not np.allclose(a[0], a[1])  # another seed -> another model
    # a left-out film's target (and row) cannot influence its own copy: change it, same predictions
    y2 = y.copy()
    y2[0] += 50.0
    c = engine.fit_predict_many(model, X, y2, masks, seeds, X, epochs=20)
    np.testing.assert_allclose(c[[0, 1]], a[[0, 1]], rtol=0, atol=1e-5)
    assert not np.allclose(c[2], a[2])  # the copy that trains on film 0 sees the change


def test_a_copy_computes_the_same_bits_whatever_the_number_of_copies_in_its_call(data, monkeypatch):
    X, y = data
    n = len(y)
    assert [engine.padded_copies(k) for k in (1, 3, 16, 17, 19, 270)] == [16, 16, 16, 32, 32, 272]
    masks = ~np.eye(n, dtype=bool)[[0, 0, 1]]
    seeds = np.arange(3)
    model = build_model(7, 12, 0.06)
    # 3 copies run in the 16-copy program (padded with 13 copies that train 0 epochs) ...
    few, w_few = engine.fit_predict_many(model, X, y, masks, seeds, X, epochs=20, return_weights=True)
    assert [w.shape[0] for w in w_few.trainable + w_few.non_trainable] == [3] * len(w_few.trainable + w_few.non_trainable)
    # ... as two calls of 2 and 1 copies (chunk) in the same program ...
    np.testing.assert_array_equal(engine.fit_predict_many(model, X, y, masks, seeds, X, epochs=20, chunk=2), few)
    # ... and in the 32-copy program (the one 17 to 32 copies use): every prediction and weight bit for bit
    monkeypatch.setattr(engine, "PAD_STEP", 32)
    many, w_many = engine.fit_predict_many(model, X, y, masks, seeds, X, epochs=20, return_weights=True)
    np.testing.assert_array_equal(few, many)
    for a, b in zip(w_few.trainable + w_few.non_trainable, w_many.trainable + w_many.non_trainable):
        np.testing.assert_array_equal(a, b)


def test_engine_full_batch_learns(data):
    X, y = data
    mask = np.ones((2, len(y)), bool)
    pred = engine.fit_predict_many(build_model(7, 12, 0.0), X, y, mask, [0, 1], X, epochs=300, batch_size=len(y),
                                   learning_rate=1e-2)
    assert np.sqrt(np.mean((pred - y) ** 2)) < 0.7 * np.std(y)


def test_only_weights_with_identically_zero_gradient_are_left_out_of_the_update(data):
    """The one-step LSTM's recurrent kernel multiplies the zero initial state: its gradient is 0 at any
    weights, so Adam would move it by exactly 0; the engine leaves it out. With 7 steps nothing is."""
    import jax
    import jax.numpy as jnp

    X, y = data
    model = build_model(7, 12, 0.06)
    assert engine._zero_gradient(model) == {1}
    assert model.trainable_variables[1].path.endswith("recurrent_kernel")
    assert engine._zero_gradient(build_model(7, arrangement="steps")) == frozenset()
    nt = [v.value for v in model.non_trainable_variables]
    rng = np.random.default_rng(3)

    @jax.jit  # one program for the three draws (op by op, each draw took seconds)
    def grad(tr):
        def loss(tr):
            out, _ = model.stateless_call(tr, nt, jnp.asarray(X[:5], jnp.float32), training=True)
            return jnp.sum((out[:, 0] - jnp.asarray(y[:5], jnp.float32)) ** 2)

        return jax.grad(loss)(tr)

    for _ in range(3):  # random weights and inputs: the gradient is exactly zero, the others are not
        tr = [jnp.asarray(rng.normal(size=v.shape), jnp.float32) for v in model.trainable_variables]
        g = grad(tr)
        assert float(jnp.abs(g[1]).max()) == 0.0 and all(float(jnp.abs(gi).max()) > 0 for i, gi in enumerate(g) if i != 1)
    _, copies = engine.fit_predict_many(model, X, y, np.ones((3, len(y)), bool), [0, 1, 2], X, epochs=5,
                                        return_weights=True)  # 3 copies: the (16-copy) program the tests above compiled
    init = engine._initialiser(model)(jax.random.split(jax.random.PRNGKey(0))[0], jnp.uint32(0))[0]
    np.testing.assert_array_equal(copies.trainable[1][0], np.asarray(init[1]))  # as initialised, bit for bit
