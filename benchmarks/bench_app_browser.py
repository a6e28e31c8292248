"""The app in a real browser at 25,321 genes: how long a neighbours pick takes to show, and what it costs.

    python benchmarks/bench_app_browser.py                # 25,321 genes x 100 dims, 8 picks, 4 filters
    python benchmarks/bench_app_browser.py --quick        # 3,000 genes x 50 dims
    python benchmarks/bench_app_browser.py --map 3000 8303   # the Map tab's first view: cached vs computed

The app runs in a subprocess on 127.0.0.1 (``serve`` and ``write_model`` from benchmarks/_app_load.py)
and Debian's Chromium (/usr/bin/chromium, never a downloaded one) is driven by Playwright. A *pick*
is timed from the click on the gene in the selectize dropdown (typing the name is not timed) until
the caption names the gene and the table's first row is the gene's nearest neighbour according to
GeneVectors: the server's answer, its trip over the websocket and the browser's rendering. A *filter*
is timed from typing the text into the filter box until the table shows the first matching gene.
``ws_kib`` is what the server sent over the websocket for that step. The peer is the page's own
first render (the session start) in the same run. Rows go to benchmarks/results/app_browser.json.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _harness import Bench  # noqa: E402
from _app_load import serve, server_rss, write_model  # noqa: E402

from genevec import load_vectors  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
PICKS = ["TP53", "BRCA1", "G1000", "G20000", "BRCA2", "G555", "G12345", "KRAS"]
FILTERS = ["G12", "g2500", "G99", "G1"]


def _first_row_is(page, gene: str, timeout_ms: float = 60_000) -> None:
    page.wait_for_function(
        "g => document.querySelector('#nb_table tbody tr td')?.textContent === g", arg=gene, timeout=timeout_ms)


def _caption_has(page, text: str, timeout_ms: float = 60_000) -> None:
    page.wait_for_function("t => (document.querySelector('#nb_caption')?.textContent || '').includes(t)",
                           arg=text, timeout=timeout_ms)


def run(n_genes: int, dim: int) -> dict:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing; install it with: apt-get install -y chromium")
    received = [0]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = write_model(folder, n_genes=n_genes, dim=dim)
        gv = load_vectors(path)
        with serve([path], folder / "server.log") as server, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            page = browser.new_page(viewport={"width": 1300, "height": 950})
            page.on("websocket", lambda ws: ws.on(
                "framereceived", lambda payload: received.__setitem__(0, received[0] + len(payload))))
            t0 = time.perf_counter()
            page.goto(server.url)
            _caption_has(page, "similarity to KRAS")
            _first_row_is(page, gv.neighbor_table("KRAS", topn=1)["Gene"][0])
            start_s, start_kib = time.perf_counter() - t0, received[0] / 1024
            picks, pick_kib = [], []
            for gene in PICKS:
                page.click("#gene-selectized")
                page.keyboard.press("Control+A")
                page.keyboard.press("Backspace")
                page.keyboard.type(gene)
                option = page.locator(".selectize-dropdown:visible .option").filter(
                    has_text=re.compile(f"^{re.escape(gene)}$")).first
                option.wait_for()
                before = received[0]
                t0 = time.perf_counter()
                option.click()
                _caption_has(page, f"similarity to {gene} (")
                _first_row_is(page, gv.neighbor_table(gene, topn=1)["Gene"][0])
                picks.append(time.perf_counter() - t0)
                pick_kib.append((received[0] - before) / 1024)
            filters, filter_kib = [], []
            order = gv.neighbor_table(PICKS[-1])["Gene"].tolist()
            for text in FILTERS:
                want = next(g for g in order if text.lower() in g.lower())
                before = received[0]
                t0 = time.perf_counter()
                page.fill("#nb_filter", text)
                _caption_has(page, f"containing '{text}'")
                _first_row_is(page, want)
                filters.append(time.perf_counter() - t0)
                filter_kib.append((received[0] - before) / 1024)
            rows = page.locator("#nb_table tbody tr").count()
            rss = server_rss(server)
            browser.close()
    return {"session_start_s": round(start_s, 3), "session_start_kib": round(start_kib, 1),
            "pick_p50_s": round(statistics.median(picks), 3), "pick_max_s": round(max(picks), 3),
            "pick_s": [round(t, 3) for t in picks], "pick_ws_kib_p50": round(statistics.median(pick_kib), 1),
            "filter_p50_s": round(statistics.median(filters), 3), "filter_max_s": round(max(filters), 3),
            "filter_ws_kib_p50": round(statistics.median(filter_kib), 1), "rows_in_dom_after": rows,
            "server_rss_mib": round(rss / 2**20, 1)}


def _map_first_view(path: Path, log: Path, n_genes: int) -> float:
    """Seconds from the click on the Map tab until every gene's circle is drawn, in a fresh server and tab."""
    from playwright.sync_api import sync_playwright

    with serve([path], log) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(server.url)
        _caption_has(page, "similarity to")
        t0 = time.perf_counter()
        page.click("a[data-value='map']")
        page.wait_for_function("n => document.querySelectorAll('#genemap-base circle').length === n", arg=n_genes,
                               timeout=600_000)
        took = time.perf_counter() - t0
        browser.close()
    return took


def run_map(n_genes: int, repeats: int) -> dict:
    """The Map tab's first view of the demo model, from the cache `genevec train --map` writes and computed."""
    from genevec import GeneGloVe, datasets
    from genevec.maps import map_cache_path, model_map, read_gene_map, write_map_table

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "demo.txt"
        GeneGloVe(random_state=0).fit(datasets.load_demo(n_genes=n_genes)).vectors_.save(path)
        n_genes = len(load_vectors(path))                                  # genes with no co-occurrence are dropped
        cache = Path(map_cache_path(path))
        t0 = time.perf_counter()
        write_map_table(model_map(load_vectors(path)), cache)              # what `genevec train --map` does
        train_map_s = time.perf_counter() - t0
        expected = read_gene_map(cache)
        cached, computed = [], []
        for k in range(repeats):                                           # alternate: the same machine state
            cached.append(_map_first_view(path, folder / f"cached{k}.log", n_genes))
            cache.unlink()
            computed.append(_map_first_view(path, folder / f"computed{k}.log", n_genes))
            again = read_gene_map(cache)                                   # the app wrote the same map back
            if not (again["gene"].tolist() == expected["gene"].tolist()
                    and (again["cluster"] == expected["cluster"]).all()):
                raise SystemExit("the app computed another map than genevec train --map: not comparable")
            write_map_table(expected, cache)
            os.utime(cache)                                                # newer than the vectors
    return {"genes_mapped": n_genes, "cached_s": round(min(cached), 2), "computed_s": round(min(computed), 2),
            "cached_all_s": [round(t, 2) for t in cached], "computed_all_s": [round(t, 2) for t in computed],
            "train_map_s": round(train_map_s, 2)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3,000 genes x 50 dims")
    ap.add_argument("--label", default="", help="a note stored with the row, e.g. 'before'")
    ap.add_argument("--map", type=int, nargs="+", metavar="GENES",
                    help="instead: the Map tab's first view of the demo model with these many genes, from the "
                         "cache genevec train --map writes against computed by the app")
    ap.add_argument("--repeats", type=int, default=2, help="alternating repeats of --map (default: %(default)s)")
    args = ap.parse_args(argv)
    if args.map:
        bench = Bench("app_map_view")
        for n in args.map:
            row = run_map(n, args.repeats)
            bench.record("app map first view, cached vs computed", (n, 100), threads=2,
                         ratio=round(row["computed_s"] / row["cached_s"], 1),
                         note="ratio = computed by the app on first view / read from the cache written by "
                              "genevec train --map; each view in a fresh server and tab", **row)
        bench.save()
        return
    genes, dim = (3_000, 50) if args.quick else (25_321, 100)
    bench = Bench("app_browser", quick=args.quick)
    row = run(genes, dim)
    task = "app browser, neighbours pick" + (f" ({args.label})" if args.label else "")
    bench.record(task, (genes, dim), threads=1, ratio=round(row["session_start_s"] / row["pick_p50_s"], 2),
                 note="ratio = session start / median pick (the peer is the page's first render)", **row)
    bench.save()


if __name__ == "__main__":
    main()
