"""The curated files in data/ and their metadata (data/metadata.json): sha256, row counts, units,
sources. A build refuses data whose checksum no longer matches its metadata, so an edit to a
curated file is always deliberate: `python -m filmkb.ingest.datafiles` re-records the checksums.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
CURATED_FILES = ("references.csv", "methods.csv", "film_phases.csv", "substrates.csv",
                 "substrate_properties.csv", "seed_films.csv")
# Shipped beside the curated files but not loaded into the knowledge base (so not in the curated stamp): the
# literature-checked substrate properties, read when descriptors are computed with `--properties checked`.
PROPERTY_FILES = ("substrate_properties_checked.csv",)


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def row_count(path: Path) -> int:
    with open(path, newline="", encoding="utf-8") as handle:
        return sum(1 for _ in csv.DictReader(handle))


def data_hash(data_dir: Path = DATA_DIR) -> str:
    """One sha256 over all curated files (name + content), recorded with the curated batch."""
    digest = hashlib.sha256()
    for name in CURATED_FILES:
        digest.update(name.encode() + b"\0" + (Path(data_dir) / name).read_bytes())
    return digest.hexdigest()


def check_metadata(data_dir: Path = DATA_DIR) -> list[str]:
    """Problems with the curated files against metadata.json (missing file, checksum, row count)."""
    meta_path = Path(data_dir) / "metadata.json"
    if not meta_path.exists():
        return [f"{meta_path}: missing; run `python -m filmkb.ingest.datafiles`"]
    meta, problems = json.loads(meta_path.read_text())["files"], []
    for name in CURATED_FILES + PROPERTY_FILES:
        path = Path(data_dir) / name
        if name not in meta or not path.exists():
            problems.append(f"{path}: missing from data/ or from metadata.json")
            continue
        if sha256(path) != meta[name]["sha256"]:
            problems.append(f"{path}: sha256 differs from data/metadata.json; review the edit, then run "
                            "`python -m filmkb.ingest.datafiles` to record it")
        elif row_count(path) != meta[name]["rows"]:
            problems.append(f"{path}: {row_count(path)} rows, metadata.json says {meta[name]['rows']}")
    return problems


def update_metadata(data_dir: Path = DATA_DIR) -> dict:
    """Re-record sha256 and row counts, keeping the hand-written descriptions, units and sources."""
    meta_path = Path(data_dir) / "metadata.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {"files": {}}
    for name in CURATED_FILES + PROPERTY_FILES:
        path = Path(data_dir) / name
        entry = meta["files"].setdefault(name, {})
        entry.update(sha256=sha256(path), rows=row_count(path))
    meta_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    return meta


def curated_stamp(data_dir: Path = DATA_DIR) -> str:
    """The note a curated build records: the hash of the curated files it was built from."""
    return f"data sha256 {data_hash(data_dir)}"


if __name__ == "__main__":
    update_metadata(Path(sys.argv[1]) if len(sys.argv) > 1 else DATA_DIR)
    print("data/metadata.json updated")
