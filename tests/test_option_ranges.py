"""Property tests, one per kind of number a user types (seed, timeout, wait, temperature, thickness, year,
substrate sites, DOI, extract limits): for any generated value the command either accepts it or ends
with exit code 1 and one `Error: ...` line; never a traceback, and never exit 0 with a value outside
its stated range. Commands run in this process (CliRunner) on a copy of the built knowledge base;
accepted values run into a cheap later error (no trained model, no such database) or a dry run, so
nothing is trained or written."""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kbtools import digest, run
from filmkb.ingest.entries import TEMPLATE_COLUMNS

HEADER = ",".join(TEMPLATE_COLUMNS)
FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
NO_MODEL = "no trained model yet"

# Numbers as people and fuzzers type them: ints of any size, floats with inf/nan, and odd text.
numbers = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["inf", "-inf", "nan", "1e300", "1e-300", "1e400", "0x10", "1_000", "²", "", " ", "--", "1e",
                     "9" * 400, "1" * 5000, "٣", "0", "-0"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12),
)


def one_line(result) -> str | None:
    """None when the command succeeded, else its single error line; asserts there is no traceback."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    if result.exit_code == 0:
        return None
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


def as_int(text: str) -> int | None:
    """The whole number click reads from `text` (Python's int), or None."""
    try:
        return int(text)
    except ValueError:
        return None


def as_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def quantity(text: str, unit: str) -> float | None:
    """What ingest reads from a cell (units allowed), to compare an accepted value with its range."""
    from filmkb.ingest.normalise import parse_quantity

    return parse_quantity(text, unit)


@pytest.fixture(scope="module")
def shared_db(built_db, tmp_path_factory):
    """One copy of the built knowledge base for a module of commands that must not change it."""
    import shutil

    path = str(tmp_path_factory.mktemp("ranges") / "filmkb.duckdb")
    shutil.copy2(built_db, path)
    return path


@pytest.fixture
def unchanged(shared_db):
    before = digest(shared_db)
    yield shared_db
    assert digest(shared_db) == before


@FAST
@given(seed=numbers, command=st.sampled_from(["train", "evaluate", "reproduce"]))
def test_seed(tmp_path_factory, seed, command):
    missing = str(tmp_path_factory.getbasetemp() / "no-such" / "x.duckdb")  # accepted seeds stop here
    line = one_line(run(missing, command, "--seed", seed))
    assert line is not None
    valid = as_int(seed) is not None and 0 <= as_int(seed) <= 2**32 - 1
    assert ("Invalid value for '--seed'" in line) != valid, line


@FAST
@given(timeout=numbers)
def test_query_timeout(unchanged, timeout):
    line = one_line(run(unchanged, "query", "SELECT 42 AS answer", "--timeout", timeout, "--format", "csv"))
    number = as_float(timeout)
    valid = number is not None and math.isfinite(number) and 0 <= number <= 86_400
    if valid:  # it answers, or a timeout too short for the query interrupts it
        assert line is None or line.startswith("Error: query interrupted after"), line
    else:
        assert line.startswith("Error: Invalid value for '--timeout'"), line


@FAST
@given(wait=numbers)
def test_wait(unchanged, tmp_path_factory, wait):
    films = tmp_path_factory.getbasetemp() / "wait.csv"
    films.write_text(f"{HEADER}\n10.5555/wait.1,,,,,LLZO,PLD,700,MgO,,cubic,200,1e-5,,,,\n", encoding="utf-8")
    line = one_line(run(unchanged, "ingest", "--dry-run", "--wait", wait, str(films)))
    number = as_float(wait)
    valid = number is not None and math.isfinite(number) and 0 <= number <= 86_400
    assert (line is None) == valid, line


@FAST
@given(value=numbers, option=st.sampled_from(["--temp-c", "--measured-at"]))
def test_temperature(unchanged, value, option):
    others = {"--temp-c": "700", "--measured-at": "25"}
    others[option] = value
    line = one_line(run(unchanged, "predict", "--substrate", "MgO", "--thickness-nm", "100", "--no-store",
                        "--temp-c", others["--temp-c"], "--measured-at", others["--measured-at"]))
    assert line is not None  # accepted values reach the model, which this knowledge base has not trained
    if NO_MODEL in line:
        number = quantity(value, "degC")
        top = 1500 if option == "--temp-c" else 1000
        assert (number is None and option == "--measured-at") or -273.15 < number <= top, (value, line)
    else:
        assert line.startswith(f"Error: {option}: "), line


@FAST
@given(value=numbers)
def test_thickness(unchanged, value):
    line = one_line(run(unchanged, "predict", "--substrate", "MgO", "--temp-c", "700", "--no-store",
                        "--thickness-nm", value))
    assert line is not None
    if NO_MODEL in line:
        number = quantity(value, "nm")  # none: the thickness is not known (the recommended model imputes it)
        assert number is None or 0.1 <= number <= 1e6, (value, line)
    else:
        assert line.startswith("Error: --thickness-nm: "), line


@FAST
@given(doi=st.one_of(st.text(max_size=30), st.from_regex(r"10\.\d{4,9}/[a-z0-9.]{1,12}", fullmatch=True),
                     st.from_regex(r"https://doi\.org/10\.\d{4}/[A-Z0-9]{1,8}", fullmatch=True)))
def test_doi(unchanged, doi):
    result = run(unchanged, "predict", "--substrate", "MgO", "--temp-c", "700", "--thickness-nm", "100",
                 "--no-store", "--reference", doi)
    line = one_line(result)
    assert line is not None
    assert NO_MODEL in line or line.startswith("Error: --reference: "), line


@FAST
@given(year=st.one_of(numbers, st.integers(min_value=-10**6, max_value=10**6).map(str)),
       fmt=st.sampled_from(["csv", "yaml"]))
def test_year(unchanged, tmp_path_factory, year, fmt):
    path = tmp_path_factory.getbasetemp() / f"year.{fmt}"
    if fmt == "csv":
        cell = '"' + year.replace('"', '""') + '"'
        path.write_text(f"{HEADER}\n10.5555/year.1,Doe J,{cell},,,LLZO,PLD,700,MgO,,cubic,200,1e-5,,,,\n",
                        encoding="utf-8")
    else:
        import yaml

        path.write_text(yaml.safe_dump([{"doi": "10.5555/year.1", "authors": "Doe J", "year": year, "composition": "LLZO",
                                         "method": "PLD", "deposition_temp_c": "700", "substrate": "MgO",
                                         "phase": "cubic", "thickness_nm": "200", "conductivity_s_cm": "1e-5"}],
                                       allow_unicode=True), encoding="utf-8")
    line = one_line(run(unchanged, "ingest", "--dry-run", str(path)))
    if line is None:
        from filmkb.ingest.normalise import clean_text

        number = as_float(clean_text(year))
        assert clean_text(year) == "" or (number is not None and 1900 <= number < 2101), year
    else:
        assert line.startswith(f"Error: {path}:"), line


@FAST
@given(year=numbers)
def test_bibtex_year(year):
    """The BibTeX reader behind ingest-bib: a year is read into the range film rows accept, or it is a problem
    naming the file, line and field (the CLI prints those problems as its error lines)."""
    from filmkb.ingest.bibtex import parse_bibtex
    from filmkb.ingest.normalise import clean_text

    safe = year.replace("{", "").replace("}", "")
    entries, problems = parse_bibtex(f"@article{{k1, title={{A}}, year={{{safe}}}, doi={{10.5555/bibyear.1}}}}\n",
                                     "refs.bib")
    if entries:
        assert entries[0].year is None or 1900 <= entries[0].year <= 2100
        assert entries[0].year is not None or clean_text(" ".join(safe.split())) == ""
    else:
        (problem,) = problems
        assert str(problem).startswith("refs.bib:1: year:") and "\n" not in str(problem)


coordinate = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), numbers)
site = st.builds(lambda el, xyz: " ".join([el, *xyz]), st.sampled_from(["Ba", "O", "Mg", "Qq", "", "ba"]),
                 st.lists(coordinate, min_size=0, max_size=4))


@FAST
@given(sites=st.lists(site, min_size=1, max_size=3).map("; ".join))
def test_substrate_sites(sites):
    """The library call behind add-substrate: sites it accepts always build the structure a later film needs."""
    from filmkb.errors import FilmkbError
    from filmkb.ingest.catalogue import substrate_from_options
    from filmkb.kb import materials

    substrate = dict(name="Fooite", formula="BaO", amorphous="false", space_group="Fm-3m", sites=sites, aliases="",
                     note=None, crystal_system=None)
    values = dict(lattice_a="5.5", cte="1e-5", poisson_ratio="0.3", youngs_modulus="100", shear_modulus="40",
                  dielectric_constant="10", melting_point="2000")
    try:
        entry = substrate_from_options(substrate, values, "test")
    except FilmkbError as exc:
        lines = str(exc).splitlines()
        assert len(lines) == 1 and lines[0].startswith("--sites: "), str(exc)
        return
    if entry.sites and entry.sites.strip(" ;"):
        materials.build_structure("Fm-3m", materials.build_lattice("Fm-3m", 5.5), entry.sites)


@FAST
@given(value=numbers, option=st.sampled_from(["--max-pages", "--max-chars"]))
def test_extract_limits(unchanged, tmp_path_factory, value, option):
    paper = tmp_path_factory.getbasetemp() / "short.txt"
    paper.write_text("LLZO films were deposited at 700 °C on MgO(100) by PLD.\n", encoding="utf-8")
    out = tmp_path_factory.getbasetemp() / "short.draft.csv"
    line = one_line(run(unchanged, "extract", str(paper), option, value, "--out", str(out), "--force"))
    if line is None:
        assert as_int(value) is not None and as_int(value) >= 1, value
    elif f"Invalid value for '{option}'" not in line:
        assert "--max-chars" in line and as_int(value) < 57, line  # a valid limit smaller than the paper
