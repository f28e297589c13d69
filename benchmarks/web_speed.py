"""How fast the web view answers with 10,000 films on the DuckDB file: first paint of the films page and a
filter round trip, against `filmkb serve` started as a process (targets: 1 s and 200 ms).

    python benchmarks/web_speed.py [--films 10000] [--repeats 20] [--workdir DIR] [--markdown FILE]

The knowledge base is `filmkb init` plus generated literature-like films (benchmarks/scaling.py's
`literature`) ingested once (not timed; kept in --workdir for the next run). Timed over HTTP with a plain
client: the films page (HTML and its stylesheet) and a filter request (substrate,
method and free text; filtered, counted, sorted and paged in the database). Where Debian's chromium is
installed, also in the browser (Playwright): first contentful paint of a fresh load of the films page, and
a filter submitted from the page until its results are swapped in and painted.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import _markdown

CHROMIUM = "/usr/bin/chromium"
# the first contentful paint's time since navigation start, once the browser has recorded it
FCP = """() => new Promise(resolve => new PerformanceObserver(list => {
    const paint = list.getEntries().find(e => e.name === 'first-contentful-paint');
    if (paint) resolve(paint.startTime);
}).observe({type: 'paint', buffered: true}))"""
# the filter submitted from the page until its results are swapped in (static/films.js) and painted, ms
SWAPPED = """() => new Promise(resolve => {
    const start = performance.now();
    document.addEventListener('filmkb:results', () => requestAnimationFrame(() => requestAnimationFrame(
        () => resolve(performance.now() - start))), {once: true});
    document.getElementById('apply').click();
})"""
FILTER = "/films?substrate=MgO&method=PLD&q=generated&sort=deposition_temp_c&order=desc"


def build(work: Path, films: int) -> str:
    """A knowledge base with the curated films plus `films` generated ones (reused when already built)."""
    from scaling import literature, write_csv

    db = work / f"web-{films}.duckdb"
    if db.exists():
        return str(db)
    from filmkb.jobs import ingest, init

    tmp = work / "building.duckdb"
    init(str(tmp))
    ingest(str(tmp), [str(write_csv(literature(films), work / f"films-{films}.csv"))])
    tmp.rename(db)
    return str(db)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read()


def timed(work, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        out.append(time.perf_counter() - start)
    return out


def in_browser(base: str, repeats: int) -> tuple[list[float], list[float]]:
    """First contentful paint of a fresh films page, and a filter submitted from the page, in seconds."""
    from playwright.sync_api import sync_playwright

    paints, filters = [], []
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True, args=args)
        page = context.new_page()
        for _ in range(repeats):
            page.goto("about:blank")
            page.goto(base + "/films")
            fcp = page.evaluate(FCP)
            paints.append(fcp / 1000)
            page.select_option("select[name=substrate]", "MgO")
            page.select_option("select[name=method]", "PLD")
            filters.append(page.evaluate(SWAPPED) / 1000)
        context.close()
    return paints, filters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--films", type=int, default=10_000, help="generated films added to the curated ones")
    parser.add_argument("--repeats", type=int, default=20, help="timed requests of each kind")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "filmkb-web-speed")
    _markdown.add_option(parser)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    db = build(args.workdir, args.films)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "filmkb.cli", "serve", "--db", db, "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                total = fetch(base + "/films").decode()
                break
            except OSError:
                if server.poll() is not None:
                    raise SystemExit(f"filmkb serve failed: {server.stderr.read().decode()[-2000:]}") from None
                time.sleep(0.1)
        films = int(total.split('id="count">')[1].split("<")[0])
        matched = int(fetch(base + FILTER).decode().split('id="count">')[1].split("<")[0])
        page = timed(lambda: (fetch(base + "/films"), fetch(base + "/static/style.css")), args.repeats)
        filtered = timed(lambda: fetch(base + FILTER), args.repeats)
        rows = [["films page, HTML + stylesheet over HTTP", ms(page), "1000"],
                [f"filter round trip over HTTP ({matched} of {films} films match)", ms(filtered), "200"]]
        if Path(CHROMIUM).exists():
            paints, clicks = in_browser(base, max(3, args.repeats // 4))
            rows += [["films page, first contentful paint in chromium (fresh load)", ms(paints), "1000"],
                     ["filter submitted in chromium until the results are swapped in and painted", ms(clicks), "200"]]
    finally:
        server.terminate()
        server.wait(timeout=30)
    load = os.getloadavg()[0]
    print(f"{films} films; median (max) of each measure, milliseconds; load average {load:.1f} on {os.cpu_count()} cores")
    for what, figure, target in rows:
        print(f"  {what}: {figure} ms (target {target} ms)")
    _markdown.write(args.markdown, _markdown.table(["measure", "ms, median (max)", "target ms"], rows)
                    + f"\n\n{films} films on the DuckDB file (`filmkb init` plus generated films), `filmkb serve` "
                      "in its own process (the file kept open read-only while it is unchanged, a connection per request). The filter: "
                      f"`{FILTER}`. One-minute load average while measured: {load:.1f} on {os.cpu_count()} cores.")


def ms(seconds: list[float]) -> str:
    return f"{statistics.median(seconds) * 1000:.0f} ({max(seconds) * 1000:.0f})"


if __name__ == "__main__":
    main()
