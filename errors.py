"""The one error of the project: a problem the user can fix, shown by the CLI as one line.

Every layer raises `FilmkbError` (or a subclass carrying detail, such as ingest's list of bad
cells); the CLI turns it into `Error: ...` and exit code 1.
"""


class FilmkbError(Exception):
    """A problem the user can fix (bad input, missing database, busy file); shown as one line."""
