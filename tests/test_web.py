"""The web view (`filmkb serve`) through FastAPI's TestClient on real knowledge bases: filters agree with
`filmkb films`, a film's page shows its provenance and flags, bad parameters get one message, database
text is escaped, a writer's rename shows at the next request, an older file is refused and left alone,
predict and suggest answer with the model that answered."""

import getpass
import hashlib
import json
import re
import shutil
import threading
import warnings

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

HOSTILE = "<script>window.__pwned=1</script><img src=x onerror=\"document.title='pwned'\">"
FILMS_CSV = (
    "doi,authors,year,journal,title,composition,method,deposition_temp_c,substrate,substrate_orientation,phase,"
    "thickness_nm,conductivity_s_cm,measurement_temp_c,activation_energy_ev,precursors,notes\n"
    "10.5555/filmkb-web-1,\"Doe, J.\",2025,Web Journal,A hostile note,LLZO,PLD,650,MgO,100,cubic,300,2e-4,100,0.45,,"
    f"\"{HOSTILE.replace(chr(34), chr(34) * 2)}\"\n")


def client(db):
    from fastapi.testclient import TestClient

    from filmkb.web import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return TestClient(create_app(db))


def error_of(response) -> str:
    found = re.search(r'id="error">([^<]*)<', response.text)
    return found.group(1) if found else ""


def count_of(response) -> int:
    return int(re.search(r'id="count">(\d+)<', response.text).group(1))


@pytest.fixture(scope="module")
def seed(built_db):
    return client(built_db)


@pytest.fixture(scope="module")
def ingested(built_db, tmp_path_factory):
    """A private copy of the seed knowledge base and a CSV with one film whose note is an XSS payload,
    measured at 100 C with an activation energy (so its 25 C value is derived)."""
    folder = tmp_path_factory.mktemp("web")
    db = str(folder / "web.duckdb")
    shutil.copy2(built_db, db)
    csv = folder / "hostile.csv"
    csv.write_text(FILMS_CSV)
    return db, str(csv)


def test_films_filter_agrees_with_filmkb_films(seed, built_db):
    from filmkb import kb

    with kb.open(built_db) as k:
        expected = len(k.films(substrate="MgO")), len(k.films(method="PLD", phase="cubic")), len(k.films())
    assert count_of(seed.get("/films?substrate=MgO")) == expected[0]
    assert count_of(seed.get("/films?substrate=STO")) == count_of(seed.get("/films?substrate=SrTiO3")) > 0  # aliases
    assert count_of(seed.get("/films?method=PLD&phase=cubic")) == expected[1]
    page = seed.get("/films")
    assert count_of(page) == expected[2] == 28
    assert len(re.findall(r'<tr><td><a href="/films/\d+">', page.text)) == 28  # one row per film on the one page
    assert count_of(seed.get("/films?q=chen2014")) == 4
    assert count_of(seed.get("/films?reference=chen2014")) == 4


def test_films_sort_page_and_csv(seed):
    first = seed.get("/films?sort=deposition_temp_c&order=desc&per_page=25")
    rows = re.findall(r'<tr><td><a href="/films/(\d+)">', first.text)
    assert len(rows) == 25 and "page 1 of 2" in first.text
    second = seed.get("/films?sort=deposition_temp_c&order=desc&per_page=25&page=2")
    assert len(re.findall(r'<tr><td><a href="/films/(\d+)">', second.text)) == 3
    csv = seed.get("/films.csv?sort=deposition_temp_c&order=desc&substrate=MgO")
    lines = csv.text.strip().splitlines()
    assert csv.headers["content-type"].startswith("text/csv") and lines[0].startswith("film_id,reference,")
    assert len(lines) - 1 == count_of(seed.get("/films?substrate=MgO"))
    t = [float(line.split(",")[4]) for line in lines[1:]]
    assert t == sorted(t, reverse=True)


@pytest.mark.parametrize("url, message", [
    ("/films?page=0", "page: expected a whole number from 1 to"),
    ("/films?sort=notes", "sort: expected one of film_id"),
    ("/films?per_page=7", "per_page: expected one of 25, 50, 100, 500"),
    ("/films/abc", "film: expected a whole number"),
    ("/films?q=" + "x" * 201, "q: at most 200 characters"),
])
def test_bad_parameters_get_one_clear_message(seed, url, message):
    response = seed.get(url)
    assert response.status_code == 400 and message in error_of(response)
    assert "\n" not in error_of(response)


def test_a_local_view_refuses_other_host_names(built_db):
    from fastapi.testclient import TestClient

    from filmkb.web import create_app

    app = create_app(built_db, allowed_hosts=["127.0.0.1", "localhost"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert TestClient(app, base_url="http://127.0.0.1:8000").get("/films").status_code == 200
        assert TestClient(app, base_url="http://rebound.example:8000").get("/films").status_code == 400


def test_unknown_names_and_films_say_what_to_do(seed):
    assert "unknown substrate 'Nope'" in error_of(seed.get("/films?substrate=Nope")).replace("&#39;", "'")
    assert "no film with id 999" in error_of(seed.get("/films/999"))


def test_film_page_provenance_units_and_pages(seed):
    page = seed.get("/films/22").text
    assert re.search(r'<dt>reference</dt><dd><a href="/references#ref-park2015">park2015</a>', page)
    assert "kireeva2023 Table 1 row 22" in page and "seed_films.csv, line 23" in page
    assert re.search(r'<dt>added by</dt><dd><span id="added-by">' + re.escape(getpass.getuser()) + r", 20\d\d-", page)
    assert re.search(r'<th>deposition_temp_c</th><td id="field-deposition_temp_c">600</td><td>°C</td>', page)
    duplicate = seed.get("/films/19").text.split("<h2>Duplicates</h2>")[1]
    assert re.search(r'<td><a href="/films/15">15</a></td><td><a [^>]*>nong2015</a></td><td>this film duplicates it</td>', duplicate)
    for url in ("/substrates", "/methods", "/references", "/plots", "/models", "/predict", "/suggest"):
        response = seed.get(url)
        assert response.status_code == 200, url
        assert "Content-Security-Policy" in response.headers
        assert not re.search(r'<script[^>]+src="(?!/static)', response.text), url  # nothing from another site
    assert "MgO | magnesium oxide" in seed.get("/substrates").text or "MgO" in seed.get("/substrates").text
    assert "@article{chen2014," in seed.get("/references").text
    assert seed.get("/static-vendor/plotly.min.js").content.startswith(b"/**")


def test_hostile_text_is_escaped_derived_flagged_and_a_rename_shows(ingested):
    from filmkb.jobs import ingest

    db, csv = ingested
    web = client(db)
    digest = hashlib.sha256(open(db, "rb").read()).hexdigest()
    before = count_of(web.get("/films"))
    for url in ("/films/1", "/films.csv", "/plots", "/models", "/predict?substrate=MgO&temp_c=700&thickness_nm=300"):
        web.get(url)
    assert hashlib.sha256(open(db, "rb").read()).hexdigest() == digest  # reading wrote nothing
    seen, stop = [], threading.Event()

    def read() -> None:  # requests in flight while the writer replaces the file
        while not stop.is_set():
            seen.append(count_of(web.get("/films")))

    readers = [threading.Thread(target=read) for _ in range(3)]
    for thread in readers:
        thread.start()
    try:
        ingest(db, [csv])  # a writer replaces the file by an atomic rename while the app runs
    finally:
        stop.set()
        for thread in readers:
            thread.join()
    assert count_of(web.get("/films")) == before + 1
    assert seen and set(seen) <= {before, before + 1}
    film_id = int(re.findall(r'<a href="/films/(\d+)">', web.get("/films?q=pwned").text)[0])
    page = web.get(f"/films/{film_id}").text
    assert "<script>window" not in page and "<img src=x" not in page
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;&lt;img src=x onerror=" in page
    assert 'href="https://doi.org/10.5555/filmkb-web-1" id="doi"' in page
    flagged = re.search(r'<tr class="flagged"><th>conductivity_25c_s_cm</th>.*?</tr>', page, re.S).group(0)
    assert "derived: converted from 100 °C to 25 °C with the activation energy 0.45 eV" in flagged
    assert "<script>window" not in web.get("/films?q=pwned").text


def test_an_older_file_is_refused_and_left_as_it_is(built_db, tmp_path):
    import duckdb

    db = str(tmp_path / "old.duckdb")
    shutil.copy2(built_db, db)
    con = duckdb.connect(db)
    con.execute("UPDATE schema_migrations SET version = version - 1 "
                "WHERE version = (SELECT max(version) FROM schema_migrations)")  # as if made one version ago
    con.execute("CHECKPOINT")
    con.close()
    digest = hashlib.sha256(open(db, "rb").read()).hexdigest()
    response = client(db).get("/films")
    assert response.status_code == 422 and "made by an older filmkb; the web view never upgrades" in error_of(response)
    assert hashlib.sha256(open(db, "rb").read()).hexdigest() == digest


def test_models_page_shows_the_shapley_summary_of_the_latest_explained_run(recommended_db, tmp_path):
    from filmkb.jobs import explain

    assert 'id="shap-data"' not in client(recommended_db).get("/models").text  # nothing explained yet
    db = str(shutil.copy(recommended_db, tmp_path / "explained.duckdb"))
    explain(db)  # the recommended run: stored, no figures
    page = client(db).get("/models").text
    shap = json.loads(re.search(r'<script type="application/json" id="shap-data">(.*?)</script>', page).group(1))
    assert set(shap["descriptor"]) >= {"inv_t_dep", "norm_shear_modulus"} and shap["films"] > 0
    assert all(v >= 0 for v in shap["mean_abs"]) and shap["mean_abs"] == sorted(shap["mean_abs"], reverse=True)
    assert '<script src="/static/plots.js"></script>' in page


def test_predict_and_suggest_answer_with_interval_and_model(recommended_db):
    web = client(recommended_db)
    page = web.get("/predict?substrate=MgO&temp_c=700&thickness_nm=300").text
    assert not error_of_text(page), error_of_text(page)
    low, high = re.search(r'<td class="interval">([^<]+) – ([^<]+)</td>', page).groups()
    sigma = float(re.search(r'<td class="sigma">([^<]+)</td>', page).group(1))
    assert float(low) < sigma < float(high)
    run_id = re.search(r'id="answered-by">model: the recommended model, run (train-[\w-]+)', page).group(1)
    models = web.get("/models").text
    assert f'<section class="run" id="run-{run_id}">' in models and "training_fit" in models
    assert re.search(r'<td class="domain">(inside|OUTSIDE)</td>', page)
    bad = web.get("/predict?substrate=MgO&temp_c=1700&thickness_nm=300")
    assert bad.status_code == 400 and error_of(bad).startswith("deposition temperature:")
    ranked = web.get("/suggest?go=1&substrate=MgO&temp_c=600:700:100&thickness_nm=300&top=2").text
    assert not error_of_text(ranked), error_of_text(ranked)
    assert len(re.findall(r"<tr><td>\d+</td><td>MgO</td>", ranked)) >= 1 and 'id="answered-by"' in ranked


def error_of_text(text: str) -> str:
    found = re.search(r'id="error">([^<]*)<', text)
    return found.group(1) if found else ""


def test_serve_refuses_a_missing_file_in_one_line(tmp_path):
    from click.testing import CliRunner

    from filmkb.cli import main

    result = CliRunner().invoke(main, ["serve", "--db", str(tmp_path / "none.duckdb"), "--port", "8765"])
    assert result.exit_code == 1
    assert "no such database; run `filmkb init` first" in result.output and result.output.count("\n") == 1


def test_the_same_pages_on_a_postgresql_server(request):
    """With the engine seam and its test server (tests/pgserver.py, fixture `pg_db`), the view reads a
    PostgreSQL knowledge base through the same kb/ calls; skipped in a tree without that fixture."""
    try:
        url = request.getfixturevalue("pg_db")
    except pytest.FixtureLookupError:
        pytest.skip("no PostgreSQL test server in this tree (fixture pg_db)")
    from filmkb import kb

    web = client(url)
    with kb.open(url) as k:
        expected = len(k.films(substrate="MgO"))
    assert count_of(web.get("/films?substrate=MgO&sort=deposition_temp_c&order=desc")) == expected
    assert count_of(web.get("/films?q=chen2014")) == 4
    for path in ("/films/3", "/films.csv", "/substrates", "/methods", "/references", "/plots", "/models", "/predict"):
        assert web.get(path).status_code == 200, path
    assert "no film with id 999" in error_of(web.get("/films/999"))


def test_serve_refuses_a_port_in_use_in_one_line(built_db):
    import socket

    from click.testing import CliRunner

    from filmkb.cli import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main, ["serve", "--db", built_db, "--port", str(port)])
    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert f"--host 127.0.0.1 --port {port}: cannot listen there (Address already in use)" in result.output
