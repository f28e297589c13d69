"""The paper's averaged LSTM + PBP ensemble behind the model contract: fit, predict, save, load.

The ensemble holds R LSTM copies and R PBP networks trained on the same films with the same
seeds. Its prediction for a row is the mean of the 2R member predictions; its uncertainty is the
standard deviation of the mixture of the 2R members, LSTM members as point predictions and PBP
members as their Gaussians (:func:`filmkb.ml.members.combine`). Reported beside it in
evaluations: ``ensemble_spread``, the same mean with the paper's uncertainty, the spread over
the 2R members alone (it ignores noise and is much too narrow).

On disk (one directory per model run)::

    manifest.json          descriptors, training range of each, film ids, training matrix, config
    lstm/member_000.keras  R self-contained Keras models: raw descriptors in, -log10 sigma out
    pbp_members.npz        R PBP posteriors (means, variances, noise) and their standardisation

A saved LSTM member needs nothing from filmkb: ``keras.saving.load_model(path).predict(X)``
with X the descriptors in ``manifest["descriptors"]`` order. :func:`load` reads the members' weights
from the same files without Keras (zipfile, h5py) and predicts them in NumPy (:class:`LoadedLSTM`):
importing Keras costs ~3 s of CPU (it imports scikit-learn for its wrappers), longer than the
prediction a loaded run is for.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .contract import EvalRows, Members, Model
from .domain import ranges
from .folds import Layout
from .lstm import LSTMConfig
from .members import combine
from .neural import LSTMModel, PBPModel

__all__ = ["PaperEnsemble", "save", "load", "MANIFEST"]

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
DESCRIPTION = "mean of R LSTM + R PBP members; std of their mixture = sqrt(spread_2R^2 + mean PBP variance / 2)"


class PaperEnsemble(Model):
    """R LSTM + R PBP members trained on one descriptor matrix, averaged."""

    stochastic = True

    def __init__(self, lstm: LSTMModel | None = None, pbp: PBPModel | None = None):
        self.lstm = lstm
        self.pbp = pbp

    @property
    def name(self) -> str:
        return "ensemble" + self.lstm.name[len("lstm"):]  # ensemble, ensemble_tuned

    @property
    def repeats(self) -> int:
        return int(self.lstm.repeats)

    def fit(self, X, y, seeds=None, progress=None, lstm_fitted: LSTMModel | None = None):
        """Fit both families (lstm_fitted: the LSTM members already trained on X, y with these seeds,
        e.g. by an :class:`~filmkb.ml.neural.LSTMBatch`)."""
        seeds = self.lstm._seeds(seeds)
        if lstm_fitted is not None:
            if not np.array_equal(lstm_fitted.seeds_, seeds):
                raise ValueError("the prefitted LSTM members have other seeds")
            self.lstm = lstm_fitted
        else:
            self.lstm.fit(X, y, seeds, progress=progress)
        self.pbp.fit(X, y, seeds, progress=progress)
        self.X_train_, self.y_train_ = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
        return self

    def parts(self, X) -> dict:
        """Per row of X: ensemble mean/std/spread of -log10 sigma and the LSTM and PBP means."""
        lstm, pbp = self.lstm.predict_members(X).mean, self.pbp.predict_members(X)
        mean, std, spread = combine(lstm, pbp.mean, pbp.var)
        return {"mean": mean, "std": std, "spread": spread, "lstm_mean": lstm.mean(axis=0),
                "lstm_spread": lstm.std(axis=0), "pbp_mean": pbp.mean.mean(axis=0),
                "pbp_std": np.sqrt(pbp.var.mean(axis=0) + pbp.mean.var(axis=0))}

    def predict_dist(self, X):
        p = self.parts(X)
        return p["mean"], p["std"] ** 2

    def predict_mean(self, X) -> np.ndarray:
        """The ensemble mean alone (what SHAP explains), for a batch of rows."""
        lstm, pbp = self.lstm.predict_members(X).mean, self.pbp.predict_members(X).mean
        return (lstm.sum(axis=0) + pbp.sum(axis=0)) / (lstm.shape[0] + pbp.shape[0])

    def cross_predict(self, X, y, layout: Layout, progress=None, cache=None, timings=None) -> Members:
        """Members (2R, n): the R LSTM members then the R PBP means; var (R, n): the PBP variances."""
        cache = {} if cache is None else cache
        lstm = self.lstm.cross_predict(X, y, layout, progress, cache, timings)
        pbp = self.pbp.cross_predict(X, y, layout, progress, cache, timings)
        return Members(np.concatenate([lstm.mean, pbp.mean]), pbp.var)

    def evaluation_rows(self, members: Members) -> list[EvalRows]:
        R = members.var.shape[0]
        lstm, pbp_means = members.mean[:R], members.mean[R:]
        mean, total, spread = combine(lstm, pbp_means, members.var)
        extra = {"spread_2r": spread, "pbp_variance": members.var.mean(axis=0), "lstm_mean": lstm.mean(axis=0),
                 "pbp_mean": pbp_means.mean(axis=0)}
        per_seed = (lstm + pbp_means) / 2  # seed r: its LSTM and its PBP member averaged
        return [EvalRows(self.name, mean, total, extra, per_seed), EvalRows(self.name + "_spread", mean, spread, extra)]

    def config(self) -> dict:
        return {"lstm": self.lstm.config.as_dict(), "pbp": {"hidden": list(self.pbp.hidden), "epochs": self.pbp.epochs},
                "repeats": self.repeats, "seeds": [int(s) for s in self.lstm.seeds_], "ensemble": DESCRIPTION}


# --------------------------------------------------------------------------------------- files


def save(model: PaperEnsemble, directory, meta: dict) -> Path:
    """Write the manifest (config, training matrix and ranges, `meta`), one .keras file per LSTM
    member and the PBP members under `directory`."""
    import keras

    directory = Path(directory)
    (directory / "lstm").mkdir(parents=True, exist_ok=True)
    files = []
    for r in range(model.repeats):
        name = f"lstm/member_{r:03d}.keras"
        _export_member(keras, model.lstm, r).save(directory / name)
        files.append(name)
    model.pbp.members_.save(directory / "pbp_members.npz")
    manifest = {"format_version": FORMAT_VERSION, **model.config(), "lstm_files": files, "pbp_file": "pbp_members.npz",
                "X_train": model.X_train_.tolist(), "y_train": model.y_train_.tolist(),
                "ranges": ranges(model.X_train_, meta["descriptors"]),
                "target": "neg_log10_sigma", **meta}
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return directory


def _export_member(keras, lstm: LSTMModel, r: int):
    """LSTM copy r as one Keras model with its standardisation built in."""
    copies = lstm.copies_
    inner = lstm._keras(lstm.n_features_in_)
    tr, nt = copies.copy(r)
    for var, value in zip(inner.trainable_variables, tr):
        var.assign(value)
    for var, value in zip(inner.non_trainable_variables, nt):
        var.assign(value)
    inputs = keras.Input((lstm.n_features_in_,), name="descriptors")
    z = keras.layers.Normalization(mean=copies.x_mean[r], variance=copies.x_std[r] ** 2, name="standardise")(inputs)
    out = keras.layers.Rescaling(scale=float(copies.y_std[r]), offset=float(copies.y_mean[r]),
                                 name="to_neg_log10_sigma")(inner(z))
    return keras.Model(inputs, out, name=f"filmkb_lstm_member_{r:03d}")


class LoadedLSTM:
    """The LSTM members of a saved run as arrays, predicted in NumPy in float32 as Keras computes them
    (dropout off): standardise, LSTM over the sequence arrangement, dense layer, back to -log10 sigma."""

    name = "lstm"
    stochastic = True

    def __init__(self, config: LSTMConfig, weights: list, seeds):
        self.config, self.weights, self.seeds_ = config, weights, np.asarray(seeds)

    @property
    def repeats(self) -> int:
        return len(self.weights)

    def predict_members(self, X) -> Members:
        X = np.asarray(X, dtype=np.float64)
        return Members(np.stack([_member_forward(w, X, self.config.arrangement) for w in self.weights]))


def _member_forward(w: dict, X, arrangement: str) -> np.ndarray:
    """One member's -log10 sigma at the rows of X (Keras's LSTM cell: gates i, f, c, o; sigmoid, tanh).
    The state starts at zero, so the first step needs neither the recurrent kernel nor the forget gate."""
    from scipy.special import expit

    xs = ((X - w["x_mean"]) / w["x_std"]).astype(np.float32)
    steps = xs[:, :, None] if arrangement == "steps" else xs[:, None, :]
    units = w["recurrent"].shape[0]
    h = c = None
    for t in range(steps.shape[1]):
        z = steps[:, t, :] @ w["kernel"] + w["bias"]
        if h is not None:
            z += h @ w["recurrent"]
        i, f, g, o = (z[:, k * units:(k + 1) * units] for k in range(4))
        c = expit(i) * np.tanh(g) + (expit(f) * c if c is not None else 0.0)
        h = expit(o) * np.tanh(c)
    out = (h @ w["dense_kernel"] + w["dense_bias"])[:, 0].astype(np.float64)
    return out * w["y_std"] + w["y_mean"]


def _read_member(path: Path) -> dict:
    """Weights and standardisation of one saved member, read from its .keras archive (config.json and
    model.weights.h5) without Keras; KeyError if the file is laid out otherwise."""
    import io
    import zipfile

    import h5py

    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
        weights = archive.read("model.weights.h5")
    layers = {layer["config"]["name"]: layer["config"] for layer in config["config"]["layers"]}
    norm, scale = layers["standardise"], layers["to_neg_log10_sigma"]
    with h5py.File(io.BytesIO(weights), "r") as h5:
        cell, dense = h5["layers/functional/layers/lstm/cell/vars"], h5["layers/functional/layers/dense/vars"]
        out = {"kernel": np.asarray(cell["0"]), "recurrent": np.asarray(cell["1"]), "bias": np.asarray(cell["2"]),
               "dense_kernel": np.asarray(dense["0"]), "dense_bias": np.asarray(dense["1"])}
    variance = np.asarray(norm["variance"], dtype=np.float64).ravel()
    out.update(x_mean=np.asarray(norm["mean"], dtype=np.float64).ravel(), x_std=np.maximum(np.sqrt(variance), 1e-7),
               y_mean=float(scale["offset"]), y_std=float(scale["scale"]))
    return out


class LoadedPBP:
    """The PBP members of a saved run (its .npz), predicted in NumPy float64: the same moment propagation
    as :func:`filmkb.ml.pbp._predict_core` (checked equal in tests), without importing JAX (~1.2 s of CPU)."""

    def __init__(self, arrays: dict):
        layers = sum(1 for k in arrays if k.startswith("M"))
        self.M = [np.asarray(arrays[f"M{i}"], dtype=np.float64) for i in range(layers)]
        self.V = [np.asarray(arrays[f"V{i}"], dtype=np.float64) for i in range(layers)]
        self.a_n, self.b_n = np.asarray(arrays["a_n"], np.float64), np.asarray(arrays["b_n"], np.float64)
        self.x_mean, self.x_std = np.asarray(arrays["x_mean"], np.float64), np.asarray(arrays["x_std"], np.float64)
        self.y_mean, self.y_std = np.asarray(arrays["y_mean"], np.float64), np.asarray(arrays["y_std"], np.float64)

    def predict_members(self, X) -> Members:
        X = np.asarray(X, dtype=np.float64)
        mean, var = np.empty((len(self.a_n), len(X))), np.empty((len(self.a_n), len(X)))
        for r in range(len(self.a_n)):
            m, v = _pbp_forward([w[r] for w in self.M], [w[r] for w in self.V], (X - self.x_mean[r]) / self.x_std[r])
            mean[r] = m * self.y_std[r] + self.y_mean[r]
            var[r] = (v + self.b_n[r] / (self.a_n[r] - 1.0)) * self.y_std[r] ** 2
        return Members(mean, var)


def _pbp_forward(M, V, x):
    """Means and variances of the output for deterministic inputs x (n, d): each layer maps [z; 1]
    through W / sqrt(d + 1), ReLU moments between layers (as ml/pbp.py's _forward)."""
    from scipy.special import log_ndtr, ndtr

    m, v = x, None
    for layer, (Ml, Vl) in enumerate(zip(M, V)):
        m1 = np.concatenate([m, np.ones((len(m), 1))], axis=1)
        s = 1.0 / m1.shape[1]
        m_a, v_a = np.sqrt(s) * (m1 @ Ml.T), (m1 * m1) @ Vl.T
        if v is not None:
            v1 = np.concatenate([v, np.zeros((len(v), 1))], axis=1)
            v_a = v_a + v1 @ (Ml * Ml).T + v1 @ Vl.T
        v_a = s * v_a
        if layer == len(M) - 1:
            return m_a[:, 0], v_a[:, 0]
        sd = np.sqrt(v_a)
        alpha = m_a / sd
        log_cdf = log_ndtr(alpha)
        gamma_r = np.exp(-0.5 * alpha**2 - 0.5 * np.log(2 * np.pi) - log_cdf)
        cdf = np.exp(log_cdf)
        r = m_a + sd * gamma_r
        m = cdf * r
        v = m * r * ndtr(-alpha) + cdf * v_a * (1.0 - gamma_r**2 - gamma_r * alpha)


def _load_lstm(directory: Path, manifest: dict):
    """The LSTM members, read without Keras (:class:`LoadedLSTM`), or through Keras if a file is laid out
    otherwise than :func:`save` writes it."""
    try:
        weights = [_read_member(directory / name) for name in manifest["lstm_files"]]
    except (KeyError, TypeError, ValueError):
        return _load_lstm_keras(directory, manifest)
    return LoadedLSTM(LSTMConfig(**manifest["lstm"]), weights, manifest["seeds"])


def _load_lstm_keras(directory: Path, manifest: dict) -> LSTMModel:
    """The LSTM members from their .keras files (weights and built-in standardisation)."""
    import keras

    from .engine import TrainedCopies

    tr, nt, xm, xs, ym, ys = [], [], [], [], [], []
    for name in manifest["lstm_files"]:
        model = keras.saving.load_model(directory / name)
        norm, scale = model.get_layer("standardise"), model.get_layer("to_neg_log10_sigma")
        inner = model.get_layer("lstm_regressor")
        tr.append([np.asarray(v.value) for v in inner.trainable_variables])
        nt.append([np.asarray(v.value) for v in inner.non_trainable_variables])
        xm.append(np.asarray(norm.mean, dtype=np.float64).ravel())
        xs.append(np.sqrt(np.asarray(norm.variance, dtype=np.float64).ravel()))
        ym.append(float(scale.offset))
        ys.append(float(scale.scale))
    lstm = LSTMModel(LSTMConfig(**manifest["lstm"]), repeats=len(manifest["lstm_files"]))
    lstm.copies_ = TrainedCopies([np.stack(w) for w in zip(*tr)], [np.stack(w) for w in zip(*nt)], np.stack(xm),
                                 np.stack(xs), np.array(ym), np.array(ys))
    lstm.seeds_, lstm.n_features_in_ = np.array(manifest["seeds"]), len(manifest["descriptors"])
    return lstm


def load(directory) -> tuple[PaperEnsemble, dict]:
    """A trained ensemble and its manifest, read from a directory written by :func:`save`, its members
    predicting in NumPy (:class:`LoadedLSTM`, :class:`LoadedPBP`): neither Keras nor JAX is imported."""
    directory = Path(directory)
    manifest = json.loads((directory / MANIFEST).read_text())
    with np.load(directory / manifest["pbp_file"]) as arrays:
        pbp = LoadedPBP({k: arrays[k] for k in arrays.files})
    model = PaperEnsemble(_load_lstm(directory, manifest), pbp)
    model.X_train_ = np.array(manifest["X_train"], dtype=np.float64)
    model.y_train_ = np.array(manifest["y_train"], dtype=np.float64)
    return model, manifest
