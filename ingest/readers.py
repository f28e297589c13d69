"""Read literature entries from CSV or YAML into (line number, {column: cell}) records.

Line numbers are those a text editor shows, so an error can say exactly where to look.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Record:
    """One entry as written: its file, the line it starts on, and its raw cells."""

    file: str
    line: int
    cells: dict


class ReadError(ValueError):
    """A file that cannot be read as entries at all (wrong format, missing header)."""


def read_csv(path: Path) -> list[Record]:
    """CSV with a header row; the line of each record is where it starts (quoted newlines allowed)."""
    records = []
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames:
            raise ReadError(f"{path}:1: empty file or no header row")
        start = reader.line_num + 1
        for row in reader:
            if None in row:
                raise ReadError(f"{path}:{start}: row has more cells than the header has columns")
            if any((v or "").strip() for v in row.values()):
                records.append(Record(str(path), start, {k.strip(): v for k, v in row.items()}))
            start = reader.line_num + 1
    return records


def read_yaml(path: Path) -> list[Record]:
    """A YAML list of mappings with the CSV template's keys; line = where each mapping starts."""
    import yaml

    text = Path(path).read_text(encoding="utf-8")
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ReadError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    if data is None:
        return []
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise ReadError(f"{path}:1: expected a list of mappings (one per film)")
    lines = [item.start_mark.line + 1 for item in node.value]
    return [Record(str(path), ln, {str(k): v for k, v in d.items()}) for ln, d in zip(lines, data)]


def read_records(path: str | Path) -> list[Record]:
    """Dispatch on the file extension (.csv, .yaml/.yml)."""
    path = Path(path)
    if not path.exists():
        raise ReadError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_csv(path)
    if suffix in (".yaml", ".yml"):
        return read_yaml(path)
    raise ReadError(f"{path}: unsupported file type '{suffix}' (use .csv, .yaml or .yml)")
