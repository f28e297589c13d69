"""Hostile entry files, as a user (or an attacker) might hand them to `filmkb ingest`: each either
ingests or fails with `Error: FILE...` naming what is wrong, exit 1, no traceback and the database
file byte-for-byte unchanged. The hypothesis part generates whole files (headers, encodings, sizes,
cells); the slow tier (FILMKB_SLOW=1, `-m slow`) runs many more examples."""

import os
import shutil
import string

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kbtools import digest
from filmkb.cli import main
from filmkb.ingest.datafiles import DATA_DIR
from filmkb.ingest.entries import TEMPLATE_COLUMNS

TEMPLATE = DATA_DIR / "templates" / "films.csv"
HEADER = ",".join(TEMPLATE_COLUMNS)
GOOD = "10.5555/hostile.1,,,,,Li7La3Zr2O12,PLD,700 °C,MgO (100),,c-LLZO,0.2 µm,0.12 mS/cm,,,,"




def ingest(db, *args):
    return CliRunner().invoke(main, ["--db", db, "ingest", *args])


def refused(db, path, *options) -> str:
    """Ingest `path` expecting a clean refusal; returns the one output line."""
    before = digest(db)
    result = ingest(db, *options, str(path))
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {path}"), result.output
    assert digest(db) == before
    return lines[0]


def test_misspelled_columns_are_named_with_the_closest_known_one(db_path, tmp_path):
    path = tmp_path / "typo.csv"
    path.write_text(TEMPLATE.read_text(encoding="utf-8").replace("thickness_nm", "thickness_mn", 1), encoding="utf-8")
    before = digest(db_path)
    result = ingest(db_path, str(path))
    assert result.exit_code == 1
    assert f"{path}:1: thickness_mn: unknown column; did you mean `thickness_nm`?" in result.output
    assert "Traceback" not in result.output and digest(db_path) == before


def test_allow_extra_columns_keeps_them_in_the_notes(db_path, tmp_path):
    path = tmp_path / "extra.csv"
    path.write_text(f"{HEADER},orientation,grain_size\n{GOOD},100,\n", encoding="utf-8")
    result = ingest(db_path, "--allow-extra-columns", str(path))
    assert result.exit_code == 0, result.output
    rows = CliRunner().invoke(main, ["--db", db_path, "query", "SELECT notes FROM films ORDER BY id DESC LIMIT 1",
                                     "--format", "csv"]).output
    assert "extra columns: orientation=100" in rows and "grain_size" not in rows


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16"])
def test_utf8_with_or_without_bom_and_utf16_with_bom_are_read(db_path, tmp_path, encoding):
    path = tmp_path / f"films-{encoding}.csv"
    path.write_bytes(TEMPLATE.read_text(encoding="utf-8").encode(encoding))
    result = ingest(db_path, "--dry-run", str(path))
    assert result.exit_code == 0 and "2 entries valid" in result.output, result.output


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def test_hostile_corpus(db_path, tmp_path):
    latin1 = _write(tmp_path / "latin1.csv", f"{HEADER}\n{GOOD}\n".encode("cp1252", errors="replace"))
    assert "latin1.csv:2: not UTF-8 text (byte 0xb0)" in refused(db_path, latin1)
    binary = _write(tmp_path / "random.csv", bytes(range(256)) * 8)
    assert "not UTF-8 text" in refused(db_path, binary)
    nul = _write(tmp_path / "nul.csv", b"doi,notes\nx,\x00\x01\n")
    assert "binary file" in refused(db_path, nul)
    folder = tmp_path / "x.csv"
    folder.mkdir()
    assert "is a directory" in refused(db_path, folder)
    huge = _write(tmp_path / "huge.csv", f"{HEADER}\n{GOOD.replace('PLD', 'P' * 200_000)}\n".encode())
    assert "longer than the 10,000 characters allowed (--max-cell-chars)" in refused(db_path, huge)
    many = _write(tmp_path / "many.csv", f"{HEADER}\n{GOOD}\n{GOOD.replace('.1', '.2')}\n".encode())
    assert "more than 1 entries (--max-rows)" in refused(db_path, many, "--max-rows", "1")
    dup = _write(tmp_path / "dup.csv", f"{HEADER},doi\n{GOOD},10.5555/other\n".encode())
    assert "column 'doi' appears twice" in refused(db_path, dup)
    unnamed = _write(tmp_path / "unnamed.csv", f"{HEADER},\n{GOOD},lost?\n".encode())
    assert "a value under a column without a name" in refused(db_path, unnamed)
    quote = _write(tmp_path / "quote.csv", f'{HEADER}\n{GOOD}"\n'.encode())
    assert ingest(db_path, "--dry-run", str(quote)).exit_code in (0, 1)


def test_yaml_bombs_and_nested_values_are_refused(db_path, tmp_path):
    laughs = "\n".join(['- doi: &a0 "lol"'] + [f"  k{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)])
    bomb = _write(tmp_path / "bomb.yaml", laughs.encode())
    assert bomb.stat().st_size < 1000
    assert "YAML anchors and aliases" in refused(db_path, bomb)
    nested = _write(tmp_path / "nested.yaml", b"- doi: 10.5555/x\n  notes: {a: 1}\n")
    assert "nested.yaml:2: notes: expected a single value, got a YAML dict" in refused(db_path, nested)
    tagged = _write(tmp_path / "tagged.yaml", b"- doi: !!python/object/apply:os.system ['true']\n")
    assert "tagged.yaml:1: YAML tag !!python/object/apply:os.system is not accepted" in refused(db_path, tagged)


def test_unreadable_file_is_one_line(db_path, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    secret = _write(tmp_path / "secret.csv", f"{HEADER}\n{GOOD}\n".encode())
    secret.chmod(0)
    assert "cannot read: Permission denied" in refused(db_path, secret)


# ---------------------------------------------------------------------------------------- fuzz

NAMES = st.one_of(st.sampled_from(TEMPLATE_COLUMNS), st.sampled_from(["thickness_mn", "orientation", "Doi", ""]),
                  st.text(string.ascii_letters + "_ ", max_size=8))
CELLS = st.one_of(st.text(max_size=20), st.sampled_from(["", "700 °C", "0.2 µm", "1e-5 S/cm", "MgO (100)", "PLD",
                                                         "c-LLZO", "Li7La3Zr2O12", "10.5555/fz.1", '"', "\r\n", "1e400"]))
ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1252", "latin-1", "utf-32"])


def _csv_bytes(header, rows, encoding) -> bytes:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding, errors="replace")


@st.composite
def csv_files(draw):
    header = draw(st.lists(NAMES, min_size=1, max_size=18))
    rows = draw(st.lists(st.lists(CELLS, max_size=len(header) + 2), max_size=4))
    return _csv_bytes(header, rows, draw(ENCODINGS))


@st.composite
def yaml_files(draw):
    import yaml

    entries = draw(st.lists(st.dictionaries(NAMES, st.one_of(CELLS, st.integers(), st.floats(), st.none(),
                                                              st.lists(CELLS, max_size=2)), max_size=8), max_size=3))
    text = yaml.safe_dump(entries, allow_unicode=True)
    if draw(st.booleans()):
        text = draw(st.sampled_from(["&a ", "*a ", "!!binary ", ": ", "- ", "{", "\t"])) + text
    return text.encode(draw(ENCODINGS), errors="replace")


@pytest.fixture(scope="module")
def fuzz_db(built_db, tmp_path_factory):
    return str(tmp_path_factory.mktemp("fuzz") / "seed.duckdb"), built_db


def _either_ingests_or_refuses_cleanly(fuzz_db, data: bytes, suffix: str):
    db, seed = fuzz_db
    shutil.copy2(seed, db)
    path = os.path.join(os.path.dirname(db), f"entries{suffix}")
    with open(path, "wb") as handle:
        handle.write(data)
    before = digest(db)
    result = ingest(db, path)
    assert result.exception is None or isinstance(result.exception, SystemExit), (result.exception, data[:200])
    assert result.exit_code in (0, 1) and "Traceback" not in result.output
    if result.exit_code == 1:
        assert result.output.startswith(f"Error: {path}") or result.output.startswith(f"Error: {db}"), result.output
        assert digest(db) == before


EXAMPLES = 10  # the default tier's quick pass; the slow tier's sweeps below generate many more
SWEEP = 200


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=csv_files())
def test_generated_csv_files_ingest_or_fail_cleanly(fuzz_db, data):
    _either_ingests_or_refuses_cleanly(fuzz_db, data, ".csv")


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=yaml_files())
def test_generated_yaml_files_ingest_or_fail_cleanly(fuzz_db, data):
    _either_ingests_or_refuses_cleanly(fuzz_db, data, ".yaml")


@pytest.mark.slow
@settings(max_examples=SWEEP, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=csv_files())
def test_many_generated_csv_files_ingest_or_fail_cleanly(fuzz_db, data):
    _either_ingests_or_refuses_cleanly(fuzz_db, data, ".csv")


@pytest.mark.slow
@settings(max_examples=SWEEP, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=yaml_files())
def test_many_generated_yaml_files_ingest_or_fail_cleanly(fuzz_db, data):
    _either_ingests_or_refuses_cleanly(fuzz_db, data, ".yaml")


def test_a_database_where_no_lock_file_can_be_made_is_one_line(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    db = str(blocker / "kb.duckdb")
    for args in (("init",), ("ingest", str(TEMPLATE)), ("retract", "1")):
        result = ingest(db, *args[1:]) if args[0] == "ingest" else CliRunner().invoke(main, ["--db", db, *args])
        assert result.exit_code == 1, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"Error: {db}"), result.output
