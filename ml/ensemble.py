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
    lstm_members.npz       the same R members' weights and standardisation as plain arrays (what filmkb reads)
    pbp_members.npz        R PBP posteriors (means, variances, noise) and their standardisation

A saved LSTM member needs nothing from filmkb: ``keras.saving.load_model(path).predict(X)``
with X the descriptors in ``manifest["descriptors"]`` order (plain Keras layers only: it loads in
Keras' safe mode, without custom objects). The manifest records each file's SHA-256, checked before
the file is read (:mod:`filmkb.ml.artifacts`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import FilmkbError
from .contract import EvalRows, Members, Model
from .domain import ranges
from .folds import Layout
from .members import combine
from .neural import LSTMModel, PBPModel

__all__ = ["PaperEnsemble", "save", "load", "MANIFEST"]

MANIFEST = "manifest.json"
PBP_FILE = "pbp_members.npz"
LSTM_FILE = "lstm_members.npz"
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


def save(model: PaperEnsemble, directory, meta: dict) -> str:
    """Write one .keras file per LSTM member (a portable export), the LSTM and PBP members as data (.npz,
    what :func:`load` reads: bit-identical predictions) and the manifest (config, training matrix and
    ranges, `meta`, each file's SHA-256) under `directory`; returns the manifest's SHA-256."""
    import keras

    from .artifacts import save_npz, write_manifest
    from .model_state import dump

    directory = Path(directory)
    (directory / "lstm").mkdir(parents=True, exist_ok=True)
    files = []
    for r in range(model.repeats):
        name = f"lstm/member_{r:03d}.keras"
        _export_member(keras, model.lstm, r).save(directory / name)
        files.append(name)
    model.pbp.members_.save(directory / PBP_FILE)
    save_npz(directory / LSTM_FILE, *dump("lstm", model.lstm))
    manifest = {**model.config(), "lstm_files": files, "lstm_file": LSTM_FILE, "pbp_file": PBP_FILE,
                "X_train": model.X_train_.tolist(), "y_train": model.y_train_.tolist(),
                "ranges": ranges(model.X_train_, meta["descriptors"]),
                "target": "neg_log10_sigma", **meta}
    return write_manifest(directory, manifest, files + [PBP_FILE, LSTM_FILE])


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


def load(directory, manifest: dict | None = None) -> tuple[PaperEnsemble, dict]:
    """A trained ensemble and its manifest, read from a directory written by :func:`save` (`manifest`:
    already read and checked by the caller): the LSTM members from lstm_members.npz and the PBP members
    from pbp_members.npz, data only. Every file the manifest lists (the .keras exports too) must lie
    inside `directory` and match its recorded hash."""
    import io

    from .artifacts import load_npz, read_manifest, refuse_old, verified
    from .model_state import build
    from .pbp import PBPMembers

    directory = Path(directory)
    manifest = read_manifest(directory) if manifest is None else manifest
    refuse_old(directory, manifest)
    files = manifest.get("files")
    for name in files if isinstance(files, dict) else ():
        verified(directory, manifest, name)
    path, data = verified(directory, manifest, manifest.get("pbp_file"))
    try:
        members = PBPMembers.load(io.BytesIO(data))
    except (ValueError, KeyError, OSError, EOFError) as exc:
        raise FilmkbError(f"{path}: not PBP members filmkb wrote ({exc}); retrain with `filmkb train`") from None
    pbp = PBPModel(tuple(manifest["pbp"]["hidden"]), int(manifest["pbp"]["epochs"]), repeats=len(manifest["seeds"]))
    pbp.members_, pbp.seeds_ = members, np.array(manifest["seeds"])
    path, data = verified(directory, manifest, manifest.get("lstm_file"))
    model = PaperEnsemble(build("lstm", *load_npz(data, path), where=path), pbp)
    model.X_train_ = np.array(manifest["X_train"], dtype=np.float64)
    model.y_train_ = np.array(manifest["y_train"], dtype=np.float64)
    return model, manifest
