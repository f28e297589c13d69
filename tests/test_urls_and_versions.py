"""A `--db` URL is told from a path and shown without its password wherever it is printed; the version a run records."""

from filmkb.kb.urls import is_url, shown, without_secrets


def test_urls_are_told_from_paths():
    assert is_url("postgresql://u@h/db") and is_url("POSTGRES://h/db") and is_url("postgresql+psycopg://h/db")
    assert not is_url("kb.duckdb") and not is_url(None) and not is_url("mysql://h/db")


def test_a_password_is_never_shown():
    assert shown("kb/postgresql.duckdb") == "kb/postgresql.duckdb"
    assert shown("postgresql://ann@host:5433/kb") == "postgresql://ann@host:5433/kb"  # nothing to hide
    assert shown("postgresql://ann:s3cret@host:5433/kb?x=1") == "postgresql://ann:***@host:5433/kb?x=1"
    assert shown("postgres://ann:s3cret@[::1]/kb") == "postgres://ann:***@[::1]/kb"
    assert shown("postgresql://ann:s3cret@host:99999/kb") == "postgresql://ann:***@host/kb"  # a port out of range
    assert shown("postgresql://ann:s3cret@[::1/kb") == "postgresql://***"  # not parseable: all hidden


def test_error_text_is_cleaned_of_the_url_and_its_password():
    url = "postgresql://ann:s3cret@host/kb"
    text = f"could not connect to {url}: password s3cret refused"
    assert without_secrets(text, url) == "could not connect to postgresql://ann:***@host/kb: password *** refused"
    assert without_secrets(text, "kb.duckdb") == text
    assert without_secrets("bad [::1", "postgresql://ann:s3cret@[::1/kb") == "bad [::1"


def test_a_run_records_the_package_version_where_git_cannot_describe_the_checkout(monkeypatch):
    from importlib.metadata import version

    from filmkb.kb import code_version, new_run_id

    described = code_version()
    assert described and described != "unknown"
    monkeypatch.setenv("PATH", "")  # no git to run
    assert code_version() == f"filmkb {version('filmkb')}"
    first, second = new_run_id("train"), new_run_id("train")
    assert first.startswith("train-") and first != second and len(first) == len("train-20260101T000000-") + 8
