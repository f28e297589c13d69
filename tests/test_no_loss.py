"""No command destroys a knowledge base: outputs that resolve to a database, `init` over a file that is not
a filmkb database, paths that are not files, a database from a newer filmkb, and writes that fail.

Real DuckDB files, real FIFOs and symbolic links in the test's folder, real CLI calls. After each refused
command: exit 1, one output line naming the path, the database's bytes (and films) as before, no scratch
file left. A FIFO or /dev/zero that the code wrongly opened would hang or run out of memory, so those
cases run in a forked child with a time limit; a full disk is a real file-size limit (RLIMIT_FSIZE, with
SIGXFSZ ignored so writes fail with EFBIG) in a forked child (kbtools.run_in_child).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from kbtools import content, digest, run, run_in_child
from filmkb.ingest.datafiles import DATA_DIR

TEMPLATE = DATA_DIR / "templates" / "films.csv"
SCRATCH = re.compile(r"\.\d+\.(writing|building|backup)(\.wal)?$")
PAPER = "LLZO films were grown by PLD on MgO (100) at 700 C; the conductivity was 1.2e-6 S/cm at 25 C.\n"


def lines_of(result) -> list[str]:
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return [line for line in result.output.strip().splitlines() if line.strip()]


def refused(result, path) -> str:
    """The one error line of a refused command (exit 1) that names `path`."""
    lines = lines_of(result)
    assert result.exit_code == 1, result.output
    assert len(lines) == 1 and lines[0].startswith(f"Error: {path}: "), result.output
    return lines[0]


def scratch_left(folder) -> list[str]:
    return sorted(name for name in os.listdir(folder) if SCRATCH.search(name))


def films(path) -> list:
    return content(path)["films"]


@pytest.fixture(scope="module")
def user_db(built_db, tmp_path_factory):
    """A knowledge base holding one user batch (2 films beside the curated 28)."""
    path = str(tmp_path_factory.mktemp("user") / "user.duckdb")
    shutil.copy2(built_db, path)
    result = run(path, "ingest", str(TEMPLATE))
    assert result.exit_code == 0, result.output
    assert len(films(path)) == 30
    return path


@pytest.fixture
def kbfile(user_db, tmp_path):
    """A private copy of the user knowledge base: (path, films before, digest before)."""
    path = str(tmp_path / "kb.duckdb")
    shutil.copy2(user_db, path)
    return path, films(path), digest(path)


def unchanged(kbfile) -> None:
    path, before, bytes_before = kbfile
    assert digest(path) == bytes_before
    assert films(path) == before
    assert scratch_left(Path(path).parent) == []


# ------------------------------------------------------------------------------------------ 1. outputs

def output_cases(tmp_path, db):
    """name -> an output path that must never be written over."""
    other = tmp_path / "other.duckdb"
    shutil.copy2(db, other)
    (tmp_path / "sub").mkdir()
    os.symlink(db, tmp_path / "link.csv")
    return {"the database": db, "another spelling": str(tmp_path / "sub" / ".." / "kb.duckdb"),
            "a symbolic link to it": str(tmp_path / "link.csv"), "another DuckDB file": str(other),
            "a backup name": f"{db}.bak.7", "a scratch name": f"{db}.{os.getpid() + 1}.writing"}


CASES = ("the database", "another spelling", "a symbolic link to it", "another DuckDB file", "a backup name",
         "a scratch name")


@pytest.mark.parametrize("case", CASES)
def test_extract_out_never_writes_over_a_database_even_with_force(case, kbfile, tmp_path):
    db = kbfile[0]
    paper = tmp_path / "paper.txt"
    paper.write_text(PAPER)
    out = output_cases(tmp_path, db)[case]
    others = {p: digest(p) for p in (tmp_path / "other.duckdb",)}
    line = refused(run(db, "extract", str(paper), "--out", out, "--force"), out)
    assert "refusing to write over it" in line
    unchanged(kbfile)
    assert {p: digest(p) for p in others} == others
    assert not os.path.exists(f"{db}.bak.7")


def test_the_issue_repro_leaves_the_database_byte_identical(kbfile, tmp_path, monkeypatch):
    """`filmkb --db kb.duckdb extract paper.txt --out kb.duckdb --force`, as typed, in the database's folder."""
    monkeypatch.chdir(tmp_path)
    Path("paper.txt").write_text(PAPER)
    refused(run("kb.duckdb", "extract", "paper.txt", "--out", "kb.duckdb", "--force"), "kb.duckdb")
    unchanged(kbfile)


@pytest.mark.parametrize("case", ["the database", "a symbolic link to it", "another DuckDB file"])
@pytest.mark.parametrize("command", ["descriptors", "evaluate", "export", "export-inside", "reproduce",
                                     "train", "explain"])
def test_every_writer_refuses_a_database_as_output(command, case, kbfile, tmp_path):
    db = kbfile[0]
    out = output_cases(tmp_path, db)[case]
    other = digest(tmp_path / "other.duckdb")
    if command == "export-inside":  # a file export would write, inside the folder, is a link to the database
        folder = tmp_path / "dump"
        folder.mkdir()
        os.symlink(out, folder / "films.parquet")
        named, args = str(folder / "films.parquet"), ("export", str(folder))
    else:
        named = out
        args = {"descriptors": ("descriptors", "--out", out), "evaluate": ("evaluate", "--json", out),
                "export": ("export", out), "reproduce": ("reproduce", "--out", out, "--silent"),
                "train": ("train", "--models-dir", out, "--silent"), "explain": ("explain", "--out", out)}[command]
    refused(run(db, *args), named)
    unchanged(kbfile)
    assert digest(tmp_path / "other.duckdb") == other


# ------------------------------------------------------------------------------------------ 2. init

def test_init_refuses_a_text_file_then_force_keeps_every_backup(tmp_path):
    path = str(tmp_path / "notes.duckdb")
    Path(path).write_text("my notes, not a database\n")
    line = refused(run(path, "init"), path)
    assert "not a DuckDB database" in line and f"{path}.bak" in line and "init --force" in line
    assert Path(path).read_text() == "my notes, not a database\n" and not os.path.exists(f"{path}.bak")

    forced = run(path, "init", "--force")
    assert forced.exit_code == 0 and f"kept as {path}.bak)" in forced.output, forced.output
    assert Path(f"{path}.bak").read_text() == "my notes, not a database\n"
    assert len(films(path)) == 28

    Path(path).write_text("second notes\n")
    again = refused(run(path, "init"), path)
    assert f"{path}.bak.1" in again
    forced = run(path, "init", "--force")
    assert forced.exit_code == 0 and f"kept as {path}.bak.1)" in forced.output, forced.output
    assert Path(f"{path}.bak").read_text() == "my notes, not a database\n"
    assert Path(f"{path}.bak.1").read_text() == "second notes\n"
    assert scratch_left(tmp_path) == []


def test_init_refuses_another_programs_duckdb_file(tmp_path):
    path = str(tmp_path / "foreign.duckdb")
    con = duckdb.connect(path)
    con.execute("CREATE TABLE measurements (x DOUBLE)")
    con.execute("INSERT INTO measurements VALUES (1.5)")
    con.close()
    before = digest(path)
    line = refused(run(path, "init"), path)
    assert "a DuckDB database without filmkb's tables (1 table: measurements)" in line
    assert digest(path) == before and scratch_left(tmp_path) == []


def test_reproduce_never_rebuilds_over_a_file_that_is_not_a_knowledge_base(tmp_path):
    """`reproduce` builds a missing knowledge base (`refresh`), but a file that is not one is refused
    with or without user films: only `init --force` replaces it, keeping a backup."""
    from filmkb.errors import FilmkbError
    from filmkb.jobs.knowledge import refresh

    path = str(tmp_path / "kb.duckdb")
    Path(path).write_text("not a database\n")
    with pytest.raises(FilmkbError) as caught:
        refresh(path)
    assert str(caught.value).startswith(f"{path}: found a file that is not a DuckDB database")
    assert "\n" not in str(caught.value) and f"{path}.bak" in str(caught.value)
    assert Path(path).read_text() == "not a database\n"
    assert sorted(os.listdir(tmp_path)) == ["kb.duckdb", "kb.duckdb.lock"]


def test_plain_init_on_a_damaged_file_with_user_films_refuses(kbfile):
    path = kbfile[0]
    raw = Path(path).read_bytes()
    Path(path).write_bytes(raw[:int(len(raw) * 0.9)])
    damaged = digest(path)
    line = refused(run(path, "init"), path)
    assert "a damaged database" in line and "init --force" in line
    assert digest(path) == damaged and scratch_left(Path(path).parent) == []


def test_following_the_damage_advice_loses_nothing(kbfile):
    """The good PATH.bak survives `init --force`, which keeps the damaged file as PATH.bak.1; restoring
    PATH.bak gives back every film."""
    path, before, _ = kbfile
    shutil.copy2(path, f"{path}.bak")
    good_backup = digest(f"{path}.bak")
    raw = Path(path).read_bytes()
    Path(path).write_bytes(raw[:int(len(raw) * 0.9)])
    damaged = digest(path)

    advice = refused(run(path, "films"), path)
    assert f"{path}.bak" in advice and "filmkb init --force" in advice
    forced = run(path, "init", "--force")
    assert forced.exit_code == 0 and f"kept as {path}.bak.1)" in forced.output, forced.output
    assert digest(f"{path}.bak") == good_backup
    assert digest(f"{path}.bak.1") == damaged
    os.replace(f"{path}.bak", path)
    assert films(path) == before
    assert scratch_left(Path(path).parent) == []


def test_init_force_on_user_films_twice_keeps_both_backups(kbfile):
    path, before, _ = kbfile
    first = run(path, "init", "--force")
    assert first.exit_code == 0 and f"kept as {path}.bak)" in first.output, first.output
    run(path, "ingest", str(TEMPLATE))
    second = run(path, "init", "--force")
    assert second.exit_code == 0 and f"kept as {path}.bak.1)" in second.output, second.output
    assert films(f"{path}.bak") == before
    assert len(films(f"{path}.bak.1")) == 30


# ------------------------------------------------------------------------------------------ 3. not files

def cli_process(*args, timeout=120):
    """`filmkb ARGS` in a forked child: (exit code, non-empty output lines); fails on a hang or a traceback."""
    return run_in_child(*args, timeout=timeout)


@pytest.mark.parametrize("command", [("init",), ("init", "--force"), ("query", "SELECT 1"), ("films",)])
def test_a_fifo_as_db_is_refused_at_once(command, tmp_path):
    fifo = str(tmp_path / "pipe.duckdb")
    os.mkfifo(fifo)
    code, lines = cli_process("--db", fifo, *command)
    assert code == 1 and lines == [f"Error: {fifo}: the database is a named pipe (FIFO), not a regular file; "
                                   "nothing was read or written"], lines
    assert Path(fifo).is_fifo() and scratch_left(tmp_path) == []


def test_a_link_to_dev_zero_as_db_is_never_read(tmp_path):
    link = str(tmp_path / "zero.duckdb")
    os.symlink("/dev/zero", link)
    code, lines = cli_process("--db", link, "films")
    assert code == 1 and len(lines) == 1 and "a character device" in lines[0], lines


@pytest.mark.parametrize("target", ["/dev/null", "loop"])
@pytest.mark.parametrize("command", [("init",), ("init", "--force"), ("ingest", str(TEMPLATE))])
def test_a_device_or_a_link_loop_as_db_is_never_replaced(target, command, tmp_path):
    link = tmp_path / "kb.duckdb"
    if target == "loop":
        os.symlink(tmp_path / "other", link)
        os.symlink(link, tmp_path / "other")
    else:
        os.symlink(target, link)
    before = sorted(os.listdir(tmp_path))
    line = refused(run(str(link), *command), str(link))
    assert ("a symbolic link loop" if target == "loop" else "a character device") in line
    assert link.is_symlink() and sorted(os.listdir(tmp_path)) == before
    if target == "/dev/null":
        assert os.readlink(link) == "/dev/null" and Path("/dev/null").is_char_device()


def test_a_link_in_place_of_the_lock_file_never_truncates_its_target(kbfile, tmp_path):
    path = kbfile[0]
    victim = tmp_path / "victim.duckdb"
    shutil.copy2(path, victim)
    before = digest(victim)
    os.symlink(victim, f"{path}.lock")
    line = refused(run(path, "ingest", str(TEMPLATE)), path)
    assert "lock file" in line
    assert digest(victim) == before
    unchanged(kbfile)


@pytest.mark.parametrize("kind", ["fifo", "zero"])
@pytest.mark.parametrize("command", ["ingest", "ingest-bib", "extract"])
def test_an_input_that_is_not_a_file_is_refused_at_once(kind, command, kbfile, tmp_path):
    db = kbfile[0]
    name = str(tmp_path / {"ingest": "films.csv", "ingest-bib": "refs.bib", "extract": "paper.txt"}[command])
    os.mkfifo(name) if kind == "fifo" else os.symlink("/dev/zero", name)
    args = [command, name] + (["--out", str(tmp_path / "drafts.csv")] if command == "extract" else [])
    code, lines = cli_process("--db", db, *args)
    what = "a named pipe (FIFO)" if kind == "fifo" else "a character device"
    assert code == 1 and len(lines) == 1 and lines[0].startswith(f"Error: {name}: ") and what in lines[0], lines
    unchanged(kbfile)
    assert not os.path.exists(tmp_path / "drafts.csv")


# ------------------------------------------------------------------------------------------ 4. versions

@pytest.mark.parametrize("command", [("films",), ("query", "SELECT count(*) FROM films"), ("ingest", str(TEMPLATE)),
                                     ("retract", "2"), ("init",), ("init", "--force"), ("validate",)])
def test_a_database_from_a_newer_filmkb_is_neither_read_nor_written(command, kbfile):
    path = kbfile[0]
    con = duckdb.connect(path)
    con.execute("INSERT INTO schema_migrations (version, description, applied_at) VALUES (99, 'future', now())")
    con.close()
    stamped = kbfile[0], kbfile[1], digest(path)
    result = run(path, *command)
    assert lines_of(result) == [f"Error: {path}: made by a newer filmkb (schema 99); upgrade filmkb"], result.output
    assert result.exit_code == 1
    unchanged(stamped)
    assert not os.path.exists(f"{path}.bak")


# ------------------------------------------------------------------------------------------ 5. leftovers

@pytest.mark.parametrize("where", ["the copy", "the database engine"])
def test_a_write_that_runs_out_of_space_leaves_no_scratch_file(where, db_path):
    """An ingest of two new films. 'the copy': the limit is below the file's size, so the private copy
    fails; 'the database engine': the copy fits, and DuckDB's own write past it fails."""
    path = db_path
    kbfile = (path, films(path), digest(path))
    size = os.path.getsize(path)
    limit = size // 2 if where == "the copy" else size + 4096
    code, lines = run_in_child("--db", path, "ingest", str(TEMPLATE), file_size_limit=limit)
    assert code == 1 and len(lines) == 1 and lines[0].startswith(f"Error: {path}: "), lines
    assert "File too large" in lines[0] and "nothing was written" in lines[0]
    unchanged(kbfile)


def test_init_force_that_runs_out_of_space_leaves_the_file_and_no_scratch(kbfile):
    path = kbfile[0]
    code, lines = run_in_child("--db", path, "init", "--force", file_size_limit=3 << 20)
    assert code == 1 and len(lines) == 1 and "File too large" in lines[0], lines
    unchanged(kbfile)
    assert not [n for n in os.listdir(Path(path).parent) if ".bak" in n]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder (CI runs as root): "
                    "the file-size limit above is the real failure there")
def test_a_write_into_a_folder_made_read_only_leaves_no_scratch_file(db_path):
    path = db_path
    kbfile = (path, films(path), digest(path))
    Path(f"{path}.lock").touch()
    folder = Path(path).parent
    folder.chmod(0o555)
    try:
        line = refused(run(path, "ingest", str(TEMPLATE)), path)
    finally:
        folder.chmod(0o755)
    assert "nothing was written" in line
    unchanged(kbfile)
