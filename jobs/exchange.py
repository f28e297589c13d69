"""An ingestable copy of the user's additions (`filmkb export`) and its replay (`filmkb ingest DIR/entries`).

`export` writes, beside the analysis tables, DIR/entries/: manifest.json and one file per user batch in
the formats `filmkb ingest` reads (a film CSV in the template, a methods file, a substrates file, a .bib).
`replay` ingests them, batch by batch in the original order, into a database freshly made by `filmkb init`
from the same curated data, in one transaction: the same films, substrates, methods, publications and
batches (kind, sources, note, time) come out.
"""

from __future__ import annotations

import csv
import json
import math
import re
from datetime import datetime
from pathlib import Path

from .. import kb
from ..errors import FilmkbError
from ..ingest.batch import clean_batch, entry_records, raise_if
from ..ingest.catalogue import method_entries, substrate_file_entries
from ..ingest.columns import PROPERTIES, SUBSTRATE_COLUMNS
from ..ingest.entries import TEMPLATE_COLUMNS, reference_key
from ..kb.quality import raise_on_failures
from ..schema.cells import neutralise
from ..schema.names import alias_key
from ..schema.version import SCHEMA_VERSION

FORMAT, VERSION, MANIFEST = "filmkb-export", 1, "manifest.json"
# The film template plus the curated columns that keep what the user typed (and a known paper's key).
FILM_COLUMNS = ("reference_key", *TEMPLATE_COLUMNS, "method_as_published", "substrate_as_published",
                "phase_as_published")
METHOD_FILE_COLUMNS = ("name", "family", "description", "aliases")
_PROPERTY_NAMES = {column: name for name, (column, _) in PROPERTIES.items()}

EXPORT_FILES = ("*.parquet", "*.csv", "references.bib")  # what export writes into OUT_DIR (entries/ apart)

__all__ = ["export", "replay", "write_entries"]


def export(db=None, out_dir=".", raw: bool = False) -> list[Path]:
    """Every table and view as Parquet and CSV plus references.bib (for analysis), and DIR/entries/:
    the user's batches as files `filmkb ingest DIR/entries` replays. Returns the files written.
    The analysis CSVs neutralise cells a spreadsheet would run unless `raw`; the entries always do,
    since ingest takes the added ' off again (schema/cells.py). Refuses an OUT_DIR (or a file in it
    that it would write) that is the database or any DuckDB file."""
    kb.check_output_dir(out_dir, db or kb.default_path(), EXPORT_FILES)
    kb.check_output_dir(Path(out_dir) / "entries", db or kb.default_path())
    with kb.open(db) as k:
        written = k.export(out_dir, raw=raw)
        return written + write_entries(k.user_additions(), Path(out_dir) / "entries")


def _cell(value) -> str:
    """A cell as text: floats repr-exact (they read back to the same double), missing values empty, text
    that a spreadsheet would run with a leading ' (ingest takes it off)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return neutralise(str(value))


def _write_csv(path: Path, columns, rows: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])


def _list(value) -> list:
    """A list cell of a DataFrame (NumPy array, list or missing) as a list."""
    return [] if value is None else list(value)


def _records(frame) -> list[dict]:
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def _film_rows(films: list[dict], batch_id: int, by_kind: dict) -> list[dict]:
    """Film-template rows of one batch. A paper known before the batch (curated or an earlier batch) is
    named by its key; one the batch added is given as it was: DOI, and authors + year unless its key was
    made from the DOI (so the replay makes the same key)."""
    rows = []
    for f in films:
        row = {c: f.get(c) for c in ("composition", "method", "substrate", "substrate_orientation", "phase",
                                     "deposition_temp_c", "thickness_nm", "conductivity_s_cm",
                                     "activation_energy_ev", "precursors", "notes")}
        row["composition"] = f["composition_as_given"] or f["composition"]
        row["measurement_temp_c"] = None if f["measurement_temp_assumed"] else f["measurement_temp_c"]
        row.update(method_as_published=f["method_as_given"], substrate_as_published=f["substrate_as_given"],
                   phase_as_published=f["phase_as_given"])
        ref_batch = f["reference_batch"]
        if ref_batch != batch_id and by_kind.get(ref_batch) in ("curated", "user"):
            row["reference_key"] = f["reference_key"]
        else:
            row.update(doi=f["doi"], journal=f["journal"], title=f["title"])
            if not str(f["reference_key"]).startswith("doi:"):
                row.update(authors=f["authors"], year=f["year"])
        rows.append(row)
    return rows


def _substrate_rows(substrates: list[dict], sources: list[dict]) -> list[dict]:
    """Substrates-file rows: the add-substrate options, and each property as the user gave it."""
    rows = []
    for s in substrates:
        own = {alias_key(s["name"]), alias_key(s["formula"])}
        row = dict(name=s["name"], formula=s["formula"], amorphous=bool(s["amorphous"]),
                   crystal_system=s["crystal_system"], space_group=s["space_group"], sites=s["prototype_sites"],
                   aliases="|".join(a for a in _list(s["aliases"]) if a not in own), note=s["note"])
        for p in (p for p in sources if p["entity_name"] == s["name"]):
            unit = p["unit_as_given"]
            row[_PROPERTY_NAMES[p["property"]]] = p["value_as_given"] + (f" {unit}" if unit else "")
            row.setdefault("source", p["source"])
        rows.append(row)
    return rows


def _bib_batches(batches: list[dict], publications: list[dict]) -> dict:
    """batch id -> the publications (with BibTeX) that `filmkb ingest-bib` batch added or completed: those it
    added carry its id; one completed is put in the first BibTeX batch after the one that added it."""
    bib_ids = [b["id"] for b in batches if b["kind"] == "user" and b["note"] == "bibtex"]
    out: dict = {}
    for p in publications:
        if not p["bibtex"]:
            continue
        batch = p["batch_id"] if p["batch_id"] in bib_ids else next(
            (i for i in bib_ids if p["batch_id"] is None or i > p["batch_id"]), None)
        if batch is not None:
            out.setdefault(batch, []).append(p)
    return out


def write_entries(data: dict, out: Path) -> list[Path]:
    """DIR/entries/: manifest.json and the files of every user batch, in id order."""
    from ..kb.bibtex import publications_bibtex

    import pandas as pd

    out.mkdir(parents=True, exist_ok=True)
    batches = _records(data["batches"])
    by_kind = {b["id"]: b["kind"] for b in batches}
    films, methods = _records(data["films"]), _records(data["methods"])
    substrates, sources = _records(data["substrates"]), _records(data["property_sources"])
    bibs = _bib_batches(batches, _records(data["publications"]))
    written, listed = [], []
    for b in (b for b in batches if b["kind"] == "user"):
        bid, files = b["id"], []
        stem = f"batch-{bid:04d}"
        own_methods = [m for m in methods if m["batch_id"] == bid]
        if own_methods:
            files.append(f"{stem}-methods.csv")
            _write_csv(out / files[-1], METHOD_FILE_COLUMNS, [
                dict(name=m["name"], family=m["family"], description=m["description"],
                     aliases="|".join(a for a in _list(m["aliases"]) if a != alias_key(m["name"])))
                for m in own_methods])
        own_substrates = [s for s in substrates if s["batch_id"] == bid]
        if own_substrates:
            files.append(f"{stem}-substrates.csv")
            _write_csv(out / files[-1], SUBSTRATE_COLUMNS, _substrate_rows(own_substrates, sources))
        own_films = [f for f in films if f["batch_id"] == bid]
        if own_films:
            files.append(f"{stem}-films.csv")
            _write_csv(out / files[-1], FILM_COLUMNS, _film_rows(own_films, bid, by_kind))
        if bibs.get(bid):
            files.append(f"{stem}.bib")
            (out / files[-1]).write_text(publications_bibtex(pd.DataFrame(bibs[bid])), encoding="utf-8")
        written += [out / f for f in files]
        created = b["created_at"]
        listed.append(dict(batch=bid, kind=b["kind"], sources=b["sources"].split(";") if b["sources"] else [],
                           note=b["note"], created_at=created.isoformat() if created is not None else None,
                           films=len(own_films), files=files))
    manifest = dict(format=FORMAT, version=VERSION, schema_version=int(data["schema_version"]),
                    curated=data["curated"], batches=listed)
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return written + [out / MANIFEST]


def is_export(path) -> bool:
    """A directory written by `filmkb export` (DIR/entries, holding manifest.json)."""
    return Path(path).is_dir() and (Path(path) / MANIFEST).is_file()


MAX_MANIFEST_BYTES = 16 * 2**20  # a manifest lists batches and file names: a few KB per thousand batches
MAX_JSON_DEPTH = 8               # a manifest nests 4 deep (manifest > batches > batch > files)
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _check_depth(path: Path, text: str) -> None:
    """Refuse JSON nested deeper than MAX_JSON_DEPTH in one linear scan, before the parser recurses."""
    depth = 0
    for m in _JSON_TOKENS.finditer(text):
        token = m.group()
        if token in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                line = text.count("\n", 0, m.start()) + 1
                raise FilmkbError(f"{path}:{line}: JSON nested more than {MAX_JSON_DEPTH} levels deep; not a filmkb "
                                  "export manifest")
        elif token in "]}":
            depth -= 1


def _manifest(directory: Path) -> dict:
    """The manifest, checked field by field: a one-line FilmkbError naming the file, the field and what
    is wrong (at most MAX_MANIFEST_BYTES, nested at most MAX_JSON_DEPTH)."""
    path = directory / MANIFEST
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise FilmkbError(f"{path}: larger than {MAX_MANIFEST_BYTES // 2**20} MiB; not a filmkb export manifest")
        text = path.read_text(encoding="utf-8")
        _check_depth(path, text)
        manifest = json.loads(text)
    except (OSError, UnicodeError, ValueError, RecursionError) as exc:
        raise FilmkbError(f"{path}: not a readable filmkb export manifest ({' '.join(str(exc).split())})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise FilmkbError(f"{path}: format: not a {FORMAT} manifest of version {VERSION}")
    version = manifest.get("schema_version")
    if not _is_int(version) or version > SCHEMA_VERSION:
        raise FilmkbError(f"{path}: schema_version: {_shown(version)}: made by a newer filmkb "
                          f"(this one writes version {SCHEMA_VERSION})" if _is_int(version) else
                          f"{path}: schema_version: {_shown(version)}: expected a whole number")
    if manifest.get("curated") is not None and not _strings(manifest["curated"]):
        raise FilmkbError(f"{path}: curated: {_shown(manifest['curated'])}: expected a list of notes (text)")
    batches = manifest.get("batches") or []
    if not isinstance(batches, list):
        raise FilmkbError(f"{path}: batches: {_shown(batches)}: expected a list of batches")
    for i, b in enumerate(batches):
        _check_batch(path, directory, f"batches[{i}]", b)
    return manifest


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _strings(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _shown(value) -> str:
    """A manifest value for an error line, shortened."""
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 60 else f"{text[:40]}... ({len(text):,} characters)"


def _check_batch(path: Path, directory: Path, where: str, b) -> None:
    """One batch of the manifest: a user batch, text sources and note, an ISO created_at, existing files."""
    if not isinstance(b, dict) or b.get("kind") != "user" or not isinstance(b.get("files"), list):
        raise FilmkbError(f"{path}: {where}: expected a user batch with its files")
    problems = {"sources": b.get("sources") is not None and not _strings(b["sources"]),
                "note": b.get("note") is not None and not isinstance(b["note"], str),
                "films": b.get("films") is not None and not (_is_int(b["films"]) and b["films"] >= 0),
                "files": not _strings(b["files"])}
    expected = {"sources": "a list of text", "note": "text", "films": "a whole number of films",
                "files": "a list of file names"}
    for field, bad in problems.items():
        if bad:
            raise FilmkbError(f"{path}: {where}: {field}: {_shown(b[field])}: expected {expected[field]}")
    created = b.get("created_at")
    if created is not None:
        try:
            datetime.fromisoformat(created)
        except (TypeError, ValueError):
            raise FilmkbError(f"{path}: {where}: created_at: {_shown(created)}: expected an ISO date and time "
                              "(e.g. 2024-05-01T12:00:00)") from None
    for name in b["files"]:
        if Path(name).name != name or name in ("", ".", "..") or not (directory / name).is_file():
            raise FilmkbError(f"{path}: {where}: files: {name!r}: no such file in {directory}")


def replay(db, directory, wait: float = 0.0) -> list[tuple[int, int]]:
    """Ingest an export's entries (DIR/entries) into `db`, batch by batch in the original order, each as
    its own batch with the original kind, sources, note and time, all in one transaction. The database
    must hold no user batches and have been built from the curated data the export was; otherwise a
    one-line FilmkbError and nothing written. Returns (new batch id, films added) per batch."""
    directory = Path(directory)
    manifest = _manifest(directory)
    with kb.open(db) as k, k.transaction(wait):
        history = k.history()
        added = history[history["kind"] != "curated"]
        if len(added):
            raise FilmkbError(f"{k.path}: holds {len(added)} batches besides the curated data; an export is "
                              "replayed only into a database freshly made by `filmkb init` (nothing was written)")
        curated = list(history.loc[history["kind"] == "curated", "note"])
        if manifest.get("curated") and curated != manifest["curated"]:
            raise FilmkbError(f"{directory / MANIFEST}: curated: exported from a database built from other curated "
                              f"data ({', '.join(manifest['curated'])}; this one: {', '.join(curated)}); "
                              "nothing was written")
        return [_replay_batch(k, b, directory) for b in manifest["batches"]]


def _replay_batch(k, spec: dict, directory: Path) -> tuple[int, int]:
    """One exported batch: a new batch as recorded, then its files (methods, substrates, films, BibTeX)."""
    from ..ingest.bibtex import parse_bibtex
    from ..ingest.readers import ReadError, read_text

    created = datetime.fromisoformat(spec["created_at"]) if spec.get("created_at") else None
    batch = k.new_batch(spec["kind"], spec.get("sources") or [], spec.get("note"), created_at=created)
    n_films = 0
    for name in spec["files"]:
        path = directory / name
        if name.lower().endswith(".bib"):
            try:
                text = read_text(path)
            except ReadError as exc:
                raise FilmkbError(str(exc)) from None
            entries, problems = parse_bibtex(text, str(path))
            raise_if(problems)
            k.upsert_publications(entries, batch)
            continue
        substrate_records: list = []
        records, method_records = entry_records([str(path)], substrates=substrate_records)
        if method_records:
            methods, problems = method_entries(method_records, k.vocabulary().methods)
            raise_if(problems)
            k.write_methods(methods, batch)
            raise_on_failures(k.validate(["deposition_methods"]))
        if substrate_records:
            substrates, problems = substrate_file_entries(substrate_records)
            raise_if(problems)
            k.write_substrates(substrates, batch)
            raise_on_failures(k.validate(["substrates"]))
        if records:
            entries = clean_batch(records, k.vocabulary())
            n_films += len(k.write_films(entries, batch, reference_key))
            k.update_interface_matches()
    return batch, n_films
