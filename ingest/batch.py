"""A batch of literature entries: read every file, normalise every row, validate the whole batch.

Nothing here touches the database: the vocabulary comes in, entries and problems go out, and
the caller (jobs) writes a clean batch in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import FilmkbError
from .entries import Problem, film_entry
from .readers import DEFAULT_LIMITS, Limits, ReadError, read_records


class IngestError(FilmkbError):
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
    methods: list = field(default_factory=list)            # names of the methods added (or, dry run, valid)
    methods_batch_id: int | None = None                    # the batch recording them
    known_methods: list = field(default_factory=list)      # (file, line, method) rows already stored: skipped
    draft_columns: dict = field(default_factory=dict)      # film file -> extract's draft columns, ignored


def raise_if(problems: list) -> None:
    if problems:
        raise IngestError(problems)


def read_one(path) -> list:
    """Records of one file; an unreadable file is an IngestError."""
    try:
        return read_records(path)
    except ReadError as exc:
        raise IngestError([str(exc)]) from None


def read_all(files, limits: Limits = DEFAULT_LIMITS) -> list:
    """Records of every file; unreadable files are all reported together."""
    records, problems = [], []
    for path in files:
        try:
            records += read_records(path, limits)
        except ReadError as exc:
            problems.append(str(exc))
    raise_if(problems)
    if not records:
        raise IngestError([f"{', '.join(map(str, files))}: no entries found"])
    return records


def normalise_films(records, vocab, source_table: str | None = None):
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


def entry_frame(entries):
    """The normalised batch as one DataFrame (row = position in `entries`) for the suites."""
    import pandas as pd

    fields = ("deposition_temp_c", "conductivity_s_cm", "thickness_nm", "measurement_temp_c", "activation_energy_ev",
              "phase", "substrate_orientation", "method", "substrate")
    frame = pd.DataFrame([{f: getattr(e, f) for f in fields} for e in entries])
    frame["composition"] = [e.material.composition for e in entries]
    frame["row"] = range(len(entries))
    return frame


def validate_entries(entries) -> list[Problem]:
    """great-expectations on the whole normalised batch; failures located by file and line."""
    from ..kb.quality import validate_frame
    from ..schema.expectations import FILM_ENTRY_SUITE

    if not entries:
        return []
    problems = []
    for f in validate_frame("film_entries", entry_frame(entries), FILM_ENTRY_SUITE, "row"):
        e = entries[f.row_id]
        typed = e.extras.get("cells", {}).get(f.column, f.value)
        problems.append(Problem(e.source_file, e.source_line, f.column, typed,
                                f"fails {f.expectation} (read as {f.value} in the column's unit)"))
    return problems


def film_records(files, limits: Limits = DEFAULT_LIMITS, allow_extra_columns: bool = False) -> list:
    """Records of film entry files, their headers checked against the template: an unknown column is
    an error naming the closest known one, or (allow_extra_columns) its cells go to the notes."""
    from .columns import column_problems, extras_into_notes

    records = read_all(files, limits)
    if allow_extra_columns:
        return extras_into_notes(records)
    raise_if(column_problems(records))
    return records


def is_methods_file(records: list) -> bool:
    """A file of deposition methods (header name, family, description, aliases, as data/methods.csv)
    rather than films: it has a name or family column and no column of the film template."""
    from .columns import KNOWN_COLUMNS, METHOD_COLUMNS

    columns = {c for r in records for c in r.cells}
    return bool(columns & set(METHOD_COLUMNS[:2])) and not columns & set(KNOWN_COLUMNS)


def is_substrates_file(records: list) -> bool:
    """A file of substrates (one row per substrate: the `filmkb add-substrate` options and one column per
    property, columns.SUBSTRATE_COLUMNS) rather than films or methods: it has formula and amorphous
    columns and no column of the film template (its source column is the values' source, not a draft's)."""
    from .columns import DRAFT_COLUMNS, KNOWN_COLUMNS

    columns = {c for r in records for c in r.cells}
    return {"formula", "amorphous"} <= columns and not columns & (set(KNOWN_COLUMNS) - set(DRAFT_COLUMNS))


def entry_records(files, limits: Limits = DEFAULT_LIMITS, allow_extra_columns: bool = False,
                  substrates: list | None = None) -> tuple[list, list]:
    """(film records, method records) of the files, each file told apart by its header: a methods file's
    columns must be name, family, description, aliases, a substrates file's columns.SUBSTRATE_COLUMNS
    (an unknown one is an error naming the closest); film files are checked as `film_records` checks them.
    The records of substrates files are appended to `substrates` (without it they are read as films)."""
    from .columns import SUBSTRATE_COLUMNS
    from .columns import METHOD_COLUMNS, column_problems, did_you_mean, extras_into_notes

    records = read_all(files, limits)
    by_file: dict = {}
    for r in records:
        by_file.setdefault(r.file, []).append(r)
    films, methods, problems = [], [], []
    for file, rows in by_file.items():
        if substrates is not None and is_substrates_file(rows):
            substrates += rows
            kind, known = "substrates", SUBSTRATE_COLUMNS
        elif is_methods_file(rows):
            methods += rows
            kind, known = "methods", METHOD_COLUMNS
        else:
            films += rows
            continue
        for name in dict.fromkeys(c for r in rows for c in r.cells):
            if name not in known:
                line = 1 if file.lower().endswith(".csv") else next(r.line for r in rows if name in r.cells)
                problems.append(f"{file}:{line}: {name}: unknown column of a {kind} file (expected "
                                f"{', '.join(known)}){did_you_mean(name, known)}")
    if allow_extra_columns:
        films = extras_into_notes(films)
    else:
        problems += column_problems(films)
    raise_if(problems)
    return films, methods


def clean_batch(records, vocab, source_table: str | None = None) -> list:
    """Normalised, validated entries of the records; IngestError listing every problem (by file, line)."""
    entries, problems = normalise_films(records, vocab, source_table)
    problems += validate_entries(entries)
    raise_if(sorted(problems, key=lambda p: (p.file, p.line)))
    return entries
