"""The one path in: read -> normalise -> validate (great-expectations) -> write in one transaction.

`build_curated` loads the bundled data/ files through exactly the code a user's
`filmkb ingest` takes; any problem anywhere rolls the whole invocation back.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..kb import quality, store
from ..kb.db import KBError, apply_views
from . import catalogue
from .datafiles import CURATED_FILES, check_metadata, data_hash
from .entries import Problem, Vocabulary, film_entry, reference_key
from .readers import ReadError, read_records

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
SEED_TABLE = "kireeva2023 Table 1"


class IngestError(KBError):
    """Every problem of an invocation, one `FILE:LINE: column: value: reason` per line."""

    def __init__(self, problems: list):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class IngestReport:
    """What an invocation added, skipped as exact duplicates, and flagged as near-duplicates."""

    batch_id: int | None
    film_ids: list = field(default_factory=list)
    counts: dict = field(default_factory=dict)
    duplicates: list = field(default_factory=list)       # (file, line, film id it repeats)
    near_duplicates: list = field(default_factory=list)  # (file, line, film id with other sigma)
    dry_run: bool = False


def _read(path: Path):
    try:
        return read_records(path)
    except ReadError as exc:
        raise IngestError([str(exc)]) from None


def vocabulary(con) -> Vocabulary:
    """Alias tables and reference keys as they stand in the database."""
    subs = dict(con.execute("SELECT a.alias, s.name FROM substrate_aliases a JOIN substrates s ON s.id = a.substrate_id").fetchall())
    meths = dict(con.execute("SELECT a.alias, m.name FROM method_aliases a JOIN deposition_methods m ON m.id = a.method_id").fetchall())
    keys = frozenset(k for (k,) in con.execute("SELECT key FROM publications").fetchall())
    return Vocabulary(subs, meths, keys)


def normalise_films(records, vocab: Vocabulary, source_table: str | None = None):
    """Film entries and every problem found across all records."""
    entries, problems = [], []
    for record in records:
        entry, bad = film_entry(record, vocab)
        problems += bad
        if entry is not None:
            entry.source_table = source_table
            if source_table is None:
                entry.source_row = None
            entries.append(entry)
    return entries, problems


def entry_frame(entries) -> "pd.DataFrame":
    """The normalised batch as one DataFrame (row = position in `entries`) for the suites."""
    import pandas as pd

    fields = ("deposition_temp_c", "conductivity_s_cm", "thickness_nm", "measurement_temp_c", "phase",
              "substrate_orientation", "method", "substrate")
    frame = pd.DataFrame([{f: getattr(e, f) for f in fields} for e in entries])
    frame["composition"] = [e.material.composition for e in entries]
    frame["row"] = range(len(entries))
    return frame


def validate_entries(entries) -> list[Problem]:
    """great-expectations on the whole normalised batch; failures located by file and line."""
    from ..schema.expectations import FILM_ENTRY_SUITE

    if not entries:
        return []
    failures = quality.validate_frame("film_entries", entry_frame(entries), FILM_ENTRY_SUITE, "row")
    problems = []
    for f in failures:
        e = entries[f.row_id]
        typed = e.extras.get("cells", {}).get(f.column, f.value)
        problems.append(Problem(e.source_file, e.source_line, f.column, typed,
                                f"fails {f.expectation} (read as {f.value} in the column's unit)"))
    return problems


def _raise_if(problems: list[Problem]) -> None:
    if problems:
        raise IngestError(problems)


def build_curated(con, data_dir: Path = DATA_DIR) -> IngestReport:
    """Load the curated catalogue and Table 1 films into an empty schema, in one transaction."""
    d = Path(data_dir)
    pubs, p1 = catalogue.publication_entries(_read(d / "references.csv"))
    methods, p2 = catalogue.method_entries(_read(d / "methods.csv"))
    phases, p3 = catalogue.phase_entries(_read(d / "film_phases.csv"))
    subs, p4 = catalogue.substrate_entries(_read(d / "substrates.csv"), _read(d / "substrate_properties.csv"))
    _raise_if(p1 + p2 + p3 + p4)
    film_records = _read(d / "seed_films.csv")
    with store.transaction(con):
        batch = store.new_batch(con, "curated", [str(d / f) for f in CURATED_FILES])
        store.write_publications(con, pubs, batch)
        store.write_methods(con, methods)
        store.write_phases(con, phases)
        store.write_substrates(con, subs, batch)
        quality.raise_on_failures(quality.validate_tables(con, ["publications", "substrates", "film_phases", "deposition_methods"]))
        entries, problems = normalise_films(film_records, vocabulary(con), SEED_TABLE)
        _raise_if(problems)
        _raise_if(validate_entries(entries))
        ids = store.write_films(con, entries, batch, reference_key)
        store.update_interface_matches(con)
        apply_views(con)
    return IngestReport(batch, ids, {"publications": len(pubs), "substrates": len(subs), "methods": len(methods),
                                      "film_phases": len(phases), "films": len(ids)})


def _user_batches(path: str) -> tuple[int, int, str | None]:
    """(user batches, user films, curated data stamp) of an existing database file."""
    from ..kb.db import connect

    con = connect(path, read_only=True)
    try:
        batches = con.execute("SELECT count(*) FROM ingest_batches WHERE kind = 'user'").fetchall()[0][0]
        films = con.execute("SELECT count(*) FROM films f JOIN ingest_batches b ON b.id = f.batch_id "
                            "WHERE b.kind = 'user'").fetchall()[0][0]
        curated = con.execute("SELECT note FROM ingest_batches WHERE kind = 'curated'").fetchall()
        return batches, films, (curated[0][0] if curated else None)
    except Exception:
        return 0, 0, None
    finally:
        con.close()


def _stamp(data_dir: Path) -> str:
    """The note a curated build records: the hash of the curated files it was built from."""
    return f"data sha256 {data_hash(data_dir)}"


def init_database(path: str, force: bool = False, data_dir: Path = DATA_DIR) -> tuple[str, IngestReport | None]:
    """Create the schema and load the curated data; idempotent, atomic, never loses user rows.

    The build goes to a temporary file that replaces `path` only when complete. An existing file
    with the same curated data is left as it is. One holding user-ingested films is refused unless
    `force`, and then it is first copied to PATH.bak.
    """
    import os
    import shutil

    from ..kb.db import connect, create_schema

    bad = check_metadata(data_dir)
    if bad:
        raise IngestError(bad)
    stamp = _stamp(data_dir)
    if os.path.exists(path):
        batches, user_films, note = _user_batches(path)
        if batches and not force:
            raise KBError(f"{path} holds {user_films} user-ingested films in {batches} batches; "
                          "`filmkb init --force` rebuilds it from the curated data (after copying it to "
                          f"{path}.bak)")
        if note == stamp and not batches:
            return "up to date", None
    tmp = f"{path}.building"
    for leftover in (tmp, tmp + ".wal"):
        if os.path.exists(leftover):
            os.remove(leftover)
    con = connect(tmp)
    try:
        create_schema(con)
        report = build_curated(con, data_dir)
        con.execute("UPDATE ingest_batches SET note = ? WHERE id = ?", [stamp, report.batch_id])
        con.execute("CHECKPOINT")
    finally:
        con.close()
    if os.path.exists(path):
        shutil.copy2(path, f"{path}.bak")
    os.replace(tmp, path)
    return "built", report


def refresh_database(path: str, data_dir: Path = DATA_DIR) -> str:
    """Build the knowledge base if missing or stale; a file holding user-ingested films is kept as it
    is (never rebuilt behind the user's back). Returns what was done, in words."""
    if os.path.exists(path):
        batches, user_films, note = _user_batches(path)
        if batches:
            same = note == _stamp(data_dir)
            return (f"kept ({user_films} user-ingested films in {batches} batches"
                    + ("" if same else "; the curated data has changed since it was built: "
                       "`filmkb init --force` rebuilds it, keeping a .bak") + ")")
    status, _ = init_database(path, data_dir=data_dir)
    return status


def _read_all(files) -> list:
    """Records of every file; unreadable files are all reported together."""
    records, problems = [], []
    for path in files:
        try:
            records += read_records(path)
        except ReadError as exc:
            problems.append(str(exc))
    if problems:
        raise IngestError(problems)
    if not records:
        raise IngestError([f"{', '.join(map(str, files))}: no entries found"])
    return records


def _ref_identity(con):
    """entry -> the identity existing films are keyed by (DOI, else citation key)."""
    known = dict(con.execute("SELECT key, coalesce(doi, key) FROM publications").fetchall())

    def identity(ref):
        if ref.key:
            return known.get(ref.key, ref.key)
        if ref.doi:
            return ref.doi
        key = reference_key(ref.authors, ref.year, None)
        return known.get(key, key)
    return identity


def classify_duplicates(con, entries):
    """Split entries into (to add, exact duplicates, near-duplicates) against the database and the batch."""
    known, identity = store.existing_conditions(con), _ref_identity(con)
    fresh, dups, near, pending = [], [], [], {}
    for e in entries:
        key = store.condition_key(identity(e.reference), e.material.formula, e.method, e.substrate,
                                  e.substrate_orientation, e.deposition_temp_c, e.thickness_nm)
        sigma = store.number_key(e.conductivity_s_cm)
        same = [fid for fid, s in known.get(key, []) if s == sigma]
        earlier = [ln for ln, s in pending.get(key, []) if s == sigma]
        if same or earlier:
            dups.append((e.source_file, e.source_line, same[0] if same else f"line {earlier[0]}"))
            continue
        others = [fid for fid, _ in known.get(key, [])]
        if others:
            near.append((e.source_file, e.source_line, others[0]))
        pending.setdefault(key, []).append((e.source_line, sigma))
        fresh.append(e)
    return fresh, dups, near


def _ingest(con, records, files, dry_run: bool) -> IngestReport:
    entries, problems = normalise_films(records, vocabulary(con))
    problems += validate_entries(entries)
    _raise_if(sorted(problems, key=lambda p: (p.file, p.line)))
    fresh, dups, near = classify_duplicates(con, entries)
    report = IngestReport(None, [], {"read": len(entries), "added": 0, "duplicates": len(dups),
                                     "near_duplicates": len(near)}, dups, near, dry_run)
    if dry_run or not fresh:
        report.counts["added"] = 0 if not dry_run else len(fresh)
        return report
    with store.transaction(con):
        report.batch_id = store.new_batch(con, "user", [str(f) for f in files])
        report.film_ids = store.write_films(con, fresh, report.batch_id, reference_key)
        store.update_interface_matches(con)
    report.counts["added"] = len(report.film_ids)
    return report


def ingest_records(db_path: str, rows, wait: float = 0.0) -> IngestReport:
    """Ingest (file, line, cells) rows typed by hand (filmkb add) through the same path as files."""
    from ..kb.writer import write_session
    from .readers import Record

    records = [Record(f, ln, cells) for f, ln, cells in rows]
    with write_session(db_path, wait) as con:
        return _ingest(con, records, sorted({f for f, _, _ in rows}), dry_run=False)


def ingest_files(db_path: str, files, dry_run: bool = False, wait: float = 0.0) -> IngestReport:
    """Ingest CSV/YAML film files as one transaction: all rows valid, or nothing written."""
    from ..kb.db import connect
    from ..kb.writer import write_session

    records = _read_all(files)
    if dry_run:
        con = connect(db_path, read_only=True)
        try:
            return _ingest(con, records, files, dry_run=True)
        finally:
            con.close()
    with write_session(db_path, wait) as con:
        return _ingest(con, records, files, dry_run=False)


def history(con):
    """Every ingest batch with its film count, newest first."""
    return con.execute("""
        SELECT b.id AS batch, b.kind, b.created_at, count(f.id) AS films, b.sources, b.note
        FROM ingest_batches b LEFT JOIN films f ON f.batch_id = b.id
        GROUP BY ALL ORDER BY b.id DESC""").df()


def retract(db_path: str, batch_id: int, wait: float = 0.0) -> int:
    """Remove one user batch's films in one transaction; returns how many."""
    from ..kb.writer import write_session

    with write_session(db_path, wait) as con, store.transaction(con):
        return store.retract_batch(con, batch_id)


def ingest_bib(db_path: str, files, wait: float = 0.0) -> tuple[int, int]:
    """Add (or complete) publications from BibTeX files in one transaction: (added, updated)."""
    from ..kb.writer import write_session
    from .bibtex import parse_bibtex

    entries, problems = [], []
    for path in files:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            problems.append(f"{path}: {exc.strerror}")
            continue
        found, bad = parse_bibtex(text, str(path))
        entries += found
        problems += bad
    _raise_if(problems)
    with write_session(db_path, wait) as con, store.transaction(con):
        batch = store.new_batch(con, "user", [str(f) for f in files], note="bibtex")
        return store.upsert_publications(con, entries, batch)


def add_substrate(db_path: str, substrate: dict, values: dict, source: str, wait: float = 0.0) -> str:
    """Add one substrate through the catalogue normalisation and the substrates quality suite.

    `substrate`: name, formula, amorphous, crystal_system, space_group, sites, aliases ('|'-joined),
    note. `values`: property -> cell, each with or without its unit ('168 GPa', '1768 C', '8.9e-6').
    """
    from ..kb.writer import write_session
    from .readers import Record

    where = "add-substrate"
    props = [Record(where, 0, {"substrate": substrate["name"], "property": prop, "value": str(cell), "unit": "",
                                "source": source, "note": "melting" if prop == "melting_point" else ""})
             for prop, cell in values.items() if cell not in (None, "")]
    entries, problems = catalogue.substrate_entries([Record(where, 0, substrate)], props)
    _raise_if(problems)
    with write_session(db_path, wait) as con:
        taken = {a for (a,) in con.execute("SELECT alias FROM substrate_aliases").fetchall()}
        clash = sorted(taken & {a.lower() for a in [entries[0].name, entries[0].formula, *entries[0].aliases]})
        if clash:
            raise KBError(f"substrate name or alias already known: {', '.join(clash)} (see `filmkb substrates`)")
        with store.transaction(con):
            batch = store.new_batch(con, "user", [where], note=f"substrate {entries[0].name}")
            store.write_substrates(con, entries, batch)
            quality.raise_on_failures(quality.validate_tables(con, ["substrates"]))
    return entries[0].name
