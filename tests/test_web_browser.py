"""The web view in a real browser: `filmkb serve` started as a process on 127.0.0.1 and a free port, driven
by Debian's headless chromium through Playwright (the browser tier: FILMKB_BROWSER=1 pytest -m browser;
.ci/run installs chromium with apt-get)."""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(os.environ.get("FILMKB_BROWSER") != "1", reason="browser tier: set FILMKB_BROWSER=1 to run"),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no browser installed ({CHROMIUM} is missing: "
                                                           "apt-get install chromium chromium-driver)"),
]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
HOSTILE_CSV = (
    "doi,authors,year,journal,title,composition,method,deposition_temp_c,substrate,substrate_orientation,phase,"
    "thickness_nm,conductivity_s_cm,measurement_temp_c,activation_energy_ev,precursors,notes\n"
    "10.5555/filmkb-xss,\"Doe, J.\",2025,Web Journal,A hostile note,LLZO,PLD,650,MgO,100,cubic,300,2e-4,25,,,"
    "\"<script>window.__pwned=1;document.title='pwned'</script><img src=x onerror=\"\"window.__pwned=2;"
    "document.title='pwned'\"\">\"\n")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _filmkb(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "filmkb.cli", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def server(recommended_db, tmp_path_factory):
    """`filmkb serve` on a copy of the trained knowledge base with one hostile film ingested; yields
    (base URL, database path)."""
    folder = tmp_path_factory.mktemp("browser")
    db = str(folder / "served.duckdb")
    shutil.copy2(recommended_db, db)
    (folder / "hostile.csv").write_text(HOSTILE_CSV)
    done = _filmkb("--db", db, "ingest", str(folder / "hostile.csv"))
    assert done.returncode == 0, done.stderr
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "filmkb.cli", "serve", "--db", db, "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/films", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"filmkb serve exited: {proc.stdout.read()}")
                time.sleep(0.1)
        yield base, db
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(str(profile), executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser):
    tab = browser.new_page()
    errors = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    tab.close()
    assert not errors, errors


def test_filter_by_substrate_counts_what_filmkb_films_lists(server, page):
    base, db = server
    page.goto(base + "/films")
    page.select_option("select[name=substrate]", "MgO")
    page.click("#apply")
    page.wait_for_url(re.compile(r"substrate=MgO"))
    shown = int(page.text_content("#count"))
    listed = _filmkb("--db", db, "films", "--substrate", "MgO", "--format", "csv")
    assert shown == len(listed.stdout.strip().splitlines()) - 1 == page.locator("#films tbody tr").count()
    page.click("#films thead a:text-is('deposition_temp_c (°C)')")  # sort, keeping the filter
    page.wait_for_url(re.compile(r"sort=deposition_temp_c"))
    temps = [float(t) for t in page.locator("#films tbody tr td:nth-child(5)").all_text_contents()]
    assert temps == sorted(temps) and len(temps) == shown
    page.go_back()  # the results and the form follow the address
    for _ in range(100):  # (wait_for_function would evaluate a string, which the page's CSP forbids)
        if page.input_value("input[name=sort]") == "film_id":
            break
        time.sleep(0.05)
    assert "sort=film_id" in page.url and int(page.text_content("#count")) == shown


def test_a_film_page_links_its_doi(server, page):
    base, _ = server
    page.goto(base + "/films?q=10.5555/filmkb-xss")
    page.click("#films tbody tr td a")
    page.wait_for_url(re.compile(r"/films/\d+$"))
    assert page.get_attribute("#doi", "href") == "https://doi.org/10.5555/filmkb-xss"


def test_hostile_note_runs_nothing(server, page, tmp_path):
    base, _ = server
    page.goto(base + "/films?q=pwned")
    page.click("#films tbody tr td a")
    page.wait_for_load_state("load")
    notes = page.text_content("#field-notes")
    assert notes.startswith("<script>window.__pwned=1") and "onerror=" in notes
    assert page.evaluate("window.__pwned === undefined") and page.title() != "pwned"
    page.screenshot(path=str(tmp_path / "hostile-film.png"), full_page=True)
    assert (tmp_path / "hostile-film.png").stat().st_size > 1000


def test_plot_has_a_point_per_film_and_a_click_opens_it(server, page, tmp_path):
    from filmkb import kb
    from filmkb.kb import browse

    base, db = server
    with kb.open(db) as k:
        expected = len(browse.plot_points(k))
    page.goto(base + "/plots")
    page.wait_for_selector("#plot-temperature .scatterlayer .point")
    assert page.locator("#plot-temperature .scatterlayer .point").count() == expected
    page.screenshot(path=str(tmp_path / "plots.png"), full_page=True)
    point = page.locator("#plot-temperature .scatterlayer .point").first
    point.hover(force=True)
    page.wait_for_selector(".hoverlayer .hovertext")
    assert re.search(r"film \d+", page.text_content(".hoverlayer"))
    point.click(force=True)
    page.wait_for_url(re.compile(r"/films/\d+$"))


def test_a_writers_ingest_shows_on_reload(server, page, tmp_path):
    base, db = server
    page.goto(base + "/films")
    before = int(page.text_content("#count"))
    (tmp_path / "one.csv").write_text(HOSTILE_CSV.replace("filmkb-xss", "filmkb-reload").replace(",650,", ",655,"))
    done = _filmkb("--db", db, "ingest", str(tmp_path / "one.csv"))
    assert done.returncode == 0, done.stderr
    page.reload()
    assert int(page.text_content("#count")) == before + 1


def test_a_prediction_shows_its_interval_and_model(server, page, tmp_path):
    base, _ = server
    page.goto(base + "/predict")
    page.select_option("select[name=substrate]", "MgO")
    page.fill("input[name=temp_c]", "700")
    page.fill("input[name=thickness_nm]", "300")
    page.click("#predict")
    page.wait_for_selector("#prediction")
    low, high = page.text_content("#prediction .interval").split(" – ")
    assert float(low) < float(page.text_content("#prediction .sigma")) < float(high)
    assert "the recommended model, run train-" in page.text_content("#answered-by")
    page.screenshot(path=str(tmp_path / "predict.png"), full_page=True)


def test_a_suggestion_ranks_conditions(server, page, tmp_path):
    base, _ = server
    page.goto(base + "/suggest")
    page.select_option("select[name=substrate]", ["MgO"])
    page.fill("input[name=temp_c]", "600:700:100")
    page.fill("input[name=thickness_nm]", "300")
    page.fill("input[name=top]", "2")
    page.click("#suggest")
    page.wait_for_selector("#answered-by")
    ranked = page.locator("#suggestions tbody tr, #outside tbody tr")
    assert ranked.count() >= 1 and "MgO" in ranked.first.text_content()
    assert "the recommended model, run train-" in page.text_content("#answered-by")
    page.screenshot(path=str(tmp_path / "suggest.png"), full_page=True)
