"""The literature-checked substrate properties (data/substrate_properties_checked.csv) as substrate entries,
read and validated by the same path as the curated Table 2 file (catalogue.substrate_entries), plus the check
that the set covers every curated substrate and property, and has a source for every value."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from .datafiles import DATA_DIR

CHECKED_FILE = "substrate_properties_checked.csv"
PAPER_FILE = "substrate_properties.csv"


def checked_entries(data_dir: Path = DATA_DIR) -> list:
    """SubstrateEntry per curated substrate with the checked values; IngestError (file, line, field) listing
    every problem, including a substrate or property of Table 2's file that the checked file lacks."""
    return list(_checked(str(data_dir)))


@lru_cache(maxsize=4)
def _checked(data_dir: str) -> tuple:
    from .batch import IngestError, raise_if, read_one
    from .catalogue import substrate_entries

    d = Path(data_dir)
    subs = read_one(d / "substrates.csv")
    entries, problems = substrate_entries(subs, read_one(d / CHECKED_FILE))
    raise_if(problems)
    paper, _ = substrate_entries(subs, read_one(d / PAPER_FILE))
    have = {e.name: set(e.values) for e in entries}
    missing = [f"{d / CHECKED_FILE}: {e.name} lacks {', '.join(sorted(set(e.values) - have.get(e.name, set())))} "
               f"(every value of {PAPER_FILE} needs a checked value)" for e in paper if set(e.values) - have.get(e.name, set())]
    if missing:
        raise IngestError(missing)
    return tuple(entries)
