"""filmkb extract: draft rows from a paper's tables and sentences (text, HTML, PDF), and their ingest."""

import csv
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from filmkb.cli import main
from filmkb.ingest import extract as X
from filmkb.ingest.datafiles import DATA_DIR
from filmkb.ingest.entries import TEMPLATE_COLUMNS

# The seed paper's text is not part of the repository: $FILMKB_SEED_TEXT, else ../shared/seed/ beside the checkout.
SEED_TEXT = Path(os.environ.get("FILMKB_SEED_TEXT")
                 or Path(__file__).resolve().parents[2] / "shared/seed/000_29cc666e3bd4078c.txt")
needs_seed = pytest.mark.skipif(not SEED_TEXT.exists(), reason=f"seed paper text not at {SEED_TEXT}")


def curated_rows():
    with open(DATA_DIR / "seed_films.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def show(agreement, what):
    fields = ", ".join(f"{f} {agreement[f]:.3f}" for f in X.AGREEMENT_FIELDS)
    print(f"\n{what}: field agreement {agreement['overall']:.3f} over {agreement['rows']} Table 1 rows "
          f"({agreement['matched']} matched): {fields}")


# --- (1) the seed paper's Table 1 ---------------------------------------------------------------

@needs_seed
def test_seed_table_reproduces_the_curated_rows():
    result = X.extract_file(SEED_TEXT)
    table = [d for d in result.drafts if d.origin == "table"]
    assert len(table) == 28 and [d.row for d in table] == list(range(1, 29))
    assert {d.table for d in table} == {"Table 1"}  # Table 2 (substrates, no conductivity) is not a film table
    agreement = X.field_agreement(result.drafts, curated_rows())
    show(agreement, "seed text")
    assert agreement["overall"] >= 0.90
    assert agreement["matched"] == 28
    assert result.doi == "10.3390/batteries9090430"
    first = table[0].cells
    assert first["doi"] == "10.3390/batteries9090430" and first["year"] == "2023"
    assert "cites [62] Chen et al. 2014" in first["notes"] and first["precursors"] == "Li-La-Zr sol"
    assert table[0].source == "line 145" and 0 < table[0].confidence <= 1
    # precursors in the cell: the composition comes from the cited title, and the notes say so
    assert table[13].cells["composition"] == "Li5La3Ta2O12" and "cited paper's title" in table[13].cells["notes"]
    # targets Li7La3Zr2O12, Li2O, Ga2O3: Ga-doped LLZO
    assert table[22].cells["composition"] == "Ga-LLZO"
    # an abbreviation the cited title contradicts is flagged for the reviewer
    assert "check the composition" in table[15].cells["notes"]
    assert "possibly the same film" in table[18].cells["notes"]


@needs_seed
def test_seed_rows_flattened_to_single_spaces_still_agree():
    """The same table with its cells run together (as text extraction often leaves it)."""
    text = SEED_TEXT.read_text(encoding="utf-8").replace("\t", " ")
    result = X.extract(X.paper_from_text(text, "flattened.txt"))
    agreement = X.field_agreement(result.drafts, curated_rows())
    show(agreement, "seed text, cells flattened")
    assert agreement["overall"] >= 0.90
    assert {d.origin for d in result.drafts} == {"flattened"}


# --- (2) sentences ------------------------------------------------------------------------------

def draft_one(sentence):
    drafts = X.extract(X.paper_from_text(sentence, "s.txt")).drafts
    assert len(drafts) == 1, drafts
    assert drafts[0].origin == "sentence" and drafts[0].confidence < 0.7
    return drafts[0].cells


def test_sentence_with_conditions_and_conductivity():
    c = draft_one("LLZO films were deposited at 700 °C on MgO(100) by PLD; the conductivity was "
                  "1.2 x 10^-5 S cm^-1 at room temperature.")
    assert (c["composition"], c["method"], c["deposition_temp_c"], c["substrate"], c["substrate_orientation"],
            c["conductivity_s_cm"], c["measurement_temp_c"]) == ("LLZO", "PLD", "700", "MgO", "100", "1.2e-05", "25")


def test_sentence_with_unicode_exponent_and_thickness():
    c = draft_one("Ta-doped Li7La3Zr2O12 thin films (300 nm thick) grown by RF magnetron sputtering on "
                  "SrTiO3 (100) substrates at 650 °C showed an ionic conductivity of 2.5×10−6 S/cm at 25 °C.")
    assert (c["composition"], c["method"], c["deposition_temp_c"], c["substrate"], c["thickness_nm"],
            c["conductivity_s_cm"], c["measurement_temp_c"]) == ("Ta-LLZO", "RF magnetron sputtering", "650",
                                                                 "SrTiO3", "300", "2.5e-06", "25")


def test_sentence_room_temperature_deposition_and_ms_per_cm():
    c = draft_one("An amorphous Li–La–Zr–O film, 561 nm thick, deposited at room temperature on SiO2-Si, "
                  "had a conductivity of 0.4 mS cm−1 measured at 30 °C.")
    assert (c["deposition_temp_c"], c["measurement_temp_c"], c["conductivity_s_cm"], c["phase"]) == (
        "25", "30", "0.0004", "amorphous")


def test_sentences_without_a_film_give_nothing():
    text = ("Garnets reach 10^-3 S cm-1 in bulk. The conductivity of LLZO films is discussed below.\n"
            "Films were annealed at 700 °C.")
    assert X.extract(X.paper_from_text(text, "t.txt")).drafts == []


# --- (3) HTML -----------------------------------------------------------------------------------

HTML = """<!DOCTYPE html><html><head><title>Garnet films</title>
<meta name="citation_doi" content="https://doi.org/10.5555/HTML.Test.1">
<meta name="citation_author" content="Doe, J."><meta name="citation_publication_date" content="2024/01/02">
<script>var s = "LLZO on MgO by PLD at 700 °C: 1.0e-3 S/cm";</script></head>
<body><h1>Garnet films on oxides</h1>
<p>We grew Li<sub>7</sub>La<sub>3</sub>Zr<sub>2</sub>O<sub>12</sub> films by pulsed laser deposition on
MgO (100) at 650 &deg;C; their conductivity was 3.1 &times; 10<sup>&minus;6</sup> S cm<sup>&minus;1</sup>.</p>
<table><caption>Table 2. Films of this work</caption>
<tr><th>Composition</th><th>Method</th><th>T<sub>dep</sub> (&deg;C)</th><th>Substrate</th><th>Phase</th>
<th>Thickness (&micro;m)</th><th>&sigma; (mS/cm)</th></tr>
<tr><td>Li<sub>6.4</sub>La<sub>3</sub>Zr<sub>1.4</sub>Ta<sub>0.6</sub>O<sub>12</sub></td><td>PLD</td><td>700</td>
<td>MgO (100)</td><td>c-LLZO</td><td>0.2</td><td>0.12</td></tr>
<tr><td>LLZO</td><td>RF sputtering</td><td>RT</td><td>STO(111)</td><td>amorphous</td><td>0.45</td>
<td>1.2 &times; 10<sup>&minus;4</sup></td></tr>
</table></body></html>
"""


def test_html_table_and_paragraph(tmp_path):
    path = tmp_path / "paper.html"
    path.write_text(HTML, encoding="utf-8")
    result = X.extract_file(path)
    assert result.doi == "10.5555/html.test.1" and result.warnings == []
    rows = [d for d in result.drafts if d.origin == "table"]
    assert [d.table for d in rows] == ["Table 2", "Table 2"]
    a, b = rows[0].cells, rows[1].cells
    assert (a["composition"], a["method"], a["deposition_temp_c"], a["substrate"], a["substrate_orientation"],
            a["phase"], a["thickness_nm"], a["conductivity_s_cm"]) == (
        "Li6.4La3Zr1.4Ta0.6O12", "PLD", "700", "MgO", "100", "c-LLZO", "200", "0.00012")
    assert (b["deposition_temp_c"], b["substrate"], b["substrate_orientation"], b["thickness_nm"],
            b["conductivity_s_cm"]) == ("25", "STO", "111", "450", "1.2e-07")  # header unit mS/cm applies
    assert a["doi"] == "10.5555/html.test.1" and a["authors"] == "Doe, J." and a["year"] == "2024"
    assert rows[0].source.startswith("line ")
    sentences = [d for d in result.drafts if d.origin == "sentence"]
    assert len(sentences) == 1  # the <script> is not text
    s = sentences[0].cells
    assert (s["composition"], s["method"], s["substrate"], s["deposition_temp_c"], s["conductivity_s_cm"]) == (
        "Li7La3Zr2O12", "pulsed laser deposition", "MgO", "650", "3.1e-06")
    assert s["notes"].startswith('from the sentence: "We grew')


# --- (4) PDF through pdfplumber ---------------------------------------------------------------

def make_pdf(path):
    """A one-page PDF written by matplotlib's PDF backend: a sentence and a table laid out in columns."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    with PdfPages(path) as pdf:
        fig = plt.figure(figsize=(8.27, 11.69))
        fig.text(0.08, 0.95, "Garnet thin films on oxide substrates", fontsize=12)
        fig.text(0.08, 0.93, "https://doi.org/10.5555/pdf.test.7", fontsize=8)
        fig.text(0.08, 0.90, "LLZO films were deposited at 700 °C on MgO(100) by PLD; the conductivity was", fontsize=9)
        fig.text(0.08, 0.885, "1.2 × 10−5 S cm−1 at room temperature.", fontsize=9)
        fig.text(0.08, 0.85, "Table 1. Films of this work.", fontsize=9)
        xs = [0.08, 0.30, 0.42, 0.52, 0.64, 0.76, 0.88]
        rows = [["Composition", "Method", "T (°C)", "Substrate", "Structure", "Thickness (nm)", "σ (S cm−1)"],
                ["Li6.4La3Zr1.4Ta0.6O12", "PLD", "700", "MgO (100)", "c-LLZO", "200", "1.2 × 10−4"],
                ["Ga-LLZO", "RF sputtering", "300", "STO (100)", "amorphous", "450", "3.4 × 10−7"]]
        for k, cells in enumerate(rows):
            for x, cell in zip(xs, cells):
                fig.text(x, 0.82 - 0.02 * k, cell, fontsize=8)
        pdf.savefig(fig)
        plt.close(fig)


def test_pdf_read_with_pdfplumber(tmp_path):
    path = tmp_path / "paper.pdf"
    make_pdf(path)
    result = X.extract_file(path)
    assert result.doi == "10.5555/pdf.test.7"
    rows = [d for d in result.drafts if d.origin == "table"]
    assert [(d.table, d.row, d.source) for d in rows] == [("Table 1", 1, "page 1, line 7"),
                                                          ("Table 1", 2, "page 1, line 8")]
    assert [(d.cells["composition"], d.cells["method"], d.cells["substrate"], d.cells["conductivity_s_cm"])
            for d in rows] == [("Li6.4La3Zr1.4Ta0.6O12", "PLD", "MgO", "0.00012"),
                               ("Ga-LLZO", "RF sputtering", "STO", "3.4e-07")]
    sentence = [d for d in result.drafts if d.origin == "sentence"]
    assert len(sentence) == 1 and sentence[0].source == "page 1, line 4"  # the line holding the value
    assert (sentence[0].cells["deposition_temp_c"], sentence[0].cells["conductivity_s_cm"]) == ("700", "1.2e-05")


def test_damaged_pdf_is_one_line(tmp_path):
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 8)
    result = CliRunner().invoke(main, ["extract", str(path), "--out", str(tmp_path / "x.csv")])
    assert result.exit_code == 1 and result.output.startswith(f"Error: {path}: not a readable PDF")
    assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "x.csv").exists()


# --- (5) the drafts ingest ----------------------------------------------------------------------

def complete(path, out):
    """The rows a reviewer would pass on unchanged: every field ingest requires is filled."""
    required = ("composition", "method", "deposition_temp_c", "substrate", "phase", "conductivity_s_cm", "doi")
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = [r for r in reader if all(r[c] for c in required)]
        header = reader.fieldnames
    with open(out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, header)
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


@needs_seed
def test_drafted_csv_ingests_dry_run(db_path, tmp_path):
    out = tmp_path / "seed.draft.csv"
    before = Path(db_path).read_bytes()
    result = CliRunner().invoke(main, ["--db", db_path, "extract", str(SEED_TEXT), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"{out}: 28 rows drafted (28 from tables, 0 from sentences), mean confidence" in result.output
    with open(out, newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    assert header == [*TEMPLATE_COLUMNS, "confidence", "source"]  # follows the template as it stands
    ingest = CliRunner().invoke(main, ["--db", db_path, "ingest", str(out), "--dry-run"])
    assert ingest.exit_code == 0, ingest.output
    assert "draft columns confidence, source (from `filmkb extract`) ignored" in ingest.output
    assert "dry run: 28 entries valid" in ingest.output
    assert Path(db_path).read_bytes() == before  # extract and a dry run write nothing


def test_sentence_and_html_drafts_ingest_when_complete(db_path, tmp_path):
    page = tmp_path / "paper.html"
    extra = ("<p>A cubic LLZO film deposited at 650 °C on GGG (111) by PLD had a conductivity of "
             "2.0 × 10<sup>−5</sup> S/cm.</p>")
    page.write_text(HTML.replace("</body>", extra + "</body>"), encoding="utf-8")
    out = tmp_path / "paper.draft.csv"
    assert CliRunner().invoke(main, ["extract", str(page), "--out", str(out)]).exit_code == 0
    kept = tmp_path / "reviewed.csv"
    assert complete(out, kept) == 3  # two table rows and the sentence that names a phase
    result = CliRunner().invoke(main, ["--db", db_path, "ingest", str(kept), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "dry run: 3 entries valid, 3 would be added" in result.output


# --- (6) the command ----------------------------------------------------------------------------

def test_extract_refuses_to_overwrite_and_reads_no_database(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    paper = tmp_path / "notes.txt"
    paper.write_text("LLZO films were deposited at 700 °C on MgO(100) by PLD; σ = 1.2 × 10−5 S/cm.\n", encoding="utf-8")
    db = tmp_path / "never.duckdb"
    first = CliRunner().invoke(main, ["--db", str(db), "extract", str(paper)])
    assert first.exit_code == 0, first.output
    assert (tmp_path / "notes.draft.csv").exists() and not db.exists()
    assert "1 rows drafted (0 from tables, 1 from sentences)" in first.output
    assert "warning: the paper's DOI was not found" in first.output
    again = CliRunner().invoke(main, ["extract", str(paper)])
    assert again.exit_code == 1 and "notes.draft.csv: already exists; use --force" in again.output
    assert CliRunner().invoke(main, ["extract", str(paper), "--force"]).exit_code == 0


def test_extract_knows_methods_added_to_the_database(db_path, tmp_path):
    paper = tmp_path / "flash.txt"
    paper.write_text("LLZO films were deposited at 700 °C on MgO(100) by flash evaporation; the conductivity was "
                     "1.2 × 10−5 S/cm at room temperature.\n", encoding="utf-8")
    added = CliRunner().invoke(main, ["--db", db_path, "add-method", "flash evaporation", "--family", "PVD"])
    assert added.exit_code == 0, added.output

    def drafted(db):
        out = tmp_path / f"{Path(db).stem}.draft.csv"
        result = CliRunner().invoke(main, ["--db", db, "extract", str(paper), "--out", str(out)])
        assert result.exit_code == 0, result.output
        with open(out, newline="", encoding="utf-8") as handle:
            (row,) = csv.DictReader(handle)
        return row

    row = drafted(db_path)
    assert (row["method"], row["composition"], row["substrate"], row["conductivity_s_cm"]) == (
        "flash evaporation", "LLZO", "MgO", "1.2e-05")
    assert drafted(str(tmp_path / "absent.duckdb"))["method"] == ""  # no database file: the curated names only


@pytest.mark.parametrize("name,content,message", [
    ("paper.docx", b"PK\x03\x04", "unsupported file type '.docx' (use .pdf, .txt, .html or .htm)"),
    ("missing.pdf", None, "no such file"),
    ("latin1.txt", "deposited at 700 \xb0C".encode("latin-1"), "not UTF-8 text"),
])
def test_unreadable_papers_are_one_line(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    result = CliRunner().invoke(main, ["extract", str(path), "--out", str(tmp_path / "x.csv")])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and message in result.output
    assert len(result.output.strip().splitlines()) == 1


# --- pieces -------------------------------------------------------------------------------------

@pytest.mark.parametrize("cell,title,composition,precursors", [
    ("Li ₇ La ₃ Zr ₂ O ₁₂", None, "Li7La3Zr2O12", None),
    ("$Li_{6.19}Al_{0.28}La_3Zr_{1.75}Ta_{0.25}O_{12}$", None, "Li6.19Al0.28La3Zr1.75Ta0.25O12", None),
    ("Li-La-Zr sol", "Preparation of lithium ion conductive Al-doped Li₇La₃Zr₂O₁₂ thin films by a sol–gel process",
     "Al-LLZO", "Li-La-Zr sol"),
    ("Li tert-butoxide, tetrakis(dimethylamido)zirconium", "Atomic Layer Deposition of the Garnet Li₇La₃Zr₂O₁₂.",
     "Li7La3Zr2O12", "Li tert-butoxide, tetrakis(dimethylamido)zirconium"),
    ("Li tert-butoxide, tetrakis(dimethylamido)zirconium", None, None,
     "Li tert-butoxide, tetrakis(dimethylamido)zirconium"),
    ("Li7La3Zr2O12, Li2O, Ga2O3", None, "Ga-LLZO", "Li7La3Zr2O12, Li2O, Ga2O3"),
    ("$Li_{0.33}La_{0.56}TiO_{3}$, $Li_7La_3Zr_2O_{12}$ (LLTO)", None, "Li0.33La0.56TiO3 + Li7La3Zr2O12",
     "Li0.33La0.56TiO3, Li7La3Zr2O12 (LLTO)"),
])
def test_composition_cells(cell, title, composition, precursors):
    out = X.composition_cell(cell, title)
    assert (out.composition, out.precursors) == (composition, precursors)


def test_text_table_with_a_units_row_log_conductivity_and_inline_citation():
    text = ("Table 3. Our films.\nFilm\tMethod\tT\tSubstrate\tThickness\tlog σ\n\t\t(K)\t\t(µm)\t(S/cm)\n"
            "LLZO [2]\tPLD\t973\tMgO(100)\t0.3\t−5.5\n\nReferences\n1. Doe, J. One. J. A 2001.\n"
            "2. Roe, R.; Poe, P.; Moe, M. Cubic Li7La3Zr2O12 films by PLD. J. B 2019, 1, 2.\n")
    (draft,) = X.extract(X.paper_from_text(text, "t.txt")).drafts
    c = draft.cells
    assert (c["composition"], c["deposition_temp_c"], c["thickness_nm"], c["substrate_orientation"]) == (
        "LLZO", "699.85", "300", "100")
    assert float(c["conductivity_s_cm"]) == pytest.approx(10 ** -5.5)
    assert c["notes"] == "Table 3 row 1; cites [2] Roe et al. 2019; conductivity converted from log10"
    assert draft.source == "line 4"


def test_reference_list_numbers_unnumbered_entries_and_joins_continuations():
    lines = [X.Line(t, i) for i, t in enumerate([
        "References", "- Goodenough, J.B.; Singh, P. Review. J. Electrochem. Soc. 2015, 162, A2387.",
        "- Lotsch, B.V.; Maier, J. Relevance. J. Electroceramics 2017, 38, 128.",
        " Hernandez-Lobato, J.M., Hoffman, M.W.; Ghahramani, Z. Predictive entropy search for",
        "- functions. In Advances; 2014.", " 62. Chen, R.J.; Huang, M. Sol–gel derived Li–La–Zr–O thin films. "
        "*J. Mater. Chem. A* 2014, *2*, 13277.",
        "- Kalita, D.; Lee, S. Ionic conductivity. Solid State Ionics 2012."], 1)]
    at, refs = X.reference_list(lines)
    assert at == 0 and sorted(refs) == [1, 2, 3, 62, 63]
    assert "functions" in refs[3].text
    assert (refs[62].short(), refs[62].title, refs[62].journal) == (
        "Chen and Huang 2014", "Sol-gel derived Li-La-Zr-O thin films", "J. Mater. Chem. A")
    assert refs[63].short() == "Kalita and Lee 2012"
