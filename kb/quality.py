"""Run the great-expectations suites of schema/expectations.py and report failures row by row.

A failure reads `table: row id N: column: value: expectation`. great-expectations is imported
only here, on first use (it costs ~3 s), with its progress bars and logging silenced.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from ..schema.expectations import ID_COLUMNS, SOURCES, SUITES
from ..errors import FilmkbError


@dataclass(frozen=True)
class Failure:
    """One value that broke one expectation."""

    table: str
    row_id: object
    column: str
    value: object
    expectation: str

    def __str__(self) -> str:
        return f"{self.table}: row id {self.row_id}: {self.column}: {self.value!r}: {self.expectation}"


class ValidationError(FilmkbError):
    def __init__(self, failures: list[Failure]):
        self.failures = failures
        super().__init__("\n".join(str(f) for f in failures))


@lru_cache(maxsize=1)
def _context():
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context, context.data_sources.add_pandas("filmkb")


@lru_cache(maxsize=None)
def _suite_and_batch_definition(name: str, spec: tuple):
    import great_expectations as gx

    context, source = _context()
    suite = gx.ExpectationSuite(name=name)
    for cls, kwargs in spec:
        suite.add_expectation(getattr(gx.expectations, cls)(**dict(kwargs)))
    asset = source.add_dataframe_asset(name=name)
    return suite, asset.add_batch_definition_whole_dataframe(f"{name}_whole")


def _describe(config) -> str:
    kw = {k: v for k, v in config.kwargs.items() if k not in ("column", "batch_id")}
    args = ", ".join(f"{k}={v}" for k, v in kw.items())
    return f"{config.type}({args})"


def _freeze(spec: list) -> tuple:
    return tuple((cls, tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in kw.items())))
                 for cls, kw in spec)


def validate_frame(name: str, frame: pd.DataFrame, spec: list, id_column: str) -> list[Failure]:
    """Validate `frame` against `spec`; one Failure per unexpected value."""
    present = [(cls, kw) for cls, kw in spec if kw["column"] in frame.columns]
    if frame.empty or not present:
        return []
    suite, batch_definition = _suite_and_batch_definition(name, _freeze(present))
    frame = frame.astype(object).where(frame.notna(), None) if frame.isna().any().any() else frame
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(suite, result_format={"result_format": "COMPLETE",
                                                  "unexpected_index_column_names": [id_column]})
    failures = []
    for r in result.results:
        if r.success:
            continue
        column = r.expectation_config.kwargs["column"]
        for hit in r.result.get("unexpected_index_list") or []:
            failures.append(Failure(name, _plain(hit.get(id_column)), column, _plain(hit.get(column)),
                                    _describe(r.expectation_config)))
    return failures


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def validate_tables(kb, names: list[str] | None = None) -> list[Failure]:
    """Run the suite of each named table of an open knowledge base (default: all, plus the descriptor matrix)."""
    failures = []
    for name in names or list(SUITES):
        frame = kb.sql(f'SELECT * FROM "{SOURCES.get(name, name)}"')
        failures += validate_frame(name, frame, SUITES[name], ID_COLUMNS[name])
    return failures


def raise_on_failures(failures: list[Failure]) -> None:
    if failures:
        raise ValidationError(failures)
