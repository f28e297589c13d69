"""The SQL views (portable SQL, one view each): the shipped files schema/views/*.sql in file-name order, then the
views each descriptor set carries in its own module (DescriptorSet.views), set by set in registry order. Read by
the engines that apply them, by the statements that inline them (kb.db.view_query) and by the schema history,
which leaves them out of its comparison."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

VIEWS_DIR = Path(__file__).resolve().parent.parent / "schema" / "views"
_NAME = re.compile(r"CREATE OR REPLACE VIEW (\w+) AS", re.I)


@dataclass(frozen=True)
class View:
    """One view: its name, the statement creating it, where it is written (a path in the package) and the
    comment that says what its columns are (`  name  what  [unit]` lines, as docs/hooks read them)."""

    name: str
    statement: str
    source: str
    header: str


def view_files() -> list[Path]:
    """The shipped view definitions, applied in file-name order (010_, 020_, ...) before the sets' own."""
    return sorted(VIEWS_DIR.glob("*.sql"))


@lru_cache(maxsize=None)
def _all() -> tuple[View, ...]:
    from ..schema.descriptors import sets

    found = [_from_file(p) for p in view_files()]
    for dset in sets().values():
        for name, select in dset.views.items():
            found.append(View(name, f"CREATE OR REPLACE VIEW {name} AS\n{select.strip().rstrip(';')};", dset.source,
                              _header(dset)))
    names = [v.name for v in found]
    for dset in sets().values():
        for name in (dset.view, dset.all_view, *dset.chain, *dset.views):
            if names.count(name) != 1:
                raise RuntimeError(f"{dset.source}: view {name} is " + ("defined twice (schema/views and a set's "
                                   "views are one namespace)" if names.count(name) else
                                   "neither in schema/views nor in the set's views"))
    return tuple(found)


def views() -> list[View]:
    """Every view in the order it is created: the shipped files, then each registered set's own."""
    return list(_all())


def view_names() -> list[str]:
    """The names of every view filmkb creates, in that order."""
    return [v.name for v in _all()]


def _from_file(path: Path) -> View:
    text = path.read_text(encoding="utf-8")
    header = "\n".join(line[2:].removeprefix(" ") for line in text.splitlines() if line.startswith("--"))
    return View(_NAME.search(text).group(1), text, f"schema/views/{path.name}", header)


def _header(dset) -> str:
    """What a set's view holds, from its registry entry: its description and each column's source and unit."""
    return "\n".join([f"Descriptor set {dset.name}: {dset.description}. Columns, sources and units:",
                      *(f"  {d.name}  {d.source}  [{d.unit}]" for d in dset.descriptors)])
