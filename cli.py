"""filmkb command line: a thin click layer; every command wraps one library function.

Heavy libraries (pandas, pymatgen, great-expectations, keras) are imported inside the commands
so that `filmkb --help` stays instant.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager

import click

from .cli_types import CELL_CHARS, EPOCHS, JOBS, REPEATS, ROWS, SECONDS, SEED, TOP, TRIALS
from .schema.cells import visible
from .schema.descriptors import DEFAULT_SET, SETS
from .schema.names import METHOD_FAMILIES
from .schema.properties import PROPERTY_SETS

FORMATS = click.Choice(["table", "csv", "json"])
_properties_option = click.option(
    "--properties", type=click.Choice(PROPERTY_SETS), default="paper", show_default=True,
    help="Substrate properties the descriptors use: paper (Table 2 as published) or checked (literature-checked, "
         "data/substrate_properties_checked.csv; substrates added with add-substrate keep their own values).")
_run_properties_option = click.option(
    "--properties", type=click.Choice(PROPERTY_SETS), default=None,
    help="Substrate properties (paper or checked) [default: the set the run was trained with; another is refused].")
TABLE_MAX_ROWS = 1_000  # rows `query` shows as a table unless --max-rows says otherwise
COUNT_MAX_ROWS = 10_000_000  # rows past the shown ones that `query` counts for its note
RAW_HELP = ("Write CSV cells exactly as stored, for machine use. Without --raw, CSV is written for people: a "
            "text cell that a spreadsheet would run as a formula (one beginning with =, +, -, @, a tab or a "
            "carriage return, unless it reads as a plain number such as -0.5) gets a leading ' (OWASP's "
            "CSV-injection rule; `filmkb ingest` takes it off again), and printed CSV shows control "
            "characters as \\u001b.")


def _raw_option(command):
    """The shared --raw flag of every command that writes CSV."""
    return click.option("--raw", is_flag=True, help=RAW_HELP)(command)


def _echo(message="", **kwargs) -> None:
    """click.echo for people: control characters (other than newline and tab) shown as \\u001b, so text
    from the knowledge base or the user cannot drive the terminal."""
    click.echo(visible(str(message)), **kwargs)


class _Group(click.Group):
    """The one error boundary: filmkb's own errors, and what the file system, the csv and YAML parsers
    and the database engine raise, become `Error: FILE: what went wrong` with exit code 1. Every error
    line, click's own usage errors included, shows control characters as \\u001b."""

    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except click.ClickException as exc:
            exc.message = visible(exc.message)
            raise

    def invoke(self, ctx):
        from .errors import FilmkbError

        try:
            return super().invoke(ctx)
        except click.BadParameter as exc:  # a value out of range: one line naming the option, exit code 1
            raise click.ClickException(visible(" ".join(exc.format_message().split()))) from None
        except click.ClickException as exc:
            exc.message = visible(exc.message)
            raise
        except FilmkbError as exc:
            raise click.ClickException(visible(_secret_free(_for_command(exc, ctx), ctx))) from None
        except (OSError, UnicodeError, MemoryError) as exc:
            raise click.ClickException(visible(_outside_error(exc, ctx))) from None
        except Exception as exc:
            if type(exc).__module__.split(".")[0] not in ("duckdb", "_duckdb", "psycopg", "yaml", "_csv", "csv"):
                raise
            raise click.ClickException(visible(_secret_free(_outside_error(exc, ctx), ctx))) from None


def _for_command(exc, ctx) -> str:
    """A refused write names the command that needed the right (and --no-store where the command has it)."""
    if not hasattr(exc, "naming") or not ctx.invoked_subcommand:
        return str(exc)
    command = ctx.command.get_command(ctx, ctx.invoked_subcommand)
    no_store = command is not None and any(p.name == "no_store" for p in command.params)
    return exc.naming(ctx.invoked_subcommand, "--no-store reads without writing" if no_store else None)


def _secret_free(message: str, ctx) -> str:
    """The message with the password of a database URL masked (never printed)."""
    from . import kb

    return kb.without_secrets(message, (ctx.obj or {}).get("db"))


def _outside_error(exc: BaseException, ctx) -> str:
    """One line for an error raised outside filmkb's own checks, naming the file when it is known."""
    db = (ctx.obj or {}).get("db", "filmkb.duckdb")
    if isinstance(exc, MemoryError):
        return "out of memory; nothing was written"
    if isinstance(exc, OSError):
        return f"{exc.filename or db}: {exc.strerror or exc}"
    first = " ".join(str(exc).split()) or type(exc).__name__
    return f"{db}: {first}" if type(exc).__module__.split(".")[0] in ("duckdb", "_duckdb", "psycopg") else first


def _csv_text(frame, raw: bool, header: bool = True) -> str:
    """A DataFrame as CSV text: as stored with `raw`, else with formula cells neutralised (see RAW_HELP)."""
    from .schema.cells import neutralised_frame

    return (frame if raw else neutralised_frame(frame)).to_csv(index=False, header=header)


def _echo_csv(text: str, raw: bool) -> None:
    """Print CSV text: as it is with `raw` (color=True, or click strips escape sequences from piped
    output), else for people (control characters visible)."""
    click.echo(text, nl=False, color=True) if raw else _echo(text, nl=False)


def _emit(frame, fmt: str, title: str | None = None, raw: bool = False) -> None:
    """Print a DataFrame as a rich table, CSV or JSON records; only --raw CSV is printed as stored."""
    if fmt == "csv":
        _echo_csv(_csv_text(frame, raw), raw)
    elif fmt == "json":
        _echo(frame.to_json(orient="records", indent=2, date_format="iso"))
    else:
        _print_table(frame, title)


def _print_table(frame, title: str | None = None) -> None:
    """A rich table whose cells, headers and title print literally: no markup, no emoji codes, control
    characters visible."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(visible(title), style="table.title") if title else None, show_lines=False)
    for col in frame.columns:
        table.add_column(Text(visible(str(col))), overflow="fold")
    for row in frame.itertuples(index=False):
        table.add_row(*[Text(_cell(v)) for v in row])
    Console(width=max(200, len(frame.columns) * 14), markup=False, emoji=False).print(table)


def _cell(value) -> str:
    import pandas as pd

    if value is None or (not isinstance(value, (list, tuple)) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return visible(str(value))


@contextmanager
def _progress(label: str, silent: bool, total: int | None = None):
    """A rich progress line counting fitted models; yields the tick(n, total=None) callback (a job
    that knows the total only once it has read the data announces it with tick(0, total))."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn(label), BarColumn(), TextColumn("{task.completed} models fitted"),
                  TimeElapsedColumn(), disable=silent, transient=True) as bar:
        task = bar.add_task(label, total=total)

        def tick(k: int, total: int | None = None) -> None:
            if total is not None:
                bar.update(task, total=total)
            bar.advance(task, k)

        yield tick


def _lstm_config(epochs: int | None):
    """The paper's LSTM settings, with --epochs overriding its 3200 epochs when given."""
    from .ml.lstm import PAPER

    return PAPER if epochs is None else PAPER.replace(epochs=epochs)


@click.group(cls=_Group)
@click.option("--db", "db_path", envvar="FILMKB_DB", default="filmkb.duckdb", show_default=True,
              help="DuckDB file, or a PostgreSQL server as postgresql://USER@HOST:PORT/DBNAME (also $FILMKB_DB).")
@click.version_option(package_name="filmkb")
@click.pass_context
def main(ctx, db_path):
    """filmkb: a knowledge base and ML toolkit for the ionic conductivity of garnet thin films.

    Example: filmkb init && filmkb films --substrate MgO --method PLD
    """
    ctx.obj = {"db": db_path}


@main.command()
@click.option("--force", is_flag=True, help="Rebuild even if the file holds user-ingested films or is not a filmkb "
              "database (the old file is kept as PATH.bak, or PATH.bak.1, ... if that exists).")
@click.option("--wait", type=SECONDS, default=0.0, show_default=True,
              help="Seconds to wait for another writer to finish before giving up (at most 86400).")
@click.pass_context
def init(ctx, force, wait):
    """Create the schema, load the curated data and apply the views (idempotent).

    Example: filmkb --db my.duckdb init
    """
    from . import kb
    from .jobs import init as run

    status, report = run(ctx.obj["db"], force=force, wait=wait)
    if report is None:
        _echo(f"{kb.shown(ctx.obj['db'])}: {status} (curated data unchanged)")
    else:
        counts = ", ".join(f"{v} {k}" for k, v in report.counts.items())
        _echo(f"{kb.shown(ctx.obj['db'])}: {status}: {counts}")


@main.command("copy")
@click.argument("src")
@click.argument("dst")
@click.option("--force", is_flag=True, help="Copy into a destination that holds something: a file is kept as DST.bak "
              "(DST.bak.1, ...), a server's filmkb tables in a new schema filmkb_backup_N.")
@click.option("--wait", type=SECONDS, default=0.0, show_default=True,
              help="Seconds to wait for another process writing DST.")
def copy_kb(src, dst, force, wait):
    """Copy a whole knowledge base from SRC to DST: every table (films, catalogue, batches, model runs with their
    files, predictions, SHAP values, suggestions), ids preserved. SRC and DST are DuckDB paths or PostgreSQL URLs
    (the --db forms); SRC is only read, DST is written in one transaction and must be empty unless --force.

    Example: filmkb copy filmkb.duckdb postgresql://filmkb@dbhost:5432/filmkb
    """
    from . import kb
    from .jobs import copy as run

    report = run(src, dst, force=force, wait=wait)
    rows = report.rows
    shown = [(rows.get(t, 0), what) for t, what in _COPY_SHOWN]
    kept = f" (the old one kept as {report.backup})" if report.backup else ""
    _echo(f"{kb.shown(dst)}: copied from {kb.shown(src)}{kept}: " + ", ".join(f"{n:,} {what}" for n, what in shown)
          + f" ({report.total:,} rows in {len(rows)} tables)")


_COPY_SHOWN = (("films", "films"), ("publications", "publications"), ("substrates", "substrates"),
               ("deposition_methods", "methods"), ("ingest_batches", "batches"), ("model_runs", "model runs"),
               ("run_artifacts", "run files"), ("predictions", "predictions"), ("shap_values", "SHAP values"),
               ("suggestions", "suggestions"))


@main.command()
@click.argument("sql")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True, help="Output format.")
@click.option("--timeout", type=SECONDS, default=10, show_default=True, metavar="SECONDS",
              help="Interrupt the query after SECONDS of the engine's work (it writes nothing either way); "
                   "0 = no limit; at most 86400 (a day).")
@click.option("--max-rows", type=click.IntRange(min=0), default=None, metavar="N",
              help=f"Rows to print: the table stops after N [default: {TABLE_MAX_ROWS:,}] with a note of how many "
                   "more there are; csv and json stream every row unless N is given. 0 = no limit.")
@_raw_option
@click.pass_context
def query(ctx, sql, fmt, timeout, max_rows, raw):
    """Run read-only SQL against the knowledge base (writes are refused). A query still running after
    --timeout seconds (default 10) is interrupted with a one-line error; --timeout 0 lets it run. The
    table shows the first 1,000 rows (--max-rows); csv and json are written as the rows are fetched.

    Example: filmkb query "SELECT substrate, count(*) FROM film_overview GROUP BY 1"
    """
    from . import kb
    from .kb.db import QueryTimeout

    limit = (TABLE_MAX_ROWS if fmt == "table" else 0) if max_rows is None else max_rows
    with kb.open(ctx.obj["db"]) as db:
        try:
            _write_query(db.stream(sql, timeout=timeout or None), fmt, limit, raw)
        except QueryTimeout:
            raise kb.FilmkbError(f"query interrupted after {timeout:g} s (--timeout {timeout:g}; "
                                 "use --timeout 0 for no limit)") from None


def _write_query(chunks, fmt: str, limit: int, raw: bool) -> None:
    """Write a query's rows chunk by chunk as they are fetched, up to `limit` rows (0: all), then say how
    many more there are (on stderr for csv and json, so their text stays whole)."""
    import pandas as pd

    frames, written, leftover = [], 0, 0
    for i, chunk in enumerate(chunks):
        if limit and written + len(chunk) > limit:
            leftover = written + len(chunk) - limit
            chunk = chunk.iloc[:limit - written]
        if fmt == "table":
            frames.append(chunk)
        elif fmt == "csv":
            _echo_csv(_csv_text(chunk, raw, header=i == 0), raw)
        elif len(chunk):
            body = chunk.to_json(orient="records", indent=2, date_format="iso").strip()[1:-1].strip("\n")
            _echo(("[\n" if written == 0 else ",\n") + body, nl=False)
        written += len(chunk)
        if leftover:
            break
    if fmt == "table":
        _print_table(pd.concat(frames, ignore_index=True))
    elif fmt == "json":
        _echo("\n]" if written else "[]")
    if leftover:
        more, why = _count_rest(chunks, leftover)
        where = "use --max-rows or --format csv" if fmt == "table" else f"--max-rows {limit}"
        _echo(f"... {more} more rows not shown ({why + '; ' if why else ''}{where})", err=fmt != "table")


def _count_rest(chunks, counted: int) -> tuple[str, str | None]:
    """How many rows the rest of a query holds, counted up to COUNT_MAX_ROWS and within its --timeout:
    (the number as said, why counting stopped early or None)."""
    from .kb.db import QueryTimeout

    try:
        for chunk in chunks:
            counted += len(chunk)
            if counted > COUNT_MAX_ROWS:
                return f"more than {COUNT_MAX_ROWS:,}", None
    except QueryTimeout:
        return f"at least {counted:,}", "counting stopped at the --timeout"
    return f"{counted:,}", None


@main.command()
@click.option("--substrate", help="Substrate name or alias (MgO, STO, SrTiO3, Si-Pt, ...).")
@click.option("--method", help="Deposition method or alias (PLD, 'pulsed laser deposition', ALD, ...).")
@click.option("--phase", help="cubic, tetragonal, amorphous or mixed.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True, help="Output format.")
@click.option("--all-columns", is_flag=True, help="Show every column of the film_overview view.")
@_raw_option
@click.pass_context
def films(ctx, substrate, method, phase, fmt, all_columns, raw):
    """List films, optionally filtered by substrate, method and phase.

    Example: filmkb films --substrate MgO --method PLD
    """
    from . import kb

    with kb.open(ctx.obj["db"]) as db:
        frame = db.films(substrate=substrate, method=method, phase=phase)
    if not all_columns and fmt == "table":
        # the 25 C note (converted, or no 25 C value and why) only when a listed film has one
        note = ["conductivity_25c_note"] if frame["conductivity_25c_note"].notna().any() else []
        frame = frame[["film_id", "reference", "composition", "method", "deposition_temp_c", "substrate",
                       "orientation", "phase", "thickness_nm", "conductivity_s_cm", "measurement_temp_c",
                       "conductivity_25c_s_cm", "duplicate_of", *note]]
    _emit(frame, fmt, title=f"{len(frame)} films", raw=raw)


@main.command()
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True, help="Output format.")
@_raw_option
@click.pass_context
def substrates(ctx, fmt, raw):
    """List substrates with properties, pymatgen lattice constant and misfit against c-LLZO.

    Example: filmkb substrates --format csv
    """
    from . import kb

    with kb.open(ctx.obj["db"]) as db:
        _emit(db.substrates(), fmt, title="substrates", raw=raw)


@main.command()
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True, help="Output format.")
@_raw_option
@click.pass_context
def methods(ctx, fmt, raw):
    """List deposition methods with their family and the aliases papers use for them.

    Example: filmkb methods --format csv
    """
    from . import kb

    with kb.open(ctx.obj["db"]) as db:
        _emit(db.methods(), fmt, title="deposition methods", raw=raw)


@main.command()
@click.option("--complete", is_flag=True, help="Only distinct films with all seven descriptors (the model input).")
@click.option("--out", type=click.Path(dir_okay=False), help="Write to FILE.csv or FILE.parquet instead of printing.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True, help="Output format when printing.")
@click.option("--sets", "list_sets", is_flag=True,
              help="List the descriptor sets instead: columns with units (and sources in json), films each covers.")
@_raw_option
@_properties_option
@click.pass_context
def descriptors(ctx, properties, complete, out, fmt, list_sets, raw):
    """The descriptor matrix: seven descriptors and -log10(sigma) per film; or, with --sets, the descriptor
    sets the models may use.

    Example: filmkb descriptors --complete --out X.csv; filmkb descriptors --sets
    """
    from . import kb
    from .jobs import properties as substrate_properties

    if list_sets:
        if complete or out:
            raise click.UsageError("--sets lists the descriptor sets; --complete and --out write the matrix")
        _descriptor_sets(ctx.obj["db"], fmt, raw)
        return
    if out:
        kb.check_output(out, ctx.obj["db"])
    with kb.open(ctx.obj["db"]) as db:
        substrate_properties.use(db, properties)
        frame = db.descriptor_matrix(complete=complete).reset_index()
    if out:
        if out.endswith(".parquet"):
            frame.to_parquet(out, index=False)
        elif out.endswith(".csv"):
            with open(out, "w", encoding="utf-8", newline="") as handle:
                handle.write(_csv_text(frame, raw))
        else:
            raise click.ClickException(f"{out}: use a .csv or .parquet file name")
        _echo(f"{out}: {len(frame)} rows x {len(kb.DESCRIPTORS)} descriptors + target")
        return
    cols = ["film_id", *kb.DESCRIPTORS, kb.TARGET] if fmt == "table" else frame.columns
    _emit(frame[list(cols)], fmt, title=f"{len(frame)} films", raw=raw)


def _descriptor_sets(db, fmt: str, raw: bool) -> None:
    from .jobs import descriptor_sets

    frame = descriptor_sets(db)
    if fmt != "json":  # one cell: "name [unit], ..."
        frame = frame.assign(columns=[", ".join(f"{c['name']} [{c['unit']}]" for c in cols) for cols in frame["columns"]])
    _emit(frame, fmt, title=f"{len(frame)} descriptor sets", raw=raw)


@main.command()
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True, help="Output format.")
@_raw_option
def models(fmt, raw):
    """List the registered model families (ml/families/): what each is, whether it is stochastic, uses each
    film's paper or accepts missing descriptors, and the candidate lists and descriptor sets it is in.

    Example: filmkb models --format json
    """
    from .jobs import model_families

    frame = model_families()
    if fmt != "json":
        frame = frame.assign(**{c: [" ".join(v) for v in frame[c]] for c in ("candidate_lists", "descriptor_sets")})
    _emit(frame, fmt, title=f"{len(frame)} model families", raw=raw)


@main.command()
@click.pass_context
def validate(ctx):
    """Run every great-expectations suite; print each failure; exit 1 on any. Films stored without a
    25 C conductivity (measured away from 20-30 C without an activation energy) are listed as notes.

    Example: filmkb validate
    """
    from . import kb

    with kb.open(ctx.obj["db"]) as db:
        failures = db.validate()
        untargeted = db.films_without_target()
    for film_id, why in untargeted:  # stored on purpose, so a note and not a failure
        _echo(f"films: row id {film_id}: not in the descriptor matrix: {why}")
    for failure in failures:
        _echo(str(failure))
    if failures:
        _echo(f"{len(failures)} failures", err=True)
        sys.exit(1)
    _echo("all expectations met")


@main.command()
@click.argument("out_dir", type=click.Path())
@_raw_option
@click.pass_context
def export(ctx, out_dir, raw):
    """Write every table and view as Parquet and CSV, plus references.bib; and OUT_DIR/entries/: the user's
    batches as files `filmkb ingest` reads, with manifest.json. `filmkb init NEW && filmkb --db NEW ingest
    OUT_DIR/entries` rebuilds the same films, substrates, methods, references and batches.

    The CSV files are written for people (see --raw); OUT_DIR/entries/ is always written that way, since
    `filmkb ingest` takes the leading ' off again and so reads back the stored text.

    Example: filmkb export dump/
    """
    from .jobs import export as run

    files = run(ctx.obj["db"], out_dir, raw=raw)
    _echo(f"{out_dir}: {len(files)} files (entries/: the user's batches, for `filmkb ingest {out_dir}/entries`)")


@main.command()
@click.option("--out", "out_dir", default="reports", show_default=True, type=click.Path(),
              help="Directory for report.md, summary.json and figures/.")
@click.option("--repeats", type=REPEATS, default=None,
              help="Seeds per fold and trained members [default: 10; 100 with --full].")
@click.option("--full", is_flag=True,
              help="The paper protocol: 100 seeds per film fold and 100 trained members; papers left out at 10 "
                   "seeds, with the LSTM and the ensemble.")
@click.option("--epochs", type=EPOCHS, default=None,
              help="Override the LSTM epochs (paper: 3200), e.g. 50 for a quick look.")
@click.option("--seed", type=SEED, default=0, show_default=True,
              help="Base seed, 0 to 4294967295 (2**32-1); same database + seed = same numbers.")
@click.option("--models-dir", type=click.Path(), default=None,
              help="Where the trained models go [default: models/ beside the database].")
@click.option("--candidates", default="default", show_default=True,
              help="The recommended model's candidates: 'default', 'small', or family:set,... .")
@click.option("--jobs", "n_jobs", type=JOBS, default=2, show_default=True,
              help="Processes for the recommended model's candidate fits.")
@click.option("--folds-k", "folds_k", type=click.IntRange(2, 1000), default=None,
              help="Folds of the K-fold grouped by film or paper that replaces leave-one-out above 30 papers "
                   "[default: 10].")
@click.option("--silent", is_flag=True, help="Hide the progress bar.")
@_properties_option
@click.pass_context
def reproduce(ctx, properties, out_dir, repeats, full, epochs, seed, models_dir, candidates, n_jobs, folds_k, silent):
    """The main job: build or refresh the knowledge base, validate, evaluate every model leaving out one
    film and one paper, train the recommended model and the paper's ensemble, explain (SHAP), and write
    a Markdown report: the recommended model, metrics beside the paper's, calibration, the paper's
    Figures 5-7 redrawn, a learning curve and what choosing on the test set hides.

    Example: filmkb reproduce --out reports/ && open reports/report.md
    """
    from .jobs import reproduce as run

    config = _lstm_config(epochs)
    with _progress("reproduce", silent) as tick:
        res = run(ctx.obj["db"], out_dir=out_dir, repeats=repeats, full=full, seed=seed, lstm=config,
                  models_dir=models_dir, say=_echo, progress=tick, candidates=candidates, n_jobs=n_jobs,
                  folds_k=folds_k, properties=properties)
    _echo(f"report written to {res.report} ({', '.join(f'{k} {v:.0f} s' for k, v in res.timings.items())})")


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--dry-run", is_flag=True, help="Normalise and validate only; write nothing.")
@click.option("--wait", type=SECONDS, default=0.0, show_default=True,
              help="Seconds to wait for another writer to finish before giving up (at most 86400).")
@click.option("--allow-extra-columns", is_flag=True,
              help="Keep columns the template does not know in each film's notes (default: an unknown column is an error).")
@click.option("--max-rows", type=ROWS, default=100_000, show_default=True,
              help="Most entries one file may hold.")
@click.option("--max-cell-chars", type=CELL_CHARS, default=10_000, show_default=True,
              help="Longest cell a file may hold, in characters.")
@click.pass_context
def ingest(ctx, files, dry_run, wait, allow_extra_columns, max_rows, max_cell_chars):
    """Add films from CSV or YAML files (template: data/templates/films.csv), deposition methods from
    methods files, or references from .bib.

    A file whose header is name,family,description,aliases (as data/methods.csv; family one of
    PVD, CVD, ALD, sol-gel, solution, powder, other; aliases '|'-separated) holds methods, told apart
    from film files by that header. Its methods are written first, in their own batch, so films of
    the same invocation may use them; a row repeating a stored method exactly is skipped. A file with
    formula and amorphous columns holds substrates (columns: the add-substrate options name, formula,
    amorphous, crystal_system, space_group, sites, aliases, note, source, and one per property: lattice_a,
    cte, poisson_ratio, youngs_modulus, bulk_modulus, shear_modulus, dielectric_constant, melting_point,
    each a value with its unit), written next, in their own batch.

    A directory written by `filmkb export` (OUT_DIR/entries, holding manifest.json) is replayed: its
    batches in order, in one transaction, into a database freshly made by `filmkb init`.

    All rows are normalised (units, formulas, names, DOIs) and validated first; one bad row means
    nothing is written, and every bad cell is listed as FILE:LINE: column: value: reason.

    Drafts written by `filmkb extract` may keep their confidence and source columns: ingest knows
    them as draft columns and ignores them (a note says so); they are not stored.

    A CSV cell written as ' followed by =, +, -, @, a tab or a carriage return (how `filmkb export`
    and `filmkb extract` keep spreadsheets from running a cell as a formula) is read without that '.

    Example: filmkb ingest new_films.csv more.yaml --dry-run; filmkb ingest my_methods.csv my_films.csv
    """
    from .jobs import ingest as run
    from .jobs.exchange import is_export

    exports = [f for f in files if is_export(f)]
    if exports:
        if len(files) > 1 or dry_run:
            raise click.UsageError("an export (a directory holding manifest.json) is ingested alone, without --dry-run")
        from .jobs import replay

        done = replay(ctx.obj["db"], exports[0], wait=wait)
        _echo(f"{exports[0]}: replayed {len(done)} batches ({sum(n for _, n in done)} films)")
        return
    bibs = [f for f in files if f.lower().endswith(".bib")]
    if bibs:
        ctx.invoke(ingest_bib, files=bibs, wait=wait)
    films_files = [f for f in files if not f.lower().endswith(".bib")]
    if not films_files:
        return
    from .ingest.readers import Limits

    report = run(ctx.obj["db"], films_files, dry_run=dry_run, wait=wait, allow_extra_columns=allow_extra_columns,
                 limits=Limits(max_rows=max_rows, max_cell_chars=max_cell_chars))
    _say_ingest(report, dry_run)


def _say_ingest(report, dry_run: bool) -> None:
    """What an ingest added, skipped and flagged: methods and substrates first, then the films."""
    c = report.counts
    for file, names in report.draft_columns.items():
        plural = "s" if len(names) > 1 else ""
        _echo(f"{file}: draft column{plural} {', '.join(names)} (from `filmkb extract`) ignored")
    for file, line, name in report.known_methods:
        _echo(f"{file}:{line}: method {name} is already in the database as it is: skipped")
    if c.get("substrates"):
        _echo(f"added {c['substrates']} substrates")
    if report.methods:
        names = ", ".join(report.methods)
        _echo(f"dry run: {len(report.methods)} methods valid, would be added: {names}" if dry_run else
                   f"batch {report.methods_batch_id}: added {len(report.methods)} methods ({names})")
    if not c["read"]:  # methods or substrates files only
        if c.get("substrates"):
            return
        if dry_run or not report.methods:
            _echo("dry run: nothing written" if dry_run else "nothing added: every method is already in the database")
        return
    for file, line, other in report.duplicates:
        _echo(f"{file}:{line}: already in the database as film {other}: skipped")
    for file, line, other in report.near_duplicates:
        _echo(f"{file}:{line}: near-duplicate of film {other} (same reference and conditions, other conductivity): added")
    if dry_run:
        _echo(f"dry run: {c['read']} entries valid, {c['added']} would be added, {c['duplicates']} duplicates; nothing written")
    elif report.batch_id is None:
        _echo(f"nothing added: all {c['read']} entries are already in the database")
    else:
        ids = ", ".join(map(str, report.film_ids))
        _echo(f"batch {report.batch_id}: added {c['added']} films (ids {ids}); "
                   f"{c['duplicates']} duplicates skipped, {c['near_duplicates']} near-duplicates")


@main.command()
@click.argument("paper", type=click.Path())
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="CSV to write [default: <paper stem>.draft.csv in the current directory].")
@click.option("--force", is_flag=True, help="Overwrite --out if it exists (never a database file: refused).")
@click.option("--max-pages", type=click.IntRange(1, 100_000), default=200, show_default=True,
              help="Refuse a PDF of more pages (a paper with its supplement fits; 1 to 100000).")
@click.option("--max-chars", type=click.IntRange(1, 1_000_000_000), default=2_000_000, show_default=True,
              help="Refuse a paper of more characters of text (some 20 long papers; 1 to 10**9).")
@_raw_option
@click.pass_context
def extract(ctx, paper, out, force, max_pages, max_chars, raw):
    """Draft film rows from a paper (.pdf, .txt, .html/.htm) into a CSV in the ingest template, for you
    to review before `filmkb ingest`. Never writes the database: when the --db file exists, its method
    and substrate names (with those from add-method/add-substrate) are recognised, else the curated ones.

    Rows come from tables whose header names the conductivity and two or more conditions (one row per
    table row, citing the reference the row cites in notes) and from sentences stating a film's
    conditions and conductivity (lower confidence). Each row has a confidence (0-1) and its source
    (page/line); `filmkb ingest` ignores those two columns. The paper's own DOI fills doi when found.
    A cell a spreadsheet would run as a formula gets a leading ' (see --raw), which ingest takes off.
    Read every row against the paper: cells are drafts, not facts.

    Example: filmkb extract paper.pdf --out drafts.csv && filmkb ingest drafts.csv --dry-run
    """
    import time

    from .jobs import extract as draft_paper

    start = time.perf_counter()
    target, result = draft_paper(paper, ctx.obj["db"], out, overwrite=force, max_pages=max_pages, max_chars=max_chars,
                                 raw=raw)
    for warning in result.warnings:
        _echo(f"warning: {warning}", err=True)
    kinds = {o: sum(d.origin == o for d in result.drafts) for o in ("table", "flattened", "sentence")}
    _echo(f"{target}: {len(result.drafts)} rows drafted ({kinds['table'] + kinds['flattened']} from tables, "
               f"{kinds['sentence']} from sentences), mean confidence {result.mean_confidence:.2f}, "
               f"{time.perf_counter() - start:.1f} s")
    if result.drafts:
        _echo(f"review them, then: filmkb ingest {target} --dry-run")


@main.command("ingest-bib")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--wait", type=SECONDS, default=0.0, show_default=True, help="Seconds to wait for another writer (at most 86400).")
@click.pass_context
def ingest_bib(ctx, files, wait):
    """Add references from BibTeX files, or complete known ones (matched by DOI or key).

    Example: filmkb ingest-bib refs.bib
    """
    from .jobs import ingest_bib as load_bib

    added, updated = load_bib(ctx.obj["db"], files, wait=wait)
    _echo(f"references: {added} added, {updated} completed")


@main.command("add-substrate")
@click.option("--name", required=True, help="Canonical name, e.g. LiNbO3.")
@click.option("--formula", required=True, help="Chemical formula, e.g. LiNbO3.")
@click.option("--amorphous/--crystalline", default=False, help="Amorphous substrates get misfit 0.")
@click.option("--space-group", help="Hermann-Mauguin symbol (crystalline), e.g. Fm-3m.")
@click.option("--sites", help="Asymmetric-unit sites for pymatgen, e.g. 'Mg 0 0 0; O 0.5 0.5 0.5'.")
@click.option("--lattice-a", help="Lattice constant a (default unit angstrom).")
@click.option("--lattice-b", help="Lattice constant b, when it differs from a (default unit angstrom).")
@click.option("--lattice-c", help="Lattice constant c: needed for hexagonal, trigonal, tetragonal, ... (default angstrom).")
@click.option("--cte", required=True, help="Linear thermal expansion coefficient (default 1/K).")
@click.option("--poisson", required=True, help="Poisson ratio.")
@click.option("--youngs", required=True, help="Young's modulus (default GPa).")
@click.option("--bulk", help="Bulk modulus (default GPa).")
@click.option("--shear", required=True, help="Shear modulus (default GPa).")
@click.option("--dielectric", required=True, help="Static relative permittivity.")
@click.option("--melting-point", required=True, help="Melting or decomposition point (default K; '1768 degC' works).")
@click.option("--source", required=True, help="Where the values come from (reference, table, page).")
@click.option("--alias", "aliases", multiple=True, help="Another name papers use (repeatable).")
@click.option("--note", help="Free-text note.")
@click.option("--wait", type=SECONDS, default=0.0, show_default=True, help="Seconds to wait for another writer (at most 86400).")
@click.pass_context
def add_substrate(ctx, name, formula, amorphous, space_group, sites, lattice_a, lattice_b, lattice_c, cte, poisson,
                  youngs, bulk, shear, dielectric, melting_point, source, aliases, note, wait):
    """Add a substrate with its properties, units and source (validated like the curated ones).

    Example: filmkb add-substrate --name LiNbO3 --formula LiNbO3 --amorphous --cte 15e-6 --poisson 0.25
    --youngs 170 --shear 68 --dielectric 29 --melting-point "1257 degC" --source "CRC Handbook"
    """
    from .jobs import add_substrate as add

    substrate = dict(name=name, formula=formula, amorphous=str(amorphous).lower(), space_group=space_group,
                     sites=sites, aliases="|".join(aliases), note=note, crystal_system=None)
    values = dict(lattice_a=lattice_a, lattice_b=lattice_b, lattice_c=lattice_c, cte=cte, poisson_ratio=poisson,
                  youngs_modulus=youngs, bulk_modulus=bulk, shear_modulus=shear, dielectric_constant=dielectric,
                  melting_point=melting_point)
    added = add(ctx.obj["db"], substrate, values, source, wait=wait)
    _echo(f"substrate {added} added")


@main.command("add-method")
@click.argument("name")
@click.option("--family", required=True, metavar="FAMILY", help=f"Method family: {', '.join(METHOD_FAMILIES)}.")
@click.option("--alias", "aliases", multiple=True, help="Another name papers use for it (repeatable).")
@click.option("--description", help="What the method is, in a few words.")
@click.option("--note", help="Free-text note, recorded with the batch (`filmkb history`).")
@click.option("--wait", type=SECONDS, default=0.0, show_default=True, help="Seconds to wait for another writer (at most 86400).")
@click.pass_context
def add_method(ctx, name, family, aliases, description, note, wait):
    """Add a deposition method with its family and aliases, recorded as a user batch (`filmkb history`).

    A name or alias that another method already has is refused (see `filmkb methods`). Several methods
    at once: `filmkb ingest FILE` with a file headed name,family,description,aliases.
    Only PVD, CVD and ALD have their own flag in the extended descriptors; other families are all 0 there.

    Example: filmkb add-method "flash evaporation" --family PVD --alias "flash-evaporation" --note "Smith 2024"
    """
    from .jobs import add_method as add

    added = add(ctx.obj["db"], name, family, aliases, description=description, note=note, wait=wait)
    _echo(f"method {added} added")


@main.command()
@click.option("--wait", type=SECONDS, default=0.0, show_default=True, help="Seconds to wait for another writer (at most 86400).")
@click.pass_context
def add(ctx, wait):
    """Add one film interactively, with the same normalisation and validation as `filmkb ingest`.

    Example: filmkb add
    """
    from .ingest.entries import TEMPLATE_COLUMNS
    from .jobs import ingest_records

    required = {"composition", "method", "deposition_temp_c", "substrate", "phase", "conductivity_s_cm"}
    _echo("One film; units may be typed with the value (700 C, 0.2 um, 0.12 mS/cm, 0.45 eV). Empty = not given; "
               "activation_energy_ev converts a value measured away from 25 C.")
    cells = {}
    for column in TEMPLATE_COLUMNS:
        label = column + (" (required)" if column in required else "")
        cells[column] = click.prompt(label, default="", show_default=False).strip()
    report = ingest_records(ctx.obj["db"], [("<interactive>", 1, cells)], wait=wait)
    if report.batch_id is None:
        _echo("nothing added: this film is already in the database")
    else:
        _echo(f"batch {report.batch_id}: added film {report.film_ids[0]}")


@main.command()
@click.option("--audit", "show_audit", is_flag=True,
              help="Show the audit instead: every insert, update and delete with the old and new values, who and when.")
@click.option("--table", "table", help="With --audit: this table's changes only (films, substrates, ...).")
@click.option("--limit", type=click.IntRange(1), help="With --audit: the latest N changes only.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True, help="Output format.")
@_raw_option
@click.pass_context
def history(ctx, show_audit, table, limit, fmt, raw):
    """List ingest batches (curated load and user ingests) with their film counts; with --audit, who changed
    what and when (newest first).

    Example: filmkb history --audit --table films --limit 20
    """
    if not show_audit:
        if table is not None or limit is not None:
            raise click.UsageError("--table and --limit go with --audit")
        from .jobs import history as batches

        _emit(batches(ctx.obj["db"]), fmt, title="ingest batches", raw=raw)
        return
    from .jobs import audit

    _emit(audit(ctx.obj["db"], table, limit), fmt, title="audit" + (f" of {table}" if table else ""), raw=raw)


@main.command()
@click.argument("login")
@click.option("--role", type=click.Choice(["reader", "writer"]), required=True,
              help="reader: every read command; writer: reads and writes (ingest, retract, train, ...).")
@click.option("--password", "ask_password", is_flag=True,
              help="Ask for the login's password (hidden, typed twice); sets it, creating the login if missing.")
@click.pass_context
def grant(ctx, login, role, ask_password):
    """Let the PostgreSQL login LOGIN read (--role reader) or read and write (--role writer) the knowledge base
    on a server, through the group roles filmkb_reader / filmkb_writer; the login is created if missing. Run by
    the owner of the knowledge base.

    Example: filmkb --db postgresql://filmkb@dbhost/filmkb grant alice --role writer --password
    """
    from .jobs import grant as give
    from .kb.engines import is_url

    password = None
    if ask_password:
        if not is_url(ctx.obj["db"]):
            give(ctx.obj["db"], login, role)  # a DuckDB file: refused before a password is asked for
        password = click.prompt(f"password for {login}", hide_input=True, confirmation_prompt=True)
    _echo(give(ctx.obj["db"], login, role, password))


@main.command()
@click.argument("batch", type=int)
@click.option("--wait", type=SECONDS, default=0.0, show_default=True, help="Seconds to wait for another writer (at most 86400).")
@click.pass_context
def retract(ctx, batch, wait):
    """Remove the films of one user ingest batch (and nothing else), in one transaction.

    Example: filmkb retract 3
    """
    from .jobs import retract as retract_batch

    n = retract_batch(ctx.obj["db"], batch, wait=wait)
    _echo(f"batch {batch}: removed {n} films")


DESCRIPTOR_SETS = click.Choice(list(SETS))  # the registered sets (schema/descriptor_sets/, `filmkb descriptors --sets`)
MODEL_CHOICE = click.Choice(["recommended", "paper"])


def _model_option(f):
    """--model on the commands that use a trained run (predict, explain, suggest)."""
    return click.option("--model", "model", type=MODEL_CHOICE, default=None,
                        help="recommended: the latest recommended-model run; paper: the latest run of the paper's LSTM "
                             "+ PBP ensemble [default: recommended, or the model of --run].")(f)


def _answered_by(kind: str, run_id: str) -> str:
    from .jobs.runs import answered_by

    return answered_by(kind, run_id)


def _output_name(kind: str) -> str:
    """The `model` column of csv and json output: 'recommended' or 'ensemble' (as stored predictions name it)."""
    from .jobs.runs import OUTPUT_NAMES

    return OUTPUT_NAMES[kind]


@main.command()
@click.option("--models", default="lstm,pbp,ensemble,baselines,recommended", show_default=True,
              help="Comma-separated model groups (lstm, pbp, ensemble, baselines, recommended) or families by name "
                   "(`filmkb models` lists them; baselines: those marked baseline).")
@click.option("--descriptors", default=DEFAULT_SET, show_default=True, type=DESCRIPTOR_SETS,
              help="Descriptor set of the paper's models and the baselines (the recommended model chooses its own).")
@click.option("--candidates", default="default", show_default=True,
              help="The recommended model's candidates: 'default', 'full', 'small', or family:set,... (e.g. "
                   "mean,ridge:extended); `filmkb models` lists the families, their lists and sets.")
@click.option("--jobs", "n_jobs", type=JOBS, default=2, show_default=True,
              help="Processes for the recommended model's candidate fits.")
@click.option("--repeats", type=REPEATS, default=None,
              help="Seeds per fold for LSTM and PBP [default: 100 leaving one out (the paper), 10 in the "
                   "K-fold used above 30 papers].")
@click.option("--subset", type=click.Choice(["all", "figure6"]), default="all", show_default=True,
              help="Films whose metrics the table and the JSON's top-level entries show (both are stored).")
@click.option("--folds", type=click.Choice(["film", "reference"]), default="film", show_default=True,
              help="Leave one film out (the paper) or all films of one reference out.")
@click.option("--folds-k", "folds_k", type=click.IntRange(2, 1000), default=None,
              help="Folds of the K-fold grouped by film or paper that replaces leave-one-out above 30 papers "
                   "[default: 10].")
@click.option("--tune/--no-tune", default=False, show_default=True,
              help="Tune LSTM units/dropout/epochs with optuna, nested inside each fold's training films.")
@click.option("--trials", type=TRIALS, default=12, show_default=True,
              help="Optuna trials per fold when tuning.")
@click.option("--epochs", type=EPOCHS, default=None,
              help="Override the LSTM epochs (paper: 3200), e.g. 50 for a quick run.")
@click.option("--seed", type=SEED, default=0, show_default=True,
              help="Base seed, 0 to 4294967295 (2**32-1); same database + seed = same predictions.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), default=None,
              help="Write the metrics (n_films, seconds, per-model metrics) to this JSON file.")
@click.option("--silent", is_flag=True, help="Hide the progress bar.")
@_properties_option
@click.pass_context
def evaluate(ctx, properties, models, descriptors, candidates, n_jobs, repeats, subset, folds, folds_k, tune, trials, epochs, seed,
             json_out, silent):
    """Leave-one-out evaluation of LSTM, PBP, their ensemble and baselines; stores the run and predictions.

    Example: filmkb evaluate --repeats 10 --folds reference --json eval.json
    """
    import pandas as pd

    from .jobs import evaluate as run
    from .ml.evaluate import PAPER_METRICS

    if json_out:
        from . import kb

        kb.check_output(json_out, ctx.obj["db"])
    config = _lstm_config(epochs)
    with _progress("evaluate", silent) as tick:
        run_id, res = run(ctx.obj["db"], progress=tick, on_total=lambda n: tick(0, n), models=models, repeats=repeats,
                          folds=folds, folds_k=folds_k, lstm=config, seed=seed, tune=tune, tune_trials=trials,
                          descriptors=descriptors, properties=properties,
                          recommended={"candidates": candidates, "n_jobs": n_jobs})

    from .jobs.evaluation import metrics_document

    shown = res.metrics[subset]
    cols = ("n", "r2", "rmse", "mae", "mape", "nll", "crps", "coverage_1s", "coverage_2s", "width_95")
    table = pd.DataFrame([{"model": m, **{k: vals[k] for k in cols},
                           **{f"paper_{k}": PAPER_METRICS.get(m, {}).get(k) for k in ("r2", "rmse", "mape")}}
                          for m, vals in shown.items()])
    from .ml.folds import describe

    _emit(table, "table", title=f"{folds} folds ({describe(res.config['protocol'])}), {res.config['repeats']} repeats, "
                                f"{subset} films ({table['n'].iloc[0]}); "
                                f"coverage_1s/2s: share inside the 68 %/95 % intervals; paper figures are leave-one-film-out")
    if res.targets:
        _echo("targets: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {'yes' if v else 'NO'}"
                                            for k, v in res.targets.items()))
    _echo(f"run {run_id}: {len(res.predictions)} predictions stored, {res.seconds:.1f} s")
    if json_out:
        with open(json_out, "w") as handle:
            json.dump(metrics_document(run_id, res, subset), handle, indent=2, allow_nan=True)
        _echo(f"metrics written to {json_out}")


@main.command()
@click.option("--model", "model", type=click.Choice(["recommended", "paper"]), default="recommended", show_default=True,
              help="recommended: chosen by nested validation, with paper offsets and calibrated intervals; "
                   "paper: the seed paper's LSTM + PBP ensemble.")
@click.option("--candidates", default="default", show_default=True,
              help="The recommended model's candidates: 'default', 'small', or family:set,... .")
@click.option("--repeats", type=REPEATS, default=10, show_default=True,
              help="LSTM and PBP members (seeds) of the paper ensemble; the paper averages 100.")
@click.option("--epochs", type=EPOCHS, default=None, help="Override the LSTM epochs (paper: 3200).")
@click.option("--seed", type=SEED, default=0, show_default=True,
              help="Base seed, 0 to 4294967295 (2**32-1); same database + seed = same models.")
@click.option("--models-dir", type=click.Path(), default=None,
              help="Where the run directory goes [default: models/ beside the database].")
@click.option("--jobs", "n_jobs", type=JOBS, default=2, show_default=True,
              help="Processes for the recommended model's candidate fits.")
@click.option("--descriptors", type=DESCRIPTOR_SETS, default=None,
              help=f"A descriptor set (`filmkb descriptors --sets`): the paper ensemble's inputs [{DEFAULT_SET}]; the "
                   "recommended model's candidates are then restricted to that set and the mean [default: it chooses "
                   "among every set].")
@click.option("--silent", is_flag=True, help="Hide the progress bar.")
@_properties_option
@click.pass_context
def train(ctx, properties, model, candidates, repeats, epochs, seed, models_dir, n_jobs, descriptors, silent):
    """Fit the recommended model (default; every film with a conductivity, a missing descriptor imputed) or
    the paper's LSTM + PBP ensemble (films with all seven descriptors), save it under models/<run id>/ and
    record the run with its data hash and, for the
    recommended model, which candidate won and why.

    Example: filmkb train && filmkb train --model paper --repeats 100
    """
    from .jobs import train as run

    with _progress("train", silent, 2 * repeats if model == "paper" else None) as tick:
        res = run(ctx.obj["db"], model=model, repeats=repeats, seed=seed, lstm=_lstm_config(epochs),
                  models_dir=models_dir, progress=tick, candidates=candidates, n_jobs=n_jobs, descriptors=descriptors,
                  properties=properties)
    fit = res.fit_metrics["training_fit"]
    if model == "paper":
        _echo(f"run {res.run_id}: {repeats} LSTM + {repeats} PBP members on {res.n_films} films, {res.seconds:.1f} s")
    else:
        why = res.config["why"]
        _echo(f"run {res.run_id}: recommended model on {res.n_films} films, {res.seconds:.1f} s: chose "
                   f"{res.config['chosen']} + paper offsets ({why['rule']})")
        _echo("inner MSE by candidate: " + ", ".join(f"{c} {v:.3f}±{why['inner_mse_se'][c]:.3f}"
                                                          for c, v in why["inner_mse"].items()))
    _echo(f"saved to {res.directory}")
    _echo(f"in-sample fit (not a validation; see `filmkb evaluate`): R2 {fit['r2']:.3f}, RMSE {fit['rmse']:.3f}")


PREDICT_COLUMNS = ["source", "substrate", "deposition_temp_c", "thickness_nm", "log10_sigma_mean", "log10_sigma_std",
                   "sigma_s_cm", "sigma_low_s_cm", "sigma_high_s_cm", "extrapolation", "in_training",
                   "measured_log10_sigma", "z_score", "model", "run_id", "known_paper", "paper_offset", "domain_distance",
                   "domain_threshold", "in_domain", "shrink_weight"]


def _prediction_table(frame):
    """The predictions as a person reads them: short headers, units, measured value beside the prediction."""
    import pandas as pd

    def sci(v):
        return f"{v:.2e}"

    return pd.DataFrame({
        "input": frame["source"], "substrate": frame["substrate"],
        "T_dep °C": frame["deposition_temp_c"].map(lambda v: f"{v:g}"),
        "h nm": frame["thickness_nm"].map(lambda v: f"{v:g}"),
        "log10 σ ± sd": [f"{m:.2f} ± {s:.2f}" for m, s in zip(frame["log10_sigma_mean"], frame["log10_sigma_std"])],
        "σ S/cm": frame["sigma_s_cm"].map(sci),
        "95 % interval S/cm": [f"{sci(lo)} – {sci(hi)}" for lo, hi in zip(frame["sigma_low_s_cm"], frame["sigma_high_s_cm"])],
        "measured log10 σ": frame["measured_log10_sigma"].map(lambda v: "" if pd.isna(v) else f"{v:.2f}"),
        "z": frame["z_score"].map(lambda v: "" if pd.isna(v) else f"{v:+.1f}"),
        "domain": ["in" if v else "OUT" for v in frame["in_domain"]],
        "paper": ["known" if v else "new" for v in frame["known_paper"]],
        "in training": frame["in_training"].map(lambda v: "yes" if v else ""),
    })


@main.command()
@click.option("--composition", help="Film composition, e.g. Li7La3Zr2O12 or Ta-LLZO (recorded; not a descriptor).")
@click.option("--method", help="Deposition method or alias, e.g. PLD (recorded; not a descriptor).")
@click.option("--substrate", help="Substrate name or alias, e.g. MgO, STO, Si-Pt.")
@click.option("--orientation", help="Substrate orientation, e.g. 100 or (111).")
@click.option("--temp-c", "temp_c", help="Deposition temperature (default °C; '973 K' works).")
@click.option("--thickness-nm", "thickness_nm", help="Film thickness (default nm; '0.5 um' works).")
@click.option("--phase", help="Film phase (cubic, tetragonal, amorphous, mixed); needed only by extended-descriptor models.")
@click.option("--measured-at", "measured_at", help="Measurement temperature (default °C; 25 if not given).")
@click.option("--reference", "reference", help="DOI of the film's paper, if it is in the knowledge base: its offset is used.")
@click.option("--measured", help="Measured conductivity to compare with (default S/cm), optional.")
@click.option("--csv", "files", multiple=True, type=click.Path(),
              help="CSV/YAML in the ingest template; conductivity_s_cm may be empty or absent (repeatable).")
@click.option("--film", "film_ids", multiple=True, type=int, help="A stored film id (repeatable).")
@click.option("--all-films", is_flag=True, help="Every stored film with complete descriptors.")
@click.option("--run", "run_id", help="Model run id, of either model [default: the latest recommended-model run].")
@_model_option
@click.option("--descriptors", type=click.Choice([*SETS, "both"]), default=None,
              help="Use the latest run trained with this descriptor set (`filmkb train --descriptors`; "
                   "'both': the recommended model choosing among every set).")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True, help="Output format.")
@click.option("--all-columns", is_flag=True, help="Also print descriptors, LSTM/PBP means and conditions.")
@click.option("--no-store", is_flag=True, help="Do not store the predictions in the database.")
@_raw_option
@_run_properties_option
@click.pass_context
def predict(ctx, properties, composition, method, substrate, orientation, temp_c, thickness_nm, phase, measured_at, reference,
            measured, files, film_ids, all_films, run_id, model, descriptors, fmt, all_columns, no_store, raw):
    """Predict log10(sigma / S cm^-1) ± sd and sigma with its 95 % interval for new conditions, a CSV
    of conditions or stored films, with the recommended model (its latest run, after `reproduce` as after
    `train`); --model paper or --run ID for the paper's ensemble. The output names the model and run that
    answered. Each row says whether it lies inside the training data (domain) and whether its paper is known.

    Example: filmkb predict --composition LLZO --method PLD --substrate MgO --orientation 100 --temp-c 700 --thickness-nm 300
    """
    from .jobs import predict as run

    given = {"composition": composition, "method": method, "substrate": substrate, "substrate_orientation": orientation,
             "deposition_temp_c": temp_c, "thickness_nm": thickness_nm, "conductivity_s_cm": measured, "phase": phase,
             "measurement_temp_c": measured_at, "doi": reference}
    cells = {k: v for k, v in given.items() if v is not None}
    films = "all" if all_films else (list(film_ids) or None)
    if not cells and not files and films is None:
        raise click.ClickException("nothing to predict: give --substrate/--temp-c/--thickness-nm, --csv FILE, "
                                   "--film ID or --all-films")
    res = run(db=ctx.obj["db"], films=films, run_id=run_id, store=not no_store, cells=cells, files=files,
              descriptors=descriptors, model=model, properties=properties)
    for warning in res.warnings:
        _echo(f"warning: {warning}", err=True)
    by = _answered_by(res.model, res.run_id)
    if fmt != "table" or all_columns:
        _emit(res.frame if all_columns else res.frame[PREDICT_COLUMNS], fmt, title=f"predicted by {by}", raw=raw)
    else:
        _emit(_prediction_table(res.frame), fmt, title=f"predicted by {by}: mean ± sd, σ with its 95 % interval")
    if fmt == "table":
        for line in _domain_lines(res.frame, res.model):
            _echo(line)
        if res.frame["in_training"].any():
            _echo("in_training: the film is one of the run's training films, so its prediction is in-sample")
        _echo(f"model: {by}; " + (f"{res.stored} predictions stored with the run" if res.stored else "nothing stored"))


def _domain_lines(frame, model: str) -> list[str]:
    """One line per row outside what the data knows: which descriptor, by how much, what was done."""
    lines = []
    for _, r in frame[~frame["in_domain"].astype(bool)].iterrows():
        why = r["extrapolation"] or f"nearest training film at distance {r['domain_distance']:.2f} " \
                                   f"(threshold {r['domain_threshold']:.2f})"
        if model != "recommended":
            done = "the paper's ensemble is shown as trained: treat this number as a guess"
        elif r["shrink_weight"] < 1:
            done = f"prediction shrunk toward the training mean (weight {r['shrink_weight']:.2f}), interval widened"
        else:
            done = "the recommended model uses no descriptor here: the interval is the between-paper one"
        lines.append(f"{r['source']}: outside what the data knows: {why}; {done}")
    return lines


SUGGEST_KEYS = {"rank": "rank", "substrate": "substrate", "substrate_orientation": "orientation", "method": "method",
                "composition": "composition", "phase": "phase", "deposition_temp_c": "deposition_temp_c",
                "thickness_nm": "thickness_nm", "log10_sigma_mean": "log10_sigma", "log10_sigma_std": "log10_sigma_sd",
                "sigma_s_cm": "sigma_s_cm", "sigma_low_s_cm": "sigma_low_s_cm", "sigma_high_s_cm": "sigma_high_s_cm",
                "score": "score", "in_domain": "in_domain", "out_of_range": "out_of_range",
                "domain_distance": "domain_distance", "domain_threshold": "domain_threshold", "tested": "tested"}


def _suggestion_table(frame, outside: bool = False, tested: bool = True):
    """Suggestions as a person reads them (cf. _prediction_table); `tested` shows which a stored film covers."""
    import pandas as pd

    table = pd.DataFrame({
        "#": frame["rank"], "substrate": frame["substrate"], "orient.": frame["substrate_orientation"],
        "T_dep °C": frame["deposition_temp_c"].map(lambda v: f"{v:g}"),
        "h nm": frame["thickness_nm"].map(lambda v: f"{v:g}"),
        "log10 σ ± sd": [f"{m:.2f} ± {s:.2f}" for m, s in zip(frame["log10_sigma_mean"], frame["log10_sigma_std"])],
        "σ S/cm": frame["sigma_s_cm"].map(lambda v: f"{v:.2e}"),
        "95 % interval S/cm": [f"{lo:.2e} – {hi:.2e}"
                               for lo, hi in zip(frame["sigma_low_s_cm"], frame["sigma_high_s_cm"])],
        "score": frame["score"].map(lambda v: f"{v:.3g}"), "domain": ["in" if v else "OUT" for v in frame["in_domain"]],
    })
    table = table.assign(tested=frame["tested"].map(lambda v: "yes" if v else "")) if tested else table
    return table.assign(**{"outside its training range": frame["out_of_range"]}) if outside else table


def _say_suggestions(res, fmt: str, raw: bool = False) -> None:
    """The suggest result as a table with its notes, CSV rows or the JSON document."""
    import pandas as pd

    from .jobs.suggestion import SCORE_LABELS

    both = pd.concat([res.suggestions, res.out_of_domain], ignore_index=True)
    rows = both[list(SUGGEST_KEYS)].rename(columns=SUGGEST_KEYS)
    if fmt == "json":
        doc = {"model": _output_name(res.model), "model_run": res.model_run_id, "suggest_run": res.run_id or None, "goal": res.goal,
               "score": SCORE_LABELS[res.goal], "best_stored_log10_sigma": res.best_log10_sigma, "counts": res.counts,
               "notes": res.notes, "suggestions": json.loads(rows[rows["in_domain"]].to_json(orient="records")),
               "out_of_domain": json.loads(rows[~rows["in_domain"]].to_json(orient="records"))}
        _echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    if fmt == "csv":
        _emit(rows.assign(model=_output_name(res.model), model_run=res.model_run_id), "csv", raw=raw)
        return
    c = res.counts
    _echo(f"{c['candidates']} candidates ({c['substrates']} substrates x {c['temperatures']} temperatures x "
               f"{c['thicknesses']} thicknesses): {c['in_domain']} inside the model's domain, {c['out_of_domain']} "
               f"outside; {c['tested']} already tested" + (", dropped" if c["excluded_tested"] else ""))
    shown = not c["excluded_tested"]
    if len(res.suggestions):
        _emit(_suggestion_table(res.suggestions, tested=shown), "table",
              title=f"next films ({res.goal}: score = {SCORE_LABELS[res.goal]})")
    elif c["in_domain"] + c["out_of_domain"] == 0:
        _echo("every candidate is already tested: widen the ranges or drop --exclude-tested")
    else:
        _echo("no candidate lies inside the model's domain: nothing to rank; the best outside it follow")
    if len(res.out_of_domain):
        _emit(_suggestion_table(res.out_of_domain, outside=True, tested=shown), "table",
              title="outside what the data knows (not ranked with the others; treat as guesses)")
    for line in [f"best stored film: log10 σ {res.best_log10_sigma:.2f}", *res.notes]:
        _echo(line)
    if res.plot:
        _echo(f"plot written to {res.plot}")
    by = _answered_by(res.model, res.model_run_id)
    _echo(f"{res.stored} suggestions stored with run {res.run_id} (model: {by})" if res.stored
          else f"nothing stored (model: {by})")


@main.command()
@click.option("--substrate", "substrates", multiple=True,
              help="Substrate name or alias (repeatable) [default: every stored one].")
@click.option("--method", help="Deposition method or alias [default: the most common among the stored films].")
@click.option("--temp-c", "temp_c", default="400:900:50", show_default=True,
              help="Deposition temperatures in °C: START:STOP:STEP (stop included) or one value.")
@click.option("--thickness-nm", "thickness_nm", default="100:1000:100", show_default=True,
              help="Film thicknesses in nm: START:STOP:STEP (stop included) or one value.")
@click.option("--composition", help="Film composition, e.g. LLZO or Li6.4La3Zr1.4Ta0.6O12 [default: the most common].")
@click.option("--phase",
              help="Film phase the model assumes (cubic, tetragonal, amorphous, mixed) [default: the most common].")
@click.option("--exclude-tested", is_flag=True,
              help="Drop candidates a stored film covers: same substrate and method, T_dep and thickness within "
                   "half a step.")
@click.option("--goal", type=click.Choice(["exploit", "explore", "balanced"]), default="balanced", show_default=True,
              help="exploit: expected improvement over the best stored film; explore: predictive variance; "
                   "balanced: upper confidence bound (mean + 1.96 sd of log10 σ).")
@click.option("--top", type=TOP, default=10, show_default=True, help="How many suggestions to list.")
@click.option("--diverse", is_flag=True, help="No two suggestions on one substrate closer than a temperature step.")
@click.option("--run", "run_id", help="Train run, of either model [default: the latest recommended-model run].")
@_model_option
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True, help="Output format.")
@click.option("--plot", type=click.Path(dir_okay=False),
              help="Write FILE.png: predicted log10 σ against T_dep per substrate.")
@click.option("--no-store", is_flag=True, help="Do not store the suggestions in the database.")
@_raw_option
@_run_properties_option
@click.pass_context
def suggest(ctx, properties, substrates, method, temp_c, thickness_nm, composition, phase, exclude_tested, goal, top, diverse,
            run_id, model, fmt, plot, no_store, raw):
    """Suggest the next film: rank candidate deposition conditions (substrates x temperatures x thicknesses)
    by the goal's acquisition score under the recommended model (--model paper or --run ID: the paper's
    ensemble); candidates outside the model's domain are listed apart with the descriptor that is out of
    range. Stored with the model run, which the output names.

    Example: filmkb suggest --substrate MgO --substrate SrTiO3 --method PLD --temp-c 500:900:50 --top 5
    """
    from .jobs import suggest as run

    constraints = {"substrate": list(substrates), "method": method, "temp_c": temp_c, "thickness_nm": thickness_nm,
                   "composition": composition, "phase": phase, "exclude_tested": exclude_tested}
    res = run(ctx.obj["db"], constraints, goal=goal, top=top, diverse=diverse, run_id=run_id, store=not no_store,
              plot=plot, model=model, properties=properties)
    for warning in res.warnings:
        _echo(f"warning: {warning}", err=True)
    _say_suggestions(res, fmt, raw)


@main.command()
@click.option("--run", "run_id", help="Suggest run id [default: the latest `filmkb suggest` run].")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True, help="Output format.")
@_raw_option
@click.pass_context
def suggestions(ctx, run_id, fmt, raw):
    """The suggestions stored by a `filmkb suggest` run, with the model run that predicted them.

    Example: filmkb suggestions --format csv
    """
    import pandas as pd

    from .jobs import stored_suggestions

    rows = stored_suggestions(ctx.obj["db"], run_id)
    if fmt != "table":
        _emit(rows, fmt, raw=raw)
        return
    mean, sd = -rows["neg_log10_sigma_mean"], rows["neg_log10_sigma_std"]
    _emit(pd.DataFrame({
        "#": rows["rank"], "domain": ["in" if v else "OUT" for v in rows["in_domain"]], "substrate": rows["substrate"],
        "orient.": rows["substrate_orientation"], "method": rows["method"],
        "T_dep °C": rows["deposition_temp_c"].map(lambda v: f"{v:g}"),
        "h nm": rows["thickness_nm"].map(lambda v: f"{v:g}"),
        "log10 σ ± sd": [f"{m:.2f} ± {s:.2f}" for m, s in zip(mean, sd)],
        "95 % interval S/cm": [f"{lo:.2e} – {hi:.2e}"
                               for lo, hi in zip(rows["sigma_low_s_cm"], rows["sigma_high_s_cm"])],
        "score": rows["score"].map(lambda v: f"{v:.3g}"), "outside its training range": rows["out_of_range"],
    }), "table", title=f"suggest run {rows['run_id'].iloc[0]} ({rows['goal'].iloc[0]}), predicted by model run "
                       f"{rows['model_run_id'].iloc[0]}")


@main.command()
@click.option("--run", "run_id", help="Model run id, of either model [default: the latest recommended-model run].")
@_model_option
@click.option("--out", "out_dir", default="reports/figures", show_default=True, type=click.Path(),
              help="Directory for shap_beeswarm.png and shap_bar.png (Figure 7).")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True,
              help="Output format of the per-descriptor summary.")
@click.option("--no-store", is_flag=True, help="Do not store the SHAP values in the database.")
@_raw_option
@_run_properties_option
@click.pass_context
def explain(ctx, properties, run_id, model, out_dir, fmt, no_store, raw):
    """Exact Shapley values of a trained model's mean for every film and descriptor, stored with the run
    id and plotted as the paper's Figure 7: the recommended model's descriptor part by default, the
    paper's ensemble with --model paper or --run ID. The output names the model and run explained.

    Example: filmkb explain --run train-20261124T120000-abcd1234 --out reports/
    """
    import pandas as pd

    from .jobs import explain as run

    res = run(ctx.obj["db"], run_id=run_id, out_dir=out_dir, model=model, store=not no_store, properties=properties)
    for warning in res.warnings:
        _echo(f"warning: {warning}", err=True)
    summary = pd.DataFrame({"descriptor": res.values.columns, "mean_abs_shap": res.values.abs().mean().to_numpy(),
                            "min_shap": res.values.min().to_numpy(), "max_shap": res.values.max().to_numpy()})
    summary = summary.sort_values("mean_abs_shap", ascending=False).assign(model=_output_name(res.model), run_id=res.run_id)
    by = _answered_by(res.model, res.run_id)
    table = summary if fmt != "table" else summary.drop(columns=["model", "run_id"])
    _emit(table, fmt, title=f"SHAP of {by}: {len(res.values)} films, base value {res.base_value:.3f} (−log10 σ)",
          raw=raw)
    residual = float((res.values.sum(axis=1) + res.base_value - res.predictions).abs().max())
    if fmt == "table":
        for note in res.notes:
            _echo(note)
        stored = "nothing stored" if no_store else f"{res.values.size} SHAP values stored with the run"
        _echo(f"model: {by}; {stored}; additivity max error {residual:.1e}")
        if res.figures:
            _echo("figures: " + ", ".join(map(str, res.figures)))



@main.command()
@click.option("--db", "db_url", default=None, metavar="PATH|URL",
              help="Knowledge base to show [default: the group's --db, $FILMKB_DB or filmkb.duckdb].")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; another than 127.0.0.1 lets other machines read the knowledge base.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="Port to listen on.")
@click.pass_context
def serve(ctx, db_url, host, port):
    """Serve a read-only web view of the knowledge base: films (filter, sort, CSV), a page per film with its
    provenance, substrates, methods, references, plots, stored runs, predict and suggest. Nothing is written;
    a file replaced by a writer shows at the next page load. Needs the web extra (pip install 'filmkb[web]').

    Example: filmkb serve --port 8000  (then open http://127.0.0.1:8000/)
    """
    try:
        from .web import serve as run
    except ImportError as exc:
        raise click.ClickException(f"the web view needs the web extra: pip install 'filmkb[web]' ({exc})") from None
    run(db_url or ctx.obj["db"], host=host, port=port, say=_echo)


if __name__ == "__main__":
    main()
