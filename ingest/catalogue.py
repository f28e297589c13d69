"""Normalise the catalogue files: references, deposition methods, substrates and film phases.

Property values arrive in long form (entity, property, value, unit, source) so that every
number carries its own unit and source; pint converts each to its column's canonical unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from dataclasses import replace as _replace

from .entries import Problem, _bool, _Cells, _year
from ..schema.names import METHOD_FAMILIES, Vocabulary, alias_key
from .normalise import CellError, clean_text, normalise_doi, parse_quantity
from .columns import PROPERTIES, SUBSTRATE_COLUMNS
from .readers import Record



@dataclass
class SourcedValue:
    """A property value in its canonical unit, with what was written and where it came from."""

    column: str
    value: float
    value_as_given: str
    unit_as_given: str | None
    source: str
    note: str | None


@dataclass
class SubstrateEntry:
    name: str
    formula: str
    amorphous: bool
    crystal_system: str | None
    space_group: str | None
    sites: str | None
    aliases: list[str]
    note: str | None
    values: dict = field(default_factory=dict)  # column -> SourcedValue


@dataclass
class PhaseEntry:
    name: str
    formula: str
    crystal_system: str
    space_group: str
    sites: str | None
    is_descriptor_reference: bool
    values: dict = field(default_factory=dict)


@dataclass
class MethodEntry:
    name: str
    family: str
    description: str | None
    aliases: list[str]


def sourced_value(record: Record) -> tuple[SourcedValue | None, list[Problem]]:
    """One long-form property row -> SourcedValue in the canonical unit of its column."""
    c = _Cells(record)
    prop = c.text("property")
    if prop not in PROPERTIES:
        c.problem("property", f"unknown property (expected one of {', '.join(PROPERTIES)})")
        return None, c.problems
    column, unit = PROPERTIES[prop]
    given_unit = c.text("unit")
    value_text = c.text("value")
    if value_text is None:
        c.problem("value", "required but empty")
        return None, c.problems
    try:
        value = parse_quantity(f"{value_text} {given_unit}" if given_unit else value_text, unit)
    except CellError as exc:
        cell = f"{value_text} {given_unit}" if given_unit else value_text
        return None, [Problem(record.file, record.line, prop, cell, str(exc))]
    source = c.text("source")
    if not source:
        c.problem("source", "every property value needs its source")
        return None, c.problems
    return SourcedValue(column, value, value_text, given_unit, source, c.text("note")), []


def _attach_values(entries: dict, records: list[Record], entity_column: str, refused=frozenset()) -> list[Problem]:
    """Each value row onto its entity; rows of an entity already refused (`refused` names) add no problem."""
    problems = []
    for record in records:
        name = clean_text(record.cells.get(entity_column))
        if name in refused:
            continue
        if name not in entries:
            problems.append(Problem(record.file, record.line, entity_column, name, "not defined in the entity file"))
            continue
        value, bad = sourced_value(record)
        problems += bad
        if value is not None:
            entries[name].values[value.column] = value
    return problems


def check_sites(value) -> str:
    """'Mg 0 0 0; O 0.5 0.5 0.5': each site an element symbol and three fractional coordinates, finite
    numbers in [0, 1) (so every later film on the substrate can build its structure)."""
    from pymatgen.core.periodic_table import Element

    text = clean_text(value)
    for n, site in enumerate(filter(None, (s.strip() for s in text.split(";"))), 1):
        symbol, *xyz = site.split()
        if not Element.is_valid_symbol(symbol):
            raise CellError(f"site {n}: '{symbol}' is not an element symbol (expected e.g. 'Mg 0 0 0; O 0.5 0.5 0.5')")
        if len(xyz) != 3:
            raise CellError(f"site {n}: expected an element and three coordinates, got {len(xyz)} coordinates")
        for x in xyz:
            try:
                number = float(x)
            except ValueError:
                raise CellError(f"site {n}: coordinate '{x}' is not a number") from None
            if not 0.0 <= number < 1.0:  # also refuses nan and inf
                raise CellError(f"site {n}: fractional coordinate {x} is outside [0, 1) "
                                "(write -0.25 as 0.75)")
    return text


def substrate_entries(subs: list[Record], props: list[Record]) -> tuple[list[SubstrateEntry], list[Problem]]:
    """substrates.csv + substrate_properties.csv -> SubstrateEntry per substrate."""
    entries, problems, refused = {}, [], set()
    for r in subs:
        c = _Cells(r)
        name, formula = c.text("name"), c.text("formula")
        if not name or not formula:
            c.problem("name" if not name else "formula", "required but empty")
        amorphous = c.apply("amorphous", _bool, required=True)
        if not amorphous and name and not c.text("space_group"):
            c.problem("space_group", "a crystalline substrate needs its space group")
        c.apply("sites", check_sites)
        problems += c.problems
        if c.problems and name:
            refused.add(name)
        if not c.problems:
            aliases = [a for a in (c.text("aliases") or "").split("|") if a.strip()]
            entries[name] = SubstrateEntry(name, formula, amorphous, c.text("crystal_system"),
                                           c.text("space_group"), c.text("sites"), aliases, c.text("note"))
    problems += _attach_values(entries, props, "substrate", refused)
    return list(entries.values()), problems


def phase_entries(records: list[Record]) -> tuple[list[PhaseEntry], list[Problem]]:
    """film_phases.csv (one row per phase and property) -> PhaseEntry per phase."""
    entries, problems = {}, []
    for r in records:
        c = _Cells(r)
        name = c.text("phase")
        if name not in entries:
            entries[name] = PhaseEntry(name, c.text("formula"), c.text("crystal_system"), c.text("space_group"),
                                       c.text("sites"), bool(c.apply("is_descriptor_reference", _bool)))
        problems += c.problems
    problems += _attach_values(entries, records, "phase")
    return list(entries.values()), problems


_FAMILIES = {f.lower(): f for f in METHOD_FAMILIES}


def method_entries(records: list[Record], known: dict | None = None) -> tuple[list[MethodEntry], list[Problem]]:
    """methods.csv rows -> MethodEntry (canonical name, family, aliases). A problem for an empty name, a
    family outside METHOD_FAMILIES (matched case-insensitively), and a name or alias that already belongs
    to another method: one in `known` (alias key -> canonical name, the database's) or an earlier row."""
    known = dict(known or {})
    entries, problems = [], []
    for r in records:
        c = _Cells(r)
        name, family = c.text("name"), c.text("family")
        if family is None or family.lower() not in _FAMILIES:
            c.problem("family", f"unknown method family; expected one of {', '.join(METHOD_FAMILIES)}")
        if not name:
            c.problem("name", "required but empty")
        aliases = [clean_text(a) for a in (c.text("aliases") or "").split("|") if clean_text(a)]
        for column, text in [("name", name)] * bool(name) + [("aliases", a) for a in aliases]:
            owner = known.get(alias_key(text))
            if owner is not None:
                what = "the name" if alias_key(owner) == alias_key(text) else "an alias"
                c.problem(column, f"already {what} of method '{owner}' (see `filmkb methods`)", value=text)
        problems += c.problems
        if not c.problems:
            entries.append(MethodEntry(name, _FAMILIES[family.lower()], c.text("description"), aliases))
            for text in (name, *aliases):
                known.setdefault(alias_key(text), name)
    return entries, problems


def repeated_methods(records: list[Record], known: dict, families: dict) -> tuple[list[Record], list[Record]]:
    """(new rows, rows already in the database as they are): a row repeats a stored method when its name is
    that method's name, its family the same and each alias already that method's. Re-ingesting a methods
    file is then a no-op, as it is for films; any other overlap is a problem of `method_entries`."""
    new, repeated = [], []
    for r in records:
        c = _Cells(r)
        owner = known.get(alias_key(c.text("name") or ""))
        family = (c.text("family") or "").lower()
        aliases = [a for a in (c.text("aliases") or "").split("|") if clean_text(a)]
        same = (owner is not None and alias_key(owner) == alias_key(c.text("name"))
                and (families.get(owner) or "").lower() == family
                and all(known.get(alias_key(a)) == owner for a in aliases))
        (repeated if same else new).append(r)
    return new, repeated


_OPTIONS = {"name": "NAME", "family": "--family", "aliases": "--alias", "description": "--description"}


def method_from_options(name: str, family: str | None, aliases=(), description: str | None = None,
                        known: dict | None = None, where: str = "add-method") -> MethodEntry:
    """One MethodEntry from `filmkb add-method` options, checked against the known aliases; IngestError
    with one line per bad option (`add-method --alias 'PLD': already the name of method 'PLD' ...`)."""
    from .batch import raise_if

    cells = {"name": name, "family": family, "description": description, "aliases": "|".join(aliases)}
    entries, problems = method_entries([Record(where, 0, cells)], known)
    raise_if([f"{where} {_OPTIONS[p.column]} {clean_text(p.value)!r}: {p.reason}" for p in problems])
    return entries[0]


def method_note(entries: list[MethodEntry], note: str | None = None) -> str:
    """The provenance note of a batch that adds methods: each name, family and aliases, then the user's note."""
    parts = [f"{e.name} ({e.family}" + (f"; aliases {', '.join(e.aliases)}" if e.aliases else "") + ")"
             for e in entries]
    text = ("method " if len(entries) == 1 else "methods ") + ", ".join(parts)
    return f"{text}; note: {clean_text(note)}" if note and clean_text(note) else text


def with_methods(vocab: Vocabulary, entries: list[MethodEntry]) -> Vocabulary:
    """`vocab` with the names and aliases of `entries` added (films of the same batch may use them)."""
    added = {alias_key(n): e.name for e in entries for n in (e.name, *e.aliases) if alias_key(n)}
    return _replace(vocab, methods={**added, **vocab.methods})


def with_substrates(vocab: Vocabulary, entries: list[SubstrateEntry]) -> Vocabulary:
    """`vocab` with the names, formulas and aliases of `entries` added (films of the same batch may use them)."""
    added = {alias_key(n): e.name for e in entries for n in (e.name, e.formula, *e.aliases) if n and alias_key(n)}
    return _replace(vocab, substrates={**added, **vocab.substrates})


def substrate_note(entries: list[SubstrateEntry]) -> str:
    """The provenance note of a batch that adds substrates (as `filmkb add-substrate` writes it)."""
    return ("substrate " if len(entries) == 1 else "substrates ") + ", ".join(e.name for e in entries)


@dataclass
class PublicationEntry:
    key: str
    doi: str | None
    authors: str | None
    year: int | None
    title: str | None
    journal: str | None
    volume: str | None
    pages: str | None
    seed_ref: int | None
    bibtex: str | None = None


def publication_entries(records: list[Record]) -> tuple[list[PublicationEntry], list[Problem]]:
    """references.csv -> PublicationEntry (DOI normalised)."""
    entries, problems = [], []
    for r in records:
        c = _Cells(r)
        doi = c.apply("doi", normalise_doi)
        year = c.apply("year", _year)
        seed_ref = c.apply("seed_ref", lambda v: int(float(clean_text(v))))
        if not c.text("key"):
            c.problem("key", "required but empty")
        problems += c.problems
        if not c.problems:
            entries.append(PublicationEntry(c.text("key"), doi, c.text("authors"), year, c.text("title"),
                                            c.text("journal"), c.text("volume"), c.text("pages"), seed_ref))
    return entries, problems


@dataclass
class Curated:
    """The bundled data/ files, normalised: the catalogue entries and the seed paper's film records."""

    publications: list
    methods: list
    phases: list
    substrates: list
    film_records: list


def read_curated(data_dir) -> Curated:
    """Read and normalise the curated catalogue in `data_dir`; IngestError listing every problem."""
    from pathlib import Path

    from .batch import raise_if, read_one

    d = Path(data_dir)
    pubs, p1 = publication_entries(read_one(d / "references.csv"))
    methods, p2 = method_entries(read_one(d / "methods.csv"))
    phases, p3 = phase_entries(read_one(d / "film_phases.csv"))
    subs, p4 = substrate_entries(read_one(d / "substrates.csv"), read_one(d / "substrate_properties.csv"))
    raise_if(p1 + p2 + p3 + p4)
    return Curated(pubs, methods, phases, subs, read_one(d / "seed_films.csv"))


_SUBSTRATE_OPTIONS = {"poisson_ratio": "poisson", "youngs_modulus": "youngs", "bulk_modulus": "bulk",
                      "shear_modulus": "shear", "dielectric_constant": "dielectric", "aliases": "alias"}


def substrate_from_options(substrate: dict, values: dict, source: str, where: str = "add-substrate", line: int = 0):
    """One SubstrateEntry from `filmkb add-substrate` options (or a substrates-file row, at `where`:`line`):
    property -> cell (units allowed)."""
    from .batch import raise_if

    props = [Record(where, line, {"substrate": substrate["name"], "property": prop, "value": str(cell), "unit": "",
                                  "source": source, "note": "melting" if prop == "melting_point" else ""})
             for prop, cell in values.items() if cell not in (None, "")]
    entries, problems = substrate_entries([Record(where, line, substrate)], props)
    if where == "add-substrate":  # name the option, not a file line
        problems = [f"--{_SUBSTRATE_OPTIONS.get(p.column, p.column.replace('_', '-'))}: {str(p).split(': ', 2)[-1]}"
                    for p in problems]
    raise_if(problems)
    return entries[0]


# A substrates file (`filmkb ingest`): one row per substrate, the `filmkb add-substrate` options as columns and
# one column per property (PROPERTIES), each cell a value with its unit as given ('168 GPa', '1768 C').


def substrate_file_entries(records: list[Record]) -> tuple[list[SubstrateEntry], list]:
    """Substrates-file rows -> (SubstrateEntry per row, problems as `FILE:LINE: column: value: reason`)."""
    from .batch import IngestError

    entries, problems = [], []
    for r in records:
        cells = {k: ("" if v is None else str(v)) for k, v in r.cells.items()}
        options = {k: cells.get(k, "") for k in SUBSTRATE_COLUMNS[:8]}
        values = {p: cells.get(p) for p in PROPERTIES if cells.get(p, "").strip()}
        if values and not cells.get("source", "").strip():
            problems.append(Problem(r.file, r.line, "source", "", "every property value needs its source"))
            continue
        try:
            entries.append(substrate_from_options(options, values, cells.get("source", ""), r.file, r.line))
        except IngestError as exc:
            problems += exc.problems
    return entries, problems
