"""End to end: the app served in a subprocess, driven by Debian's Chromium through Playwright.

Never a downloaded browser: Chromium must be at /usr/bin/chromium (CI installs it with apt). If it
is missing these tests fail, they are not skipped. Screenshots go to test-artifacts/.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from genevec import GeneVectors, evaluate, load_vectors
from genevec.stability import NeighbourSupport

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
XSS = "<img/src=x/onerror=window.__xss=1>"
TIMEOUT_MS = 45_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _models(folder: Path):
    rng = np.random.default_rng(0)
    n, k = 240, 5
    labels = rng.integers(0, k, n)
    X = rng.normal(size=(k, 16))[labels] * 2 + rng.normal(size=(n, 16))
    genes = ["KRAS", "BRCA1", "BRCA2", "TP53", XSS] + [f"G{i}" for i in range(5, n)]
    a = folder / "pancreas.txt"
    GeneVectors(X, genes, metadata={"dim": 16, "x_max": 100, "learning_rate": 0.05, "max_iter": 50}).save(a)
    b = folder / "blood.txt"
    blood = GeneVectors(rng.normal(size=(150, 8)), genes[:150], metadata={"dim": 8, "x_max": 10})
    # the second model carries a quality report and neighbour support, as `genevec train --stability` writes
    sets = {f"set{i}": genes[i * 10: i * 10 + 10] for i in range(15)}
    blood.metadata["quality"] = evaluate(blood, gene_sets=sets).to_dict()
    top = blood.neighbors(blood.genes, topn=5)
    index = {g: i for i, g in enumerate(blood.genes)}
    rows = np.repeat(np.arange(150), 5)
    cols = [index[g] for g in top.to_numpy().ravel()]
    support = NeighbourSupport(blood.genes, sp.csr_matrix((np.tile([1.0, 0.8, 0.6, 0.4, 0.2], 150), (rows, cols)),
                                                          shape=(150, 150)), 5, 5, "bootstrap")
    blood.with_support(support).save(b)
    return a, b


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("app")
    a, b = _models(folder)
    port = _free_port()
    code = f"from genevec.app import run_app; run_app([{str(a)!r}, {str(b)!r}], port={port})"
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=folder, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the app exited with code {proc.returncode}:\n{proc.stdout.read()}")
            try:
                urllib.request.urlopen(url, timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"the app did not answer on {url} within 60 s")
                time.sleep(0.3)
        yield {"url": url, "a": a, "b": b}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def page(server):
    assert os.path.exists(CHROMIUM), (
        f"{CHROMIUM} is missing: the browser tests drive Debian's Chromium, never a downloaded one. "
        "Install it with: apt-get install -y chromium"
    )
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1300, "height": 950}, accept_downloads=True)
        pg = context.new_page()
        pg.set_default_timeout(TIMEOUT_MS)
        pg.dialogs = []
        pg.on("dialog", lambda dlg: (pg.dialogs.append(dlg.message), dlg.dismiss()))
        pg.goto(server["url"])
        yield pg
        browser.close()


def _rows(pg, table_id, n=5):
    rows = pg.locator(f"#{table_id} tbody tr:has(td)")
    rows.first.wait_for()
    return [rows.nth(i).locator("td").all_inner_texts() for i in range(min(n, rows.count()))]


def _wait_first(pg, table_id, value, col=1):
    """Wait until the first row's ``col``-th cell reads ``value`` (the table has been re-rendered)."""
    pg.wait_for_function(
        "([t, v, c]) => document.querySelector(`#${t} tbody tr td:nth-child(${c})`)?.textContent === v",
        arg=[table_id, value, col])


def _wait_text(pg, selector, text):
    pg.wait_for_function("([s, t]) => { const e = document.querySelector(s); return e && e.textContent.includes(t); }",
                         arg=[selector, text])


def _pick(pg, input_id, gene):
    """Choose ``gene`` in a server-side selectize by typing, as a user does."""
    pg.click(f"#{input_id}-selectized")
    pg.keyboard.press("Control+A")
    pg.keyboard.press("Backspace")
    pg.keyboard.type(gene)
    option = pg.locator(".selectize-dropdown:visible .option").filter(has_text=gene).first
    option.wait_for()
    option.click()


def _first_genes(pg, table_id, n=5):
    return [r[0] for r in _rows(pg, table_id, n)]


def test_neighbours_pick_filter_download(page, server):
    gv = load_vectors(server["a"])
    _wait_text(page, "#nb_caption", "to KRAS")
    assert _first_genes(page, "nb_table") == gv.neighbor_table("KRAS", topn=5)["Gene"].tolist()
    page.screenshot(path=str(ARTIFACTS / "app_neighbours.png"))

    t0 = time.perf_counter()
    _pick(page, "gene", "TP53")
    _wait_text(page, "#nb_caption", "to TP53")
    expected = gv.neighbor_table("TP53")
    _wait_first(page, "nb_table", expected["Gene"][0])
    took = time.perf_counter() - t0
    row = _rows(page, "nb_table", 1)[0]
    assert row[0] == expected["Gene"][0] and float(row[1]) == pytest.approx(expected["Similarity"][0], abs=1e-4)
    assert took < 10, f"picking a gene took {took:.1f} s"

    page.fill("#nb_filter", "g1")
    _wait_text(page, "#nb_caption", "containing 'g1'")
    want = [g for g in expected["Gene"] if "g1" in g.lower()]
    _wait_first(page, "nb_table", want[0])
    shown = _first_genes(page, "nb_table", 50)
    assert shown == want[: len(shown)] and shown

    with page.expect_download() as dl:
        page.click("#nb_download")
    assert dl.value.suggested_filename == "TP53_neighbours.csv"
    assert len(want) < 200 and "showing" not in page.inner_text("#nb_caption")         # all fit: no note
    got = pd.read_csv(dl.value.path())
    assert list(got.columns) == ["Gene", "Similarity"]
    assert got["Gene"].tolist() == want
    np.testing.assert_allclose(got["Similarity"], expected.set_index("Gene").loc[want, "Similarity"], rtol=1e-5)
    page.fill("#nb_filter", "")


def test_big_table_shows_a_page_and_more_on_request(page, server):
    """239 other genes: the grid shows 200 and says so; "Show 200 more" shows the rest; a new gene, 200 again."""
    gv = load_vectors(server["a"])
    _pick(page, "gene", "BRCA2")
    _wait_text(page, "#nb_caption", "similarity to BRCA2 (of 239 other genes); showing 200 of 239; "
                                    "filter or download for the rest")
    order = gv.neighbor_table("BRCA2")["Gene"].tolist()
    _wait_first(page, "nb_table", order[0])
    page.click("#nb_more")
    _wait_text(page, "#nb_caption", "similarity to BRCA2 (of 239 other genes)")
    page.wait_for_function("() => !document.querySelector('#nb_caption').textContent.includes('showing')")
    # The grid draws only the rows in view: scroll to its end, where the 239th gene must be.
    page.evaluate("() => { const g = document.querySelector('#nb_table .shiny-data-grid'); g.scrollTop = g.scrollHeight; }")
    page.wait_for_function("g => [...document.querySelectorAll('#nb_table tbody tr td:first-child')]"
                           ".some(td => td.textContent === g)", arg=order[-1])
    _pick(page, "gene", "TP53")
    _wait_text(page, "#nb_caption", "similarity to TP53 (of 239 other genes); showing 200 of 239")
    with page.expect_download() as dl:
        page.click("#nb_download")
    assert pd.read_csv(dl.value.path())["Gene"].tolist() == gv.neighbor_table("TP53")["Gene"].tolist()


def test_user_text_is_escaped(page, server):
    page.fill("#nb_filter", "<b>bold</b>")
    _wait_text(page, "#nb_caption", "containing '<b>bold</b>'")
    assert page.locator("#nb_caption b").count() == 0
    page.fill("#nb_filter", "")
    _pick(page, "gene", XSS)
    _wait_text(page, "#nb_caption", f"to {XSS}")
    page.fill("#nb_filter", "G7")
    _wait_text(page, "#nb_caption", "containing 'G7'")
    page.fill("#nb_filter", "onerror")                       # the gene is listed in other genes' tables too
    _pick(page, "gene", "KRAS")
    _wait_text(page, "#nb_caption", "containing 'onerror' by cosine similarity to KRAS")
    _wait_first(page, "nb_table", XSS)
    assert _first_genes(page, "nb_table") == [XSS]
    assert page.evaluate("window.__xss") is None
    assert page.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert page.dialogs == []
    page.fill("#nb_filter", "")


def test_analogy_both_semantics(page, server):
    gv = load_vectors(server["a"])
    page.click("a[data-value='analogy']")
    _wait_text(page, "#an_caption", "BRCA1 is to BRCA2 as ? is to TP53")
    gensim = [g for g, _ in gv.analogy("BRCA1", "BRCA2", "TP53", topn=5)]
    _wait_first(page, "an_table", gensim[0], col=2)
    assert [r[1] for r in _rows(page, "an_table")] == gensim
    page.locator("#an_original").check()
    _wait_text(page, "#an_caption", "original app")
    original = [g for g, _ in gv.analogy("BRCA1", "BRCA2", "TP53", topn=5, mode="original")]
    _wait_first(page, "an_table", original[0], col=2)
    assert [r[1] for r in _rows(page, "an_table")] == original
    page.screenshot(path=str(ARTIFACTS / "app_analogy.png"))


def test_map_hover_search_and_click(page, server):
    gv = load_vectors(server["a"])
    page.click("a[data-value='map']")
    page.wait_for_function("n => document.querySelectorAll('#genemap-base circle').length === n", arg=len(gv),
                           timeout=90_000)
    assert Path(str(server["a"]) + ".map.tsv").is_file()          # cached beside the vectors
    titles = page.eval_on_selector_all("#genemap-base circle title", "els => els.map(e => e.textContent)")
    assert any(t.startswith(XSS + " (cluster ") for t in titles)  # hover text, shown as text
    # The search box (default KRAS) rings the gene and its 10 neighbours.
    page.wait_for_function("() => document.querySelectorAll('#genemap-overlay text').length === 11")
    labels = page.eval_on_selector_all("#genemap-overlay text", "els => els.map(e => e.textContent)")
    assert labels[-1] == "KRAS" and set(labels[:-1]) == {g for g, _ in gv.most_similar("KRAS", topn=10)}
    page.locator("#genemap-base circle[data-g='G17']").dispatch_event("click")
    _wait_text(page, "#map_click_caption", "Nearest neighbours of G17")
    want = gv.neighbor_table("G17", topn=5)["Gene"].tolist()
    _wait_first(page, "map_click_table", want[0])
    assert _first_genes(page, "map_click_table") == want
    page.locator("#genemap-base").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "app_map.png"))


def test_clusters_tab_and_download(page, server):
    page.click("a[data-value='clusters']")
    page.locator("#cluster").wait_for()
    tsv = pd.read_csv(str(server["a"]) + ".map.tsv", sep="\t", keep_default_na=False)
    first = tsv.loc[tsv["cluster"] == 1, "gene"].tolist()
    _wait_first(page, "cl_table", first[0])
    with page.expect_download() as dl:
        page.click("#cl_download")
    assert pd.read_csv(dl.value.path(), keep_default_na=False)["Gene"].tolist() == first


def test_switch_model_and_about(page, server):
    gv_b = load_vectors(server["b"])
    page.click("a[data-value='neighbours']")
    page.select_option("#model", "1")
    _wait_text(page, "#model_info", "150 genes x 8 dimensions")
    _wait_text(page, "#nb_caption", "of 149 other genes")
    want = gv_b.neighbor_table("KRAS", topn=5)["Gene"].tolist()
    _wait_first(page, "nb_table", want[0])
    assert _first_genes(page, "nb_table") == want
    assert "Support" in page.inner_text("#nb_table")  # this model carries neighbour support
    assert [float(r[2]) for r in _rows(page, "nb_table", 3)] == [1.0, 0.8, 0.6]
    page.click("a[data-value='about']")
    _wait_text(page, "#about", "blood.txt")
    about = page.inner_text("#about")
    assert "pancreas.txt" in about and "x_max" in about and "learning_rate" in about and "240" in about
    assert "How good are the neighbours?" in about and "a gene's 10 nearest genes share a set with it" in about
    assert "No quality report stored with these vectors" in about  # pancreas.txt has none
    assert "Neighbour support (the Support column): 5 bootstrap refits, top 5." in about
    page.screenshot(path=str(ARTIFACTS / "app_about.png"), full_page=True)
