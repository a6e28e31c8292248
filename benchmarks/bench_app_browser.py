"""The app in a real browser at 25,321 genes: how long a neighbours pick takes to show, and what it costs.

    python benchmarks/bench_app_browser.py                # 25,321 genes x 100 dims, 8 picks, 4 filters
    python benchmarks/bench_app_browser.py --quick        # 3,000 genes x 50 dims

The app runs in a subprocess on 127.0.0.1 (``serve`` and ``write_model`` from tests/test_app_load.py)
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
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from _harness import Bench  # noqa: E402
from test_app_load import serve, server_rss, write_model  # noqa: E402

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


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3,000 genes x 50 dims")
    ap.add_argument("--label", default="", help="a note stored with the row, e.g. 'before'")
    args = ap.parse_args(argv)
    genes, dim = (3_000, 50) if args.quick else (25_321, 100)
    bench = Bench("app_browser", quick=args.quick)
    row = run(genes, dim)
    task = "app browser, neighbours pick" + (f" ({args.label})" if args.label else "")
    bench.record(task, (genes, dim), threads=1, ratio=round(row["session_start_s"] / row["pick_p50_s"], 2),
                 note="ratio = session start / median pick (the peer is the page's first render)", **row)
    bench.save()


if __name__ == "__main__":
    main()
