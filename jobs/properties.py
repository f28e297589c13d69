"""Which substrate property set a job computes descriptors with (schema/properties.py): the paper's Table 2 by
default, or the literature-checked set. A run records the set in its config; predict, explain and suggest use
the set of the run they load."""

from __future__ import annotations

import json

from ..errors import FilmkbError
from ..schema.properties import CONFIG_KEY, DEFAULT_PROPERTIES, PROPERTY_SETS

__all__ = ["use", "of_run", "use_run", "CONFIG_KEY"]


def use(k, name: str | None = DEFAULT_PROPERTIES) -> str:
    """Set the open knowledge base `k` to compute descriptors with property set `name` (None: the paper's);
    returns the name. A set other than the paper's is read from data/ (ingest/property_sets.py)."""
    name = name or DEFAULT_PROPERTIES
    if name not in PROPERTY_SETS:
        raise FilmkbError(f"--properties {name}: unknown substrate property set (expected one of {', '.join(PROPERTY_SETS)})")
    if name == DEFAULT_PROPERTIES:
        k.use_properties(name)
    else:
        from ..ingest.property_sets import checked_entries

        k.use_properties(name, checked_entries())
    return name


def of_run(run: dict) -> str:
    """The property set a stored run used (runs made before sets existed used the paper's)."""
    config = run.get("config") if isinstance(run.get("config"), dict) else json.loads(run.get("config_json") or "{}")
    return (config or {}).get(CONFIG_KEY, DEFAULT_PROPERTIES)


def use_run(k, run: dict, asked: str | None = None) -> str:
    """Set `k` to the property set of `run`; when the caller `asked` for another set, a one-line error."""
    name = of_run(run)
    if asked is not None and asked != name:
        raise FilmkbError(f"--properties {asked}: run {run['id']} was computed with the '{name}' substrate properties; "
                          f"train a run with --properties {asked} or leave --properties out")
    return use(k, name)
