"""The documentation is checked like code: the site builds with `mkdocs build --strict` (no broken link,
reference or generated part), the README's tour runs as printed on a fresh database, and no tracked
file points at a path outside the repository."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
# Absolute paths of one machine: home directories, scratch and work areas. A path in a tracked file
# must be relative to the repository (or given by an option or an environment variable).
MACHINE_PATH = re.compile(r"(?<![\w.~/-])/(?:work|root|home|tmp|Users|mnt|scratch|var/folders)/\S")


def _env() -> dict:
    """The test's environment, with the interpreter's scripts (filmkb, mkdocs) first on PATH."""
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def tour_commands(text: str) -> list[str]:
    """The `$ ` lines of the README's ```console blocks, without the prompt."""
    blocks = re.findall(r"^```console\n(.*?)^```", text, re.M | re.S)
    return [line[2:].strip() for block in blocks for line in block.splitlines() if line.startswith("$ ")]


def test_readme_is_short_and_keeps_the_two_commands():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 150
    assert "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/filmkb reproduce" in text
    assert ".venv/bin/python -m pytest" in text
    assert len(tour_commands(text)) >= 6


def test_no_tracked_file_holds_a_path_outside_the_repository():
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    found = []
    for name in filter(None, files.decode().split("\0")):
        path = ROOT / name
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary files (figures, parquet) hold no paths to fix
        found += [f"{name}:{n}: {line.strip()}" for n, line in enumerate(text.splitlines(), 1)
                  if MACHINE_PATH.search(line)]
    assert not found, "absolute paths outside the repository:\n" + "\n".join(found)


def test_machine_path_pattern_catches_what_it_should():
    # the pattern itself, so the test above cannot pass by matching nothing (the paths are built here
    # so that this file does not hold them)
    root = "/"
    assert MACHINE_PATH.search(f'SEED = Path("{root}work/shared/seed/x.txt")')
    assert MACHINE_PATH.search(f"see {root}home/ana/papers/x.pdf")
    assert MACHINE_PATH.search(f"written to {root}tmp/filmkb-x/out.csv")
    assert not MACHINE_PATH.search("reports/figures/shap_bar.png and ../shared/seed")
    assert not MACHINE_PATH.search("https://example.org/home/page and ~/tmp/x")


@pytest.mark.slow  # 5-16 s: Material, mkdocstrings and the CLI pages
def test_mkdocs_build_strict(tmp_path):
    if shutil.which("mkdocs", path=_env()["PATH"]) is None:
        pytest.fail("mkdocs is not installed: pip install -e '.[docs]' (the test extra includes it)")
    site = tmp_path / "site"
    done = subprocess.run(["mkdocs", "build", "--strict", "--site-dir", str(site)], cwd=ROOT, env=_env(),
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    # the generated parts are there: every command's options, the schema's columns, the API
    cli = (site / "cli" / "index.html").read_text(encoding="utf-8")
    for command in ("ingest", "add-method", "retract", "predict", "suggest", "--max-cell-chars"):
        assert command in cli
    querying = (site / "querying" / "index.html").read_text(encoding="utf-8")
    for column in ("conductivity_25c_s_cm", "film_descriptors_complete", "thermal_stress_term", "GPa/nm"):
        assert column in querying
    assert "<!-- generated" not in querying
    assert "ingest_records" in (site / "api" / "index.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_readme_tour_runs_on_a_fresh_database(tmp_path):
    commands = tour_commands(README.read_text(encoding="utf-8"))
    assert commands[0].startswith("filmkb init")
    template = tmp_path / "data" / "templates" / "films.csv"  # the tour's paths, relative to the checkout
    template.parent.mkdir(parents=True)
    shutil.copy(ROOT / "data" / "templates" / "films.csv", template)
    env = dict(_env(), FILMKB_DB=str(tmp_path / "filmkb.duckdb"))
    for command in commands:
        argv = shlex.split(command, comments=True)
        done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True)
        assert done.returncode == 0, f"$ {command}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        assert "Traceback" not in done.stderr, f"$ {command}\n{done.stderr[-2000:]}"
    assert (tmp_path / "filmkb.duckdb").exists()


def documented_invocations() -> list[tuple[str, str]]:
    """(page, line) for every `$ filmkb ...` line in README.md and docs/*.md."""
    pages = [README, *sorted((ROOT / "docs").glob("*.md"))]
    return [(page.name, line[2:]) for page in pages for line in page.read_text(encoding="utf-8").splitlines()
            if line.startswith("$ filmkb")]


def problems(line: str) -> list[str]:
    """What is wrong with one documented `filmkb ...` line: an unknown command or option."""
    from filmkb.cli import main

    words = line.split("#")[0].split()[1:]
    while words and words[0].startswith("--"):  # group options: --db PATH
        words = words[2:]
    command = main.commands.get(words[0]) if words else None
    if command is None:
        return [f"no command {words[:1]}"]
    known = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)} | {"--help"}
    return [f"{command.name} has no option {w}" for w in words if w.startswith("--") and w.split("=")[0] not in known]


def test_documented_commands_and_options_exist():
    """Every `$ filmkb COMMAND --option` in the README and the docs names a real command and option."""
    assert problems("filmkb films --colour red") and problems("filmkb film --substrate MgO")  # the check can fail
    assert not problems("filmkb --db x.duckdb films --substrate MgO --format=csv")
    invocations = documented_invocations()
    assert len(invocations) > 20
    wrong = [f"{page}: {line}: {problem}" for page, line in invocations for problem in problems(line)]
    assert not wrong, "\n".join(wrong)


COMMIT = re.compile(r"(?<![\w.])(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{7,40}\b")
DAY_WORDS = re.compile(r"this session|this machine|on this VM|the machine of the day|in the same hour", re.I)


def test_prose_names_no_commit_and_no_machine_of_the_day():
    """The README and the manual's own pages compare no commits and no machines: timings belong to the
    benchmark tables, which name the one version they measured."""
    assert COMMIT.search("ac51b08 took 146 s") and not COMMIT.search("doi:10.3390/batteries9090430")
    pages = [README, ROOT / "CHANGELOG.md", ROOT / "benchmarks" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    found = [f"{page.name}:{n}: {line.strip()}" for page in pages
             for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1)
             if COMMIT.search(line) or DAY_WORDS.search(line)]
    assert not found, "\n".join(found)
