"""Model files are data: a run's files are written in formats that cannot run code when read (NumPy
``.npz`` read with ``allow_pickle=False``, JSON, Keras files without custom objects), each file's
SHA-256 is recorded in the run's manifest and checked before the file is read, and a file name taken
from a manifest must name a regular file inside the run's folder (no absolute name, no ``..``, no
symlink out)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import zipfile
from pathlib import Path

import numpy as np

from ..errors import FilmkbError

__all__ = ["MANIFEST", "FORMAT_VERSION", "sha256", "inside", "verified", "read_manifest", "write_manifest",
           "save_npz", "load_npz", "refuse_old"]

MANIFEST = "manifest.json"
FORMAT_VERSION = 2  # 1: the recommended model as a joblib pickle, no file hashes
MAX_MANIFEST_BYTES = 64 * 2**20  # a manifest holds the training matrix of a few hundred films: far below
MAX_FILE_BYTES = 2**30  # a run's largest file (trees, weights) is a few MB
RETRAIN = "retrain with `filmkb train`"


def _line(exc) -> str:
    """An exception's message cut to one short line."""
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]


def sha256(path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def inside(directory, name) -> Path:
    """`directory / name` for a relative name that stays inside the directory once symlinks are resolved
    and names a regular file; else a one-line FilmkbError naming the file."""
    directory = Path(directory)
    if not isinstance(name, str) or not name or "\0" in name:
        raise FilmkbError(f"{directory / MANIFEST}: file name {name!r} is not a file name")
    rel = Path(name)
    if rel.is_absolute() or name.startswith(("/", "\\")) or ".." in rel.parts or ".." in name.split("\\"):
        raise FilmkbError(f"{directory / MANIFEST}: file name {name!r} leaves the run's folder; "
                          "a run's files must stay inside its folder")
    path = directory / rel
    try:
        real, root = path.resolve(strict=True), directory.resolve(strict=True)
    except (OSError, RuntimeError):
        raise FilmkbError(f"{path}: missing or unreadable (a file of the run's manifest); {RETRAIN}") from None
    if not real.is_relative_to(root):
        raise FilmkbError(f"{path}: points outside the run's folder ({real}); a run's files must stay inside its folder")
    if not stat.S_ISREG(os.stat(real).st_mode):
        raise FilmkbError(f"{path}: not a regular file; a run's files must be plain files")
    return path


def verified(directory, manifest: dict, name) -> tuple[Path, bytes]:
    """The path and bytes of file `name` of a run: inside its folder and with the SHA-256 its manifest
    records (the bytes checked are the bytes returned: the file is read once)."""
    path = inside(directory, name)
    files = manifest.get("files")
    expected = files.get(name) if isinstance(files, dict) else None
    if not isinstance(expected, str):
        raise FilmkbError(f"{path}: the run's manifest records no hash for this file; {RETRAIN}")
    if os.stat(path).st_size > MAX_FILE_BYTES:
        raise FilmkbError(f"{path}: larger than {MAX_FILE_BYTES >> 30} GB: not a model file filmkb wrote; {RETRAIN}")
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != expected:
        raise FilmkbError(f"{path}: hash does not match the run's manifest; the file was changed after training")
    return path, data


def refuse_old(directory, manifest: dict) -> None:
    """Runs saved before model files were data (a joblib pickle, no recorded hashes) are not read."""
    if manifest.get("format_version") == FORMAT_VERSION:
        return
    name = manifest.get("model_file")
    if isinstance(name, str) and name.endswith((".joblib", ".pkl", ".pickle")):
        raise FilmkbError(f"{Path(directory) / name}: saved by an older filmkb as a pickle, which filmkb no longer "
                          f"loads (reading it could run code); {RETRAIN}")
    raise FilmkbError(f"{Path(directory) / MANIFEST}: saved by another filmkb version (format "
                      f"{manifest.get('format_version')!r}, this one reads {FORMAT_VERSION}); {RETRAIN}")


def read_manifest(directory, expected: str | None = None) -> dict:
    """A run's manifest.json (a JSON object), read only if it is a plain file inside the folder and, when
    `expected` is given (the hash the knowledge base recorded for the run), only if its bytes match."""
    path = inside(directory, MANIFEST)
    if os.stat(path).st_size > MAX_MANIFEST_BYTES:
        raise FilmkbError(f"{path}: larger than {MAX_MANIFEST_BYTES >> 20} MB: not a manifest filmkb wrote; {RETRAIN}")
    data = path.read_bytes()
    if expected is not None and hashlib.sha256(data).hexdigest() != expected:
        raise FilmkbError(f"{path}: hash does not match the run's record in the knowledge base; the file was "
                          "changed after training")
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise FilmkbError(f"{path}: not a readable run manifest ({_line(exc)})") from None
    if not isinstance(manifest, dict):
        raise FilmkbError(f"{path}: not a run manifest (a JSON object)")
    return manifest


def write_manifest(directory, manifest: dict, files) -> str:
    """Write manifest.json with the SHA-256 of each of `files` (names relative to `directory`, already
    written) under "files"; returns the manifest's own SHA-256 (for the knowledge base's run record)."""
    directory = Path(directory)
    manifest = {**manifest, "format_version": FORMAT_VERSION, "files": {n: sha256(directory / n) for n in files}}
    data = json.dumps(manifest, indent=1, default=float).encode("utf-8")
    (directory / MANIFEST).write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def save_npz(path, meta: dict, arrays: dict) -> None:
    """Arrays and a JSON object (key "meta", a string array) in one ``.npz`` that holds no pickle."""
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    bad = [k for k, v in arrays.items() if v.dtype.hasobject]
    if bad:
        raise ValueError(f"object arrays cannot be saved as data: {bad}")
    np.savez(path, meta=np.array(json.dumps(meta)), **arrays)


def load_npz(data: bytes, where) -> tuple[dict, dict]:
    """(meta, arrays) of a file written by :func:`save_npz` (its bytes; `where` names it in errors);
    nothing in it can run code (``allow_pickle=False``): a pickle is refused in one line."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(str(arrays.pop("meta")[()]))
    except (ValueError, OSError, KeyError, EOFError, RecursionError, zipfile.BadZipFile) as exc:
        raise FilmkbError(f"{where}: not a model file filmkb wrote ({_line(exc)}); {RETRAIN}") from None
    if not isinstance(meta, dict):
        raise FilmkbError(f"{where}: not a model file filmkb wrote (no description); {RETRAIN}")
    return meta, arrays
