"""A trained paper ensemble's files: written by :func:`save`, read back as data by :func:`load`.

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
from .domain import ranges
from .ensemble import PaperEnsemble
from .neural import LSTMModel, PBPModel

__all__ = ["save", "load", "MANIFEST"]

MANIFEST = "manifest.json"
PBP_FILE = "pbp_members.npz"
LSTM_FILE = "lstm_members.npz"


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


def load(directory, manifest: dict | None = None, numpy_forward: bool = False) -> tuple[PaperEnsemble, dict]:
    """A trained ensemble and its manifest, read from a directory written by :func:`save` (`manifest`:
    already read and checked by the caller): the LSTM members from lstm_members.npz and the PBP members
    from pbp_members.npz, data only. Every file the manifest lists (the .keras exports too) must lie
    inside `directory` and match its recorded hash. The members predict through the JAX/Keras code that
    trained them (bit for bit), or with `numpy_forward` in NumPy without importing JAX or Keras
    (:mod:`filmkb.ml.numpy_forward`: what predict, explain and suggest use; agreement to its
    FORWARD_TOLERANCE)."""
    from .artifacts import load_npz, read_manifest, refuse_old, verified
    from .model_state import build

    directory = Path(directory)
    manifest = read_manifest(directory) if manifest is None else manifest
    refuse_old(directory, manifest)
    files = manifest.get("files")
    read_below = (manifest.get("pbp_file"), manifest.get("lstm_file"))
    for name in files if isinstance(files, dict) else ():  # the .keras exports: checked, not read further
        if name not in read_below:
            verified(directory, manifest, name)
    path, data = verified(directory, manifest, manifest.get("pbp_file"))
    try:
        members = _pbp_members(data, numpy_forward)
    except (ValueError, KeyError, OSError, EOFError) as exc:
        raise FilmkbError(f"{path}: not PBP members filmkb wrote ({exc}); retrain with `filmkb train`") from None
    pbp_class = PBPModel
    if numpy_forward:
        from .numpy_forward import NumpyPBP as pbp_class
    pbp = pbp_class(tuple(manifest["pbp"]["hidden"]), int(manifest["pbp"]["epochs"]), repeats=len(manifest["seeds"]))
    pbp.members_, pbp.seeds_ = members, np.array(manifest["seeds"])
    path, data = verified(directory, manifest, manifest.get("lstm_file"))
    lstm = build("lstm", *load_npz(data, path), where=path)
    if numpy_forward:
        from .numpy_forward import NumpyLSTM

        try:
            lstm = NumpyLSTM.of(lstm)
        except ValueError as exc:
            raise FilmkbError(f"{path}: not LSTM members filmkb wrote ({exc}); retrain with `filmkb train`") from None
    model = PaperEnsemble(lstm, pbp)
    model.X_train_ = np.array(manifest["X_train"], dtype=np.float64)
    model.y_train_ = np.array(manifest["y_train"], dtype=np.float64)
    return model, manifest


def _pbp_members(data: bytes, numpy_forward: bool):
    """The PBP members in the bytes of pbp_members.npz: JAX's ``PBPMembers``, or NumPy's ``StoredPBP``."""
    if numpy_forward:
        from .numpy_forward import StoredPBP

        return StoredPBP.load(data)
    import io

    from .pbp import PBPMembers

    return PBPMembers.load(io.BytesIO(data))
