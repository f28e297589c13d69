"""Hostile inputs that used to crash or run for minutes: each now ends quickly in one `Error: ...` line
naming the file and field (or the option), exit code 1, and the database unchanged. Inputs that would
hang are run under an alarm so a regression fails instead of stalling the suite."""

import json
import math
import signal
from contextlib import contextmanager

import pytest

from kbtools import digest, run
from filmkb.ingest.entries import TEMPLATE_COLUMNS

HEADER = ",".join(TEMPLATE_COLUMNS)
FILM = ("- doi: 10.5555/bounded.1\n  composition: Li7La3Zr2O12\n  method: PLD\n  deposition_temp_c: 700 °C\n"
        "  substrate: MgO (100)\n  phase: c-LLZO\n  thickness_nm: 200\n  conductivity_s_cm: 0.12 mS/cm\n")
SUBSTRATE = ["add-substrate", "--name", "Fooite", "--formula", "BaO", "--space-group", "Fm-3m", "--lattice-a", "5.5",
             "--cte", "1e-5", "--poisson", "0.3", "--youngs", "100", "--shear", "40", "--dielectric", "10",
             "--melting-point", "2000", "--source", "test"]
PREDICT = ["predict", "--substrate", "MgO", "--temp-c", "700", "--no-store"]


@contextmanager
def within(seconds: int):
    """Fail (rather than hang) if the block runs longer than `seconds`."""
    def expire(*_):
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def refused(db, *args, seconds: int = 60) -> str:
    """Run the CLI expecting a clean refusal; returns its one line (without 'Error: ')."""
    before = digest(db)
    with within(seconds):
        result = run(db, *args)
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "Traceback" not in result.output
    assert digest(db) == before
    return lines[0][len("Error: "):]


# --- the 14 causes of tracebacks -----------------------------------------------------------------

def test_yaml_nested_5000_deep(db_path, tmp_path):
    for name, text in [("flow.yaml", "- doi: " + "[" * 5000 + "]" * 5000 + "\n"),
                       ("block.yaml", "".join("  " * i + "- \n" for i in range(5000))),
                       ("mapping.yaml", "- doi: x\n" + "".join("  " * i + "  a:\n" for i in range(5000)))]:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        line = refused(db_path, "ingest", "--dry-run", str(path))
        assert line.startswith(f"{path}:"), line


def test_400_digit_thickness_and_5000_digit_year(db_path, tmp_path):
    thick = tmp_path / "thick.yaml"
    thick.write_text(FILM.replace("thickness_nm: 200", "thickness_nm: " + "9" * 400), encoding="utf-8")
    assert refused(db_path, "ingest", "--dry-run", str(thick)).startswith(f"{thick}:1: thickness_nm: '999")
    year = tmp_path / "year.yaml"
    year.write_text(FILM + "  year: " + "1" * 5000 + "\n", encoding="utf-8")
    line = refused(db_path, "ingest", "--dry-run", str(year))
    assert line.startswith(f"{year}:1: year: '111") and "(5,000 characters)" in line and len(line) < 300
    csv_year = tmp_path / "year.csv"
    csv_year.write_text(f"{HEADER}\n10.5555/x.1,,{'1' * 5000},,,LLZO,PLD,700,MgO,,cubic,200,1e-5,,,,\n", encoding="utf-8")
    assert refused(db_path, "ingest", "--dry-run", str(csv_year)).startswith(f"{csv_year}:2: year:")


@pytest.mark.parametrize("year", ["²", "99999999999", "-5", "MMXX"])
def test_bibtex_years_that_are_not_years(db_path, tmp_path, year):
    bib = tmp_path / "refs.bib"
    bib.write_text(f"@article{{k1, title={{A}}, year={{{year}}}, doi={{10.5555/b.1}}}}\n", encoding="utf-8")
    assert refused(db_path, "ingest-bib", str(bib)).startswith(f"{bib}:1: year:")


def _manifest(tmp_path, text: str):
    entries = tmp_path / "export" / "entries"
    entries.mkdir(parents=True, exist_ok=True)
    (entries / "batch-0001-films.csv").write_text(f"{HEADER}\n", encoding="utf-8")
    (entries / "manifest.json").write_text(text, encoding="utf-8")
    return entries


def _batch(**fields) -> str:
    batch = dict(batch=1, kind="user", sources=["a.csv"], note=None, created_at="2024-01-01T00:00:00", films=0,
                 files=["batch-0001-films.csv"])
    return json.dumps(dict(format="filmkb-export", version=1, schema_version=1, curated=None,
                           batches=[{**batch, **fields}]))


@pytest.mark.parametrize("text, expected", [
    (_batch(created_at="last tuesday"), 'batches[0]: created_at: "last tuesday": expected an ISO date'),
    (_batch(created_at=20240101), "batches[0]: created_at: 20240101: expected an ISO date"),
    ("5", "format: not a filmkb-export manifest"),
    ("[1, 2, 3]", "format: not a filmkb-export manifest"),
    (_batch(files=[1, 2]), "batches[0]: files: [1, 2]: expected a list of file names"),
    (_batch(sources=[1, 2]), "batches[0]: sources: [1, 2]: expected a list of text"),
    (_batch(note=7), "batches[0]: note: 7: expected text"),
    (_batch(films=-1), "batches[0]: films: -1: expected a whole number"),
    ("[" * 100_000 + "]" * 100_000, ":1: JSON nested more than 8 levels deep"),
    ('{"a": ' * 100_000 + "1" + "}" * 100_000, ":1: JSON nested more than 8 levels deep"),
])
def test_export_manifests_that_are_not_manifests(db_path, tmp_path, text, expected):
    entries = _manifest(tmp_path, text)
    line = refused(db_path, "ingest", str(entries))
    assert line.startswith(str(entries / "manifest.json")) and expected in line, line


def test_add_substrate_sites_are_checked_before_anything_is_written(db_path):
    assert refused(db_path, *SUBSTRATE, "--sites", "Ba 0 0 zz") == "--sites: 'Ba 0 0 zz': site 1: coordinate 'zz' is not a number"
    for sites, reason in [("Ba 0 0 1.5", "outside [0, 1)"), ("Ba 0 0 nan", "outside [0, 1)"),
                          ("Ba 0 0", "three coordinates"), ("Qq 0 0 0", "not an element symbol"),
                          ("Ba 0 0 0; O 0.5 0.5 -0.5", "site 2: fractional coordinate -0.5 is outside [0, 1)")]:
        assert reason in refused(db_path, *SUBSTRATE, "--sites", sites)


def test_a_substrate_with_good_sites_is_added_and_carries_a_film(db_path, tmp_path):
    result = run(db_path, *SUBSTRATE, "--sites", "Ba 0 0 0; O 0.5 0.5 0.5")
    assert result.exit_code == 0, result.output
    films = tmp_path / "films.csv"
    films.write_text(f"{HEADER}\n10.5555/fooite.1,,,,,Li7La3Zr2O12,PLD,700 °C,Fooite (100),,c-LLZO,200,1e-5,,,,\n",
                     encoding="utf-8")
    result = run(db_path, "ingest", str(films))
    assert result.exit_code == 0 and "added 1 films" in result.output, result.output


@pytest.mark.parametrize("seed", ["-1", str(2**70)])
@pytest.mark.parametrize("command", ["train", "evaluate", "reproduce"])
def test_seeds_out_of_range(db_path, command, seed):
    line = refused(db_path, command, "--seed", seed)
    assert line.startswith("Invalid value for '--seed'") and "0<=x<=4294967295" in line


@pytest.mark.parametrize("timeout", ["inf", "1e300", "nan", "-1", "86401"])
def test_query_timeouts_out_of_range(db_path, timeout):
    assert refused(db_path, "query", "SELECT 1", "--timeout", timeout).startswith("Invalid value for '--timeout'")


@pytest.mark.parametrize("option, value, reason", [
    ("--thickness-nm", "1e-300", "--thickness-nm: '1e-300': must be at least 0.1 nm and at most 1e+06 nm"),
    ("--thickness-nm", "1e400", "--thickness-nm: '1e400': not a finite number"),
    ("--thickness-nm", "0", "--thickness-nm: '0': thickness must be positive"),
    ("--measured-at", "-1000", "--measured-at: '-1000': below absolute zero"),
    ("--measured-at", "5000 K", "--measured-at: '5000 K': must be above absolute zero and at most 1000 °C"),
    ("--reference", "hello", "--reference: 'hello': not a DOI"),
])
def test_predict_conditions_out_of_range(db_path, option, value, reason):
    args = [*PREDICT, *(["--thickness-nm", "100"] if option != "--thickness-nm" else []), option, value]
    assert refused(db_path, *args).startswith(reason)


def test_predict_temperature_out_of_range(db_path):
    line = refused(db_path, "predict", "--substrate", "MgO", "--temp-c", "1e300", "--thickness-nm", "100")
    assert line == "--temp-c: '1e300': must be above absolute zero and at most 1500 °C (read as 1e+300 °C)"


# --- YAML tags -----------------------------------------------------------------------------------

@pytest.mark.parametrize("value, tag", [("!!binary aGVsbG8=", "!!binary"), ("!!python/object/apply:os.system [x]",
                                        "!!python/object/apply:os.system"), ("!!set {a}", "!!set"),
                                        ("!local 3", "!local"), ("!!omap [a: 1]", "!!omap")])
def test_yaml_tags_other_than_the_standard_scalars_are_refused(db_path, tmp_path, value, tag):
    path = tmp_path / "tagged.yaml"
    path.write_text(FILM + f"  notes: {value}\n", encoding="utf-8")
    assert refused(db_path, "ingest", "--dry-run", str(path)).startswith(f"{path}:9: YAML tag {tag} is not accepted")


def test_standard_scalar_tags_are_read_as_their_text(db_path, tmp_path):
    path = tmp_path / "plain.yaml"
    path.write_text(FILM.replace("thickness_nm: 200", "thickness_nm: !!int 200") + "  notes: !!str yes\n",
                    encoding="utf-8")
    result = run(db_path, "ingest", "--dry-run", str(path))
    assert result.exit_code == 0 and "1 entries valid" in result.output, result.output


def test_standard_tags_on_values_they_do_not_fit_are_kept_as_text(tmp_path):
    from filmkb.ingest.readers import read_yaml

    path = tmp_path / "odd.yaml"
    path.write_text("- notes: !!bool maybe\n  title: !!float abc\n  journal: !!timestamp never\n  year: !!int 1e400\n",
                    encoding="utf-8")
    (record,) = read_yaml(path)
    assert record.cells == {"notes": "maybe", "title": "abc", "journal": "never", "year": "1e400"}


# --- bounded work --------------------------------------------------------------------------------

def test_60kb_of_unclosed_bibtex_entries_is_one_line_at_once(db_path, tmp_path):
    bib = tmp_path / "open.bib"
    bib.write_text("@a{" * 20_000, encoding="utf-8")
    line = refused(db_path, "ingest-bib", str(bib), seconds=20)
    assert line.startswith(f"{bib}:1: entry: 'a': its {{ is never closed")


def test_bibtex_with_long_blank_runs_and_nested_entries_reads_quickly(db_path, tmp_path):
    bib = tmp_path / "odd.bib"
    nested = "@a{k," + "@b{j, " * 5000 + "}" * 5000 + "}\n"
    bib.write_text(nested + "@article{k2," + " " * 200_000 + "title = {T}, year = {2020}, doi = {10.5555/b.9}}\n",
                   encoding="utf-8")
    with within(20):
        result = run(db_path, "ingest-bib", str(bib))
    assert result.exit_code == 0 and "references: 2 added" in result.output, result.output


def test_a_large_yaml_file_is_read_in_linear_time(tmp_path):
    from filmkb.ingest.readers import read_yaml

    path = tmp_path / "big.yaml"
    path.write_text(FILM * 10_000, encoding="utf-8")  # 1.8 MB; the pre-fix reader took about a minute
    with within(30):
        records = read_yaml(path)
    assert len(records) == 10_000 and records[-1].line == 8 * 9_999 + 1
    assert records[0].cells["thickness_nm"] == "200"


def test_a_yaml_key_given_twice_is_refused(db_path, tmp_path):
    path = tmp_path / "twice.yaml"
    path.write_text(FILM + "  method: ALD\n", encoding="utf-8")
    assert refused(db_path, "ingest", "--dry-run", str(path)) == f"{path}:9: method: appears twice in one entry"


def test_extract_refuses_text_over_max_chars(db_path, tmp_path):
    paper = tmp_path / "huge.txt"
    paper.write_text("LLZO films were deposited at 700 °C. " * 60_000, encoding="utf-8")  # 2.2 M characters
    line = refused(db_path, "extract", str(paper), "--out", str(tmp_path / "d.csv"), seconds=30)
    assert line.startswith(f"{paper}: more than 2,000,000 characters of text (--max-chars 2000000)")
    assert not (tmp_path / "d.csv").exists()
    line = refused(db_path, "extract", str(paper), "--max-chars", "100", "--out", str(tmp_path / "d.csv"))
    assert "(--max-chars 100)" in line


def test_extract_refuses_a_pdf_over_max_pages(db_path, tmp_path):
    import pypdfium2

    pdf = pypdfium2.PdfDocument.new()
    for _ in range(201):
        pdf.new_page(200, 200)
    paper = tmp_path / "long.pdf"
    pdf.save(str(paper))
    line = refused(db_path, "extract", str(paper), "--out", str(tmp_path / "d.csv"), seconds=60)
    assert line.startswith(f"{paper}: 201 pages is more than --max-pages 200")
    result = run(db_path, "extract", str(paper), "--max-pages", "201", "--out", str(tmp_path / "d.csv"))
    assert result.exit_code == 0 and "0 rows drafted" in result.output, result.output


@pytest.mark.parametrize("text", [
    "LLZO" + " " * 200_000 + "S/cm",                     # one blank run: was quadratic in the subscript pattern
    "σ = 1.2 ±" + " " * 200_000 + "0.1 S/cm",
    "Li" + " " * 200_000 + "₂ and x" + " " * 100_000 + "_{2}",
])
def test_extract_is_linear_in_blank_runs(db_path, tmp_path, text):
    paper = tmp_path / "blank.txt"
    paper.write_text(text, encoding="utf-8")
    with within(30):
        result = run(db_path, "extract", str(paper), "--out", str(tmp_path / "d.csv"))
    assert result.exit_code == 0, result.output


def test_extract_html_with_many_text_pieces_is_linear(db_path, tmp_path):
    page = tmp_path / "page.html"
    page.write_text("<p>" + "a<!---->" * 200_000 + "</p>", encoding="utf-8")
    with within(30):
        result = run(db_path, "extract", str(page), "--out", str(tmp_path / "d.csv"))
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("value, unit, reason", [
    ("0:1400:1e-300", "°C", "1.4e+303 values; use a coarser step (at most 100,000)"),
    ("0:1e300:1e-300", "°C", "at most 10000 °C"),
    ("1e300", "°C", "at most 10000 °C"),
    ("1e-300", "nm", "is impossible (values must be above 0.1 nm)"),
])
def test_suggest_ranges_are_bounded_and_never_overflow(value, unit, reason):
    from filmkb.errors import FilmkbError
    from filmkb.jobs.grid import MAX_GRID_TEMP_C, parse_range
    from filmkb.schema.expectations import THICKNESS_NM

    lo, hi = (-273.15, MAX_GRID_TEMP_C) if unit == "°C" else (math.nextafter(THICKNESS_NM[0], 0.0), THICKNESS_NM[1])
    with pytest.raises(FilmkbError, match=None) as refusal:
        parse_range(value, "--x", unit, lo, hi)
    assert reason in str(refusal.value) and "\n" not in str(refusal.value)


# --- any text: records or one refusal, never another exception ----------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

SOME = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
YAML_TEXT = st.lists(st.sampled_from(list("-:[]{}!&*|>'\"#?,%@`\n\t  abcxyz019.~_") + [
    "!!binary ", "!!python/", "!!bool ", "---\n", "- ", ": ", "\n  "]), max_size=60).map("".join)
BIB_TEXT = st.lists(st.sampled_from(list('@{}",=# \n\tabcyz019²') + ["@article{", "year = ", "doi = {10.5555/"]),
                    max_size=80).map("".join)


@SOME
@given(text=YAML_TEXT)
def test_any_yaml_text_is_records_or_one_read_error(tmp_path, text):
    from filmkb.ingest.readers import ReadError, read_yaml

    path = tmp_path / "any.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        records = read_yaml(path)
    except ReadError as exc:
        assert "\n" not in str(exc) and str(exc).startswith(str(path))
        return
    assert all(isinstance(v, (str, bool, type(None))) for r in records for v in r.cells.values())


@SOME
@given(text=BIB_TEXT)
def test_any_bibtex_text_is_entries_or_problems(text):
    from filmkb.ingest.bibtex import parse_bibtex

    entries, problems = parse_bibtex(text, "any.bib")
    assert all(e.year is None or 1900 <= e.year <= 2100 for e in entries)
    assert all(str(p).startswith("any.bib:") and "\n" not in str(p).split(": ", 3)[-1] for p in problems)


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                       max_size=3), max_leaves=12)


@SOME
@given(batch=st.dictionaries(st.sampled_from(["batch", "kind", "sources", "note", "created_at", "films", "files"]),
                             json_values), keep=st.booleans())
def test_any_manifest_batch_is_checked_or_refused_in_one_line(tmp_path, batch, keep):
    from filmkb.errors import FilmkbError
    from filmkb.jobs.exchange import _manifest

    entries = tmp_path / "entries"
    entries.mkdir(exist_ok=True)
    (entries / "films.csv").write_text("doi\n", encoding="utf-8")
    if keep:
        batch = {"kind": "user", "files": ["films.csv"], **batch}
    (entries / "manifest.json").write_text(json.dumps(dict(format="filmkb-export", version=1, schema_version=1,
                                                           batches=[batch])), encoding="utf-8")
    try:
        _manifest(entries)
    except FilmkbError as exc:
        assert "\n" not in str(exc) and str(exc).startswith(str(entries / "manifest.json"))
