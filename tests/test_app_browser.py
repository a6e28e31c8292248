"""End to end: the app served in a subprocess, driven by Debian's Chromium through Playwright.

Never a downloaded browser: Chromium must be at /usr/bin/chromium (CI installs it with apt). If it
is missing these tests fail, they are not skipped. Screenshots go to test-artifacts/ (kept by CI).
The window is 1400 x 900, as in issue 15's observations. Waits are bounded by generous deadlines;
what is asserted is what the page shows, never how fast.

Over 500 lines because every tab of the app (Neighbours, Analogy, Map, Clusters, About, Compare
tissues) is driven here through one served page and its shared fixtures.
"""

import os
import re
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from _app_load import serve  # benchmarks/, on sys.path through conftest.py
from test_app import BLADDER, FIBRO, SKIN, fit_collection

from genevec import GeneGloVe, GeneVectors, datasets, evaluate, load_vectors, stability
from genevec.io.samples import detailed_tissues
from genevec.names import gene_name
from genevec.provenance import KEY, absent_reason, training_record
from genevec.stability import NeighbourSupport

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
XSS = "<img/src=x/onerror=window.__xss=1>"
TIMEOUT_MS = 45_000
VIEWPORT = {"width": 1400, "height": 900}


def _models(folder: Path):
    rng = np.random.default_rng(0)
    n, k = 240, 5
    labels = rng.integers(0, k, n)
    X = rng.normal(size=(k, 16))[labels] * 2 + rng.normal(size=(n, 16))
    genes = ["KRAS", "BRCA1", "BRCA2", "TP53", XSS] + [f"G{i}" for i in range(5, n)]
    a = folder / "pancreas.txt"                            # no training record
    GeneVectors(X, genes, metadata={"dim": 16, "x_max": 100, "learning_rate": 0.05, "max_iter": 50}).save(a)
    b = folder / "blood.txt"
    blood = GeneVectors(rng.normal(size=(150, 8)), genes[:150], metadata={"dim": 8, "x_max": 10})
    # the second model carries a quality report, neighbour support and a training record, as `genevec train` writes
    sets = {f"set{i}": genes[i * 10: i * 10 + 10] for i in range(15)}
    blood.metadata["quality"] = evaluate(blood, gene_sets=sets).to_dict()
    blood.metadata[KEY] = {"counts_file": "blood.gct.gz", "tissue": "Whole Blood", "tissues": {"Whole Blood": 30},
                           "n_samples": 30, "filters": {"min_counts": 50}, "genes_in_input": 300, "genes_kept": 150,
                           "dropped_by_filters": " ".join(genes[150:]), "seed": 0, "genevec_version": "0.2.0",
                           "trained": "2024-01-01 00:00 UTC"}
    top = blood.neighbors(blood.genes, topn=5)
    index = {g: i for i, g in enumerate(blood.genes)}
    rows = np.repeat(np.arange(150), 5)
    cols = [index[g] for g in top.to_numpy().ravel()]
    support = NeighbourSupport(blood.genes, sp.csr_matrix((np.tile([1.0, 0.8, 0.6, 0.4, 0.2], 150), (rows, cols)),
                                                          shape=(150, 150)), 5, 5, "bootstrap")
    blood.with_support(support).save(b)
    # the planted modules as a gene-set collection: a gene's neighbours are enriched in its module
    gmt = folder / "modules.gmt"
    gmt.write_text("".join(f"module{j}\tplanted module {j}\t" + "\t".join(g for g, lab in zip(genes, labels) if lab == j)
                           + "\n" for j in range(k)))
    # a real model of the embedded GTEx demo, trained as `genevec train --stability` would
    counts, attrs = datasets.load_demo(n_genes=600, return_attributes=True)
    model = GeneGloVe(dim=16, random_state=0).fit(counts)
    demo = model.vectors_
    demo.metadata[KEY] = training_record(model, counts_file="gtex_v6_skin_bladder_gene_reads.gct.gz",
                                         tissues=detailed_tissues(attrs, counts.index), genes_in_input=36652,
                                         filters={"top_genes": 600})
    c = folder / "demo.txt"
    demo.with_support(stability(counts, GeneGloVe(dim=16), n_resamples=3, mode="seed", random_state=0)).save(c)
    return a, b, c, gmt, labels


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("app")
    a, b, c, gmt, labels = _models(folder)
    log = folder / "server.log"
    with serve([a, b, c], log, gene_sets=[str(gmt), "go_bp"]) as srv:
        yield {"url": srv.url, "a": a, "b": b, "c": c, "gmt": gmt, "labels": labels, "log": log, "folder": folder}


@pytest.fixture(scope="module")
def browser():
    assert os.path.exists(CHROMIUM), (
        f"{CHROMIUM} is missing: the browser tests drive Debian's Chromium, never a downloaded one. "
        "Install it with: apt-get install -y chromium"
    )
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    """A fresh tab on the app for each test: tests do not depend on each other's clicks."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    pg.dialogs = []
    pg.on("dialog", lambda dlg: (pg.dialogs.append(dlg.message), dlg.dismiss()))
    pg.goto(server["url"])
    _wait_text(pg, "#nb_caption", "to KRAS")
    yield pg
    context.close()


# ------------------------------------------------------------------------------ helpers
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


def _value(pg, picker):
    return pg.evaluate("id => document.getElementById(id).selectize.getValue()", picker)


# the options listed by the open picker's dropdown, as the user sees them
OPTIONS = ("[...document.querySelectorAll('.selectize-dropdown')].filter(d => getComputedStyle(d).display !== 'none')"
           ".flatMap(d => [...d.querySelectorAll('.option')]).map(o => o.textContent)")


def _options(pg):
    return pg.evaluate(f"() => {OPTIONS}")


def _wait_options(pg, test):
    """Wait until ``test`` (JS, of the list ``o``) holds for the open dropdown's options."""
    pg.wait_for_function(f"() => {{ const o = {OPTIONS}; return {test}; }}")


def _pick(pg, input_id, gene):
    """Choose ``gene`` in a gene picker by typing over the current gene and clicking the option, as a user does."""
    pg.click(f"#{input_id}-selectized")
    pg.keyboard.type(gene)
    option = pg.locator(".selectize-dropdown:visible .option").filter(has_text=re.compile(f"^{re.escape(gene)}$"))
    option.first.wait_for()
    option.first.click()


def _first_genes(pg, table_id, n=5):
    return [r[0] for r in _rows(pg, table_id, n)]


def _disabled(pg, iid):
    return pg.evaluate("id => document.getElementById(id).classList.contains('disabled')", iid)


def _shot(pg, name, **kw):
    pg.screenshot(path=str(ARTIFACTS / f"app_{name}.png"), **kw)


# ------------------------------------------------------------------------------ neighbours
def test_neighbours_pick_filter_download(page, server):
    gv = load_vectors(server["a"])
    assert _first_genes(page, "nb_table") == gv.neighbor_table("KRAS", topn=5)["Gene"].tolist()
    assert page.locator("#nb_table thead th").all_inner_texts()[:3] == ["Gene", "Name", "Similarity"]
    _shot(page, "neighbours")

    _pick(page, "gene", "TP53")
    _wait_text(page, "#nb_caption", "to TP53")
    expected = gv.neighbor_table("TP53")
    _wait_first(page, "nb_table", expected["Gene"][0])
    row = _rows(page, "nb_table", 1)[0]
    assert row[0] == expected["Gene"][0] and float(row[2]) == pytest.approx(expected["Similarity"][0], abs=1e-4)

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
    assert "d-none" in page.get_attribute("#nb_more", "class")                          # nor a "more" button
    got = pd.read_csv(dl.value.path(), keep_default_na=False)
    assert list(got.columns) == ["Gene", "Name", "Similarity"]
    assert got["Gene"].tolist() == want
    np.testing.assert_allclose(got["Similarity"], expected.set_index("Gene").loc[want, "Similarity"], rtol=1e-5)


def test_big_table_shows_a_page_and_more_on_request(page, server):
    """239 other genes: the grid shows 200 and says so; "Show 200 more" shows the rest; a new gene, 200 again."""
    gv = load_vectors(server["a"])
    _pick(page, "gene", "BRCA2")
    _wait_text(page, "#nb_caption", "similarity to BRCA2 (of 239 other genes); showing 200 of 239; "
                                    "filter or download for the rest")
    order = gv.neighbor_table("BRCA2")["Gene"].tolist()
    _wait_first(page, "nb_table", order[0])
    page.click("#nb_more")
    page.wait_for_function("() => !document.querySelector('#nb_caption').textContent.includes('showing')")
    page.wait_for_function("() => document.getElementById('nb_more').classList.contains('d-none')")  # nothing more
    # The grid draws only the rows in view: scroll to its end, where the 239th gene must be.
    page.evaluate("() => { const g = document.querySelector('#nb_table .shiny-data-grid'); g.scrollTop = g.scrollHeight; }")
    page.wait_for_function("g => [...document.querySelectorAll('#nb_table tbody tr td:first-child')]"
                           ".some(td => td.textContent === g)", arg=order[-1])
    _pick(page, "gene", "TP53")
    _wait_text(page, "#nb_caption", "similarity to TP53 (of 239 other genes); showing 200 of 239")
    assert "d-none" not in page.get_attribute("#nb_more", "class")
    with page.expect_download() as dl:
        page.click("#nb_download")
    assert pd.read_csv(dl.value.path())["Gene"].tolist() == gv.neighbor_table("TP53")["Gene"].tolist()


def test_pickers_are_sorted_and_searched_by_prefix(page):
    page.click("#gene-selectized")
    page.keyboard.type("G")
    _wait_options(page, "o.slice(0, 3).join() === 'G5,G6,G7'")
    assert _options(page)[:12] == ["G5", "G6", "G7", "G8", "G9", "G10", "G11", "G12", "G13", "G14", "G15",
                                   "G16"]                                            # natural order, not file order
    page.keyboard.type("1")                                                          # "G1": prefix matches only
    _wait_options(page, "o[0] === 'G10'")
    assert _options(page)[:4] == ["G10", "G11", "G12", "G13"] and all(g.startswith("G1") for g in _options(page))
    page.keyboard.press("Escape")
    page.click("#gene-selectized")
    page.keyboard.type("p53")                                                        # no gene starts with it
    _wait_options(page, "o.includes('TP53')")
    assert _options(page) == ["TP53"]
    page.keyboard.press("Escape")
    page.click("#gene-selectized")
    page.keyboard.type("53")                                                         # inside names: natural order
    _wait_options(page, "o.includes('TP53')")
    assert _options(page) == ["G53", "G153", "TP53"]


def test_typing_over_the_chosen_gene_replaces_it(page, server):
    """The observed bug: clicking the filled picker and typing did nothing until Backspace."""
    assert _value(page, "gene") == "KRAS"
    page.click("#gene-selectized")
    page.keyboard.type("TP53")                                                       # no Backspace first
    _wait_options(page, "o[0] === 'TP53'")
    assert page.input_value("#gene-selectized") == "TP53"
    page.keyboard.press("Enter")                                                     # the full symbol: chosen
    _wait_text(page, "#nb_caption", "to TP53")
    assert _value(page, "gene") == "TP53"
    page.click("#gene-selectized")
    page.keyboard.type("kras")                                                       # any case
    _wait_options(page, "o[0] === 'KRAS'")
    page.keyboard.press("Enter")
    _wait_text(page, "#nb_caption", "to KRAS")
    page.click("#gene-selectized")                                                   # pasting replaces it too
    page.evaluate("() => { const i = document.getElementById('gene-selectized'); const d = new DataTransfer(); "
                  "d.setData('text/plain', 'BRCA2'); i.dispatchEvent(new ClipboardEvent('paste', "
                  "{clipboardData: d, bubbles: true, cancelable: true})); }")
    assert _value(page, "gene") == ""                                                # the gene is put aside
    page.keyboard.press("Escape")
    assert _value(page, "gene") == "KRAS"                                            # and comes back


def test_enter_on_a_partial_name_chooses_nothing(page, server):
    """The observed bug: Enter then chose the first gene of the file and the table switched without notice."""
    page.click("#gene-selectized")
    page.keyboard.type("BRC")
    _wait_options(page, "o.join() === 'BRCA1,BRCA2'")
    page.keyboard.press("Enter")
    _wait_text(page, ".picker-hint", "No gene is called BRC: type its full name, or pick it with the arrow keys")
    page.wait_for_timeout(1000)                                                      # give a wrong change time to land
    assert "to KRAS" in page.inner_text("#nb_caption")
    page.keyboard.press("Escape")                                                    # leaving: the gene comes back
    assert _value(page, "gene") == "KRAS"
    _shot(page, "enter_on_partial")
    # the arrow keys are an explicit choice
    page.click("#gene-selectized")
    page.keyboard.type("BRC")
    _wait_options(page, "o.length === 2")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    _wait_text(page, "#nb_caption", "to BRCA2")


def test_empty_input_shows_a_message_and_downloads_stay_disabled(page, server):
    """The observed bug: a blank page, a stray "Show 200 more", and a download that failed with a 500."""
    assert not _disabled(page, "nb_download")
    page.click("#gene-selectized")
    page.keyboard.press("Backspace")                                                  # clears the gene
    page.locator("body").click(position={"x": 700, "y": 860})
    page.wait_for_function("() => document.getElementById('gene').selectize.getValue() === ''")
    _wait_text(page, "#nb_notice", "Type a gene symbol in the box above to see its nearest genes.")
    page.wait_for_function("() => document.getElementById('nb_download').classList.contains('disabled')")
    assert "d-none" in page.get_attribute("#nb_more", "class")
    assert page.locator("#nb_table tbody tr").count() == 0
    assert _disabled(page, "en_download")
    # the download's address asked for anyway: a header-only CSV, never a server error
    href = page.get_attribute("#nb_download", "href")
    assert href
    with urllib.request.urlopen(server["url"] + "/" + href.lstrip("/"), timeout=30) as resp:
        assert resp.status == 200 and resp.read().decode() == "Gene,Name,Similarity\n"
    page.locator("#nb_download").click(force=True)                                    # a click does nothing
    _shot(page, "empty_gene")
    _pick(page, "gene", "KRAS")
    page.wait_for_function("() => !document.getElementById('nb_download').classList.contains('disabled')")
    page.wait_for_function("() => document.getElementById('nb_notice').textContent === ''")
    _wait_text(page, "#nb_caption", "to KRAS")


def test_enrichment_of_the_neighbours_is_shown(page, server):
    gv = load_vectors(server["a"])
    expected = gv.enrich("KRAS", topn=50, gene_sets=str(server["gmt"]))
    _wait_text(page, ".enrich-summary", "KRAS's 50 nearest genes are enriched in planted module")
    assert page.inner_text(".enrich-summary") == expected.summary()
    top = expected.significant(0.05).iloc[0]
    first = _rows(page, "en_table", 1)[0]
    assert first[:4] == [top["Set"], top["Name"], str(top["Overlap"]), str(top["Size"])]
    page.fill("#en_topn", "5000")
    _wait_text(page, ".enrich-summary", "Nearest genes tested: give a whole number from 5 to 500 (got 5000).")
    page.wait_for_function("() => document.getElementById('en_download').classList.contains('disabled')")
    page.fill("#en_topn", "20")
    _wait_text(page, ".enrich-summary", "KRAS's 20 nearest genes")
    assert page.inner_text(".enrich-summary") == gv.enrich("KRAS", topn=20, gene_sets=str(server["gmt"])).summary()
    with page.expect_download() as dl:
        page.click("#en_download")
    table = pd.read_csv(dl.value.path())
    assert list(table.columns) == ["Set", "Name", "Overlap", "Size", "Expected", "Fold", "P", "Q", "Genes"]
    page.locator(".enrich-summary").scroll_into_view_if_needed()
    _shot(page, "enrichment")


def test_egfr_on_real_data_shows_scores_names_support_and_processes(page, server):
    """Issue 15's "done when": the Neighbours tab for EGFR, on a real GTEx model, explains its neighbours."""
    gv = load_vectors(server["c"])
    page.select_option("#model", "2")
    _wait_text(page, "#model_info", "600 genes x 16 dimensions")
    _pick(page, "gene", "EGFR")
    _wait_text(page, "#nb_caption", "to EGFR (of 599 other genes)")
    want = gv.neighbor_table("EGFR", topn=5)
    _wait_first(page, "nb_table", want["Gene"][0])
    assert page.locator("#nb_table thead th").all_inner_texts()[:4] == ["Gene", "Name", "Similarity", "Support"]
    for row, (_, w) in zip(_rows(page, "nb_table", 5), want.iterrows()):
        assert row[0] == w["Gene"] and row[1] == gene_name(w["Gene"]) and row[1]          # every one has a name
        assert float(row[2]) == pytest.approx(w["Similarity"], abs=1e-4)
        assert float(row[3]) == pytest.approx(w["Support"], abs=0.005)
    page.select_option("#en_sets", "go_bp")
    expected = gv.enrich("EGFR", topn=50, gene_sets="go_bp")
    _wait_text(page, ".enrich-summary", "GO biological processes tested")
    assert page.inner_text(".enrich-summary") == expected.summary()
    first = _rows(page, "en_table", 1)[0]
    assert first[1] == expected.table.iloc[0]["Name"]                      # the GO term's name, not its identifier
    _shot(page, "egfr_demo", full_page=True)


# ------------------------------------------------------------------------------ model switch
def test_model_switch_keeps_a_present_gene(page, server):
    gv_b = load_vectors(server["b"])
    _pick(page, "gene", "TP53")
    _wait_text(page, "#nb_caption", "to TP53")
    # every value the browser sends for the picker from now on: the switch must send none (no blank, no swap)
    page.evaluate("() => { window.__sent = []; $(document).on('shiny:inputchanged', e => { "
                  "if (e.name === 'gene') window.__sent.push(e.value); }); }")
    page.select_option("#model", "1")
    _wait_text(page, "#model_info", "150 genes x 8 dimensions")
    _wait_text(page, "#nb_caption", "to TP53 (of 149 other genes)")
    assert _value(page, "gene") == "TP53"
    want = gv_b.neighbor_table("TP53", topn=5)["Gene"].tolist()
    _wait_first(page, "nb_table", want[0])
    assert _first_genes(page, "nb_table") == want
    assert page.locator("#nb_table thead th").all_inner_texts()[:4] == ["Gene", "Name", "Similarity", "Support"]
    assert [float(r[3]) for r in _rows(page, "nb_table", 3)] == [1.0, 0.8, 0.6]
    assert page.inner_text("#nb_notice") == ""
    page.wait_for_timeout(500)
    assert page.evaluate("window.__sent") == []
    page.click("#gene-selectized")                            # the picker now searches the new model
    page.keyboard.type("G14")
    _wait_options(page, "o.length > 0 && o.every(g => g.startsWith('G14'))")
    assert _options(page) == ["G14"] + [f"G14{i}" for i in range(10)]          # blood.txt ends at G149


def test_model_switch_with_an_absent_gene_says_why_in_every_tab(page, server):
    _pick(page, "gene", "G200")                                       # blood.txt has the first 150 genes only
    _wait_text(page, "#nb_caption", "to G200")
    page.click("a[data-value='analogy']")
    _pick(page, "an_c", "G201")
    _wait_text(page, "#an_caption", "as ? is to G201")
    page.click("a[data-value='map']")
    page.wait_for_function("() => document.querySelectorAll('#genemap-base circle').length === 240", timeout=90_000)
    _pick(page, "map_gene", "G202")
    page.wait_for_function("() => [...document.querySelectorAll('#genemap-overlay text')].some(t => "
                           "t.textContent === 'G202')")
    page.select_option("#model", "1")
    _wait_text(page, "#map_notice", "G202 is not in model blood.txt: filtered out at training (min_counts=50).")
    assert _value(page, "map_gene") == "G202"                          # the name is kept, not swapped
    page.wait_for_function("() => document.querySelectorAll('#genemap-overlay circle').length === 0")
    page.click("a[data-value='analogy']")
    _wait_text(page, "#an_notice", "G201 is not in model blood.txt: filtered out at training (min_counts=50).")
    assert [_value(page, i) for i in ("an_a", "an_b", "an_c")] == ["BRCA1", "BRCA2", "G201"]
    assert page.inner_text("#an_caption") == "" and _disabled(page, "an_download")
    page.click("a[data-value='neighbours']")
    _wait_text(page, "#nb_notice", "G200 is not in model blood.txt: filtered out at training (min_counts=50).")
    assert _value(page, "gene") == "G200" and page.inner_text("#nb_caption") == "" and _disabled(page, "nb_download")
    _shot(page, "absent_gene")
    page.select_option("#model", "0")                                  # back: the genes are all there again
    _wait_text(page, "#nb_caption", "to G200 (of 239 other genes)")
    assert page.inner_text("#nb_notice") == ""


# ------------------------------------------------------------------------------ analogy
def test_analogy_every_answer_paged_filtered_downloadable(page, server):
    gv = load_vectors(server["a"])
    page.click("a[data-value='analogy']")
    _wait_text(page, "#an_caption", "BRCA1 is to BRCA2 as ? is to TP53: 237 genes")
    _wait_text(page, "#an_caption", "Showing 200 of 237")
    gensim = [g for g, _ in gv.analogy("BRCA1", "BRCA2", "TP53", topn=240)]
    _wait_first(page, "an_table", gensim[0], col=2)
    assert [r[1] for r in _rows(page, "an_table")] == gensim[:5]
    page.click("#an_more")
    page.wait_for_function("() => !document.querySelector('#an_caption').textContent.includes('Showing')")
    page.fill("#an_filter", "g2")
    _wait_text(page, "#an_caption", "containing 'g2'")
    want = [g for g in gensim if "g2" in g.lower()]
    _wait_first(page, "an_table", want[0], col=2)
    assert _rows(page, "an_table", 1)[0][0] == str(gensim.index(want[0]) + 1)       # its rank among all answers
    with page.expect_download() as dl:
        page.click("#an_download")
    got = pd.read_csv(dl.value.path(), keep_default_na=False)
    assert list(got.columns) == ["Rank", "Gene", "Name", "Similarity"] and got["Gene"].tolist() == want
    page.fill("#an_filter", "")
    page.locator("#an_original").check()
    _wait_text(page, "#an_caption", "original app")
    original = [g for g, _ in gv.analogy("BRCA1", "BRCA2", "TP53", topn=5, mode="original")]
    _wait_first(page, "an_table", original[0], col=2)
    assert [r[1] for r in _rows(page, "an_table")] == original
    assert page.inner_text("#an_notice") == ""
    _shot(page, "analogy")


def test_analogy_with_repeated_inputs_says_so(page, server):
    gv = load_vectors(server["a"])
    page.click("a[data-value='analogy']")
    _wait_text(page, "#an_caption", "BRCA1 is to BRCA2")
    _pick(page, "an_b", "BRCA1")
    _wait_text(page, "#an_notice", "A and B are both BRCA1, so A - B + C is just C: the answers are the genes "
                                   "closest to TP53, not an analogy.")
    _wait_text(page, "#an_caption", "BRCA1 is to BRCA1 as ? is to TP53")
    _wait_first(page, "an_table", gv.analogy("BRCA1", "BRCA1", "TP53", topn=1)[0][0], col=2)
    _shot(page, "analogy_repeat")


# ------------------------------------------------------------------------------ map
def _open_map(page, n):
    page.click("a[data-value='map']")
    page.wait_for_function("n => document.querySelectorAll('#genemap-base circle').length === n", arg=n,
                           timeout=90_000)


def _label_boxes(page):
    return page.eval_on_selector_all(
        "#genemap-overlay text", "els => els.map(e => { const b = e.getBBox(); "
        "return [e.textContent, b.x, b.y, b.x + b.width, b.y + b.height]; })")


def test_map_legend_labels_hover_and_viewport(page, server):
    gv = load_vectors(server["a"])
    _open_map(page, len(gv))
    assert Path(str(server["a"]) + ".map.tsv").is_file()          # cached beside the vectors
    tsv = pd.read_csv(str(server["a"]) + ".map.tsv", sep="\t", keep_default_na=False)
    titles = page.eval_on_selector_all("#genemap-base circle title", "els => els.map(e => e.textContent)")
    assert any(t.startswith(XSS + " (cluster ") for t in titles)  # hover text, shown as text
    # a legend: one entry per cluster, with its size
    items = page.locator("#map_legend .legend-item").all_inner_texts()
    sizes = tsv["cluster"].value_counts()
    assert items == [f"cluster {k} ({sizes[k]} genes)" for k in sorted(sizes.index)]
    # KRAS (the default) and its 10 neighbours are ringed; every label shown stands clear of the others
    page.wait_for_function("() => document.querySelectorAll('#genemap-overlay circle').length === 11")
    boxes = _label_boxes(page)
    hidden = int(page.get_attribute("#genemap-overlay", "data-hidden"))
    ringed = {g for g, _ in gv.most_similar("KRAS", topn=10)} | {"KRAS"}
    assert len(boxes) + hidden == 11 and {b[0] for b in boxes} <= ringed and "KRAS" in {b[0] for b in boxes}
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not (a[1] < b[3] and b[1] < a[3] and a[2] < b[4] and b[2] < a[4]), f"labels overlap: {a} {b}"
    caption = page.inner_text("#map_ring_caption")
    assert caption.startswith("KRAS (red) and its 10 nearest genes are ringed")
    assert (f"{hidden} labels are left out where they would overlap" in caption) == (hidden > 0)
    # the whole map fits the 1400 x 900 window
    page.evaluate("() => window.scrollTo(0, 0)")
    box = page.locator("#genemap-base").bounding_box()
    assert box["y"] + box["height"] <= VIEWPORT["height"] and box["x"] + box["width"] <= VIEWPORT["width"]
    _shot(page, "map")


def test_map_ring_limit_is_enforced(page, server):
    gv = load_vectors(server["a"])
    _open_map(page, len(gv))
    page.fill("#map_topn", "100000")
    page.locator("#map_topn").press("Tab")
    page.wait_for_function("() => document.getElementById('map_topn').value === '100'")
    page.wait_for_function("() => document.querySelectorAll('#genemap-overlay circle').length === 101")
    _wait_text(page, "#map_notice", "Neighbours to ring: 100000 is outside 0..100; ringing 100.")   # it stays
    page.evaluate("() => window.scrollTo(0, 0)")
    box = page.locator("#genemap-base").bounding_box()
    assert box["y"] + box["height"] <= VIEWPORT["height"]                  # still fits, notice and caption included
    boxes = _label_boxes(page)
    assert len(boxes) + int(page.get_attribute("#genemap-overlay", "data-hidden")) == 101
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not (a[1] < b[3] and b[1] < a[3] and a[2] < b[4] and b[2] < a[4]), f"labels overlap: {a} {b}"
    _shot(page, "map_100")
    page.fill("#map_topn", "5")
    page.locator("#map_topn").press("Tab")
    page.wait_for_function("() => document.querySelectorAll('#genemap-overlay circle').length === 6")
    page.wait_for_function("() => document.getElementById('map_notice').textContent === ''")


def test_map_click_moves_the_picker_and_the_ring_together(page, server):
    gv = load_vectors(server["a"])
    _open_map(page, len(gv))
    page.locator("#genemap-base circle[data-g='G17']").dispatch_event("click")
    page.wait_for_function("() => document.getElementById('map_gene').selectize.getValue() === 'G17'")
    page.wait_for_function("() => [...document.querySelectorAll('#genemap-overlay circle[stroke=\"#d00\"]')]"
                           ".map(c => c.getAttribute('data-g')).join() === 'G17'")
    _wait_text(page, "#map_click_caption", "Nearest neighbours of G17")
    want = gv.neighbor_table("G17", topn=5)["Gene"].tolist()
    _wait_first(page, "map_click_table", want[0])
    assert _first_genes(page, "map_click_table") == want
    # the picker drives the same ring
    _pick(page, "map_gene", "TP53")
    page.wait_for_function("() => [...document.querySelectorAll('#genemap-overlay circle[stroke=\"#d00\"]')]"
                           ".map(c => c.getAttribute('data-g')).join() === 'TP53'")
    _wait_text(page, "#map_click_caption", "Nearest neighbours of TP53")


def test_map_colour_by_gene_set_and_by_similarity(page, server):
    gv = load_vectors(server["a"])
    labels = server["labels"]
    _open_map(page, len(gv))
    page.select_option("#map_colour", "set")
    page.click("#map_set-selectized")
    page.keyboard.type("planted module 2")
    page.locator(".selectize-dropdown:visible .option").filter(has_text="planted module 2").first.click()
    n_in = int((labels == 2).sum())
    _wait_text(page, "#map_legend", f"in planted module 2 ({n_in} of 240 genes)")
    red = page.eval_on_selector_all("#genemap-base g[fill='#d62728'] circle", "els => els.map(e => e.dataset.g)")
    assert sorted(red) == sorted(g for g, lab in zip(gv.genes, labels) if lab == 2)
    _shot(page, "map_gene_set")
    page.select_option("#map_colour", "similarity")
    _wait_text(page, "#map_legend", "Cosine similarity to KRAS")
    assert page.locator("#map_legend .legend-gradient").count() == 1
    fills = page.eval_on_selector_all("#genemap-base g", "els => els.map(g => g.getAttribute('fill'))")
    assert len(fills) > 5                                           # a colour scale, not one colour per cluster
    _shot(page, "map_similarity")


def test_clusters_tab_and_download(page, server):
    page.click("a[data-value='clusters']")
    page.locator("#cluster").wait_for()
    tsv = pd.read_csv(str(server["a"]) + ".map.tsv", sep="\t", keep_default_na=False)
    first = tsv.loc[tsv["cluster"] == 1, "gene"].tolist()
    _wait_first(page, "cl_table", first[0])
    page.wait_for_function("() => !document.getElementById('cl_download').classList.contains('disabled')")
    with page.expect_download() as dl:
        page.click("#cl_download")
    got = pd.read_csv(dl.value.path(), keep_default_na=False)
    assert got["Gene"].tolist() == first and list(got.columns) == ["Gene", "Name"]


# ------------------------------------------------------------------------------ about, escaping, the log
def test_about_shows_where_the_vectors_came_from(page, server):
    page.click("a[data-value='about']")
    _wait_text(page, "#about", "blood.txt")
    about = page.inner_text("#about")
    assert str(server["folder"]) not in about and "/" not in about.split("blood.txt")[0][-40:]   # no server folders
    for line in ("Trained on\tblood.gct.gz", "Tissue\tWhole Blood: 30 samples (Whole Blood 30)",
                 "Gene filters\tmin_counts=50", "Genes\t150 kept of 300 (dropped: 90 by the filters)", "Seed\t0",
                 "genevec\t0.2.0, 2024-01-01 00:00 UTC"):
        assert line in about, line
    assert "Few samples (30): co-expression measured over so few samples is noisy" in about
    assert "How good are the neighbours?" in about and "a gene's 10 nearest genes share a set with it" in about
    assert "Training record\tnone: these vectors were not trained with genevec train" in about  # pancreas.txt
    assert "No training record: nothing is known of the samples behind these vectors." in about
    assert "Neighbour support (the Support column): 5 bootstrap refits, top 5." in about
    assert "Mixed tissues: Cells - Transformed fibroblasts" in about                        # the demo model
    page.locator("summary").first.click()                                                  # parameters, on demand
    assert "vector length (dim)\t16" in page.inner_text("#about")
    _wait_text(page, "#model_info", "Trained on: no training record")
    page.select_option("#model", "1")
    _wait_text(page, "#model_info", "Trained on: Whole Blood, 30 samples, from blood.gct.gz")
    _shot(page, "about", full_page=True)


def test_user_text_is_escaped(page, server):
    page.fill("#nb_filter", "<b>bold</b>")
    _wait_text(page, "#nb_caption", "containing '<b>bold</b>'")
    assert page.locator("#nb_caption b").count() == 0
    page.fill("#nb_filter", "")
    _pick(page, "gene", XSS)
    _wait_text(page, "#nb_caption", f"to {XSS}")
    page.fill("#nb_filter", "onerror")                       # the gene is listed in other genes' tables too
    _pick(page, "gene", "KRAS")
    _wait_text(page, "#nb_caption", "containing 'onerror' by cosine similarity to KRAS")
    _wait_first(page, "nb_table", XSS)
    assert _first_genes(page, "nb_table") == [XSS]
    assert page.evaluate("window.__xss") is None
    assert page.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert page.dialogs == []


# ------------------------------------------------------------------------------ a tissue collection
@pytest.fixture(scope="module")
def tissue_server(tmp_path_factory):
    """``genevec app FOLDER`` on a collection of the demo's detailed tissues (test_app.fit_collection)."""
    folder = tmp_path_factory.mktemp("app_tissues") / "collection"
    collection = fit_collection(folder)
    log = folder.parent / "server.log"
    with serve([folder], log, gene_sets=["go_bp"]) as srv:
        yield {"url": srv.url, "folder": folder, "collection": collection, "log": log}


@pytest.fixture
def tissue_page(browser, tissue_server):
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    pg.goto(tissue_server["url"])
    # none of KRAS, EGFR, TP53, PTEN is among these tissues' 300 genes: the picker waits for a gene
    _wait_text(pg, "#nb_notice", "Type a gene symbol in the box above to see its nearest genes.")
    yield pg
    context.close()


def _header(pg, table_id):
    pg.locator(f"#{table_id} thead th").first.wait_for()
    return pg.locator(f"#{table_id} thead th").all_inner_texts()


def test_collection_opens_with_a_tissue_selector_that_switches_every_tab(tissue_page, tissue_server):
    pg, tm = tissue_page, tissue_server["collection"]
    assert pg.inner_text("#model-label") == "Tissue"
    assert pg.eval_on_selector_all("#model option", "os => os.map(o => o.textContent)") == [FIBRO, BLADDER, SKIN]
    _wait_text(pg, "#model_info", f"Trained on: {FIBRO}, 13 samples")
    _pick(pg, "gene", "COL1A1")                                   # a gene of all three tissues
    _wait_text(pg, "#nb_caption", "to COL1A1 (of 299 other genes)")
    want = tm[FIBRO].neighbor_table("COL1A1", topn=5)["Gene"].tolist()
    _wait_first(pg, "nb_table", want[0])
    assert _first_genes(pg, "nb_table") == want
    _shot(pg, "tissue_neighbours")
    pg.select_option("#model", "1")                               # Bladder: the gene stays, the table is Bladder's
    _wait_text(pg, "#model_info", f"Trained on: {BLADDER}, 11 samples")
    want_b = tm[BLADDER].neighbor_table("COL1A1", topn=5)["Gene"].tolist()
    assert want_b != want
    _wait_first(pg, "nb_table", want_b[0])
    assert _first_genes(pg, "nb_table") == want_b and _value(pg, "gene") == "COL1A1"
    # the Map and About tabs show the chosen tissue too
    _open_map(pg, len(tm[BLADDER]))
    assert Path(tissue_server["folder"] / "bladder.txt.map.tsv").is_file()     # cached beside the tissue's file
    pg.click("a[data-value='about']")
    _wait_text(pg, "#about", f"Tissue: {BLADDER}")
    about = pg.inner_text("#about")
    assert "The collection: 3 tissues" in about and f"Tissue in the collection\t{BLADDER} (SMTSD), 11 samples" in about
    assert "Skin - Sun Exposed (Lower leg) (2 samples) was left out: 2 samples in the counts file" in about
    assert f"Tissue: {FIBRO}" not in about
    pg.select_option("#model", "2")
    _wait_text(pg, "#about", f"Tissue: {SKIN}")
    _shot(pg, "tissue_about", full_page=True)


def test_a_gene_the_tissue_lacks_keeps_its_name_and_the_tab_says_why(tissue_page, tissue_server):
    pg, tm = tissue_page, tissue_server["collection"]
    pg.select_option("#model", "1")
    _wait_text(pg, "#model_info", f"Trained on: {BLADDER}")
    _pick(pg, "gene", "CD74")                                     # in Bladder, not in the fibroblasts
    _wait_text(pg, "#nb_caption", "to CD74")
    pg.select_option("#model", "0")
    reason = absent_reason(tm[FIBRO].metadata, "CD74", len(tm[FIBRO]))
    _wait_text(pg, "#nb_notice", f"CD74 is not in tissue {FIBRO}: {reason}.")
    assert _value(pg, "gene") == "CD74" and pg.inner_text("#nb_caption") == "" and _disabled(pg, "nb_download")
    _shot(pg, "tissue_absent_gene")


def test_compare_tab_side_by_side_and_download(tissue_page, tissue_server):
    pg, tm = tissue_page, tissue_server["collection"]
    pg.click("a[data-value='compare']")
    _wait_text(pg, "#cmp_notice", "Type a gene symbol in the box above to see its nearest genes in each tissue.")
    assert _disabled(pg, "cmp_download")
    _pick(pg, "cmp_gene", "CD74")
    _wait_text(pg, "#cmp_caption", "The 10 nearest genes of CD74 in 2 tissues (cosine within each tissue); "
                                   "1 chosen tissue lacks it.")
    want = tm.compare("CD74", topn=10)
    reason = want.attrs["absent"][FIBRO]
    _wait_text(pg, "#cmp_notice", f"CD74 is not in tissue {FIBRO}: {reason}.")
    assert _header(pg, "cmp_table") == ["Rank", BLADDER, f"{BLADDER} cosine", SKIN, f"{SKIN} cosine"]
    _wait_first(pg, "cmp_table", want[(BLADDER, "gene")].iloc[0], col=2)
    rows = _rows(pg, "cmp_table", 10)
    assert [r[1] for r in rows] == want[(BLADDER, "gene")].tolist()
    assert [r[3] for r in rows] == want[(SKIN, "gene")].tolist()
    assert [float(r[4]) for r in rows] == pytest.approx(want[(SKIN, "cosine")].tolist(), abs=1e-4)
    _shot(pg, "compare", full_page=True)
    pg.wait_for_function("() => !document.getElementById('cmp_download').classList.contains('disabled')")
    with pg.expect_download() as dl:
        pg.click("#cmp_download")
    assert dl.value.suggested_filename == "CD74_tissues.csv"
    got = pd.read_csv(dl.value.path(), keep_default_na=False)
    assert got.columns.tolist() == ["Rank", BLADDER, f"{BLADDER} cosine", SKIN, f"{SKIN} cosine"]
    assert got[SKIN].tolist() == want[(SKIN, "gene")].tolist()
    np.testing.assert_allclose(got[f"{BLADDER} cosine"], want[(BLADDER, "cosine")], rtol=1e-5)
    # fewer neighbours, fewer tissues
    pg.fill("#cmp_topn", "3")
    _wait_text(pg, "#cmp_caption", "The 3 nearest genes of CD74 in 2 tissues")
    pg.locator(f"#cmp_tissues + .selectize-control .item[data-value='{BLADDER}'] .remove").click()
    _wait_text(pg, "#cmp_caption", "The 3 nearest genes of CD74 in 1 tissue (cosine within each tissue); 1 chosen "
                                   "tissue lacks it.")
    assert _header(pg, "cmp_table") == ["Rank", SKIN, f"{SKIN} cosine"]


def test_compare_tab_says_when_no_chosen_tissue_has_the_gene(tissue_page, tissue_server):
    pg = tissue_page
    pg.click("a[data-value='compare']")
    _pick(pg, "cmp_gene", "ANXA1")                                # only in the fibroblasts
    _wait_text(pg, "#cmp_caption", "The 10 nearest genes of ANXA1 in 1 tissue")
    pg.locator(f"#cmp_tissues + .selectize-control .item[data-value='{FIBRO}'] .remove").click()
    _wait_text(pg, "#cmp_notice", f"'ANXA1' has no vector in any of {BLADDER}, {SKIN}.")
    pg.wait_for_function("() => document.getElementById('cmp_caption').textContent === ''")
    pg.wait_for_function("() => document.getElementById('cmp_download').classList.contains('disabled')")
    assert pg.locator("#cmp_table tbody tr").count() == 0
    _shot(pg, "compare_absent_everywhere")


def test_shift_table_download_and_same_tissue_twice(tissue_page, tissue_server):
    pg, tm = tissue_page, tissue_server["collection"]
    pg.click("a[data-value='compare']")
    full = tm.shifts(FIBRO, BLADDER, top=None)
    n_shifted = int(full["shifted"].sum())
    _wait_text(pg, "#sh_caption", f"{FIBRO} vs {BLADDER}: 165 shared genes, most shifted first; {n_shifted} shifted "
                                  "at q < 0.05. Showing 50 of 165; the CSV holds all.")
    assert _header(pg, "sh_table") == ["Gene", "Score", "Q", "Shifted", "Jaccard", "Expected Jaccard", "Cosine",
                                       f"Neighbours in {FIBRO}", f"Neighbours in {BLADDER}"]
    _wait_first(pg, "sh_table", full["gene"].iloc[0])
    rows = _rows(pg, "sh_table", 5)
    assert [r[0] for r in rows] == full["gene"].tolist()[:5]
    assert [float(r[1]) for r in rows] == pytest.approx(full["score"].round(2).tolist()[:5], abs=1e-9)
    assert [r[7] for r in rows] == full["neighbours_a"].tolist()[:5]
    pg.locator("#sh_table").scroll_into_view_if_needed()
    _shot(pg, "shifts")
    pg.wait_for_function("() => !document.getElementById('sh_download').classList.contains('disabled')")
    with pg.expect_download() as dl:
        pg.click("#sh_download")
    got = pd.read_csv(dl.value.path(), keep_default_na=False)
    assert len(got) == 165 and got["Gene"].tolist() == full["gene"].tolist()
    assert got.columns.tolist()[:8] == ["Gene", "Score", "P", "Q", "Shifted", "Jaccard", "Expected Jaccard", "Cosine"]
    np.testing.assert_allclose(got["Jaccard"], full["jaccard"], rtol=1e-5)
    # the same tissue twice: a sentence, no table, no download
    pg.select_option("#sh_b", FIBRO)
    _wait_text(pg, "#sh_notice", f"Tissue A and tissue B are both {FIBRO}: choose two different tissues to see "
                                 "which genes change neighbours.")
    pg.wait_for_function("() => document.getElementById('sh_download').classList.contains('disabled')")
    assert pg.inner_text("#sh_caption") == "" and pg.locator("#sh_table tbody tr").count() == 0
    _shot(pg, "shifts_same_tissue")
    pg.select_option("#sh_b", SKIN)                               # another pair: recomputed
    want = tm.shifts(FIBRO, SKIN, top=3)["gene"].tolist()
    _wait_text(pg, "#sh_caption", f"{FIBRO} vs {SKIN}: ")
    _wait_first(pg, "sh_table", want[0])
    assert _first_genes(pg, "sh_table", 3) == want


def test_zz_the_tissue_server_log_holds_no_error(tissue_server):
    log = Path(tissue_server["log"]).read_text()
    for bad in ("Traceback", "SilentException", " 500", "Error"):
        assert bad not in log, log[-3000:]


def test_zz_the_server_log_holds_no_error(server):
    """Run last (file order): everything above left no traceback, 500 or SilentException in the server's log."""
    log = Path(server["log"]).read_text()
    for bad in ("Traceback", "SilentException", " 500", "Error"):
        assert bad not in log, log[-3000:]
