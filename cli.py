"""filmkb command line: a thin click layer; every command wraps one library function.

Heavy libraries (pandas, pymatgen, great-expectations, keras) are imported inside the commands
so that `filmkb --help` stays instant.
"""

from __future__ import annotations

import json
import os
import sys

import click

FORMATS = click.Choice(["table", "csv", "json"])


class _Group(click.Group):
    """Turns filmkb's own errors into one-line `Error: ...` messages with exit code 1."""

    def invoke(self, ctx):
        import duckdb

        from .kb.db import KBError

        try:
            return super().invoke(ctx)
        except KBError as exc:
            raise click.ClickException(str(exc)) from None
        except duckdb.ConstraintException as exc:
            raise click.ClickException(f"{ctx.params.get('db_path')}: {str(exc).splitlines()[0]}; nothing was written") from None


def _emit(frame, fmt: str, title: str | None = None) -> None:
    """Print a DataFrame as a rich table, CSV or JSON records."""
    if fmt == "csv":
        click.echo(frame.to_csv(index=False), nl=False)
    elif fmt == "json":
        click.echo(frame.to_json(orient="records", indent=2, date_format="iso"))
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title, show_lines=False)
        for col in frame.columns:
            table.add_column(str(col), overflow="fold")
        for row in frame.itertuples(index=False):
            table.add_row(*[_cell(v) for v in row])
        Console(width=max(200, len(frame.columns) * 14)).print(table)


def _cell(value) -> str:
    import pandas as pd

    if value is None or (not isinstance(value, (list, tuple)) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


@click.group(cls=_Group)
@click.option("--db", "db_path", envvar="FILMKB_DB", default="filmkb.duckdb", show_default=True,
              help="DuckDB file (also $FILMKB_DB).")
@click.version_option(package_name="filmkb")
@click.pass_context
def main(ctx, db_path):
    """filmkb: a knowledge base and ML toolkit for the ionic conductivity of garnet thin films.

    Example: filmkb init && filmkb films --substrate MgO --method PLD
    """
    ctx.obj = {"db": db_path}


@main.command()
@click.option("--force", is_flag=True, help="Rebuild even if user-ingested films exist (the old file is kept as .bak).")
@click.pass_context
def init(ctx, force):
    """Create the schema, load the curated data and apply the views (idempotent).

    Example: filmkb --db my.duckdb init
    """
    from .ingest.pipeline import init_database

    status, report = init_database(ctx.obj["db"], force=force)
    if report is None:
        click.echo(f"{ctx.obj['db']}: {status} (curated data unchanged)")
    else:
        counts = ", ".join(f"{v} {k}" for k, v in report.counts.items())
        click.echo(f"{ctx.obj['db']}: {status}: {counts}")


@main.command()
@click.argument("sql")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True, help="Output format.")
@click.pass_context
def query(ctx, sql, fmt):
    """Run read-only SQL against the knowledge base (writes are refused).

    Example: filmkb query "SELECT substrate, count(*) FROM film_overview GROUP BY 1"
    """
    from . import kb

    with kb.open(ctx.obj["db"]) as db:
        _emit(db.sql(sql), fmt)


@main.command()
@click.option("--substrate", help="Substrate name or alias (MgO, STO, SrTiO3, Si-Pt, ...).")
@click.option("--method", help="Deposition method or alias (PLD, 'pulsed laser deposition', ALD, ...).")
@click.option("--phase", help="cubic, tetragonal, amorphous or mixed.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True, help="Output format.")
@click.option("--all-columns", is_flag=True, help="Show every column of the film_overview view.")
@click.pass_context
def films(ctx, substrate, method, phase, fmt, all_columns):
    """List films, optionally filtered by substrate, method and phase.

    Example: filmkb films --substrate MgO --method PLD
    """
    from . import kb

    with kb.open(ctx.obj["db"]) as db:
        frame = kb.films(db, substrate=substrate, method=method, phase=phase)
    if not all_columns and fmt == "table":
        frame = frame[["film_id", "reference", "composition", "method", "deposition_temp_c", "substrate",
                       "orientation", "phase", "thickness_nm", "conductivity_s_cm", "duplicate_of"]]
    _emit(frame, fmt, title=f"{len(frame)} films")


@main.command()
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True, help="Output format.")
@click.pass_context
def substrates(ctx, fmt):
    """List substrates with properties, pymatgen lattice constant and misfit against c-LLZO.

    Example: filmkb substrates --format csv
    """
    from . import kb

    with kb.open(ctx.obj["db"]) as db:
        _emit(kb.substrates(db), fmt, title="substrates")


@main.command()
@click.option("--complete", is_flag=True, help="Only distinct films with all seven descriptors (the model input).")
@click.option("--out", type=click.Path(dir_okay=False), help="Write to FILE.csv or FILE.parquet instead of printing.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True, help="Output format when printing.")
@click.pass_context
def descriptors(ctx, complete, out, fmt):
    """The descriptor matrix: seven descriptors and -log10(sigma) per film.

    Example: filmkb descriptors --complete --out X.csv
    """
    from . import kb

    with kb.open(ctx.obj["db"]) as db:
        frame = kb.descriptor_matrix(db, complete=complete).reset_index()
    if out:
        if out.endswith(".parquet"):
            frame.to_parquet(out, index=False)
        elif out.endswith(".csv"):
            frame.to_csv(out, index=False)
        else:
            raise click.ClickException(f"{out}: use a .csv or .parquet file name")
        click.echo(f"{out}: {len(frame)} rows x {len(kb.DESCRIPTORS)} descriptors + target")
        return
    cols = ["film_id", *kb.DESCRIPTORS, kb.TARGET] if fmt == "table" else frame.columns
    _emit(frame[list(cols)], fmt, title=f"{len(frame)} films")


@main.command()
@click.pass_context
def validate(ctx):
    """Run every great-expectations suite; print each failure; exit 1 on any.

    Example: filmkb validate
    """
    from . import kb

    with kb.open(ctx.obj["db"]) as db:
        failures = kb.validate(db)
    for failure in failures:
        click.echo(str(failure))
    if failures:
        click.echo(f"{len(failures)} failures", err=True)
        sys.exit(1)
    click.echo("all expectations met")


@main.command()
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.pass_context
def export(ctx, out_dir):
    """Write every table and view as Parquet and CSV, plus references.bib.

    Example: filmkb export dump/
    """
    from . import kb

    with kb.open(ctx.obj["db"]) as db:
        files = kb.export(out_dir, db)
    click.echo(f"{out_dir}: {len(files)} files")


@main.command()
@click.option("--out", "out_dir", default="reports", show_default=True, type=click.Path(file_okay=False),
              help="Directory for the report.")
@click.pass_context
def reproduce(ctx, out_dir):
    """The main job: build (or refresh) the knowledge base, validate it and summarise it.

    Example: filmkb reproduce --out reports/
    """
    from . import kb
    from .ingest.pipeline import init_database

    status, _ = init_database(ctx.obj["db"])
    with kb.open(ctx.obj["db"]) as db:
        failures = kb.validate(db)
        info = kb.summary(db)
        subs = kb.substrates(db)
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "summary.json")
    with open(path, "w") as handle:
        json.dump({**info, "validation_failures": [str(f) for f in failures]}, handle, indent=2)
    click.echo(f"knowledge base {ctx.obj['db']}: {status}")
    click.echo(f"{info['films']} film rows ({info['distinct_films']} distinct), {info['publications']} publications, "
               f"{info['substrates']} substrates, {info['complete_descriptor_rows']} films with complete descriptors")
    click.echo("films per substrate: " + ", ".join(f"{k} {v}" for k, v in info["by_substrate"].items()))
    click.echo("films per method:    " + ", ".join(f"{k} {v}" for k, v in info["by_method"].items()))
    click.echo("films per phase:     " + ", ".join(f"{k} {v}" for k, v in info["by_phase"].items()))
    click.echo("misfit vs c-LLZO:    " + ", ".join(f"{r.name} {r.misfit:+.3f}" for r in subs.itertuples() if not r.amorphous))
    click.echo(f"validation: {'all expectations met' if not failures else f'{len(failures)} failures'}")
    click.echo(f"summary written to {path}")
    if failures:
        sys.exit(1)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--dry-run", is_flag=True, help="Normalise and validate only; write nothing.")
@click.option("--wait", type=float, default=0.0, show_default=True,
              help="Seconds to wait for another writer to finish before giving up.")
@click.pass_context
def ingest(ctx, files, dry_run, wait):
    """Add films from CSV or YAML files (template: data/templates/films.csv), or references from .bib.

    All rows are normalised (units, formulas, names, DOIs) and validated first; one bad row means
    nothing is written, and every bad cell is listed as FILE:LINE: column: value: reason.

    Example: filmkb ingest new_films.csv more.yaml --dry-run
    """
    from .ingest.pipeline import ingest_files

    bibs = [f for f in files if f.lower().endswith(".bib")]
    if bibs:
        ctx.invoke(ingest_bib, files=bibs, wait=wait)
    films_files = [f for f in files if not f.lower().endswith(".bib")]
    if not films_files:
        return
    report = ingest_files(ctx.obj["db"], films_files, dry_run=dry_run, wait=wait)
    c = report.counts
    for file, line, other in report.duplicates:
        click.echo(f"{file}:{line}: already in the database as film {other}: skipped")
    for file, line, other in report.near_duplicates:
        click.echo(f"{file}:{line}: near-duplicate of film {other} (same reference and conditions, other conductivity): added")
    if dry_run:
        click.echo(f"dry run: {c['read']} entries valid, {c['added']} would be added, {c['duplicates']} duplicates; nothing written")
    elif report.batch_id is None:
        click.echo(f"nothing added: all {c['read']} entries are already in the database")
    else:
        ids = ", ".join(map(str, report.film_ids))
        click.echo(f"batch {report.batch_id}: added {c['added']} films (ids {ids}); "
                   f"{c['duplicates']} duplicates skipped, {c['near_duplicates']} near-duplicates")


@main.command("ingest-bib")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--wait", type=float, default=0.0, show_default=True, help="Seconds to wait for another writer.")
@click.pass_context
def ingest_bib(ctx, files, wait):
    """Add references from BibTeX files, or complete known ones (matched by DOI or key).

    Example: filmkb ingest-bib refs.bib
    """
    from .ingest.pipeline import ingest_bib as load_bib

    added, updated = load_bib(ctx.obj["db"], files, wait=wait)
    click.echo(f"references: {added} added, {updated} completed")


@main.command("add-substrate")
@click.option("--name", required=True, help="Canonical name, e.g. LiNbO3.")
@click.option("--formula", required=True, help="Chemical formula, e.g. LiNbO3.")
@click.option("--amorphous/--crystalline", default=False, help="Amorphous substrates get misfit 0.")
@click.option("--space-group", help="Hermann-Mauguin symbol (crystalline), e.g. Fm-3m.")
@click.option("--sites", help="Asymmetric-unit sites for pymatgen, e.g. 'Mg 0 0 0; O 0.5 0.5 0.5'.")
@click.option("--lattice-a", help="Lattice constant a (default unit angstrom).")
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
@click.option("--wait", type=float, default=0.0, show_default=True, help="Seconds to wait for another writer.")
@click.pass_context
def add_substrate(ctx, name, formula, amorphous, space_group, sites, lattice_a, cte, poisson, youngs, bulk,
                  shear, dielectric, melting_point, source, aliases, note, wait):
    """Add a substrate with its properties, units and source (validated like the curated ones).

    Example: filmkb add-substrate --name LiNbO3 --formula LiNbO3 --amorphous --cte 15e-6 --poisson 0.25
    --youngs 170 --shear 68 --dielectric 29 --melting-point "1257 degC" --source "CRC Handbook"
    """
    from .ingest.pipeline import add_substrate as add

    substrate = dict(name=name, formula=formula, amorphous=str(amorphous).lower(), space_group=space_group,
                     sites=sites, aliases="|".join(aliases), note=note, crystal_system=None)
    values = dict(lattice_a=lattice_a, cte=cte, poisson_ratio=poisson, youngs_modulus=youngs, bulk_modulus=bulk,
                  shear_modulus=shear, dielectric_constant=dielectric, melting_point=melting_point)
    added = add(ctx.obj["db"], substrate, values, source, wait=wait)
    click.echo(f"substrate {added} added")


@main.command()
@click.option("--wait", type=float, default=0.0, show_default=True, help="Seconds to wait for another writer.")
@click.pass_context
def add(ctx, wait):
    """Add one film interactively, with the same normalisation and validation as `filmkb ingest`.

    Example: filmkb add
    """
    from .ingest.entries import TEMPLATE_COLUMNS
    from .ingest.pipeline import ingest_records

    required = {"composition", "method", "deposition_temp_c", "substrate", "phase", "conductivity_s_cm"}
    click.echo("One film; units may be typed with the value (700 C, 0.2 um, 0.12 mS/cm). Empty = not given.")
    cells = {}
    for column in TEMPLATE_COLUMNS:
        label = column + (" (required)" if column in required else "")
        cells[column] = click.prompt(label, default="", show_default=False).strip()
    report = ingest_records(ctx.obj["db"], [("<interactive>", 1, cells)], wait=wait)
    if report.batch_id is None:
        click.echo("nothing added: this film is already in the database")
    else:
        click.echo(f"batch {report.batch_id}: added film {report.film_ids[0]}")


@main.command()
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True, help="Output format.")
@click.pass_context
def history(ctx, fmt):
    """List ingest batches (curated load and user ingests) with their film counts.

    Example: filmkb history
    """
    from .ingest.pipeline import history as batches
    from .kb.db import connect

    con = connect(ctx.obj["db"], read_only=True)
    try:
        _emit(batches(con), fmt, title="ingest batches")
    finally:
        con.close()


@main.command()
@click.argument("batch", type=int)
@click.option("--wait", type=float, default=0.0, show_default=True, help="Seconds to wait for another writer.")
@click.pass_context
def retract(ctx, batch, wait):
    """Remove the films of one user ingest batch (and nothing else), in one transaction.

    Example: filmkb retract 3
    """
    from .ingest.pipeline import retract as retract_batch

    n = retract_batch(ctx.obj["db"], batch, wait=wait)
    click.echo(f"batch {batch}: removed {n} films")


@main.command()
@click.option("--models", default="lstm,pbp,ensemble,baselines", show_default=True,
              help="Comma-separated model groups: lstm, pbp, ensemble, baselines (mean, ridge, gp, rf).")
@click.option("--repeats", type=click.IntRange(min=1), default=100, show_default=True,
              help="Seeds per fold for LSTM and PBP (the paper: 100).")
@click.option("--subset", type=click.Choice(["all", "figure6"]), default="all", show_default=True,
              help="Films whose metrics the table and the JSON's top-level entries show (both are stored).")
@click.option("--folds", type=click.Choice(["film", "reference"]), default="film", show_default=True,
              help="Leave one film out (the paper) or all films of one reference out.")
@click.option("--tune/--no-tune", default=False, show_default=True,
              help="Tune LSTM units/dropout/epochs with optuna, nested inside each fold's training films.")
@click.option("--trials", type=click.IntRange(min=1), default=12, show_default=True,
              help="Optuna trials per fold when tuning.")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="Override the LSTM epochs (paper: 3200), e.g. 50 for a quick run.")
@click.option("--seed", type=int, default=0, show_default=True, help="Base seed; same database + seed = same predictions.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), default=None,
              help="Write the metrics (n_films, seconds, per-model metrics) to this JSON file.")
@click.option("--silent", is_flag=True, help="Hide the progress bar.")
@click.pass_context
def evaluate(ctx, models, repeats, subset, folds, tune, trials, epochs, seed, json_out, silent):
    """Leave-one-out evaluation of LSTM, PBP, their ensemble and baselines; stores the run and predictions.

    Example: filmkb evaluate --repeats 10 --folds reference --json eval.json
    """
    from . import kb
    from .kb import results
    from .kb.writer import write_session
    from .ml.evaluate import PAPER_METRICS, run_evaluation, work_units
    from .ml.lstm import PAPER

    with kb.open(ctx.obj["db"]) as db:
        matrix = kb.descriptor_matrix(db)
    config = PAPER if epochs is None else PAPER.replace(epochs=epochs)
    n_folds = len(set(matrix.index)) if folds == "film" else matrix["reference_id"].nunique()
    total = work_units(n_folds, repeats, models, tune, trials)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("evaluate"), BarColumn(), TextColumn("{task.completed}/{task.total} fits"),
                  TimeElapsedColumn(), disable=silent, transient=True) as bar:
        task = bar.add_task("fits", total=total)
        res = run_evaluation(matrix, models=models, repeats=repeats, folds=folds, lstm=config, seed=seed, tune=tune,
                             tune_trials=trials, progress=lambda k: bar.advance(task, k))
    run_id = results.new_run_id("evaluate")
    with write_session(ctx.obj["db"], wait=30) as con:
        results.store_run(con, run_id, "evaluate", res.config, results.data_hash(matrix[list(kb.DESCRIPTORS) + [kb.TARGET]]),
                          res.n_films, {**res.metrics, "seconds": res.seconds, "timings": res.timings},
                          predictions=res.predictions)
    import pandas as pd

    shown = res.metrics[subset]
    table = pd.DataFrame([{"model": m, **{k: v for k, v in vals.items()},
                           **{f"paper_{k}": PAPER_METRICS.get(m, {}).get(k) for k in ("r2", "rmse", "mape")}}
                          for m, vals in shown.items()])
    _emit(table, "table", title=f"{folds} folds, {repeats} repeats, {subset} films ({table['n'].iloc[0]}); "
                                f"paper figures are leave-one-film-out")
    click.echo(f"run {run_id}: {len(res.predictions)} predictions stored, {res.seconds:.1f} s")
    if json_out:
        keys = ("r2", "rmse", "mae", "mape", "nll", "coverage_1s", "coverage_2s", "coverage_3s")
        doc = {"run_id": run_id, "n_films": int(shown[next(iter(shown))]["n"]), "n_films_complete": res.n_films,
               "seconds": res.seconds, "folds": folds, "repeats": repeats, "subset": subset, "tune": tune,
               "seed": seed, "config": res.config,
               "models": {m: {k: v[k] for k in keys} for m, v in shown.items()},
               "subsets": {s: {m: {k: v[k] for k in ("n",) + keys} for m, v in ms.items()} for s, ms in res.metrics.items()},
               "paper": PAPER_METRICS, "timings": res.timings}
        doc.update({m: doc["models"][m] for m in doc["models"]})
        with open(json_out, "w") as handle:
            json.dump(doc, handle, indent=2, allow_nan=True)
        click.echo(f"metrics written to {json_out}")


if __name__ == "__main__":
    main()
