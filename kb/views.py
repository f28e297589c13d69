"""Where the SQL views live (schema/views/*.sql, one view a file, portable SQL): read by the engines that
apply them and by the schema history, which leaves them out of its comparison."""

from __future__ import annotations

from pathlib import Path

VIEWS_DIR = Path(__file__).resolve().parent.parent / "schema" / "views"


def view_files() -> list[Path]:
    """The view definitions, applied in file-name order (010_, 020_, ...)."""
    return sorted(VIEWS_DIR.glob("*.sql"))
