"""Helpers the test files share: run the CLI on a database, and snapshot a database file."""

import hashlib
from pathlib import Path

import duckdb
from click.testing import CliRunner

from filmkb.cli import main


def run(db, *args, input=None, catch_exceptions=True):
    """`filmkb --db DB ARGS...` in this process; the click Result."""
    return CliRunner().invoke(main, ["--db", db, *args], input=input, catch_exceptions=catch_exceptions)


def content(path) -> dict:
    """Every row of every table, for 'nothing changed' comparisons."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [t for (t,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'").fetchall()]
        return {t: con.execute(f'SELECT * FROM "{t}" ORDER BY ALL').fetchall() for t in tables}
    finally:
        con.close()


def digest(path) -> str:
    """SHA-256 of the file's bytes, for 'byte-for-byte unchanged' comparisons."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def run_in_child(*args, timeout: float = 120, file_size_limit: int | None = None) -> tuple[int, list[str]]:
    """`filmkb ARGS...` in a forked copy of this process: (exit code, non-empty output lines).

    For commands that, if wrong, would hang (a FIFO opened for reading) or fill memory (/dev/zero read
    whole): the child is killed and the test fails after `timeout` seconds, and the test run goes on.
    The fork starts with this process's imports, so it costs milliseconds where a new interpreter pays
    the CLI's imports. `file_size_limit` (bytes) makes every larger file write fail with EFBIG, as on a
    full disk (RLIMIT_FSIZE, SIGXFSZ ignored), in the child only. An exception that escapes the command
    is returned as its traceback, which no test expects to see."""
    import os
    import resource
    import signal
    import threading
    import traceback
    import warnings

    read_end, write_end = os.pipe()
    with warnings.catch_warnings():  # JAX warns of fork in a threaded process; the child never calls JAX
        warnings.simplefilter("ignore", RuntimeWarning)
        pid = os.fork()
    if pid == 0:  # the child: run, write the output, leave without the parent's exit handlers
        code = 70
        try:
            os.close(read_end)
            if file_size_limit is not None:
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
                resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))
            result = CliRunner().invoke(main, list(args))
            text = result.output
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                text += "".join(traceback.format_exception(result.exception))
            code = result.exit_code
            with os.fdopen(write_end, "w", encoding="utf-8") as out:
                out.write(text)
        finally:
            os._exit(code)
    os.close(write_end)
    chunks: list[str] = []
    reader = threading.Thread(target=lambda: chunks.append(os.fdopen(read_end, encoding="utf-8").read()), daemon=True)
    reader.start()
    reader.join(timeout)
    if reader.is_alive():
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise AssertionError(f"filmkb {' '.join(args)} still running after {timeout} s")
    _, status = os.waitpid(pid, 0)
    text = chunks[0] if chunks else ""
    assert "Traceback" not in text, text
    return os.waitstatus_to_exitcode(status), [line for line in text.splitlines() if line.strip()]
