"""The one path in: read -> normalise -> validate (great-expectations) -> write in one transaction.

`build_curated` loads the bundled data/ files through exactly the code a user's
`filmkb ingest` takes; any problem anywhere rolls the whole invocation back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..kb import quality, store
from ..kb.db import KBError, apply_views
from . import catalogue
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
    """What an invocation added."""

    batch_id: int | None
    film_ids: list = field(default_factory=list)
    counts: dict = field(default_factory=dict)


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
    return [Problem(entries[f.row_id].source_file, entries[f.row_id].source_line, f.column, f.value,
                    f"fails {f.expectation}") for f in failures]


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
    con.begin()
    try:
        batch = store.new_batch(con, "curated", [str(d / f) for f in ("references.csv", "methods.csv",
                                "film_phases.csv", "substrates.csv", "substrate_properties.csv", "seed_films.csv")])
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
        con.commit()
    except BaseException:
        con.rollback()
        raise
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


def init_database(path: str, force: bool = False, data_dir: Path = DATA_DIR) -> tuple[str, IngestReport | None]:
    """Create the schema and load the curated data; idempotent, atomic, never loses user rows.

    The build goes to a temporary file that replaces `path` only when complete. An existing file
    with the same curated data is left as it is. One holding user-ingested films is refused unless
    `force`, and then it is first copied to PATH.bak.
    """
    import os
    import shutil

    from ..kb.db import connect, create_schema
    from .datafiles import check_metadata, data_hash

    bad = check_metadata(data_dir)
    if bad:
        raise IngestError(bad)
    stamp = f"data sha256 {data_hash(data_dir)}"
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
