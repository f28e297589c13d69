"""Jobs that grow the knowledge base: init, ingest, add, add-substrate, add-method, ingest-bib, retract.

Each opens the knowledge base once, hands what ingest normalised and validated to kb in one
transaction, and returns what a person wants to read back. All or nothing: a bad row, a busy
file or a crash leaves the database as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .. import kb
from ..errors import FilmkbError
from ..ingest.batch import IngestError, IngestReport, clean_batch, entry_records, raise_if
from ..ingest.catalogue import (method_entries, method_from_options, method_note, read_curated, repeated_methods,
                                substrate_file_entries, substrate_from_options, substrate_note, with_methods,
                                with_substrates)
from ..ingest.columns import draft_columns_in
from ..ingest.datafiles import DATA_DIR, check_metadata, curated_stamp
from ..ingest.duplicates import classify_duplicates
from ..ingest.entries import reference_key
from ..ingest.readers import DEFAULT_LIMITS, Limits, Record
from ..kb.quality import raise_on_failures

SEED_TABLE = "kireeva2023 Table 1"
__all__ = ["init", "refresh", "ingest", "ingest_records", "ingest_bib", "add_substrate", "add_method", "retract",
           "history", "audit", "grant"]


def _load_curated(k, data_dir: Path) -> IngestReport:
    """Load the curated catalogue and Table 1 films into a new, empty schema (inside its build)."""
    from ..ingest.datafiles import CURATED_FILES

    cur = read_curated(data_dir)
    batch = k.new_batch("curated", [str(Path(data_dir) / f) for f in CURATED_FILES])
    k.write_publications(cur.publications, batch)
    k.write_methods(cur.methods, batch)
    k.write_phases(cur.phases)
    k.write_substrates(cur.substrates, batch)
    raise_on_failures(k.validate(["publications", "substrates", "film_phases", "deposition_methods"]))
    entries = clean_batch(cur.film_records, k.vocabulary(), SEED_TABLE)
    ids = k.write_films(entries, batch, reference_key)
    k.update_interface_matches()
    k.apply_views()
    k.set_batch_note(batch, curated_stamp(data_dir))
    return IngestReport(batch, ids, {"publications": len(cur.publications), "substrates": len(cur.substrates),
                                     "methods": len(cur.methods), "film_phases": len(cur.phases), "films": len(ids)})


def _state(path: str) -> tuple[int, int, str | None]:
    """(user batches, user films, curated stamp) of a filmkb database, zeros where there is none yet."""
    if not kb.exists(path):
        return 0, 0, None
    with kb.open(path) as k:
        return k.curated_state()


def init(db=None, force: bool = False, data_dir: Path = DATA_DIR, wait: float = 0.0) -> tuple[str, IngestReport | None]:
    """Create the schema and load the curated data; idempotent, atomic, never loses user rows.

    The build goes to a scratch file that replaces the database only when complete, under the
    writer lock. An existing file with the same curated data is left as it is. One holding
    user-ingested films, or one that is not a filmkb database (a text file, another program's DuckDB
    file, a damaged database), is refused unless `force`; then it is first kept under a backup name
    that no earlier backup holds (PATH.bak, PATH.bak.1, ...), which the returned status names.
    """
    path = str(db or kb.default_path())
    name = kb.shown(path)  # a URL's password is never shown
    kb.require_file(path)
    with kb.locked(path, wait):
        found = kb.not_a_knowledge_base(path)
        if found:
            if not force:
                raise FilmkbError(f"{name}: found {found}; init left it as it is; `filmkb init --force` keeps it as "
                                  f"{kb.next_backup(path)} and builds a new knowledge base")
            return _build_unless_current(path, data_dir, None)
        batches, user_films, stamp = _state(path)
        if batches and not force:
            raise FilmkbError(f"{name} holds {user_films} user-ingested films in {batches} batches; "
                              "`filmkb init --force` rebuilds it from the curated data (after copying it to "
                              f"{kb.next_backup(path)})")
        return _build_unless_current(path, data_dir, stamp if not batches else None)


def _build_unless_current(path: str, data_dir: Path, stamp: str | None) -> tuple[str, IngestReport | None]:
    """Leave a file built from the same curated data as it is; otherwise build it anew, keeping an existing
    file under a new backup name ('built (the old file kept as PATH.bak.1)')."""
    bad = check_metadata(data_dir)
    if bad:
        raise IngestError(bad)
    if stamp == curated_stamp(data_dir):
        return "up to date", None
    with kb.build(path, backup=kb.exists(path)) as k:
        report = _load_curated(k, data_dir)
    return ("built" if k.backup is None else f"built (the old file kept as {k.backup})"), report


def refresh(db=None, data_dir: Path = DATA_DIR, wait: float = 0.0) -> str:
    """Build the knowledge base if missing or stale; a file holding user-ingested films is kept as it
    is (never rebuilt behind the user's back), and one that is not a filmkb database is refused.
    Returns what was done, in words."""
    path = str(db or kb.default_path())
    name = kb.shown(path)  # a URL's password is never shown
    kb.require_file(path)
    with kb.locked(path, wait):
        found = kb.not_a_knowledge_base(path)
        if found:
            raise FilmkbError(f"{name}: found {found}; nothing was changed; restore a good copy or run "
                              f"`filmkb init --force` (which keeps it as {kb.next_backup(path)})")
        batches, user_films, stamp = _state(path)
        if batches:
            same = stamp == curated_stamp(data_dir)
            return (f"kept ({user_films} user-ingested films in {batches} batches"
                    + ("" if same else "; the curated data has changed since it was built: "
                       "`filmkb init --force` rebuilds it, keeping a .bak") + ")")
        return _build_unless_current(path, data_dir, stamp)[0]


def _methods(k, records) -> tuple[list, list, list]:
    """(method entries, rows already stored as they are, problems) of methods-file records against `k`."""
    vocab = k.vocabulary()
    new, repeated = repeated_methods(records, vocab.methods, k.method_families())
    entries, problems = method_entries(new, vocab.methods)
    known = [(r.file, r.line, vocab.resolve("method", r.cells.get("name"))) for r in repeated]
    return entries, known, problems


@dataclass
class _Batch:
    """What one ingest was given: film, methods-file and substrates-file records, and the files of each."""

    records: list
    files: list
    method_records: list = field(default_factory=list)
    method_files: list = field(default_factory=list)
    substrate_records: list = field(default_factory=list)
    substrate_files: list = field(default_factory=list)


@dataclass
class _Cleaned:
    """A batch normalised and validated against one state of the vocabulary (`fingerprint`)."""

    fingerprint: tuple
    methods: list
    known: list
    substrates: list
    entries: list


def _clean(k, batch: _Batch) -> _Cleaned:
    """Normalise and validate the batch against `k`'s vocabulary, read as of one moment: methods from methods
    files, then substrates from substrates files, are checked first, so the films may use them. Every problem
    of the batch in one IngestError."""
    with k.snapshot():
        fingerprint = k.vocabulary_fingerprint()
        methods, known, problems = _methods(k, batch.method_records) if batch.method_records else ([], [], [])
        vocab = k.vocabulary()
    substrates, bad = substrate_file_entries(batch.substrate_records) if batch.substrate_records else ([], [])
    problems = problems + bad
    try:
        vocab = with_substrates(with_methods(vocab, methods), substrates)
        entries = clean_batch(batch.records, vocab) if batch.records else []
    except IngestError as exc:
        raise IngestError(problems + exc.problems) from None
    raise_if(problems)
    return _Cleaned(fingerprint, methods, known, substrates, entries)


def _ingest(k, batch: _Batch, cleaned: _Cleaned, dry_run: bool) -> IngestReport:
    """De-duplicate a cleaned batch against `k`; write it unless dry_run (methods, then substrates, then films,
    each in their own batch)."""
    methods, substrates = cleaned.methods, cleaned.substrates
    fresh, dups, near = classify_duplicates(cleaned.entries, k.existing_conditions(), k.publication_identities())
    report = IngestReport(None, [], {"read": len(cleaned.entries), "added": len(fresh) if dry_run else 0,
                                     "duplicates": len(dups), "near_duplicates": len(near)}, dups, near, dry_run,
                          methods=[e.name for e in methods], known_methods=cleaned.known)
    if methods and not dry_run:
        report.methods_batch_id = k.new_batch("user", [str(f) for f in batch.method_files],
                                              note=method_note(methods))
        k.write_methods(methods, report.methods_batch_id)
        raise_on_failures(k.validate(["deposition_methods"]))
    if substrates and not dry_run:
        batch_id = k.new_batch("user", [str(f) for f in batch.substrate_files], note=substrate_note(substrates))
        k.write_substrates(substrates, batch_id)
        raise_on_failures(k.validate(["substrates"]))
        report.counts["substrates"] = len(substrates)
    if dry_run or not fresh:
        return report
    report.batch_id = k.new_batch("user", [str(f) for f in batch.files])
    report.film_ids = k.write_films(fresh, report.batch_id, reference_key)
    k.update_interface_matches()
    report.counts["added"] = len(report.film_ids)
    return report


def _land(k, batch: _Batch, wait: float) -> IngestReport:
    """Write a batch in one transaction. Normalising and validating it (units, names, great-expectations: the
    slow part) runs before the writer lock, so concurrent writers do it side by side; under the lock only the
    vocabulary's fingerprint is read again, and the batch normalised again if another writer changed it. The
    duplicate check and the writes stay under the lock: duplicates across concurrent batches are still found."""
    k.require_write()  # a reader is refused before the work, in the same line as by the transaction
    cleaned = _clean(k, batch)
    with k.transaction(wait):
        if k.vocabulary_fingerprint() != cleaned.fingerprint:
            cleaned = _clean(k, batch)
        return _ingest(k, batch, cleaned, dry_run=False)


def ingest(db=None, files=(), dry_run: bool = False, wait: float = 0.0, allow_extra_columns: bool = False,
           limits: Limits = DEFAULT_LIMITS) -> IngestReport:
    """Ingest CSV/YAML film files, and methods files (header name, family, description, aliases, as
    data/methods.csv), as one transaction: all rows valid, or nothing written. Unknown columns of a film
    file are an error unless allow_extra_columns (their cells are then kept in the notes)."""
    for f in files:  # a device, FIFO, socket or link loop is refused before anything is read
        kb.require_file(f, "input file", directory_ok=True)
    substrate_records: list = []
    records, method_records = entry_records(files, limits, allow_extra_columns, substrate_records)
    method_files = sorted({r.file for r in method_records})
    substrate_files = sorted({r.file for r in substrate_records})
    film_files = [f for f in files if str(f) not in method_files and str(f) not in substrate_files]
    batch = _Batch(records, film_files, method_records, method_files, substrate_records, substrate_files)
    with kb.open(db) as k:
        report = _ingest(k, batch, _clean(k, batch), True) if dry_run else _land(k, batch, wait)
    report.draft_columns = draft_columns_in(records)
    return report


def ingest_records(db, rows, wait: float = 0.0) -> IngestReport:
    """Ingest (file, line, cells) rows typed by hand (`filmkb add`) through the same path as files."""
    records = [Record(f, ln, cells) for f, ln, cells in rows]
    with kb.open(db) as k:
        return _land(k, _Batch(records, sorted({f for f, _, _ in rows})), wait)


def ingest_bib(db, files, wait: float = 0.0) -> tuple[int, int]:
    """Add (or complete) publications from BibTeX files in one transaction: (added, updated)."""
    from ..ingest.batch import raise_if
    from ..ingest.bibtex import parse_bibtex
    from ..ingest.readers import ReadError, read_text

    entries, problems = [], []
    for path in files:
        kb.require_file(path, "BibTeX file", directory_ok=True)
        try:
            text = read_text(Path(path))  # UTF-8/16 text of at most the entry files' size limit
        except ReadError as exc:
            problems.append(str(exc))
            continue
        found, bad = parse_bibtex(text, str(path))
        entries += found
        problems += bad
    raise_if(problems)
    with kb.open(db) as k, k.transaction(wait):
        batch = k.new_batch("user", [str(f) for f in files], note="bibtex")
        return k.upsert_publications(entries, batch)


def add_substrate(db, substrate: dict, values: dict, source: str, wait: float = 0.0) -> str:
    """Add one substrate through the catalogue normalisation and the substrates quality suite.

    `substrate`: name, formula, amorphous, crystal_system, space_group, sites, aliases ('|'-joined),
    note. `values`: property -> cell, each with or without its unit ('168 GPa', '1768 C', '8.9e-6').
    """
    entry = substrate_from_options(substrate, values, source)
    with kb.open(db) as k, k.transaction(wait):
        batch = k.new_batch("user", ["add-substrate"], note=substrate_note([entry]))
        k.write_substrates([entry], batch)
        raise_on_failures(k.validate(["substrates"]))
    return entry.name


def add_method(db, name: str, family: str | None, aliases=(), description: str | None = None,
               note: str | None = None, wait: float = 0.0) -> str:
    """Add one deposition method (`filmkb add-method`) in one transaction, recorded in a user batch whose
    note names the method, its family, aliases and `note`. Its name and aliases must be new: one that
    belongs to another method, or a family outside schema.names.METHOD_FAMILIES, is an IngestError."""
    method_from_options(name, family, aliases, description)  # a bad option fails before the database is copied
    with kb.open(db) as k, k.transaction(wait):
        entry = method_from_options(name, family, aliases, description, k.vocabulary().methods)
        batch = k.new_batch("user", ["add-method"], note=method_note([entry], note))
        k.write_methods([entry], batch)
        raise_on_failures(k.validate(["deposition_methods"]))
    return entry.name


def retract(db, batch_id: int, wait: float = 0.0) -> int:
    """Remove one user batch's films in one transaction; returns how many."""
    with kb.open(db) as k, k.transaction(wait):
        return k.retract_batch(batch_id)


def history(db=None):
    """Every ingest batch with its film count, newest first."""
    with kb.open(db) as k:
        return k.history()


def audit(db=None, table: str | None = None, limit: int | None = None):
    """The audit (`filmkb history --audit`): every insert, update and delete of the audited tables with the
    old and new values, who and when, newest first; of `table` only, the latest `limit` rows, when given."""
    from ..kb.audit import AUDITED

    if table is not None and table not in AUDITED:
        raise FilmkbError(f"--table: '{table}' is not an audited table (audited: {', '.join(AUDITED)})")
    with kb.open(db) as k:
        return k.audit(table, limit)


def grant(db, login: str, role: str, password: str | None = None) -> str:
    """Make the server login `login` a reader or writer of the knowledge base (`filmkb grant`); one line back."""
    return kb.grant(db, login, role, password)
