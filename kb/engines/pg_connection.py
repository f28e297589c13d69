"""The psycopg 3 connection as kb/ uses it: DuckDB's few words (`execute(sql, params)` with `?`
placeholders, `.fetchall()` / `.df()` on the result, `fetch_df_chunk`), the placeholders translated in one
place (`translate`), and result columns typed as DuckDB gives them."""

from __future__ import annotations

import re
from contextlib import contextmanager

# Column types read as DuckDB's results give them: integers as int16/32/64 (the nullable Int16/32/64 when a
# NULL is there), double precision, real and numeric (returned as Decimal) as float64, booleans as bool.
_INTEGERS = {21: "int16", 23: "int32", 20: "int64"}
_FLOATS = {700, 701, 1700}
_BOOLEAN = 16
_IDLE = 0  # psycopg.pq.TransactionStatus.IDLE: no transaction open on the connection


def driver_url(url: str) -> str:
    """The URL as libpq reads it (SQLAlchemy's `postgresql+psycopg://` form accepted)."""
    return re.sub(r"^postgres(ql)?(\+psycopg)?://", "postgresql://", url, flags=re.I)


def translate(sql: str) -> str:
    """`?` placeholders (outside quotes) as psycopg's `%s`, and every literal `%` doubled."""
    out, quote = [], None
    for ch in sql:
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "?":
            out.append("%s")
            continue
        out.append("%%" if ch == "%" else ch)
    return "".join(out)


def _python(value):
    """A value psycopg can send: numpy scalars as Python ones, NaN/NaT/NA as NULL."""
    import pandas as pd

    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


class Result:
    """What `PgConnection.execute` returns: the rows, as DuckDB's result offers them."""

    def __init__(self, cursor):
        self.cursor = cursor

    def fetchall(self) -> list[tuple]:
        return self.cursor.fetchall() if self.cursor.description else []

    def fetchone(self):
        return self.cursor.fetchone() if self.cursor.description else None

    def fetchmany(self, size: int) -> list[tuple]:
        return self.cursor.fetchmany(size) if self.cursor.description else []

    def df(self):
        return frame_of(self.cursor, self.fetchall())


def frame_of(cursor, rows):
    """A DataFrame of `rows` with the cursor's column names (numeric columns as float64)."""
    import pandas as pd

    columns = [d.name for d in cursor.description] if cursor.description else []
    frame = pd.DataFrame.from_records(rows, columns=columns) if rows else pd.DataFrame({c: [] for c in columns})
    for i, d in enumerate(cursor.description or []):
        column = frame.iloc[:, i]
        if d.type_code in _FLOATS:
            frame.isetitem(i, pd.to_numeric(column, errors="coerce").astype("float64"))
        elif d.type_code in _INTEGERS:
            kind = _INTEGERS[d.type_code]
            frame.isetitem(i, column.astype(kind.capitalize() if column.isna().any() else kind))
        elif d.type_code == _BOOLEAN and not column.isna().any():
            frame.isetitem(i, column.astype("bool"))
    return frame


class PgConnection:
    """A psycopg connection that speaks the DuckDB connection's few words kb/ uses: `execute(sql, params)`
    with `?` placeholders, `.fetchall()` / `.df()` on the result, `fetch_df_chunk`, `close`.

    A read-only connection is sealed like DuckDB's: each statement runs alone (the extended protocol: no
    `...; DELETE ...` after it) in its own `BEGIN READ ONLY ... ROLLBACK`, so no statement can write, and
    one that changes a setting (`SET default_transaction_read_only = off`) is undone with its transaction."""

    def __init__(self, raw, read_only: bool):
        self.raw = raw
        self.read_only = read_only
        self._cursor = None

    def execute(self, sql: str, params=None) -> Result:
        if self.read_only and self.raw.info.transaction_status == _IDLE:
            with self.read_transaction():
                return self._execute(sql, params)
        return self._execute(sql, params)

    def _execute(self, sql: str, params) -> Result:
        cursor = self.raw.cursor()
        if params:
            cursor.execute(translate(sql), [_python(p) for p in params])
        else:
            cursor.execute(sql, prepare=True if self.read_only else None)
        self._cursor = cursor
        return Result(cursor)

    @contextmanager
    def read_transaction(self, timeout_ms: int | None = None):
        """The block's statements in one READ ONLY transaction, rolled back at its end (with
        `SET LOCAL statement_timeout` when `timeout_ms`)."""
        self.raw.execute("BEGIN READ ONLY")
        try:
            if timeout_ms:
                self.raw.execute(f"SET LOCAL statement_timeout = {int(timeout_ms)}")
            yield
        finally:
            if not self.raw.closed and self.raw.info.transaction_status != _IDLE:
                try:
                    self.raw.execute("ROLLBACK")
                except Exception:  # noqa: BLE001 - the connection is lost: the server ended the transaction
                    pass

    def executemany(self, sql: str, rows) -> None:
        self.raw.cursor().executemany(translate(sql), rows)

    def fetch_df_chunk(self, vectors: int = 1):
        cursor = self._cursor
        rows = cursor.fetchmany(vectors * 2048) if cursor is not None and cursor.description else []
        return frame_of(cursor, rows)

    def has_table(self, name: str) -> bool:
        return self.execute("SELECT to_regclass(?) IS NOT NULL", [name]).fetchall()[0][0]

    def close(self) -> None:
        self.raw.close()


def _array_type(series) -> str:
    """The PostgreSQL array type of a pandas column."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(series):
        return "boolean[]"
    if pd.api.types.is_integer_dtype(series):
        return "bigint[]"
    if pd.api.types.is_float_dtype(series):
        return "double precision[]"
    values = [v for v in series.tolist() if v is not None and not (isinstance(v, float) and v != v)]
    if values and all(isinstance(v, bool) for v in values):
        return "boolean[]"
    if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "bigint[]"
    if values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "double precision[]"
    return "text[]"
