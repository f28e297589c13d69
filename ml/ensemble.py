"""The paper's averaged LSTM + PBP ensemble as a trained object: fit, predict, save, load.

An :class:`Ensemble` holds R LSTM copies and R PBP networks trained on the same films with
different seeds. Its prediction for a row is the mean of the 2R member predictions; its
uncertainty is the standard deviation of the mixture of the 2R members, LSTM members as point
predictions and PBP members as their Gaussians (:func:`combine`, shared with the evaluation,
so a validated number and a deployed number come from one formula).

On disk (one directory per model run)::

    manifest.json          descriptors, training range of each, film ids, training matrix, config
    lstm/member_000.keras  R self-contained Keras models: raw descriptors in, -log10 sigma out
    pbp_members.npz        R PBP posteriors (means, variances, noise) and their standardisation

A saved LSTM member needs nothing from filmkb: ``keras.saving.load_model(path).predict(X)``
with X the seven descriptors in ``manifest["descriptors"]`` order.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402

from .lstm import PAPER, LSTMConfig  # noqa: E402

__all__ = ["Ensemble", "combine", "fit_ensemble", "Z95"]

Z95 = 1.959963984540054  # two-sided 95 % quantile of the standard normal
MANIFEST = "manifest.json"
FORMAT_VERSION = 1


def combine(lstm_members, pbp_means, pbp_vars):
    """(mean, std, spread) over the 2R members (axis 0): std = sqrt(spread_2R^2 + mean PBP var / 2)."""
    both = np.concatenate([np.asarray(lstm_members), np.asarray(pbp_means)])
    spread = both.std(axis=0)
    return both.mean(axis=0), np.sqrt(spread**2 + np.asarray(pbp_vars).mean(axis=0) / 2.0), spread


@dataclass
class Ensemble:
    """R LSTM copies + R PBP networks trained on one descriptor matrix."""

    descriptors: tuple
    lstm_config: LSTMConfig
    pbp_hidden: tuple
    pbp_epochs: int
    seeds: np.ndarray
    lstm: "object"  # engine.TrainedCopies
    pbp: "object"  # pbp.PBPMembers
    film_ids: np.ndarray
    X_train: np.ndarray
    y_train: np.ndarray
    extra: dict = field(default_factory=dict)

    @property
    def repeats(self) -> int:
        return int(len(self.seeds))

    def _model(self):
        from .lstm import build_model

        c = self.lstm_config
        return build_model(len(self.descriptors), c.units, c.dropout, arrangement=c.arrangement)

    def members(self, X):
        """Member predictions at the rows of X: LSTM (R, m), PBP means (R, m), PBP variances (R, m)."""
        from .engine import predict_copies

        X = np.asarray(X, dtype=np.float64)
        m = X.shape[0]
        rows = 1 << max(6, (m - 1).bit_length())  # pad to a power of two: one XLA compile per size class
        Xp = np.concatenate([X, np.repeat(X[:1], rows - m, axis=0)]) if rows > m else X
        pm, pv = self.pbp.predict(Xp)
        return predict_copies(self._model(), self.lstm, Xp)[:, :m], pm[:, :m], pv[:, :m]

    def predict(self, X) -> dict:
        """Per row of X: ensemble mean/std/spread of -log10 sigma and the LSTM and PBP means."""
        lstm, pm, pv = self.members(X)
        mean, std, spread = combine(lstm, pm, pv)
        return {"mean": mean, "std": std, "spread": spread, "lstm_mean": lstm.mean(axis=0),
                "lstm_spread": lstm.std(axis=0), "pbp_mean": pm.mean(axis=0),
                "pbp_std": np.sqrt(pv.mean(axis=0) + pm.var(axis=0))}

    def predict_mean(self, X) -> np.ndarray:
        """The ensemble mean alone (what SHAP explains), for a batch of rows."""
        lstm, pm, _ = self.members(X)
        return (lstm.sum(axis=0) + pm.sum(axis=0)) / (lstm.shape[0] + pm.shape[0])

    def ranges(self) -> dict:
        """{descriptor: (min, max)} over the training films."""
        return {d: (float(self.X_train[:, j].min()), float(self.X_train[:, j].max()))
                for j, d in enumerate(self.descriptors)}

    def extrapolation(self, X, tolerance: float = 1e-9) -> list[list[str]]:
        """Per row of X, the descriptors outside the training range (empty list: interpolation)."""
        X = np.asarray(X, dtype=np.float64)
        lo, hi = self.X_train.min(axis=0), self.X_train.max(axis=0)
        slack = tolerance * np.maximum(1.0, np.abs(hi - lo))
        out = (X < lo - slack) | (X > hi + slack)
        return [[self.descriptors[j] for j in np.flatnonzero(row)] for row in out]

    def config(self) -> dict:
        return {"lstm": self.lstm_config.as_dict(), "pbp": {"hidden": list(self.pbp_hidden), "epochs": self.pbp_epochs},
                "repeats": self.repeats, "seeds": [int(s) for s in self.seeds], "descriptors": list(self.descriptors),
                "ensemble": "mean of R LSTM + R PBP members; std of their mixture "
                            "= sqrt(spread_2R^2 + mean PBP variance / 2)"}

    # ------------------------------------------------------------------ files

    def save(self, directory) -> Path:
        """Write the manifest, one .keras file per LSTM copy and the PBP members under `directory`."""
        import keras

        directory = Path(directory)
        (directory / "lstm").mkdir(parents=True, exist_ok=True)
        files = []
        for r in range(self.repeats):
            name = f"lstm/member_{r:03d}.keras"
            self._export_member(keras, r).save(directory / name)
            files.append(name)
        self.pbp.save(directory / "pbp_members.npz")
        manifest = {
            "format_version": FORMAT_VERSION, **self.config(), "lstm_files": files, "pbp_file": "pbp_members.npz",
            "film_ids": [int(i) for i in self.film_ids], "X_train": self.X_train.tolist(),
            "y_train": self.y_train.tolist(), "ranges": self.ranges(), "target": "neg_log10_sigma", **self.extra,
        }
        (directory / MANIFEST).write_text(json.dumps(manifest, indent=1))
        return directory

    def _export_member(self, keras, r: int):
        """LSTM copy r as one Keras model with its standardisation built in."""
        inner = self._model()
        tr, nt = self.lstm.copy(r)
        for var, value in zip(inner.trainable_variables, tr):
            var.assign(value)
        for var, value in zip(inner.non_trainable_variables, nt):
            var.assign(value)
        inputs = keras.Input((len(self.descriptors),), name="descriptors")
        z = keras.layers.Normalization(mean=self.lstm.x_mean[r], variance=self.lstm.x_std[r] ** 2,
                                       name="standardise")(inputs)
        out = keras.layers.Rescaling(scale=float(self.lstm.y_std[r]), offset=float(self.lstm.y_mean[r]),
                                     name="to_neg_log10_sigma")(inner(z))
        return keras.Model(inputs, out, name=f"filmkb_lstm_member_{r:03d}")

    @classmethod
    def load(cls, directory) -> "Ensemble":
        """Read a directory written by :meth:`save` (the .keras files are the LSTM weights)."""
        import keras

        from .engine import TrainedCopies
        from .pbp import PBPMembers

        directory = Path(directory)
        manifest = json.loads((directory / MANIFEST).read_text())
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
        copies = TrainedCopies([np.stack(w) for w in zip(*tr)], [np.stack(w) for w in zip(*nt)], np.stack(xm),
                               np.stack(xs), np.array(ym), np.array(ys))
        known = {"format_version", "lstm", "pbp", "repeats", "seeds", "descriptors", "ensemble", "lstm_files",
                 "pbp_file", "film_ids", "X_train", "y_train", "ranges", "target"}
        return cls(tuple(manifest["descriptors"]), LSTMConfig(**manifest["lstm"]), tuple(manifest["pbp"]["hidden"]),
                   int(manifest["pbp"]["epochs"]), np.array(manifest["seeds"]), copies,
                   PBPMembers.load(directory / manifest["pbp_file"]), np.array(manifest["film_ids"]),
                   np.array(manifest["X_train"], dtype=np.float64), np.array(manifest["y_train"], dtype=np.float64),
                   {k: v for k, v in manifest.items() if k not in known})


def fit_ensemble(X, y, film_ids, descriptors, repeats: int = 10, seed: int = 0, lstm: LSTMConfig = PAPER,
                 pbp_hidden=(5,), pbp_epochs: int = 100, progress=None) -> Ensemble:
    """Train R LSTM copies (one vmapped engine call) and R PBP networks on all rows of (X, y)."""
    from . import engine
    from .evaluate import SEED_STRIDE
    from .lstm import build_model
    from .pbp import fit_members

    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    seeds = int(seed) * SEED_STRIDE + np.arange(int(repeats))
    mask = np.ones((len(seeds), len(y)), dtype=bool)
    model = build_model(X.shape[1], lstm.units, lstm.dropout, arrangement=lstm.arrangement)
    _, copies = engine.fit_predict_many(model, X, y, mask, seeds, X, epochs=lstm.epochs, batch_size=lstm.batch_size,
                                        learning_rate=lstm.learning_rate, progress=progress, return_weights=True)
    members = fit_members(X, y, seeds, hidden=tuple(pbp_hidden), epochs=int(pbp_epochs))
    if progress is not None:
        progress(len(seeds))
    return Ensemble(tuple(descriptors), lstm, tuple(pbp_hidden), int(pbp_epochs), seeds, copies, members,
                    np.asarray(film_ids), X, y)
