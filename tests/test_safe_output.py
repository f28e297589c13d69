"""Output that cannot attack its reader (issue 21, item 5, and `query --max-rows` of item 3): CSV written for
people neutralises cells a spreadsheet would run, `--raw` writes them as stored, a round trip keeps them;
tables, text and error lines show control characters and rich markup literally; `query` stops its table
at a row limit and streams csv and json."""

import csv
import io
import json
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from filmkb.cli import main
from filmkb.ingest.readers import read_csv
from filmkb.schema.cells import neutralise, neutralised_frame, unneutralise, visible

FORMULA = "=cmd|' /C calc'!A0"
JOURNAL = "@SUM(1+1)*cmd|' /C calc'!A0"
ESCAPES = "\x1b]0;pwned\x07 [bold]x[/bold] [link=http://example.org]y[/link] \x1b[2J :smile:"
QUOTED = "'=already a quote"
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def cli(db, *args):
    """`filmkb --db DB ARGS...` as a terminal would see it: color=True keeps click from stripping escape
    sequences the way it does for piped output, so only filmkb's own escaping can make them visible."""
    return CliRunner().invoke(main, ["--db", str(db), *args], color=True)


def ok(result):
    assert result.exit_code == 0, result.output
    return result


def cells(text: str) -> list[str]:
    return [c for row in csv.reader(io.StringIO(text, newline="")) for c in row]


def formula_cells(text: str) -> list[str]:
    """Cells a spreadsheet would run: beginning with a trigger character and not a plain number."""
    def number(c):
        try:
            float(c)
            return True
        except ValueError:
            return False
    return [c for c in cells(text) if c.startswith(TRIGGERS) and not number(c)]


@pytest.fixture
def hostile_db(db_path, tmp_path):
    """The curated knowledge base plus three user films whose note and reference hold a formula, terminal
    escapes with rich markup, and (from YAML, where no CSV rule applies) a note beginning with a quote."""
    films = tmp_path / "hostile.csv"
    with open(films, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["doi", "title", "journal", "composition", "method", "deposition_temp_c", "substrate",
                         "phase", "thickness_nm", "conductivity_s_cm", "notes"])
        writer.writerow(["10.5555/safe.1", FORMULA, JOURNAL, "LLZO", "PLD", "700", "MgO", "cubic", "300", "1e-6",
                         FORMULA])
        writer.writerow(["10.5555/safe.1", "", "", "LLZO", "PLD", "650", "MgO", "cubic", "300", "2e-6", ESCAPES])
    quoted = tmp_path / "quoted.yaml"
    quoted.write_text("- doi: 10.5555/safe.1\n  composition: LLZO\n  method: PLD\n  deposition_temp_c: 600\n"
                      "  substrate: MgO\n  phase: cubic\n  conductivity_s_cm: 3e-6\n"
                      f"  notes: \"{QUOTED}\"\n", encoding="utf-8")
    ok(cli(db_path, "ingest", str(films), str(quoted)))
    assert stored(db_path) == [(FORMULA, FORMULA, JOURNAL), (ESCAPES, FORMULA, JOURNAL), (QUOTED, FORMULA, JOURNAL)]
    return db_path


def stored(db) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT f.notes, p.title, p.journal FROM films f JOIN publications p ON p.id = "
                           "f.reference_id WHERE p.doi = '10.5555/safe.1' ORDER BY f.id").fetchall()
    finally:
        con.close()


# --- the rule ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, written", [
    (FORMULA, "'" + FORMULA), ("+1+cmd", "'+1+cmd"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=x", "'\t=x"), ("\r=x", "'\r=x"), ("-5 °C", "'-5 °C"), (QUOTED, "'" + QUOTED), ("''=x", "'''=x"),
    ("-0.5", "-0.5"), ("+1e-3", "+1e-3"), ("-inf", "-inf"), ("'-0.5", "'-0.5"), ("plain", "plain"), ("", ""),
    ("'", "'"), ("a=b", "a=b"),
])
def test_neutralise_prefixes_formulas_leaves_numbers_and_is_undone_exactly(text, written):
    assert neutralise(text) == written
    assert unneutralise(written) == text


def test_neutralised_frame_agrees_with_the_rule_for_text_and_object_columns():
    import pandas as pd

    texts = [FORMULA, "-0.5", QUOTED, "''=x", "'-0.5", "-5 °C", "@a", "\t=x", "plain", "", "-", "-NaN", None]
    frame = pd.DataFrame({"s": texts, "o": pd.Series(texts, dtype=object), "x": range(len(texts)),
                          "f": [-0.5] * len(texts)})
    out = neutralised_frame(frame.rename(columns={"x": "=x"}))
    expected = [None if t is None else neutralise(t) for t in texts]
    for column in ("s", "o"):
        assert [None if pd.isna(v) else v for v in out[column]] == expected, column
    assert list(out.columns) == ["s", "o", "'=x", "f"] and (out["f"] == -0.5).all()


def test_visible_escapes_controls_but_keeps_newline_and_tab():
    assert visible("a\x1b[2J\x07\x9b\u202eb\n\tc\r") == "a\\u001b[2J\\u0007\\u009b\\u202eb\n\tc\\u000d"


# --- CSV written for people -----------------------------------------------------------------------------------

def test_export_csv_is_neutralised_and_raw_writes_what_is_stored(hostile_db, tmp_path):
    out, raw = tmp_path / "dump", tmp_path / "raw"
    ok(cli(hostile_db, "export", str(out)))
    ok(cli(hostile_db, "export", str(raw), "--raw"))
    written = sorted(out.rglob("*.csv"))
    assert len(written) >= 20 and out / "entries" / "batch-0002-films.csv" in written
    for path in written:
        assert formula_cells(path.read_text(encoding="utf-8")) == [], path
    assert {"'" + FORMULA, "'" + JOURNAL, "'" + QUOTED} <= set(cells((out / "films.csv").read_text()) +
                                                            cells((out / "publications.csv").read_text()))
    raw_cells = set(cells((raw / "films.csv").read_text()) + cells((raw / "publications.csv").read_text()))
    assert {FORMULA, JOURNAL, QUOTED, ESCAPES} <= raw_cells
    # the entries are ingest's input, written in the form ingest reads back, --raw or not
    entries = Path("entries") / "batch-0002-films.csv"
    assert (raw / entries).read_text() == (out / entries).read_text()


def test_round_trip_gives_back_formulas_quotes_and_escapes_unchanged(hostile_db, tmp_path):
    out, new = tmp_path / "dump", tmp_path / "new.duckdb"
    ok(cli(hostile_db, "export", str(out)))
    ok(cli(new, "init"))
    ok(cli(new, "ingest", str(out / "entries")))
    assert stored(new) == stored(hostile_db) == [(FORMULA, FORMULA, JOURNAL), (ESCAPES, FORMULA, JOURNAL),
                                                 (QUOTED, FORMULA, JOURNAL)]


def test_films_csv_is_neutralised_and_raw_gives_the_stored_cells(hostile_db):
    people = ok(cli(hostile_db, "films", "--format", "csv")).stdout
    assert formula_cells(people) == [] and "\x1b" not in people and "\x07" not in people
    assert {"'" + FORMULA, "'" + QUOTED, visible(ESCAPES)} <= set(cells(people))
    machine = ok(cli(hostile_db, "films", "--format", "csv", "--raw")).stdout
    assert {FORMULA, QUOTED, ESCAPES} <= set(cells(machine))


def test_query_csv_neutralises_text_and_headers_but_not_numbers(hostile_db):
    sql = ("SELECT -0.5 AS x, '-0.5' AS s, '-1 + 2' AS t, 1 AS \"=h\", notes FROM films "
           "WHERE notes = $$" + FORMULA + "$$")
    people = ok(cli(hostile_db, "query", sql, "--format", "csv")).stdout
    assert people.splitlines() == ["x,s,t,'=h,notes", f"-0.5,-0.5,'-1 + 2,1,'{FORMULA}"]
    machine = ok(cli(hostile_db, "query", sql, "--format", "csv", "--raw")).stdout
    assert machine.splitlines() == ["x,s,t,=h,notes", f"-0.5,-0.5,-1 + 2,1,{FORMULA}"]
    escapes = ok(cli(hostile_db, "query", "SELECT notes FROM films WHERE notes LIKE '%pwned%'", "--format",
                     "csv", "--raw")).stdout
    assert cells(escapes) == ["notes", ESCAPES]


def test_descriptors_csv_leaves_negative_numbers_as_numbers(built_db, tmp_path):
    people, raw = tmp_path / "x.csv", tmp_path / "raw.csv"
    ok(cli(built_db, "descriptors", "--out", str(people)))
    ok(cli(built_db, "descriptors", "--out", str(raw), "--raw"))
    text = people.read_text()
    assert any(c.startswith("-") for c in cells(text))  # negative misfits are data
    assert text == raw.read_text() and formula_cells(text) == []
    printed = ok(cli(built_db, "descriptors", "--format", "csv")).stdout
    assert printed == text


HTML = f"""<!DOCTYPE html><html><head><title>{FORMULA}</title>
<meta name="citation_doi" content="https://doi.org/10.5555/safe.2"><meta name="citation_title" content="{FORMULA}">
<meta name="citation_journal_title" content="{JOURNAL}"><meta name="citation_publication_date" content="2024/01/02">
</head><body><p>We grew Li<sub>7</sub>La<sub>3</sub>Zr<sub>2</sub>O<sub>12</sub> films by pulsed laser deposition
on MgO (100) at 650 &deg;C; their conductivity was 3.1 &times; 10<sup>&minus;6</sup> S cm<sup>&minus;1</sup>.</p>
</body></html>"""


def test_extract_drafts_are_neutralised_and_ingest_reads_them_back(tmp_path):
    paper = tmp_path / "paper.html"
    paper.write_text(HTML.replace("&quot;", '"').replace("'", "&#39;"), encoding="utf-8")
    drafts, raw = tmp_path / "drafts.csv", tmp_path / "raw.csv"
    ok(cli(tmp_path / "none.duckdb", "extract", str(paper), "--out", str(drafts)))
    ok(cli(tmp_path / "none.duckdb", "extract", str(paper), "--out", str(raw), "--raw"))
    text = drafts.read_text(encoding="utf-8")
    assert formula_cells(text) == [] and {"'" + FORMULA, "'" + JOURNAL} <= set(cells(text))
    assert {FORMULA, JOURNAL} <= set(cells(raw.read_text(encoding="utf-8")))
    (draft,) = read_csv(drafts)
    assert (draft.cells["title"], draft.cells["journal"]) == (FORMULA, JOURNAL)
    assert draft.cells == read_csv(raw)[0].cells


# --- what is printed ------------------------------------------------------------------------------------------

def test_tables_show_control_characters_and_markup_literally(hostile_db):
    for args in (["query", "SELECT id, notes FROM films WHERE notes LIKE '%pwned%'"],
                 ["films", "--all-columns"], ["query", "SELECT notes FROM films", "--format", "json"]):
        out = ok(cli(hostile_db, *args)).output
        assert "\x1b" not in out and "\x07" not in out, args
    table = ok(cli(hostile_db, "query", "SELECT notes FROM films WHERE notes LIKE '%pwned%'")).stdout
    assert visible(ESCAPES) in table
    assert "[bold]x[/bold]" in table and "[link=http://example.org]y[/link]" in table and ":smile:" in table
    header = ok(cli(hostile_db, "query", "SELECT 1 AS \"[red]h[/red]\x1b[2J\"")).stdout
    assert "[red]h[/red]\\u001b[2J" in header


def test_error_lines_show_control_characters(hostile_db, tmp_path):
    missing = tmp_path / "x\x1b]0;pwned\x07.duckdb"
    bad = tmp_path / "bad.csv"
    bad.write_text("doi,composition,method,deposition_temp_c,substrate,phase,conductivity_s_cm\n"
                   "10.5555/e.1,LLZO,\x1b[2JPLD\x07,700,MgO,cubic,1e-6\n", encoding="utf-8")
    for db, args in ((missing, ["films"]), (hostile_db, ["ingest", str(bad)]),
                     (hostile_db, ["query", "SELECT * FROM \"\x1b[2Jnothing\""]),
                     (hostile_db, ["\x1b]0;pwned\x07"])):
        result = cli(db, *args)
        assert result.exit_code in (1, 2) and "Traceback" not in result.output, result.output
        assert "\x1b" not in result.output and "\x07" not in result.output, result.output
        assert "\\u001b" in result.output or "\\x1b" in result.output, result.output
    one = cli(missing, "films")
    assert one.exit_code == 1 and len(one.output.strip().splitlines()) == 1


# --- query --max-rows -----------------------------------------------------------------------------------------

def test_query_table_stops_at_max_rows_with_a_note(built_db):
    table = ok(cli(built_db, "query", "SELECT * FROM range(3000000)")).stdout
    lines = table.splitlines()
    assert "│ 999 " in table and "│ 1000 " not in table and len(lines) < 1_010
    assert lines[-1] == "... 2,999,000 more rows not shown (use --max-rows or --format csv)"
    short = ok(cli(built_db, "query", "SELECT * FROM range(3000000)", "--max-rows", "5")).stdout
    assert short.splitlines()[-1] == "... 2,999,995 more rows not shown (use --max-rows or --format csv)"
    whole = ok(cli(built_db, "query", "SELECT * FROM range(10)", "--max-rows", "10")).stdout
    assert "more rows" not in whole and "│ 9 " in whole


def test_query_csv_and_json_stream_every_row_unless_limited(built_db):
    rows = ok(cli(built_db, "query", "SELECT range AS n, 'r' || range AS s FROM range(250000)", "--format", "csv"))
    lines = rows.stdout.splitlines()
    assert len(lines) == 250_001 and lines[0] == "n,s" and lines[-1] == "249999,r249999"  # 3 chunks
    records = ok(cli(built_db, "query", "SELECT range AS n FROM range(250000)", "--format", "json")).stdout
    assert json.loads(records) == [{"n": i} for i in range(250_000)]
    assert json.loads(ok(cli(built_db, "query", "SELECT 1 AS a WHERE false", "--format", "json")).stdout) == []
    cut = ok(cli(built_db, "query", "SELECT * FROM range(3000000)", "--format", "csv", "--max-rows", "3"))
    assert cut.stdout == "range\n0\n1\n2\n"
    assert cut.stderr.strip() == "... 2,999,997 more rows not shown (--max-rows 3)"


def test_raw_is_documented(built_db):
    for command in ("query", "films", "descriptors", "export", "extract"):
        help_text = " ".join(ok(cli(built_db, command, "--help")).output.split())
        assert "--raw" in help_text and "OWASP" in help_text, command
    assert "--max-rows" in ok(cli(built_db, "query", "--help")).output


def test_query_note_says_when_counting_stopped_at_the_timeout(built_db):
    sql = "SELECT range, md5(repeat(range::VARCHAR, 200)) AS h FROM range(20000000)"  # GBs to hash past row 3
    result = ok(cli(built_db, "query", sql, "--max-rows", "3", "--timeout", "2"))
    assert "│ 2     │" in result.stdout
    note = result.stdout.splitlines()[-1]
    assert note.startswith("... at least ") and note.endswith(
        " more rows not shown (counting stopped at the --timeout; use --max-rows or --format csv)"), note
