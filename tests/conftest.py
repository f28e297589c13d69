"""Shared fixtures: one real knowledge base built once per session from the curated data,
and per-test copies for tests that write."""

import os
import shutil

import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def built_db(tmp_path_factory):
    """Path of a DuckDB file built by `filmkb.jobs.init` from data/ (read it, do not write it)."""
    from filmkb.jobs import init

    path = str(tmp_path_factory.mktemp("kb") / "seed.duckdb")
    status, report = init(path)
    assert status == "built" and report.counts["films"] == 28
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


def pytest_collection_modifyitems(config, items):
    """Tests marked `slow` run only when FILMKB_SLOW=1."""
    if os.environ.get("FILMKB_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: set FILMKB_SLOW=1 to run")
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)
