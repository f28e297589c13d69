"""A paper file (PDF, plain text, HTML) read into numbered lines and tables, the input of drafting."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from ...errors import FilmkbError
from .headers import _merge_header, _table_label, _unit_row, header_kinds

SUFFIXES = (".pdf", ".txt", ".html", ".htm")
MAX_BYTES = 256 * 2**20
MAX_PAGES = 200          # `extract --max-pages`: a paper with its supplement; 5,000 pages took minutes
MAX_CHARS = 2_000_000    # `extract --max-chars`: some 20 long papers; drafting is linear in the text


class ExtractError(FilmkbError):
    """A paper that cannot be read (missing, unsupported type, not text, damaged PDF)."""


@dataclass(frozen=True)
class Line:
    """One line of the paper as read, with where it is (page for PDFs, line within page or file)."""

    text: str
    line: int
    page: int | None = None

    def where(self) -> str:
        return f"page {self.page}, line {self.line}" if self.page else f"line {self.line}"


@dataclass
class Table:
    """A table as cells: header, rows, where each row is, and its label ('Table 1') if known."""

    header: list
    rows: list
    places: list
    label: str | None = None
    flattened: bool = False


@dataclass
class Paper:
    """What a file holds: its lines (running text, and for text/PDF also the tables) and any tables
    read as cells (HTML); `meta` holds citation fields an HTML page declares."""

    name: str
    lines: list
    tables: list = field(default_factory=list)
    meta: dict = field(default_factory=dict)
    paragraphs: bool = False  # each line is a paragraph (HTML); else lines wrap sentences (text, PDF)


def read_paper(path, max_pages: int = MAX_PAGES, max_chars: int = MAX_CHARS) -> Paper:
    """Lines and tables of a .pdf, .txt, .html or .htm file; anything else is one ExtractError line, as is
    a PDF of more than `max_pages` pages or a paper of more than `max_chars` characters of text."""
    path = Path(path)
    if not path.exists():
        raise ExtractError(f"{path}: no such file")
    if path.is_dir():
        raise ExtractError(f"{path}: is a directory, not a paper")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ExtractError(f"{path}: unsupported file type '{suffix or '(none)'}' (use .pdf, .txt, .html or .htm)")
    if path.stat().st_size > MAX_BYTES:
        raise ExtractError(f"{path}: larger than {MAX_BYTES // 2**20} MiB; not read")
    if suffix == ".pdf":
        return paper_from_pdf(path, max_pages, max_chars)
    text = _decode(path)
    _check_chars(path, len(text), max_chars)
    if suffix == ".txt":
        return paper_from_text(text, str(path))
    return paper_from_html(text, str(path))


def _decode(path: Path) -> str:
    """The paper's text, read as entry files are (UTF-8 with or without BOM, UTF-16/32 with a BOM)."""
    from ..readers import ReadError, read_text

    try:
        return read_text(path)
    except ReadError as exc:
        raise ExtractError(str(exc)) from None


def _check_chars(path, n: int, max_chars: int) -> None:
    if n > max_chars:
        raise ExtractError(f"{path}: more than {max_chars:,} characters of text (--max-chars {max_chars}); not read "
                           "(raise --max-chars to draft from it)")


def paper_from_text(text: str, name: str = "<text>") -> Paper:
    """Plain text: one Line per line (tables are found later from tab- or space-separated cells)."""
    return Paper(name, [Line(t, i) for i, t in enumerate(text.splitlines(), 1)])


def paper_from_pdf(path, max_pages: int = MAX_PAGES, max_chars: int = MAX_CHARS) -> Paper:
    """Words of each page (pdfplumber) grouped into lines; a gap wider than about a character is
    written as a tab, so table cells stay apart. More than `max_pages` pages, or `max_chars` characters,
    is an ExtractError before (or as soon as) the limit is passed."""
    try:
        import pdfplumber
    except ImportError:  # pragma: no cover - a dependency
        raise ExtractError("reading PDFs needs pdfplumber (pip install 'pdfplumber>=0.11')") from None
    lines, chars = [], 0
    try:
        with pdfplumber.open(str(path)) as pdf:
            if len(pdf.pages) > max_pages:
                raise ExtractError(f"{path}: {len(pdf.pages):,} pages is more than --max-pages {max_pages}; not read "
                                   "(raise --max-pages to draft from all of them)")
            for number, page in enumerate(pdf.pages, 1):
                words = page.extract_words(extra_attrs=["size"], keep_blank_chars=False, use_text_flow=False)
                for k, text in enumerate(_pdf_lines(words), 1):
                    lines.append(Line(text, k, number))
                    chars += len(text) + 1
                _check_chars(path, chars, max_chars)
    except ExtractError:
        raise
    except Exception as exc:  # pdfminer/pypdfium2 raise many unrelated types on damaged files
        reason = " ".join(str(exc).split()) or type(exc).__name__
        kind = "encrypted" if "password" in reason.lower() or "encrypt" in reason.lower() else "not a readable PDF"
        raise ExtractError(f"{path}: {kind} ({reason[:120]})") from None
    return Paper(str(path), lines)


def _pdf_lines(words) -> list:
    """Cluster pdfplumber words by baseline, left to right; wide gaps become tabs."""
    rows = []
    for w in sorted(words, key=lambda w: (round(w["top"], 1), w["x0"])):
        size = w.get("size") or (w["bottom"] - w["top"]) or 10
        if rows and abs(rows[-1][0] - w["top"]) <= 0.45 * size:
            rows[-1][1].append(w)
        else:
            rows.append([w["top"], [w]])
    out = []
    for _, group in rows:
        group.sort(key=lambda w: w["x0"])
        text, previous = "", None
        for w in group:
            if previous is not None:
                size = w.get("size") or 10
                text += "\t" if w["x0"] - previous["x1"] > 0.9 * size else " "
            text += w["text"]
            previous = w
        out.append(text)
    return out


class _HTMLReader(HTMLParser):
    """Paragraph text (one Line per block element) and tables (cells per row) of an HTML page."""

    BLOCKS = {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article",
              "header", "footer", "figcaption", "blockquote", "pre", "dd", "dt", "title", "figure", "main"}
    SKIP = {"script", "style", "noscript", "template"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.lines, self.tables, self.meta = [], [], {}
        self._text, self._text_line, self._has_text = [], 1, False
        self._skip = 0
        self._table = None  # [rows, places, caption]
        self._row = None
        self._cell = None
        self._caption = None

    def _flush(self):
        text = " ".join("".join(self._text).split())
        if text:
            self.lines.append(Line(text, self._text_line))
        self._text, self._text_line, self._has_text = [], self.getpos()[0], False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in self.SKIP:
            self._skip += 1
        elif tag == "meta":
            name = (attrs.get("name") or attrs.get("property") or "").lower()
            if attrs.get("content"):
                self.meta.setdefault(name, []).append(attrs["content"])
        elif tag == "table":
            self._flush()
            self._table = [[], [], None]
        elif self._table is not None and tag == "tr":
            self._row = ([], self.getpos()[0])
        elif self._table is not None and tag in ("td", "th"):
            self._cell = ([], int(attrs.get("colspan") or 1) if str(attrs.get("colspan") or "1").isdigit() else 1)
        elif self._table is not None and tag == "caption":
            self._caption = []
        elif tag == "br" and self._cell is not None:
            self._cell[0].append(" ")
        elif tag in self.BLOCKS and self._table is None:
            self._flush()

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag == "table" and self._table is not None:
            rows, places, caption = self._table
            if rows:
                self.tables.append((rows, places, caption))
            self._table, self._row, self._cell = None, None, None
            self._text_line = self.getpos()[0]
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            text = " ".join("".join(self._cell[0]).split())
            self._row[0].extend([text] * max(1, min(self._cell[1], 50)))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            if any(self._row[0]):
                self._table[0].append(self._row[0])
                self._table[1].append(Line(" | ".join(self._row[0]), self._row[1]))
            self._row = None
        elif tag == "caption" and self._caption is not None and self._table is not None:
            self._table[2] = " ".join("".join(self._caption).split())
            self._caption = None
        elif tag in self.BLOCKS and self._table is None:
            self._flush()

    def handle_data(self, data):
        if self._skip:
            return
        if self._caption is not None:
            self._caption.append(data)
        elif self._cell is not None:
            self._cell[0].append(data)
        elif self._table is None:
            if not self._has_text:  # a flag, not a join of the text so far: linear in the page
                self._text_line = self.getpos()[0]
                self._has_text = bool(data.strip())
            self._text.append(data)


def paper_from_html(html: str, name: str = "<html>") -> Paper:
    """HTML via the standard library parser: paragraphs become lines, <table>s become tables."""
    reader = _HTMLReader()
    reader.feed(html)
    reader.close()
    reader._flush()
    tables = []
    for rows, places, caption in reader.tables:
        header, skip = rows[0], 1
        if len(rows) > 2 and (_unit_row(rows[1]) or header_kinds(header) is None):  # names, then units
            merged = _merge_header(rows[0], rows[1])
            if header_kinds(merged):
                header, skip = merged, 2
        tables.append(Table(header, rows[skip:], places[skip:], _table_label(caption or "")))
    return Paper(name, reader.lines, tables, reader.meta, paragraphs=True)
