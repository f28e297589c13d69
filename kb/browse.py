"""Read queries for browsing the knowledge base page by page (the web view): films filtered, sorted and
paged in SQL, one film with its provenance, the catalogue, model runs and plot data.

    with kb.browse.open_view("filmkb.duckdb") as k:       # read-only, never migrates
        page = kb.browse.film_page(k, FilmFilter(substrate="MgO"), sort="deposition_temp_c", limit=50)
"""

from __future__ import annotations

import json
import os
import stat
import threading
from contextlib import contextmanager
from dataclasses import dataclass

from ..errors import FilmkbError
from ..schema.names import PHASES, Vocabulary
from . import migrations
from .db import connect
from .knowledge import KnowledgeBase

# The columns of `filmkb films` (its table view), in its order, plus the 25 C note.
FILM_COLUMNS = ("film_id", "reference", "composition", "method", "deposition_temp_c", "substrate", "orientation",
                "phase", "thickness_nm", "conductivity_s_cm", "measurement_temp_c", "conductivity_25c_s_cm",
                "duplicate_of", "conductivity_25c_note")
# Columns the free-text filter searches (case-insensitive substring).
TEXT_COLUMNS = ("reference", "doi", "composition", "method", "substrate", "orientation", "phase", "notes",
                "precursors", "source", "conductivity_25c_note")
MAX_PAGE = 1_000
_FILMS = """(SELECT o.*, c.conductivity_25c_note FROM film_overview o
             LEFT JOIN film_conditions c ON c.film_id = o.film_id) AS f"""


def open_view(path: str) -> KnowledgeBase:
    """The knowledge base at `path` opened read-only for viewing: a file made by an older filmkb is refused
    with the fix (a view never upgrades, i.e. never writes, a file), a newer one as `kb.open` does."""
    k = KnowledgeBase(str(path))
    engine = getattr(k, "engine", None)  # the engine seam, where kb/engines picks one from the --db value
    con = engine.connect_read() if engine is not None else connect(str(path), read_only=True)
    k._con = con
    try:
        with k._engine_errors():
            migrations.refuse_newer(con, str(path))
            stale = migrations.pending(con)
    except BaseException:
        k.close()
        raise
    if stale:
        k.close()
        raise FilmkbError(f"{path}: made by an older filmkb; the web view never upgrades a file: run any filmkb "
                          "command on it once (e.g. `filmkb films`) to upgrade it, then reload")
    return k


def display_name(path: str) -> str:
    """How messages name the knowledge base at `path` (a server URL without its password)."""
    return KnowledgeBase(str(path)).path


class Reader:
    """Read-only knowledge bases for a long-lived reader serving concurrent requests (the web view).

    On a file, one read-only database stays open while the file stays the same (device, inode, size,
    mtime) and each request gets its own connection to it (cheap); when a writer has replaced the file
    (an atomic rename), the next request waits for the requests still reading the old one, then opens the
    new file. Anything else (a server URL) is opened per request."""

    def __init__(self, path: str):
        self.path = str(path)
        self._cond = threading.Condition()
        self._readers, self._reopening = 0, False
        self._base, self._identity = None, None

    def _file_identity(self):
        try:
            info = os.stat(self.path)
        except (OSError, ValueError):
            return None
        return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns) if stat.S_ISREG(info.st_mode) else None

    @contextmanager
    def open(self):
        """A read-only KnowledgeBase for one request (an older file refused, as `open_view`)."""
        identity = self._file_identity()
        if identity is None:
            k = open_view(self.path)
            try:
                yield k
            finally:
                k.close()
            return
        with self._cond:
            while self._reopening:
                self._cond.wait()
            if identity != self._identity:
                self._reopen(identity)
            self._readers += 1
            cursor = self._base.con.cursor()
        k = KnowledgeBase(self.path, con=cursor)
        try:
            yield k
        finally:
            k.close()
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    def _reopen(self, identity) -> None:
        """Close the old database once no request reads it (so the new file is opened, not a cached instance
        of the old one), then open the file as it is now. The caller holds the condition."""
        self._reopening = True
        try:
            while self._readers:
                self._cond.wait()
            self.close_base()
            self._base = open_view(self.path)
            self._identity = identity
        finally:
            self._reopening = False
            self._cond.notify_all()

    def close_base(self) -> None:
        if self._base is not None:
            self._base.close()
        self._base, self._identity = None, None


@dataclass(frozen=True)
class FilmFilter:
    """What the films page filters by: substrate and method (any alias), phase, reference key or DOI, text."""

    substrate: str | None = None
    method: str | None = None
    phase: str | None = None
    reference: str | None = None
    text: str | None = None

    def where(self, k) -> tuple[str, list]:
        """The WHERE clause and its parameters; unknown names are one-line errors naming the fix."""
        clauses, params = [], []
        vocab = _aliases(k) if self.substrate or self.method else None
        for kind, name in (("substrate", self.substrate), ("method", self.method)):
            if name:
                canonical = vocab.resolve(kind, name)
                if canonical is None:
                    raise FilmkbError(f"unknown {kind} '{name}'; list the known ones with `filmkb {kind}s`")
                clauses.append(f"f.{kind} = ?")
                params.append(canonical)
        if self.phase:
            if self.phase.lower() not in PHASES:
                raise FilmkbError(f"unknown phase '{self.phase}' (expected one of {', '.join(PHASES)})")
            clauses.append("f.phase = ?")
            params.append(self.phase.lower())
        if self.reference:
            clauses.append("(lower(f.reference) = lower(?) OR lower(f.doi) = lower(?))")
            params += [self.reference, self.reference]
        if self.text:  # one case-insensitive substring test over the text columns joined
            needle = "%" + self.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            joined = ", ".join(f"CAST(f.{c} AS VARCHAR)" for c in TEXT_COLUMNS)
            clauses.append(f"concat_ws(' ', {joined}) ILIKE ? ESCAPE '\\'")
            params.append(needle)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _aliases(k) -> Vocabulary:
    """The substrate and method aliases (without the publication keys `k.vocabulary()` also reads)."""
    return Vocabulary(
        k._pairs("SELECT a.alias, s.name FROM substrate_aliases a JOIN substrates s ON s.id = a.substrate_id"),
        k._pairs("SELECT a.alias, m.name FROM method_aliases a JOIN deposition_methods m ON m.id = a.method_id"),
        frozenset())


@dataclass
class FilmPage:
    """One page of films: the rows, how many match in all, and where the page starts."""

    rows: object  # DataFrame with FILM_COLUMNS
    total: int
    offset: int
    limit: int


def film_page(k, where: FilmFilter, sort: str = "film_id", descending: bool = False, offset: int = 0,
              limit: int | None = 50) -> FilmPage:
    """The films matching `where`, sorted by one of FILM_COLUMNS (then film id), `limit` rows from `offset`
    (limit None: every row, for a download); filtering, sorting and paging all run in the database."""
    if sort not in FILM_COLUMNS:
        raise FilmkbError(f"unknown sort column '{sort}' (expected one of {', '.join(FILM_COLUMNS)})")
    if offset < 0 or (limit is not None and not 1 <= limit <= MAX_PAGE):
        raise FilmkbError(f"paging: offset must be at least 0 and the page size 1 to {MAX_PAGE}")
    clause, params = where.where(k)
    order = f"f.{sort} {'DESC' if descending else 'ASC'} NULLS LAST, f.film_id"
    page = "" if limit is None else f" LIMIT {int(limit)} OFFSET {int(offset)}"
    rows = k.sql(f"SELECT {', '.join('f.' + c for c in FILM_COLUMNS)}, count(*) OVER () AS _total "
                 f"FROM {_FILMS}{clause} ORDER BY {order}{page}", params)  # one pass: the page and the count
    total = int(rows["_total"].iloc[0]) if len(rows) else int(k._one(f"SELECT count(*) FROM {_FILMS}{clause}", params))
    return FilmPage(rows.drop(columns="_total"), total, offset, limit or total)


def choices(k) -> dict:
    """The values the films page offers in its filters: substrates, methods and phases (references are
    typed: a knowledge base may hold thousands)."""
    rows = k._rows("SELECT 'substrate', name FROM substrates UNION ALL SELECT 'method', name FROM deposition_methods")
    return {"substrate": sorted(n for kind, n in rows if kind == "substrate"),
            "method": sorted(n for kind, n in rows if kind == "method"), "phase": list(PHASES)}


@dataclass
class FilmRecord:
    """One film with where it came from: its overview row, the raw film row, its batch, its duplicates and
    the held-out predictions stored for it."""

    overview: dict
    raw: dict
    batch: dict | None
    duplicates: object  # DataFrame: film_id, reference, relation
    predictions: object  # DataFrame: run_id, created_at, model, fold, log10 sigma mean / sd


def film_record(k, film_id: int) -> FilmRecord:
    """Everything stored about film `film_id`; a one-line error if there is none."""
    over = k.sql(f"SELECT * FROM {_FILMS} WHERE f.film_id = ?", [int(film_id)])
    if over.empty:
        raise FilmkbError(f"no film with id {film_id}; see the films list")
    raw = k.sql("SELECT * FROM films WHERE id = ?", [int(film_id)]).iloc[0].to_dict()
    batch = k.sql("SELECT id, kind, sources, created_at, note FROM ingest_batches WHERE id = ?", [raw["batch_id"]])
    duplicates = k.sql("""
        SELECT o.film_id, o.reference, CASE WHEN o.film_id = d.duplicate_of THEN 'this film duplicates it'
                                            ELSE 'duplicates this film' END AS relation
        FROM films d JOIN film_overview o ON o.film_id = d.duplicate_of OR o.duplicate_of = d.id
        WHERE d.id = ? AND o.film_id <> d.id ORDER BY o.film_id""", [int(film_id)])
    predictions = k.sql("""
        SELECT p.run_id, r.created_at, p.model, p.fold, -p.neg_log10_sigma_mean AS log10_sigma_mean,
               p.neg_log10_sigma_std AS log10_sigma_std
        FROM predictions p JOIN model_runs r ON r.id = p.run_id
        WHERE p.film_id = ? AND r.kind = 'evaluate' ORDER BY r.created_at DESC, p.model""", [int(film_id)])
    return FilmRecord(over.iloc[0].to_dict(), raw, batch.iloc[0].to_dict() if len(batch) else None, duplicates,
                      predictions)


def substrate_catalogue(k):
    """Substrates with their aliases and the source of each property value."""
    frame = k.substrates()
    aliases = dict(k._rows("""SELECT s.name, string_agg(a.alias, ' | ' ORDER BY a.alias) FROM substrates s
                              JOIN substrate_aliases a ON a.substrate_id = s.id GROUP BY s.name"""))
    sources = dict(k._rows("""SELECT s.name, string_agg(p.property || ': ' || p.source, '; ' ORDER BY p.property)
                              FROM property_sources p JOIN substrates s ON s.name = p.entity_name
                              WHERE p.entity = 'substrate' GROUP BY s.name"""))
    return frame.assign(aliases=frame["name"].map(aliases), sources=frame["name"].map(sources))


def reference_catalogue(k):
    """Publications with their film count and BibTeX."""
    from .bibtex import entry

    frame = k.sql("""SELECT p.*, (SELECT count(*) FROM films f WHERE f.reference_id = p.id) AS films
                     FROM publications p ORDER BY p.key""")
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return frame.assign(bibtex=[entry(r) for r in rows])


def model_runs(k):
    """Every stored run, newest first, with its metrics as a dict (from metrics_json)."""
    frame = k.sql("SELECT id, kind, created_at, n_films, code_version, config_json, metrics_json FROM model_runs "
                  "ORDER BY created_at DESC, id DESC")
    frame["metrics"] = [json.loads(m) if m else {} for m in frame["metrics_json"]]
    frame["config"] = [json.loads(c) if c else {} for c in frame["config_json"]]
    return frame.drop(columns=["metrics_json", "config_json"])


def run_predictions(k, run_id: str):
    """The held-out predictions of an evaluate run beside the measured value (for a parity plot)."""
    return k.sql("""
        SELECT p.film_id, p.model, p.fold, -p.neg_log10_sigma_mean AS predicted, p.neg_log10_sigma_std AS sd,
               log10(c.conductivity_25c_s_cm) AS measured
        FROM predictions p JOIN film_conditions c ON c.film_id = p.film_id
        WHERE p.run_id = ? ORDER BY p.model, p.film_id""", [run_id])


def shap_summary(k):
    """Mean |Shapley value| per descriptor of the latest run that stored any (the report's Figure 7), with the
    run and the number of films explained; empty when no run was explained."""
    return k.sql("""
        WITH latest AS (SELECT s.run_id FROM shap_values s JOIN model_runs r ON r.id = s.run_id
                        ORDER BY r.created_at DESC, r.id DESC LIMIT 1)
        SELECT s.run_id, s.descriptor, avg(abs(s.shap_value)) AS mean_abs, count(DISTINCT s.film_id) AS films
        FROM shap_values s JOIN latest l ON l.run_id = s.run_id
        GROUP BY s.run_id, s.descriptor ORDER BY mean_abs DESC, s.descriptor""")


def plot_points(k):
    """Per film with a 25 C conductivity: log10 sigma at 25 C, T_dep, substrate, its misfit, phase, reference."""
    return k.sql("""
        SELECT o.film_id, o.reference, o.substrate, o.phase, o.deposition_temp_c, s.misfit,
               log10(o.conductivity_25c_s_cm) AS log10_sigma_25c, o.duplicate_of
        FROM film_overview o JOIN substrates s ON s.name = o.substrate
        WHERE o.conductivity_25c_s_cm > 0 ORDER BY o.film_id""")
