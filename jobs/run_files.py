"""A trained run's files kept with the run in the knowledge base: collected from the run's folder when it
is trained (stored in the same transaction as the run record), and put back into a cache folder on a
machine that lacks the folder, every file checked first against the hashes recorded for the run.

The chain of trust is the one the run's folder has: the run record holds the manifest's SHA-256, the
manifest holds each file's SHA-256. Stored bytes that do not match are refused in one line; nothing is
loaded from them. The cache folder (the user cache directory, ``~/.cache/filmkb/runs`` on Linux,
$XDG_CACHE_HOME respected) is named by the run id and the manifest's hash, so a changed run never
reuses an old folder; the loaders check each file's hash again as they read it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import uuid
from pathlib import Path, PurePosixPath

from ..errors import FilmkbError
from ..ml.artifacts import MANIFEST, verified

__all__ = ["collect", "materialised", "cache_root"]


def cache_root() -> Path:
    """Where runs read from the knowledge base are put: `runs/` in filmkb's user cache directory."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("filmkb", appauthor=False)) / "runs"


def collect(directory) -> list[tuple[str, bytes]]:
    """(name, bytes) of the files of a run's folder that its manifest lists, the manifest first; each file
    checked against the manifest's hash as it is read."""
    directory = Path(directory)
    manifest_bytes = (directory / MANIFEST).read_bytes()
    manifest = json.loads(manifest_bytes.decode("utf-8"))
    files = [(MANIFEST, manifest_bytes)]
    for name in sorted(manifest.get("files") or {}):
        files.append((name, verified(directory, manifest, name)[1]))
    return files


def _safe_name(name) -> bool:
    """A stored file name that stays inside the run's folder (relative, no '..', no backslash tricks)."""
    if not isinstance(name, str) or not name or "\0" in name or "\\" in name or name.startswith("/"):
        return False
    parts = PurePosixPath(name).parts
    return bool(parts) and ".." not in parts and not PurePosixPath(name).is_absolute()


def _folder_name(run_id: str, manifest_sha256: str) -> str:
    safe = run_id if re.fullmatch(r"[A-Za-z0-9._-]{1,100}", run_id or "") and not run_id.startswith(".") else \
        hashlib.sha256(str(run_id).encode()).hexdigest()[:24]
    return f"{safe}-{manifest_sha256[:16]}"


def materialised(k, run: dict, manifest_sha256: str | None) -> Path | None:
    """The folder of `run` put together from the files stored with it in the knowledge base `k` (reused when
    the cache already holds it); None when the knowledge base holds no files for the run (trained before
    runs' files were stored) or the run records no manifest hash. Stored bytes that do not match the run's
    hashes: one-line FilmkbError, nothing written to the cache."""
    run_id = str(run["id"])
    if not isinstance(manifest_sha256, str) or not k.artifact_names(run_id):
        return None
    folder = cache_root() / _folder_name(run_id, manifest_sha256)
    cached = folder / MANIFEST
    if cached.is_file() and hashlib.sha256(cached.read_bytes()).hexdigest() == manifest_sha256:
        return folder
    tampered = (f"{k.path}: run {run_id}: the stored file {{}} does not match the hash recorded for the run "
                "(changed in the knowledge base after training); nothing was loaded; retrain with `filmkb train`")
    manifest_bytes = k.artifact(run_id, MANIFEST)
    if manifest_bytes is None or hashlib.sha256(manifest_bytes).hexdigest() != manifest_sha256:
        raise FilmkbError(tampered.format(MANIFEST))
    files = json.loads(manifest_bytes.decode("utf-8")).get("files")
    if not isinstance(files, dict):
        raise FilmkbError(f"{k.path}: run {run_id}: the stored manifest lists no files; retrain with `filmkb train`")
    contents = {}
    for name, expected in sorted(files.items()):
        if not _safe_name(name):
            raise FilmkbError(f"{k.path}: run {run_id}: the stored manifest names {name!r}, which leaves the run's "
                              "folder; nothing was loaded")
        data = k.artifact(run_id, name)
        if data is None:
            raise FilmkbError(f"{k.path}: run {run_id}: the file {name} of its manifest is not stored with the run; "
                              "retrain with `filmkb train`")
        if hashlib.sha256(data).hexdigest() != expected:
            raise FilmkbError(tampered.format(name))
        contents[name] = data
    return _write(folder, {MANIFEST: manifest_bytes, **contents})


def _write(folder: Path, contents: dict[str, bytes]) -> Path:
    """Write the files into a scratch folder beside `folder`, then rename it into place (a concurrent
    process doing the same wins or loses the rename; either way the folder is whole)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = folder.with_name(f".{folder.name}.{uuid.uuid4().hex[:8]}")
    try:
        for name, data in contents.items():
            path = scratch / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        if folder.exists():  # a stale or partial folder of the same name (a changed manifest is never reused)
            shutil.rmtree(folder, ignore_errors=True)
        try:
            os.rename(scratch, folder)
        except OSError:
            if not (folder / MANIFEST).is_file():  # nobody else finished it either
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return folder
