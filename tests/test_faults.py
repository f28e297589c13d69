"""Fault tests for "nothing lost, nothing silently dropped: every write locked".

Real `filmkb` processes on real DuckDB files, no mocks: writers racing for one file, writers killed
with SIGKILL part-way through, and one database spelled several ways (relative, absolute, through a
symbolic link to the file or to its directory); also threads of one process writing through the
library. Invariants checked throughout:

* a write is all or nothing: after any crash the file is byte-identical to the old state or holds
  the whole new state, and `filmkb validate` passes on it;
* a writer that did not get the lock says so in one line ('database is busy') and exits 1;
  one that reported success is in the final database (or, after `init --force`, in PATH.bak);
* the writer lock is released by the OS when its holder dies, and is keyed on the real path;
* no `*.writing` / `*.building` / `*.backup` scratch file outlives the next successful write, and
  PATH.bak is written whole or not at all.

Each CLI process costs a few seconds of imports and a full `init` about half a minute, so the
default run keeps to one real SIGKILL of a writer process and does the rest in this process (threads
holding the lock, every spelling of the path); FILMKB_SLOW=1 adds the races of real processes, the
other kill points and sweeps over kill times and overlaps (`@pytest.mark.slow`).
"""

from __future__ import annotations

import fcntl
import glob
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest
from click.testing import CliRunner

from kbtools import digest
from filmkb import kb
from filmkb.cli import main
from filmkb.ingest.datafiles import DATA_DIR

FILMKB = str(Path(sys.executable).with_name("filmkb")) if Path(sys.executable).with_name("filmkb").exists() \
    else shutil.which("filmkb")
HEADER = (DATA_DIR / "templates" / "films.csv").read_text(encoding="utf-8").splitlines()[0]
SEED_FILMS = 28
BUSY = "database is busy"
KILL_FRACTIONS = (0.2, 0.5, 0.8)

ENV = {k: v for k, v in os.environ.items() if k != "FILMKB_DB"}
ENV.update(KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", MPLBACKEND="Agg")


# ------------------------------------------------------------------------------------ helpers


def row(tag: str, i: int) -> str:
    """One valid film row, a new condition (own DOI, own deposition temperature) for each (tag, i)."""
    return (f"10.5555/fault.{tag}.{i},,,,,Li7La3Zr2O12,PLD,{500 + i} °C,MgO (100),,c-LLZO,0.2 µm,"
            f"0.12 mS/cm,,,")


def dois(tag: str, n: int) -> set[str]:
    return {f"10.5555/fault.{tag}.{i}" for i in range(n)}


def films_csv(directory, tag: str, n: int) -> str:
    path = Path(directory) / f"{tag}.csv"
    path.write_text("\n".join([HEADER, *(row(tag, i) for i in range(n))]) + "\n", encoding="utf-8")
    return str(path)


def cli(db, *args):
    """`filmkb --db DB ARGS` in this process (for preparing and validating, not for the faults)."""
    return CliRunner().invoke(main, ["--db", str(db), *args])


def validate(db) -> None:
    result = cli(db, "validate")
    assert result.exit_code == 0 and "all expectations met" in result.output, result.output




def state(path) -> dict:
    """What a write can change: film count, the batches (kind, films, sources) and the films' DOIs."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        films = con.execute("SELECT count(*) FROM films").fetchone()[0]
        batches = con.execute("""SELECT b.id, b.kind, count(f.id), b.sources FROM ingest_batches b
                                 LEFT JOIN films f ON f.batch_id = b.id GROUP BY ALL ORDER BY b.id""").fetchall()
        doi_list = [d for (d,) in con.execute("""SELECT p.doi FROM films f JOIN publications p
                                                 ON p.id = f.reference_id WHERE p.doi IS NOT NULL""").fetchall()]
        created = dict(con.execute("SELECT id, created_at FROM ingest_batches").fetchall())
        tables = {t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    finally:
        con.close()
    return {"films": films, "batches": batches, "dois": doi_list, "created": created, "tables": tables}


def fault_dois(s: dict) -> list[str]:
    """The DOIs of the films these tests added (the seed films have DOIs too)."""
    return [d for d in s["dois"] if d.startswith("10.5555/fault.")]


def comparable(s: dict) -> tuple:
    return s["films"], sorted(s["dois"]), [b[1:] for b in s["batches"]]


def scratch(db, pid: int | None = None) -> list[str]:
    """Scratch files of any process (or of process `pid`) writing the database `db` names."""
    real = glob.escape(os.path.realpath(db))
    who = "*" if pid is None else str(pid)
    return sorted(f for kind in ("writing", "building", "backup") for f in glob.glob(f"{real}.{who}.{kind}*"))


def lock_is_free(db) -> bool:
    """Whether the writer lock of `db` can be taken right now (a bare flock on REALPATH.lock, so that
    checking does not run filmkb's own housekeeping)."""
    lock = f"{os.path.realpath(db)}.lock"
    if not os.path.exists(lock):
        return True
    with open(lock, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(handle, fcntl.LOCK_UN)
        return True


def wait_for(condition, timeout: float, interval: float = 0.005) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())


def one_line_error(result, needle: str = "") -> str:
    """The single `Error: ...` line a failed command printed (and no traceback)."""
    rc, out, err = result
    lines = [ln for ln in (out + err).splitlines() if ln.strip()]
    assert rc == 1 and len(lines) == 1 and lines[0].startswith("Error: "), result
    assert needle in lines[0], result
    return lines[0]


@pytest.fixture(scope="module")
def procs():
    """Start `filmkb` processes; any still running when the module ends are killed (by their id)."""
    started = []

    def start(db, *args, cwd=None):
        p = subprocess.Popen([FILMKB, "--db", str(db), *args], cwd=cwd, env=ENV, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        started.append(p)
        return p

    yield start
    for p in started:
        if p.poll() is None:
            p.kill()
            p.wait()


def collect(p, timeout: float = 400) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of a finished process."""
    out, err = p.communicate(timeout=timeout)
    return p.returncode, out, err


def finish(p, timeout: float = 400) -> tuple[int, str, str]:
    """collect(), and no traceback."""
    result = collect(p, timeout)
    assert "Traceback" not in result[1] + result[2], result
    return result


def kill(p) -> None:
    """SIGKILL the process and reap it (a zombie would still count as alive)."""
    if p.poll() is None:
        os.kill(p.pid, signal.SIGKILL)
    p.communicate()


def kill_at(p, db, point, timeout: float = 300) -> str:
    """Kill `p` at `point`: ('appear', delay) = `delay` s after its scratch file shows up,
    'vanish' = as soon as the scratch file has gone again, 'bak' = as soon as DB.bak appears,
    'backup' = as soon as the copy that becomes DB.bak starts,
    ('time', seconds) = that long after start.
    Returns what happened: 'killed mid-write' (its scratch file existed), 'killed' (before or after
    writing) or 'exited' (it finished first)."""
    t0 = time.monotonic()
    if point == "vanish":
        wait_for(lambda: scratch(db, p.pid) or p.poll() is not None, timeout)
        wait_for(lambda: not scratch(db, p.pid) or p.poll() is not None, timeout, interval=0.001)
    elif point == "bak":
        wait_for(lambda: os.path.exists(f"{db}.bak") or p.poll() is not None, timeout, interval=0.0005)
    elif point == "backup":
        backup = f"{os.path.realpath(db)}.{p.pid}.backup"
        wait_for(lambda: os.path.exists(backup) or os.path.exists(f"{db}.bak") or p.poll() is not None,
                 timeout, interval=0.0005)
    elif point[0] == "appear":
        wait_for(lambda: scratch(db, p.pid) or p.poll() is not None, timeout, interval=0.001)
        time.sleep(point[1])
    else:
        wait_for(lambda: p.poll() is not None, max(0.0, point[1] - (time.monotonic() - t0)))
    exited, writing = p.poll() is not None, bool(scratch(db, p.pid))
    kill(p)
    return "exited" if exited else "killed mid-write" if writing else "killed"


def after_kill(db, old_digest: str, new_state: dict) -> str:
    """The database is the old bytes or the whole new state, validates, and its lock is free."""
    assert lock_is_free(db), "the lock of a killed writer was not released"
    if digest(db) == old_digest:
        return "old"
    now = state(db)
    assert comparable(now) == comparable(new_state), "a killed writer left a half-written database"
    validate(db)
    return "new"


def expected_after_ingest(old: dict, csv: str, tag: str, n: int) -> dict:
    batches = [*old["batches"], (None, "user", n, csv)]
    return {"films": old["films"] + n, "dois": old["dois"] + sorted(dois(tag, n)), "batches": batches}


def expected_after_retract(old: dict, batch: int, tag: str) -> dict:
    gone = [d for d in old["dois"] if not d.startswith(f"10.5555/fault.{tag}.")]
    batches = [(b, "retracted", 0, s) if b == batch else (b, k, n, s) for b, k, n, s in old["batches"]]
    return {"films": old["films"] - (len(old["dois"]) - len(gone)), "dois": gone, "batches": batches}


# ------------------------------------------------------------------------------------ init


def all_tables() -> set[str]:
    from sqlmodel import SQLModel

    from filmkb.schema import tables  # noqa: F401

    return {t.name for t in SQLModel.metadata.sorted_tables}


@pytest.fixture(scope="module")
def inits(tmp_path_factory, procs):
    """An `init` on a new path killed the moment its build file appears, then four `init`s racing
    for that same path (which still does not exist; the dead build's scratch files lie beside it)."""
    race = str(tmp_path_factory.mktemp("race") / "new.duckdb")
    victim = procs(race, "init")
    how = kill_at(victim, race, ("appear", 0.0))
    killed = SimpleNamespace(how=how, scratch=scratch(race), exists=os.path.exists(race), lock_free=lock_is_free(race))
    racers = [procs(race, "init") for _ in range(4)]
    return SimpleNamespace(race=race, killed=killed, racers=[finish(p) for p in racers])


@pytest.fixture(scope="module")
def seed_db(built_db):
    """The validated 28-film database the tests copy (conftest's build; the race's own result is
    checked by test_concurrent_init_on_a_new_path)."""
    return built_db


@pytest.fixture
def db(seed_db, tmp_path):
    path = tmp_path / "kb.duckdb"
    shutil.copy2(seed_db, path)
    return str(path)


class Scenario:
    """Processes run in a thread (no checks, no in-process CLI there) on a copy of the seed database."""

    def __init__(self, db, prepared, run, procs):
        self.db, self.prepared, self.out = db, prepared, {}
        self.thread = threading.Thread(target=self._run, args=(run, procs), daemon=True)

    def _run(self, run, procs):
        try:
            self.out["results"] = run(self.db, self.prepared, procs)
        except BaseException as exc:  # noqa: BLE001  (re-raised by results())
            self.out["error"] = exc

    def results(self):
        self.thread.join(timeout=600)
        assert not self.thread.is_alive(), "scenario still running after 10 minutes"
        if "error" in self.out:
            raise self.out["error"]
        return self.out["results"]


@pytest.fixture(scope="module")
def background(request, tmp_path_factory, procs):
    """Two scenarios that keep a core busy for half a minute each (a rebuild; writers queueing for the
    lock) start together in threads when the first of their tests asks (both tests share one xdist
    group, so one worker runs both). Only scenarios of selected tests run."""
    scenarios = {"test_concurrent_ingests_and_a_retract": (prepare_concurrent, run_concurrent),
                 "test_force_rebuild_overlapping_ingests_loses_nothing_silently": (prepare_overlap, run_overlap)}
    selected = {item.originalname for item in request.session.items
                if item.get_closest_marker("skip") is None} & set(scenarios)
    started = {}
    for name in sorted(selected):
        directory = tmp_path_factory.mktemp(name[5:25])
        db = str(directory / "kb.duckdb")
        shutil.copy2(request.getfixturevalue("seed_db"), db)
        prepare, run = scenarios[name]
        started[name] = Scenario(db, prepare(db, directory), run, procs)
    for scenario in started.values():
        scenario.thread.start()
    yield started
    for scenario in started.values():
        scenario.thread.join(timeout=600)


@pytest.mark.slow
@pytest.mark.xdist_group("faults_race")
def test_concurrent_init_on_a_new_path(inits):
    """4 x `init` at once on a path that does not exist: one complete database, the others exit 0
    (up to date) or with a one-line 'database is busy', and no scratch file left."""
    built = [r for r in inits.racers if r[0] == 0 and "built" in r[1]]
    assert len(built) == 1, inits.racers
    for result in inits.racers:
        if result[0] != 0:
            one_line_error(result, BUSY)
    s = state(inits.race)
    assert s["films"] == SEED_FILMS
    assert all_tables() <= s["tables"]
    assert [b[1:3] for b in s["batches"]] == [("curated", SEED_FILMS)]
    assert scratch(inits.race) == []
    validate(inits.race)


@pytest.mark.slow
@pytest.mark.xdist_group("faults_race")
def test_init_killed_as_it_builds_leaves_no_database_and_blocks_nothing(inits):
    """SIGKILL `init` on a new path the moment its build file appears: no database file at all, the
    lock is free at once, and the next `init` (the race above) builds a complete database and
    removes the dead build's scratch files."""
    assert inits.killed.how == "killed mid-write"
    assert not inits.killed.exists
    assert inits.killed.lock_free
    assert inits.killed.scratch, "expected the killed build to leave its scratch file"
    assert any(r[0] == 0 and "built" in r[1] for r in inits.racers), inits.racers
    assert scratch(inits.race) == [], f"left behind by the killed init: {inits.killed.scratch}"


# ------------------------------------------------------------------------------------ concurrency


CONCURRENT_FILES = {"one": 1, "two": 2, "three": 3}  # tag -> films


def prepare_concurrent(db, directory) -> dict:
    """An earlier 2-film batch (batch 2, retracted during the race) and three new files."""
    earlier = cli(db, "ingest", films_csv(directory, "earlier", 2))
    assert earlier.exit_code == 0 and "batch 2: added 2 films" in earlier.output, earlier.output
    return {tag: films_csv(directory, tag, n) for tag, n in CONCURRENT_FILES.items()}


def run_concurrent(db, files, procs) -> list:
    """3 x `ingest --wait 120` and a `retract --wait 120 2`, all started at once (processes only)."""
    running = [procs(db, "ingest", "--wait", "120", f) for f in files.values()]
    running.append(procs(db, "retract", "--wait", "120", "2"))
    return [collect(p) for p in running]


def test_threads_of_one_process_take_turns(db, tmp_path):
    """Three threads of this process ingesting into one database through the library (`--wait` 60):
    each waits for the lock like another process would, and all three batches are in the file
    (the lock used to be re-entrant for the whole process, so threads shared one scratch copy)."""
    from filmkb.jobs import ingest

    files = {tag: films_csv(tmp_path, tag, n) for tag, n in (("t1", 1), ("t2", 2), ("t3", 3))}
    done = {}

    def run(tag):
        try:
            done[tag] = ingest(db, [files[tag]], wait=60).counts["added"]
        except Exception as exc:  # noqa: BLE001  (reported below)
            done[tag] = repr(exc)

    threads = [threading.Thread(target=run, args=(tag,)) for tag in files]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert done == {"t1": 1, "t2": 2, "t3": 3}, done
    assert sorted(fault_dois(state(db))) == sorted(dois("t1", 1) | dois("t2", 2) | dois("t3", 3))
    assert state(db)["films"] == SEED_FILMS + 6
    assert scratch(db) == []
    validate(db)


def outcome_of_ingest(name, result, tag, n, final, bak) -> str:
    """'kept', 'failed' (with a one-line message, nothing of it written) or 'in .bak' (a later
    `init --force` rebuilt the file and PATH.bak holds it); anything else is a silently lost ingest."""
    mine = dois(tag, n)
    if result[0] != 0:
        one_line_error(result)
        assert not mine & set(final["dois"]), f"{name} failed but was partly written"
        return "failed"
    assert f"added {n} films" in result[1], result
    if mine <= set(final["dois"]):
        return "kept"
    assert not mine & set(final["dois"]), f"{name}: only part of the batch survived"
    assert bak is not None and mine <= set(bak["dois"]), f"{name} reported success but is lost"
    batch = [b for b in bak["batches"] if (b[3] or "").endswith(f"{tag}.csv")][0]
    assert min(final["created"].values()) > bak["created"][batch[0]], f"{name}: rebuilt before it?"
    return "in .bak"


OVERLAP_FILES = {"prior": 1, "waiting": 2, "eager": 1}  # tag -> films


def prepare_overlap(db, directory) -> dict:
    """A user batch first (so that `init --force` really rebuilds), and the two ingests' files."""
    prior = cli(db, "ingest", films_csv(directory, "prior", OVERLAP_FILES["prior"]))
    assert prior.exit_code == 0, prior.output
    return {tag: films_csv(directory, tag, OVERLAP_FILES[tag]) for tag in ("waiting", "eager")}


def run_overlap(db, files, procs, delay: float | None = None, ingest_first: bool = False) -> dict:
    """`init --force` and two ingests (`--wait 120`, and no wait) overlapping; only processes, no
    checks (so that it can run in a thread). delay None: the ingests start once the rebuild holds the
    lock (its build file exists); otherwise `delay` s after init (or init `delay` s after them)."""
    def start_ingests():
        return {"waiting": procs(db, "ingest", "--wait", "120", files["waiting"]),
                "eager": procs(db, "ingest", files["eager"])}

    if ingest_first:
        ingests = start_ingests()
        time.sleep(delay)
        force = procs(db, "init", "--force")
    else:
        force = procs(db, "init", "--force")
        if delay is None:
            wait_for(lambda: scratch(db, force.pid) or force.poll() is not None, 120)
        else:
            time.sleep(delay)
        ingests = start_ingests()
    return {name: collect(p) for name, p in {"force": force, **ingests}.items()}


def check_overlap(db, results: dict) -> dict:
    """Nothing silently lost: each ingest is in the final file, failed with a message, or is in
    PATH.bak of a later rebuild. Returns the outcomes."""
    for result in results.values():
        assert "Traceback" not in result[1] + result[2], result
    final = state(db)
    bak = state(f"{db}.bak") if os.path.exists(f"{db}.bak") else None
    if results["force"][0] != 0:
        one_line_error(results["force"], BUSY)
    outcomes = {"force": "built" if results["force"][0] == 0 else "busy"}
    for tag in ("waiting", "eager"):
        outcomes[tag] = outcome_of_ingest(tag, results[tag], tag, OVERLAP_FILES[tag], final, bak)
    outcomes["prior"] = outcome_of_ingest("prior", (0, "added 1 films", ""), "prior", 1, final, bak)
    assert scratch(db) == []
    validate(db)
    return outcomes


@pytest.mark.slow
@pytest.mark.parametrize("delay,ingest_first", [(0.0, False), (4.0, False), (1.0, True), (6.0, True)])
def test_force_rebuild_overlap_sweep(db, tmp_path, procs, delay, ingest_first):
    """The same overlap with the start times shifted: whatever wins the lock, nothing is silently lost."""
    results = run_overlap(db, prepare_overlap(db, tmp_path), procs, delay=delay, ingest_first=ingest_first)
    outcomes = check_overlap(db, results)
    assert set(outcomes.values()) <= {"built", "busy", "kept", "failed", "in .bak"}, outcomes
    print(delay, ingest_first, outcomes)


# ------------------------------------------------------------------------------------ kill -9


def kill_ingests(db, tmp_path, procs, points, prefix: str) -> list[tuple]:
    """One `ingest` (new films each time) per kill point; checks every aftermath; returns them."""
    seen = []
    for i, point in enumerate(points):
        tag = f"{prefix}{i}"
        csv = films_csv(tmp_path, tag, 2)
        old, old_digest = state(db), digest(db)
        how = kill_at(procs(db, "ingest", csv), db, point)
        seen.append((point, how, after_kill(db, old_digest, expected_after_ingest(old, csv, tag, 2))))
    return seen


def kill_retracts(db, tmp_path, procs, points, prefix: str) -> list[tuple]:
    """One `retract` of its own 1-film batch per kill point; checks every aftermath; returns them."""
    batches = {}
    for i in range(len(points)):
        result = cli(db, "ingest", films_csv(tmp_path, f"{prefix}{i}", 1))
        assert result.exit_code == 0, result.output
        batches[i] = int(result.output.split("batch ")[1].split(":")[0])
    validate(db)
    seen = []
    for i, point in enumerate(points):
        old, old_digest = state(db), digest(db)
        how = kill_at(procs(db, "retract", str(batches[i])), db, point)
        expected = expected_after_retract(old, batches[i], f"{prefix}{i}")
        seen.append((point, how, after_kill(db, old_digest, expected)))
    return seen


def next_write_succeeds(db, tmp_path, tag: str) -> None:
    """A write after the kills works, and leaves no scratch file of the dead writers behind."""
    result = cli(db, "ingest", films_csv(tmp_path, tag, 1))
    assert result.exit_code == 0 and "added 1 films" in result.output, result.output
    assert scratch(db) == [], "scratch files of killed writers outlive the next write"


@pytest.mark.slow
def test_kill_ingest_at_its_scratch_file(db, tmp_path, procs):
    """SIGKILL `ingest` 0.3 s after its private copy appears (mid-transaction, or just after it: the batch is
    cleaned before the lock, so what is left inside is short) and as the copy disappears (renamed into
    place): old bytes or the whole batch, never blocked after, and the next write works and removes the
    dead writer's scratch files."""
    seen = kill_ingests(db, tmp_path, procs, [("appear", 0.3), "vanish"], "ki")
    assert seen[0][1:] in (("killed mid-write", "old"), ("killed", "new")) and seen[1][1:] == ("killed", "new"), seen
    next_write_succeeds(db, tmp_path, "ki_next")


@pytest.mark.slow
def test_kill_retract_at_its_scratch_file(db, tmp_path, procs):
    """SIGKILL `retract` the moment its private copy appears (mid-copy) and as it disappears."""
    seen = kill_retracts(db, tmp_path, procs, [("appear", 0.0), "vanish"], "kr")
    assert seen[0][1:] == ("killed mid-write", "old") and seen[1][1:] == ("killed", "new"), seen
    next_write_succeeds(db, tmp_path, "kr_next")


def test_ingest_killed_mid_write_leaves_the_old_file(db, tmp_path, procs):
    """The default tier's real SIGKILL: a `filmkb ingest` process killed the moment its private copy
    appears leaves the old bytes, releases the lock, and the next write works and removes the dead
    writer's scratch files (test_kill_ingest_at_its_scratch_file and the sweeps add more kill points)."""
    seen = kill_ingests(db, tmp_path, procs, [("appear", 0.0)], "km")
    assert seen[0][1:] == ("killed mid-write", "old"), seen
    next_write_succeeds(db, tmp_path, "km_next")


def measured(p) -> float:
    t0 = time.monotonic()
    result = finish(p)
    assert result[0] == 0, result
    return time.monotonic() - t0


@pytest.mark.slow
def test_kill_ingest_sweep(db, tmp_path, procs):
    """SIGKILL `ingest` at 5 fractions of a measured full run."""
    copy = str(tmp_path / "timing.duckdb")
    shutil.copy2(db, copy)
    duration = measured(procs(copy, "ingest", films_csv(tmp_path, "timing", 2)))
    points = [*(("time", f * duration) for f in KILL_FRACTIONS), ("appear", 0.0), ("appear", 0.5), ("appear", 2.0)]
    seen = kill_ingests(db, tmp_path, procs, points, "kis")
    assert any(how == "killed mid-write" for _, how, _ in seen), seen
    next_write_succeeds(db, tmp_path, "kis_next")
    print(f"ingest ({duration:.1f} s):", *seen, sep="\n  ")


@pytest.mark.slow
def test_kill_retract_sweep(db, tmp_path, procs):
    """SIGKILL `retract` at 5 fractions of a measured full run."""
    copy = str(tmp_path / "timing.duckdb")
    shutil.copy2(db, copy)
    assert cli(copy, "ingest", films_csv(tmp_path, "timing", 1)).exit_code == 0
    duration = measured(procs(copy, "retract", "2"))
    points = [*(("time", f * duration) for f in KILL_FRACTIONS), ("appear", 0.0), ("appear", 0.1), ("appear", 0.3)]
    seen = kill_retracts(db, tmp_path, procs, points, "krs")
    assert any(how == "killed mid-write" for _, how, _ in seen), seen
    next_write_succeeds(db, tmp_path, "krs_next")
    print(f"retract ({duration:.1f} s):", *seen, sep="\n  ")


@pytest.mark.slow
def test_kill_init_sweep(tmp_path, procs):
    """SIGKILL `init` on a new path at 5 fractions of a measured run, as its build file appears and as
    it vanishes: no file or a complete database each time, the lock free; then `init` on a path where
    a killed build left its scratch files builds and removes them."""
    duration = measured(procs(tmp_path / "timing.duckdb", "init"))
    points = [*(("time", f * duration) for f in KILL_FRACTIONS), ("appear", 0.0), ("appear", 5.0), "vanish"]
    seen, leftovers = [], {}
    for i, point in enumerate(points):
        path = str(tmp_path / f"new{i}.duckdb")
        how = kill_at(procs(path, "init"), path, point)
        leftovers[path] = scratch(path)
        assert lock_is_free(path)
        if os.path.exists(path):
            assert state(path)["films"] == SEED_FILMS
            validate(path)
        seen.append((point, how, "complete" if os.path.exists(path) else "no file"))
    print(f"init ({duration:.1f} s):", *seen, sep="\n  ")
    assert seen[-1][1:] == ("killed", "complete"), seen
    victims = [p for p, left in leftovers.items() if left and not os.path.exists(p)]
    assert victims, seen
    again = finish(procs(victims[0], "init"))
    assert again[0] == 0 and "built" in again[1], again
    assert scratch(victims[0]) == []
    validate(victims[0])


@pytest.mark.slow
def test_kill_force_rebuild_sweep(db, tmp_path, procs):
    """SIGKILL `init --force` (a file with a user batch) at 5 fractions of a measured run, as its build
    file appears, as the copy for PATH.bak starts, as PATH.bak appears and as the build file vanishes: the file is the old bytes or the
    rebuilt curated database (and then PATH.bak holds the user batch); PATH.bak is never half-written
    (it used to be copied in place, so a kill during the copy left a cut-short backup)."""
    assert cli(db, "ingest", films_csv(tmp_path, "prior", 1)).exit_code == 0
    pristine, before = str(tmp_path / "pristine.duckdb"), state(db)
    shutil.copy2(db, pristine)
    curated = {"films": SEED_FILMS, "dois": [d for d in before["dois"] if d not in dois("prior", 1)],
               "batches": [b for b in before["batches"] if b[1] == "curated"]}
    timing = str(tmp_path / "timing.duckdb")
    shutil.copy2(pristine, timing)
    duration = measured(procs(timing, "init", "--force"))
    points = [*(("time", f * duration) for f in KILL_FRACTIONS), ("appear", 0.0), "backup", "bak", "vanish"]
    seen = []
    for point in points:
        shutil.copy2(pristine, db)
        bak = f"{db}.bak"
        if os.path.exists(bak):
            os.remove(bak)
        old = digest(db)
        how = kill_at(procs(db, "init", "--force"), db, point)
        outcome = after_kill(db, old, curated)
        if os.path.exists(bak):
            assert digest(bak) == old, f"{point}: a killed `init --force` left a half-written {bak}"
        if outcome == "new":
            assert os.path.exists(bak)
        seen.append((point, how, outcome, "bak" if os.path.exists(bak) else "no bak", len(scratch(db))))
    print(f"init --force ({duration:.1f} s):", *seen, sep="\n  ")
    assert seen[-1][1:3] == ("killed", "new"), seen
    next_write_succeeds(db, tmp_path, "after_force")


# ------------------------------------------------------------------------------------ spellings


@pytest.mark.slow
def test_spellings_of_one_database_share_one_lock(db, tmp_path, procs, monkeypatch):
    """Relative, dotted, directory-symlink and file-symlink spellings all contend for the lock the test
    holds on the absolute path: without --wait each fails with 'database is busy', exit 1, file
    unchanged; an `ingest --wait` through the symbolic link waits for the same lock and, released,
    writes through the link (which stays a link, the real file holding the film); a relative spelling
    without --wait then succeeds too."""
    link = tmp_path / "link.duckdb"
    link.symlink_to("kb.duckdb")
    (tmp_path / "alias").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "sub").mkdir()
    spellings = [("kb.duckdb", tmp_path), ("../sub/../kb.duckdb", tmp_path / "sub"),
                 (str(tmp_path / "alias" / "kb.duckdb"), None), (str(link), None)]
    before = digest(db)
    with kb.locked(os.path.abspath(db)):
        waiter = procs(link, "ingest", "--wait", "120", films_csv(tmp_path, "through_link", 1))
        running = [procs(spelling, "ingest", films_csv(tmp_path, f"spell{i}", 1), cwd=cwd)
                   for i, (spelling, cwd) in enumerate(spellings)]
        for result in [finish(p) for p in running]:
            one_line_error(result, BUSY)
        assert waiter.poll() is None, finish(waiter)
        assert digest(db) == before
    result = finish(waiter)
    assert result[0] == 0 and "added 1 films" in result[1], result
    assert link.is_symlink() and os.readlink(link) == "kb.duckdb"
    assert dois("through_link", 1) <= set(state(db)["dois"])
    assert not os.path.exists(f"{link}.lock") and os.path.exists(f"{os.path.realpath(db)}.lock")
    assert scratch(db) == []
    monkeypatch.chdir(tmp_path)
    relative = cli("kb.duckdb", "ingest", films_csv(tmp_path, "relative", 1))
    assert relative.exit_code == 0 and "added 1 films" in relative.output, relative.output
    assert dois("relative", 1) <= set(state(db)["dois"]) and link.is_symlink()
    validate(link)


def test_spellings_of_one_database_share_one_lock_in_process(db, tmp_path, monkeypatch):
    """Relative, dotted, directory-symlink and file-symlink spellings of the database, written through
    the CLI in this process while another thread holds the lock on the absolute path: each fails with
    'database is busy', exit 1, file unchanged; released, an ingest through the file link writes the
    real file and leaves the link a link (test_spellings_of_one_database_share_one_lock does this with
    real processes)."""
    import threading

    link = tmp_path / "link.duckdb"
    link.symlink_to("kb.duckdb")
    (tmp_path / "alias").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    spellings = ["../kb.duckdb", "../sub/../kb.duckdb", str(tmp_path / "alias" / "kb.duckdb"), str(link)]
    before = digest(db)
    held, release = threading.Event(), threading.Event()

    def holder():
        with kb.locked(os.path.abspath(db)):
            held.set()
            release.wait(60)

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert held.wait(60)
        for i, spelling in enumerate(spellings):
            result = cli(spelling, "ingest", films_csv(tmp_path, f"spell{i}", 1))
            assert result.exit_code == 1 and BUSY in result.output, (spelling, result.output)
            assert len(result.output.strip().splitlines()) == 1, result.output
        assert digest(db) == before
    finally:
        release.set()
        thread.join(60)
    result = cli(link, "ingest", films_csv(tmp_path, "through_link", 1))
    assert result.exit_code == 0 and "added 1 films" in result.output, result.output
    assert link.is_symlink() and os.readlink(link) == "kb.duckdb"
    assert dois("through_link", 1) <= set(state(db)["dois"])
    assert not os.path.exists(f"{link}.lock") and os.path.exists(f"{os.path.realpath(db)}.lock")
    assert scratch(db) == []


# ------------------------------------------------------------------------------------ collected last
# The scenarios of these two tests run together in the background (see `background`).


@pytest.mark.slow
@pytest.mark.xdist_group("faults_background")
def test_concurrent_ingests_and_a_retract(background):
    """3 concurrent `ingest --wait` with 1, 2 and 3 new films plus a concurrent `retract` of an earlier
    2-film batch: every process succeeds and the final count is 28 + 2 - 2 + 1 + 2 + 3."""
    job = background["test_concurrent_ingests_and_a_retract"]
    results, db, files = job.results(), job.db, job.prepared
    for result in results:
        assert result[0] == 0 and "Traceback" not in result[1] + result[2], result
    assert "batch 2: removed 2 films" in results[-1][1]
    s = state(db)
    assert s["films"] == SEED_FILMS + 2 - 2 + 1 + 2 + 3
    assert sorted(fault_dois(s)) == sorted(dois("one", 1) | dois("two", 2) | dois("three", 3))
    kinds = {b[3]: b[1:3] for b in s["batches"]}
    assert kinds[files["one"]] == ("user", 1) and kinds[files["two"]] == ("user", 2)
    assert kinds[files["three"]] == ("user", 3)
    assert kinds[str(Path(db).parent / "earlier.csv")] == ("retracted", 0)
    assert scratch(db) == []
    validate(db)


@pytest.mark.slow
@pytest.mark.xdist_group("faults_background")
def test_force_rebuild_overlapping_ingests_loses_nothing_silently(background):
    """`init --force` holding the lock while two ingests arrive: the `--wait` one lands in the rebuilt
    file, the other fails with 'database is busy', the earlier user batch is in PATH.bak."""
    job = background["test_force_rebuild_overlapping_ingests_loses_nothing_silently"]
    results = job.results()
    outcomes = check_overlap(job.db, results)
    assert outcomes == {"force": "built", "waiting": "kept", "eager": "failed", "prior": "in .bak"}, outcomes
    one_line_error(results["eager"], BUSY)
