"""The web view's routes: each request reads the knowledge base read-only through kb.browse.Reader (so a
writer's atomic rename shows at the next request), asks kb/ or jobs/ and renders the answer with
autoescaping Jinja templates (every value from the database is text; none is ever marked safe)."""


import math
from importlib.resources import files
from pathlib import Path

from ..errors import FilmkbError
from ..kb import browse
from . import params as P
from .render import FILM_UNITS, cell, film_fields, frame_rows, links, missing, provenance, run_metrics, sci

HERE = Path(__file__).resolve().parent
PAGE_SIZES = (25, 50, 100, 500)
SECURITY_HEADERS = {
    # no inline script, nothing from another origin; plotly injects <style> elements, hence 'unsafe-inline' styles
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
}


def plotly_js() -> Path:
    """plotly.js as the plotly wheel ships it: served from here, never from a CDN."""
    return Path(str(files("plotly") / "package_data" / "plotly.min.js"))


def create_app(db: str, allowed_hosts: list[str] | None = None):
    """The FastAPI app serving the knowledge base `db` (whatever kb.open takes) read-only; with
    `allowed_hosts`, a request naming another Host is refused (a page elsewhere cannot reach the view
    through a DNS name pointed at 127.0.0.1)."""
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
    from fastapi.staticfiles import StaticFiles
    from jinja2 import Environment, FileSystemLoader

    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True)
    app = FastAPI(title="filmkb", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    if allowed_hosts:
        from starlette.middleware.trustedhost import TrustedHostMiddleware

        app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts)

    @app.middleware("http")
    async def headers(request: Request, call_next):
        response = await call_next(request)
        if request.url.path.startswith("/static/"):  # the stylesheet and script: no revalidation on every page
            response.headers["Cache-Control"] = "public, max-age=3600"
            response.headers.update(SECURITY_HEADERS)
        return response

    shown = browse.display_name(db)

    def page(name: str, request, status: int = 200, **context) -> HTMLResponse:
        html = env.get_template(name).render(path=request.url.path, db=shown, **context)
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    reader = browse.Reader(db)
    knowledge = reader.open

    @app.exception_handler(FilmkbError)
    async def refused(request: Request, exc: FilmkbError):
        status = 400 if isinstance(exc, P.BadParameter) else 422
        return page("error.html", request, status, title="Cannot show this", message=_one_line(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ())[1:]) or "request"
        return page("error.html", request, 400, title="Cannot show this",
                    message=f"{where}: {first.get('msg', 'invalid value')}")

    @app.get("/", include_in_schema=False)
    def home():
        return RedirectResponse("/films", status_code=307)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon():
        return Response(status_code=204)

    @app.get("/static-vendor/plotly.min.js", include_in_schema=False)
    def plotly():
        return FileResponse(plotly_js(), media_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=86400", **SECURITY_HEADERS})

    def film_query(request):
        q = request.query_params
        where = browse.FilmFilter(substrate=P.text(q, "substrate"), method=P.text(q, "method"),
                                  phase=P.text(q, "phase"), reference=P.text(q, "reference"), text=P.text(q, "q"))
        sort = P.choice(q, "sort", browse.FILM_COLUMNS, "film_id")
        descending = P.choice(q, "order", ("asc", "desc"), "asc") == "desc"
        return where, sort, descending

    @app.get("/films", response_class=HTMLResponse)
    def films(request: Request):
        where, sort, descending = film_query(request)
        q = request.query_params
        per_page = P.choice(q, "per_page", [str(n) for n in PAGE_SIZES], "50")
        number_ = P.whole(q, "page", 1, 1, 10_000_000)
        with knowledge() as k:
            found = browse.film_page(k, where, sort, descending, (number_ - 1) * int(per_page), int(per_page))
            options = browse.choices(k)
        pages = max(1, math.ceil(found.total / int(per_page)))
        keep = {k_: v for k_, v in q.items() if k_ not in ("page",) and v}
        partial = request.headers.get("x-filmkb-partial") == "1"  # static/films.js swaps the results in place
        response = page("films_results.html" if partial else "films.html", request, title="Films", found=found, rows=frame_rows(found.rows, film_links=True),
                    columns=list(browse.FILM_COLUMNS), units=FILM_UNITS, options=options, where=where, sort=sort,
                    descending=descending, per_page=per_page, sizes=PAGE_SIZES, page_number=number_, pages=pages,
                    links=links(keep, number_, pages, sort, descending))
        response.headers["Vary"] = "X-Filmkb-Partial"
        return response

    @app.get("/films.csv")
    def films_csv(request: Request):
        from ..schema.cells import neutralised_frame

        where, sort, descending = film_query(request)
        with knowledge() as k:
            found = browse.film_page(k, where, sort, descending, 0, None)
        text = neutralised_frame(found.rows).to_csv(index=False)
        return Response(text, media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="films.csv"', **SECURITY_HEADERS})

    @app.get("/films/{film_id}", response_class=HTMLResponse)
    def film(request: Request, film_id: str):
        ident = P.whole({"film": film_id}, "film", 0, 1, 2**62)
        with knowledge() as k:
            record = browse.film_record(k, ident)
        return page("film.html", request, title=f"Film {ident}", film_id=ident, fields=film_fields(record),
                    provenance=provenance(record), duplicates=frame_rows(record.duplicates, film_links=True),
                    predictions=_prediction_rows(record.predictions))

    @app.get("/substrates", response_class=HTMLResponse)
    def substrates(request: Request):
        with knowledge() as k:
            frame = browse.substrate_catalogue(k)
        return page("table.html", request, title="Substrates", columns=list(frame.columns), rows=frame_rows(frame),
                    note="Properties with their sources; misfit is against cubic LLZO.")

    @app.get("/methods", response_class=HTMLResponse)
    def methods(request: Request):
        with knowledge() as k:
            frame = k.methods()
        return page("table.html", request, title="Deposition methods", columns=list(frame.columns),
                    rows=frame_rows(frame), note="Each method with its family and the aliases papers use.")

    @app.get("/references", response_class=HTMLResponse)
    def references(request: Request):
        with knowledge() as k:
            frame = browse.reference_catalogue(k)
        return page("references.html", request, title="References", references=_records(frame))

    @app.get("/plots", response_class=HTMLResponse)
    def plots(request: Request):
        with knowledge() as k:
            points = browse.plot_points(k)
        data = {c: [None if missing(v) else (v.item() if hasattr(v, "item") else v) for v in points[c]]
                for c in points.columns}
        return page("plots.html", request, title="Plots", data=data, n=len(points))

    @app.get("/models", response_class=HTMLResponse)
    def models(request: Request):
        with knowledge() as k:
            runs = browse.model_runs(k)
            parity, seen = [], set()
            for run in _records(runs[runs["kind"] == "evaluate"]):  # the latest run of each fold type
                folds = run["config"].get("folds", "film")
                if folds not in seen:
                    seen.add(folds)
                    frame = browse.run_predictions(k, run["id"])
                    parity.append({"run": str(run["id"]), "folds": str(folds), "film_id": [int(i) for i in frame["film_id"]],
                                   "model": [str(m) for m in frame["model"]],
                                   **{c: [None if missing(v) else float(v) for v in frame[c]]
                                      for c in ("predicted", "sd", "measured")}})
            summary = browse.shap_summary(k)
        shap = None if summary.empty else {
            "run": str(summary["run_id"].iloc[0]), "films": int(summary["films"].max()),
            "descriptor": [str(d) for d in summary["descriptor"]], "mean_abs": [float(v) for v in summary["mean_abs"]]}
        return page("models.html", request, title="Models", runs=[run_metrics(r) for r in _records(runs)],
                    parity=parity, shap=shap)

    @app.get("/predict", response_class=HTMLResponse)
    def predict(request: Request):
        from .forms import predict_form

        with knowledge() as k:
            options = browse.choices(k)
        form, result, error = predict_form(db, request.query_params)
        return page("predict.html", request, 400 if error else 200, title="Predict", options=options, form=form,
                    result=result, error=error)

    @app.get("/suggest", response_class=HTMLResponse)
    def suggest(request: Request):
        from .forms import suggest_form

        with knowledge() as k:
            options = browse.choices(k)
            form, result, error = suggest_form(k, request.query_params)
        return page("suggest.html", request, 400 if error else 200, title="Suggest", options=options, form=form,
                    result=result, error=error)

    return app


def _prediction_rows(frame) -> list[dict]:
    """Stored held-out predictions as a person reads them: log10 sigma +- sd and the 95 % interval of sigma."""
    from ..ml.metrics import Z95

    out = []
    for r in _records(frame):
        m, s = r["log10_sigma_mean"], r["log10_sigma_std"]
        interval = "" if missing(s) else f"{sci(10 ** (m - Z95 * s))} – {sci(10 ** (m + Z95 * s))}"
        out.append({"run": str(r["run_id"]), "model": str(r["model"]), "fold": cell(r["fold"]),
                    "log10": f"{m:.2f}" + ("" if missing(s) else f" ± {s:.2f}"), "sigma": sci(10 ** m),
                    "interval": interval, "created": cell(r["created_at"])})
    return out


def _records(frame) -> list[dict]:
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split("\n"))


def serve(db: str, host: str = "127.0.0.1", port: int = 8000, say=print) -> None:
    """Check that `db` opens read-only and that host:port can be listened on (a one-line error otherwise),
    then serve it until interrupted."""
    import socket

    import uvicorn

    browse.open_view(db).close()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except (OSError, OverflowError) as exc:
        sock.close()
        why = getattr(exc, "strerror", None) or str(exc)
        raise FilmkbError(f"--host {host} --port {port}: cannot listen there ({why}); choose another --port "
                          "or --host") from None
    shown = f"[{host}]" if ":" in host else host
    say(f"filmkb serve: http://{shown}:{port}/ (read-only view of {browse.display_name(db)}; Ctrl-C stops)")
    local = {"127.0.0.1", "localhost", "::1"}
    hosts = ["127.0.0.1", "localhost", "[::1]", "::1"] if host in local else None  # bound wider: any name
    server = uvicorn.Server(uvicorn.Config(create_app(db, hosts), log_level="warning", server_header=False))
    server.run(sockets=[sock])


__all__ = ["create_app", "serve"]
