"""The seed paper's LSTM regressor of -log10(sigma), in Keras 3 on the JAX backend.

Architecture: Input(7) -> Reshape(1, 7) -> LSTM(units) -> Dropout(rate) -> Dense(1, linear).

Sequence arrangement (``arrangement=``): the default ``"features"`` feeds the seven
standardised descriptors as **one time step of seven features** (``(n, 1, 7)``), the usual Keras
recipe for tabular data (``X.reshape(n, 1, d)``) and, we believe, what the paper did; the LSTM
then acts as a gated dense layer (the hidden state starts at zero and is never fed back). It
is also ~3x cheaper to train than the alternative ``"steps"`` (seven time steps of one feature,
``(n, 7, 1)``, descriptor order ``kb.DESCRIPTORS``), in which the layer is really recurrent but
the result depends on an arbitrary descriptor order. Both are available; measured figures for
both are in ``benchmarks/README.md``.

Paper defaults (:data:`PAPER`): 12 units, dropout 0.06, batch size 1, 3200 epochs, Adam
(learning rate 1e-3, Keras defaults). Inputs and the target are standardised with the
training fold's statistics only (:func:`standardise`).

Two training paths share :func:`build_model`:

- :func:`fit_reference` -- one model with ``model.fit`` (the reference path; ~20 s per model
  at the paper's settings);
- :func:`filmkb.ml.engine.fit_predict_many` -- many copies at once (different seeds and
  training folds) with ``stateless_call`` + ``vmap`` + ``lax.scan``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["LSTMConfig", "PAPER", "build_model", "standardise", "fit_reference"]


@dataclass(frozen=True)
class LSTMConfig:
    """Hyper-parameters of the LSTM and its training (paper defaults)."""

    units: int = 12
    dropout: float = 0.06
    epochs: int = 3200
    batch_size: int = 1
    learning_rate: float = 1e-3
    arrangement: str = "features"

    def replace(self, **changes) -> "LSTMConfig":
        return LSTMConfig(**{**asdict(self), **changes})

    def as_dict(self) -> dict:
        return asdict(self)


PAPER = LSTMConfig()


def _rate_dropout_layer():
    """Keras Dropout whose rate is a non-trainable weight ("rate"), so that copies of one model
    trained by the engine can each have their own rate (used when tuning)."""
    import keras

    global RateDropout
    if "RateDropout" in globals():
        return RateDropout

    @keras.saving.register_keras_serializable(package="filmkb")
    class RateDropout(keras.layers.Layer):
        def __init__(self, rate: float = 0.0, seed=None, **kwargs):
            super().__init__(**kwargs)
            self.init_rate, self.seed = float(rate), seed
            self.seed_generator = keras.random.SeedGenerator(seed)

        def build(self, input_shape):
            self.rate = self.add_weight(shape=(), initializer=keras.initializers.Constant(self.init_rate),
                                        trainable=False, name="rate")

        def call(self, x, training=False):
            if not training:
                return x
            keep = 1.0 - keras.ops.cast(self.rate, x.dtype)
            u = keras.random.uniform(keras.ops.shape(x), seed=self.seed_generator, dtype=x.dtype)
            return keras.ops.where(u < keep, x / keras.ops.maximum(keep, 1e-6), keras.ops.zeros_like(x))

        def get_config(self):
            return {**super().get_config(), "rate": self.init_rate, "seed": self.seed}

    globals()["RateDropout"] = RateDropout
    return RateDropout


def build_model(n_features: int = 7, units: int = 12, dropout: float = 0.06, seed: int | None = None,
                arrangement: str = "features", variable_dropout: bool = False):
    """The LSTM regressor (uncompiled); input is the flat (n, n_features) descriptor matrix.

    arrangement="features": one time step of n_features features (default; the recurrent
    kernel is then unused); "steps": n_features time steps of one feature each.
    variable_dropout=True: the dropout rate is a non-trainable weight ("rate"), same maths.
    """
    import keras

    shape = (n_features, 1) if arrangement == "steps" else (1, n_features)
    inputs = keras.Input(shape=(n_features,), name="descriptors")
    seq = keras.layers.Reshape(shape, name="as_sequence")(inputs)
    hidden = keras.layers.LSTM(int(units), name="lstm", seed=seed)(seq)
    if variable_dropout:
        hidden = _rate_dropout_layer()(float(dropout), seed=seed, name="dropout")(hidden)
    else:
        hidden = keras.layers.Dropout(float(dropout), seed=seed, name="dropout")(hidden)
    output = keras.layers.Dense(1, activation="linear", name="out")(hidden)
    return keras.Model(inputs, output, name="lstm_regressor")


def standardise(X_train, X_other=None, eps: float = 1e-12):
    """(mean, std) of the training rows (population std; constant columns get std 1) and the
    standardised training rows (and other rows, if given)."""
    X_train = np.asarray(X_train, dtype=np.float64)
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    std = np.where(std > eps * np.maximum(1.0, np.abs(mean)), std, 1.0)
    out = [(X_train - mean) / std]
    if X_other is not None:
        out.append((np.asarray(X_other, dtype=np.float64) - mean) / std)
    return mean, std, out


def fit_reference(X_train, y_train, X_query, config: LSTMConfig = PAPER, seed: int = 0, verbose: int = 0):
    """Fit one LSTM with ``model.fit`` (shuffled mini-batches, MSE, Adam) and predict X_query.

    Inputs and target are standardised with the training rows; returns predictions in the
    original units of y, shape (n_query,).
    """
    import keras

    keras.utils.set_random_seed(int(seed))
    _, _, (Xs, Xq) = standardise(X_train, X_query)
    y_train = np.asarray(y_train, dtype=np.float64)
    y_mean, y_std = y_train.mean(), y_train.std() or 1.0
    model = build_model(Xs.shape[1], config.units, config.dropout, seed=int(seed), arrangement=config.arrangement)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss="mse")
    model.fit(Xs.astype("float32"), ((y_train - y_mean) / y_std).astype("float32"),
              batch_size=config.batch_size, epochs=config.epochs, shuffle=True, verbose=verbose)
    pred = np.asarray(model.predict(Xq.astype("float32"), verbose=0))[:, 0]
    return pred * y_std + y_mean
