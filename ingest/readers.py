"""Read literature entries from CSV or YAML into (line number, {column: cell}) records.

Line numbers are those a text editor shows, so an error can say exactly where to look. Whatever a
file holds, reading it ends in records or in one `ReadError` line naming the file (and line): text
that is not UTF-8 (or UTF-16 with its byte-order mark), binary files, directories, YAML anchors
(the "billion laughs" bomb), YAML tags other than the standard scalar ones (`!!binary`, `!!python/...`),
nested YAML values (an entry file's nesting depth is 2), duplicate or unnamed CSV columns, and files or
cells beyond the `Limits`. Reading is linear in the file's size.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from pathlib import Path

from ..schema.cells import unneutralise


@dataclass(frozen=True)
class Record:
    """One entry as written: its file, the line it starts on, and its raw cells."""

    file: str
    line: int
    cells: dict


class ReadError(ValueError):
    """A file that cannot be read as entries at all (wrong format, missing header, over a limit)."""


@dataclass(frozen=True)
class Limits:
    """How much one file may hold (`filmkb ingest --max-rows / --max-cell-chars` raise them)."""

    max_rows: int = 100_000
    max_cell_chars: int = 10_000
    max_file_bytes: int = 256 * 1024 * 1024


DEFAULT_LIMITS = Limits()
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def read_text(path: Path, limits: Limits = DEFAULT_LIMITS) -> str:
    """The file's text: UTF-8 (with or without BOM) or UTF-16/32 with a BOM; anything else is a ReadError
    saying where the first undecodable byte is."""
    try:
        if path.is_dir():
            raise ReadError(f"{path}: is a directory, not a file")
        size = path.stat().st_size
        if size > limits.max_file_bytes:
            raise ReadError(f"{path}: {size / 2**20:.0f} MiB is more than the {limits.max_file_bytes / 2**20:.0f} MiB "
                            "an entry file may hold; split it")
        data = path.read_bytes()
    except OSError as exc:
        raise ReadError(f"{path}: cannot read: {exc.strerror or exc}") from None
    encoding = next((enc for bom, enc in _BOMS if data.startswith(bom)), "utf-8")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ReadError(f"{path}:{line}: not {encoding.upper().replace('-SIG', '')} text (byte 0x{data[exc.start]:02x}); "
                        "save the file as UTF-8 (in Excel: 'CSV UTF-8')") from None
    if "\x00" in text:
        raise ReadError(f"{path}:{text.count(chr(10), 0, text.index(chr(0))) + 1}: a NUL character: "
                        "this looks like a binary file, not CSV or YAML text")
    return text


def _check_cell(path, line: int, column, value, limits: Limits) -> None:
    if isinstance(value, str) and len(value) > limits.max_cell_chars:
        raise ReadError(f"{path}:{line}: {column}: a cell of {len(value):,} characters is longer than the "
                        f"{limits.max_cell_chars:,} allowed (--max-cell-chars)")


def _check_rows(path, n: int, limits: Limits) -> None:
    if n > limits.max_rows:
        raise ReadError(f"{path}: more than {limits.max_rows:,} entries (--max-rows); split the file or raise the limit")


def read_csv(path: Path, limits: Limits = DEFAULT_LIMITS) -> list[Record]:
    """CSV with a header row; the line of each record is where it starts (quoted newlines allowed)."""
    reader = csv.reader(io.StringIO(read_text(path, limits), newline=""))
    previous = csv.field_size_limit(limits.max_cell_chars + 1)
    try:
        return _csv_records(path, reader, limits)
    except csv.Error as exc:
        raise ReadError(f"{path}:{reader.line_num}: not valid CSV: {_csv_reason(exc, limits)}") from None
    finally:
        csv.field_size_limit(previous)


def _csv_reason(exc: csv.Error, limits: Limits) -> str:
    if "field larger than field limit" in str(exc):
        return f"a cell is longer than the {limits.max_cell_chars:,} characters allowed (--max-cell-chars)"
    return str(exc)


def _csv_records(path: Path, reader, limits: Limits) -> list[Record]:
    header = next(reader, None)
    if not header or not any(h.strip() for h in header):
        raise ReadError(f"{path}:1: empty file or no header row")
    names = [h.strip() for h in header]
    seen = set()
    for name in names:
        if name and name in seen:
            raise ReadError(f"{path}:1: column '{name}' appears twice in the header")
        seen.add(name)
    records, start = [], reader.line_num + 1
    for row in reader:
        if len(row) > len(names):
            raise ReadError(f"{path}:{start}: row has more cells ({len(row)}) than the header has columns ({len(names)})")
        cells = {name: unneutralise(value) for name, value in zip(names, row)}
        for name, value in cells.items():
            _check_cell(path, start, name or "(unnamed column)", value, limits)
        if cells.get("", "").strip():
            raise ReadError(f"{path}:{start}: a value under a column without a name in the header")
        cells.pop("", None)
        if any(v.strip() for v in cells.values()):
            records.append(Record(str(path), start, cells))
            _check_rows(path, len(records), limits)
        start = reader.line_num + 1
    return records


_YAML = "tag:yaml.org,2002:"
SCALAR_TAGS = tuple(_YAML + t for t in ("str", "int", "float", "bool", "null", "timestamp"))
_COLLECTION_TAGS = (_YAML + "seq", _YAML + "map")


def read_yaml(path: Path, limits: Limits = DEFAULT_LIMITS) -> list[Record]:
    """A YAML list of mappings with the CSV template's keys; line = where each mapping starts.

    Built in one pass over libyaml's events, never as a node tree (composing 6 MB of YAML took half a
    minute, most of it Python's garbage collector), and refusing at the first offending event: anchors
    and aliases (no expansion bombs), tags other than the standard scalar ones (no `!!binary`,
    `!!python/...`), and anything nested below the list of mappings (so nesting depth is at most 2).
    Values are kept as the text written, as a CSV cell would be, so a 5,000-digit number is a cell to
    check, not an integer to build. Work is linear in the file's size."""
    import yaml

    text = read_text(path, limits)
    try:
        return _YamlEntries(path, limits).read(yaml.parse(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
    except yaml.YAMLError as exc:
        raise ReadError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from None


class _YamlEntries:
    """The event-driven reader behind read_yaml: stream > document > list > mapping > scalar values."""

    def __init__(self, path: Path, limits: Limits):
        import yaml

        self.path, self.limits, self.yaml = path, limits, yaml
        self.resolver = yaml.resolver.Resolver()

    def read(self, events) -> list[Record]:
        y, records, documents = self.yaml, [], 0
        events = iter(events)
        for event in events:
            self._check(event)
            if isinstance(event, y.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise ReadError(f"{self.path}:{event.start_mark.line + 1}: a second YAML document (---); "
                                    "put every entry in one list")
            elif isinstance(event, y.SequenceStartEvent) and not records and documents == 1:
                records = self._entries(events)
            elif isinstance(event, y.MappingStartEvent) or (isinstance(event, y.SequenceStartEvent)) or (
                    isinstance(event, y.ScalarEvent) and self._value(event) is not None):
                raise ReadError(f"{self.path}:1: expected a list of mappings (one per film)")
        return records

    def _entries(self, events) -> list[Record]:
        y, records = self.yaml, []
        for event in events:
            self._check(event)
            if isinstance(event, y.SequenceEndEvent):
                return records
            if not isinstance(event, y.MappingStartEvent):
                raise ReadError(f"{self.path}:1: expected a list of mappings (one per film)")
            records.append(Record(str(self.path), event.start_mark.line + 1, self._mapping(events)))
            _check_rows(self.path, len(records), self.limits)
        return records

    def _mapping(self, events) -> dict:
        """One entry's {key: value}: scalar keys and values only, each key once."""
        y, cells, key = self.yaml, {}, None
        for event in events:
            self._check(event)
            line = event.start_mark.line + 1
            if isinstance(event, y.MappingEndEvent):
                return cells
            if isinstance(event, y.CollectionStartEvent):
                kind = "list" if isinstance(event, y.SequenceStartEvent) else "dict"
                where = f"{key}: expected a single value" if key is not None else "a key must be a plain name"
                raise ReadError(f"{self.path}:{line}: {where}, got a YAML {kind} (an entry file is a list of "
                                "mappings of single values: nesting depth 2 at most)")
            if key is None:
                key = event.value
                if key in cells:
                    raise ReadError(f"{self.path}:{line}: {key}: appears twice in one entry")
                continue
            value = self._value(event)
            _check_cell(self.path, line, key, value if isinstance(value, str) else str(value), self.limits)
            cells[key], key = value, None
        return cells

    def _value(self, event):
        """None for null, True/False for booleans, else the text as written (numbers and dates are parsed
        later, exactly as CSV cells are)."""
        y = self.yaml
        tag = event.tag or (self.resolver.resolve(y.ScalarNode, event.value, event.implicit)
                            if event.implicit[0] else _YAML + "str")
        if tag == _YAML + "null":
            return None
        if tag == _YAML + "bool":
            return y.constructor.SafeConstructor.bool_values.get(event.value.lower(), event.value)
        return event.value

    def _check(self, event) -> None:
        """Refuse anchors/aliases and non-standard tags wherever they appear."""
        y, line = self.yaml, event.start_mark.line + 1
        if isinstance(event, y.AliasEvent) or getattr(event, "anchor", None):
            raise ReadError(f"{self.path}:{line}: YAML anchors and aliases (&name, *name) are not "
                            "accepted in entry files; write each value out")
        tag = getattr(event, "tag", None)
        if tag is not None and tag not in SCALAR_TAGS + _COLLECTION_TAGS:
            shown = "!!" + tag[len(_YAML):] if tag.startswith(_YAML) else tag
            raise ReadError(f"{self.path}:{line}: YAML tag {shown} is not accepted in entry files (only plain "
                            "text, numbers, true/false, null and dates); write the value without the tag")


def read_records(path: str | Path, limits: Limits = DEFAULT_LIMITS) -> list[Record]:
    """Dispatch on the file extension (.csv, .yaml/.yml)."""
    path = Path(path)
    if not path.exists():
        raise ReadError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_csv(path, limits)
    if suffix in (".yaml", ".yml"):
        return read_yaml(path, limits)
    raise ReadError(f"{path}: unsupported file type '{suffix}' (use .csv, .yaml or .yml)")
