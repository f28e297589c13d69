"""Values as the web pages show them: plain text cells (the templates escape them), units, links built
here only (to this site's pages or https://doi.org/), never HTML taken from the database."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

FILM_UNITS = {
    "deposition_temp_c": "°C", "thickness_nm": "nm", "conductivity_s_cm": "S/cm", "measurement_temp_c": "°C",
    "conductivity_25c_s_cm": "S/cm", "activation_energy_ev": "eV", "log10_sigma": "log10(S/cm)",
}
_HIDDEN = {"batch_id", "source", "conductivity_25c_note", "reference", "authors", "year", "doi"}
_RAW_EXTRA = ("composition_as_given", "method_as_given", "substrate_as_given", "phase_as_given")


@dataclass(frozen=True)
class Cell:
    """One table cell: its text and, for a link, where it goes."""

    text: str
    href: str | None = None


def sci(value: float) -> str:
    return f"{value:.3g}" if 1e-2 <= abs(value) < 1e5 or value == 0 else f"{value:.2e}"


def missing(value) -> bool:
    """None, NaN, NaT or pandas' NA (a list or other container is not missing)."""
    if value is None:
        return True
    if isinstance(value, str):
        return False
    if isinstance(value, float):
        return value != value
    import pandas as pd

    try:
        result = pd.isna(value)
    except (TypeError, ValueError):
        return False
    return result if isinstance(result, bool) else bool(result) if getattr(result, "shape", None) == () else False


def cell(value) -> str:
    """A stored value as text: empty for missing, yes/no for flags, numbers to 3-4 significant digits."""
    if missing(value):
        return ""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return "yes" if value else "no"
    if isinstance(value, float) or type(value).__name__.startswith("float"):
        return f"{float(value):.4g}" if 1e-2 <= abs(value) < 1e5 or value == 0 else f"{float(value):.3e}"
    return str(value)


number = cell


def doi_link(doi) -> str | None:
    """https://doi.org/<doi>, the DOI percent-encoded (so no stored text can become another kind of link)."""
    return None if missing(doi) or not str(doi).strip() else "https://doi.org/" + quote(str(doi).strip(), safe="/()._-;:")


def frame_rows(frame, film_links: bool = False) -> list[list[Cell]]:
    """The rows of a DataFrame as cells; film ids (and duplicate_of) link to the film's page when asked."""
    columns = list(frame.columns)
    rows = []
    for values in frame.astype(object).itertuples(index=False, name=None):
        row = []
        for name, value in zip(columns, values):
            text = cell(value)
            href = None
            if film_links and name in ("film_id", "duplicate_of") and text:
                href = f"/films/{int(value)}"
            elif name == "reference" and text:
                href = "/references#ref-" + quote(text, safe="")
            row.append(Cell(text, href))
        rows.append(row)
    return rows


def film_fields(record) -> list[dict]:
    """Every field of a film with its unit and, where the value is not what the paper printed, why."""
    over = record.overview
    flags = {}
    if over.get("conductivity_25c_derived"):
        flags["conductivity_25c_s_cm"] = (f"derived: converted from {cell(over['measurement_temp_c'])} °C to 25 °C "
                                          f"with the activation energy {cell(over['activation_energy_ev'])} eV")
    elif missing(over.get("conductivity_25c_s_cm")):
        flags["conductivity_25c_s_cm"] = cell(over.get("conductivity_25c_note")) or "no 25 °C value"
    if over.get("measurement_temp_assumed"):
        flags["measurement_temp_c"] = "assumed: the paper does not state it"
    fields = [{"field": name, "value": cell(value), "unit": FILM_UNITS.get(name, ""), "flag": flags.get(name, "")}
              for name, value in over.items() if name not in _HIDDEN]
    fields += [{"field": name, "value": cell(record.raw.get(name)), "unit": "", "flag": "as the source wrote it"}
               for name in _RAW_EXTRA if not missing(record.raw.get(name))]
    return fields


def provenance(record) -> list[dict]:
    """Where the film comes from: reference (DOI link), source file and line or table row, who added it and
    when, ingest batch."""
    over, raw, batch = record.overview, record.raw, record.batch or {}
    ref = cell(over.get("reference"))
    items = [
        {"label": "reference", "text": ref, "href": "/references#ref-" + quote(ref, safe="") if ref else None},
        {"label": "authors", "text": cell(over.get("authors"))},
        {"label": "year", "text": cell(over.get("year"))},
        {"label": "DOI", "text": cell(over.get("doi")) or "none stored", "href": doi_link(over.get("doi")),
         "id": "doi"},
        {"label": "source", "text": cell(over.get("source"))},
    ]
    if not missing(raw.get("source_file")):
        items.append({"label": "source file", "text": f"{raw['source_file']}"
                      + ("" if missing(raw.get("source_line")) else f", line {int(raw['source_line'])}")})
    if "created_at" in raw:  # who added the row and when (schema 5 on; rows from before name nobody)
        who = "unknown (added before filmkb recorded it)" if missing(raw.get("created_by")) else cell(raw["created_by"])
        when = "" if missing(raw.get("created_at")) else f", {cell(raw['created_at'])}"
        items.append({"label": "added by", "text": who + when, "id": "added-by"})
    if batch:
        items.append({"label": "ingest batch", "text": f"{batch['id']} ({batch['kind']}), added {cell(batch['created_at'])}"})
        items.append({"label": "batch sources", "text": cell(batch.get("sources"))})
        if not missing(batch.get("note")):
            items.append({"label": "batch note", "text": cell(batch.get("note"))})
    return [i for i in items if i["text"]]


def links(keep: dict, page: int, pages: int, sort: str, descending: bool) -> dict:
    """URLs of the films page: first/previous/next/last page and each column's sort (toggling the order)."""
    def url(**changes) -> str:
        query = {**keep, **changes}
        return "/films?" + urlencode({k: v for k, v in query.items() if v not in (None, "")})

    def sort_url(column: str) -> str:
        order = "asc" if column != sort or descending else "desc"
        return url(sort=column, order=order, page=None)

    return {"first": url(page=1) if page > 1 else None, "prev": url(page=page - 1) if page > 1 else None,
            "next": url(page=page + 1) if page < pages else None, "last": url(page=pages) if page < pages else None,
            "sort": sort_url, "csv": "/films.csv?" + urlencode({k: v for k, v in keep.items() if k != "per_page"})}


def run_metrics(run: dict) -> dict:
    """A stored run with its metrics as tables: each nested block of numbers becomes one table."""
    tables, scalars = [], []

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            inner = [v for v in value.values() if isinstance(v, dict)]
            if inner and all(isinstance(v, dict) and v and all(_is_number(x) for x in v.values())
                             for v in inner):
                columns = list(dict.fromkeys(c for v in inner for c in v))[:14]
                rows = [[k] + [cell(v.get(c)) for c in columns] for k, v in value.items() if isinstance(v, dict)]
                tables.append({"title": prefix or "metrics", "columns": ["", *columns], "rows": rows})
                for k, v in value.items():
                    if _is_number(v):
                        scalars.append((f"{prefix}.{k}" if prefix else k, cell(v)))
                return
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif _is_number(value):
            scalars.append((prefix, cell(value)))

    walk("", run.get("metrics") or {})
    config = run.get("config") or {}
    return {"id": str(run["id"]), "kind": str(run["kind"]), "created": cell(run["created_at"]),
            "n_films": cell(run["n_films"]), "model": cell(config.get("model", "")),
            "folds": cell(config.get("folds", "")) if run["kind"] == "evaluate" else "",
            "chosen": cell(config.get("chosen", "")), "tables": tables, "scalars": scalars[:40]}


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
