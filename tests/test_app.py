"""The app's logic without a browser: model cache, tables, map cache, SVG escaping, app creation."""

import os
import sys
import time

import numpy as np
import pandas as pd
import pytest

import genevec.plot as gp
from genevec import GeneVectors, load_vectors
from genevec.app import _data as d
from genevec.app import create_app, run_app

XSS = "<img/src=x/onerror=alert(1)>"


def write_vectors(path, n=40, dim=8, seed=0, metadata=None, extra=("KRAS", "BRCA1", "BRCA2", "TP53")):
    rng = np.random.default_rng(seed)
    genes = list(extra) + [f"G{i}" for i in range(n - len(extra))]
    GeneVectors(rng.normal(size=(n, dim)), genes, metadata=metadata).save(path)
    return str(path)


@pytest.fixture
def vec_path(tmp_path):
    return write_vectors(tmp_path / "pancreas.txt", metadata={"dim": 8, "x_max": 100, "learning_rate": 0.05})


def test_model_loaded_once_and_reloaded_when_changed(vec_path):
    a = d.load_model(vec_path)
    assert d.load_model(vec_path) is a
    assert d.load_model(os.path.join(os.path.dirname(vec_path), ".", "pancreas.txt")) is a   # same real path
    write_vectors(vec_path, n=30, seed=1)
    st = os.stat(vec_path)
    os.utime(vec_path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    b = d.load_model(vec_path)
    assert b is not a and len(b) == 30


def test_missing_model_message(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"vectors file '.*nope.txt' does not exist.*genevec demo"):
        d.load_model(tmp_path / "nope.txt")
    with pytest.raises(FileNotFoundError, match=r"nope.txt' does not exist"):
        create_app([str(tmp_path / "nope.txt")])
    with pytest.raises(ValueError, match=r"at least one vectors file"):
        d.load_models([])


def test_model_labels_unique():
    assert d.model_labels(["x/a.txt", "y/b.txt"]) == ["a.txt", "b.txt"]
    assert d.model_labels(["x/a.txt", "y/a.txt"]) == ["x/a.txt", "y/a.txt"]
    assert d.model_labels(["x/a.txt", "x/a.txt"]) == ["a.txt", "a.txt (2)"]


def test_neighbours_table_is_genevectors(vec_path):
    gv = load_vectors(vec_path)
    t = d.neighbours(gv, "KRAS")
    pd.testing.assert_frame_equal(t, gv.neighbor_table("KRAS"))
    assert len(t) == len(gv) - 1 and "KRAS" not in t["Gene"].tolist()
    assert (np.diff(t["Similarity"].to_numpy()) <= 0).all()
    f = d.neighbours(gv, "KRAS", " g1")                     # trimmed, case-insensitive, literal
    assert f["Gene"].tolist() == [g for g in t["Gene"] if "g1" in g.lower()]
    assert d.neighbours(gv, "KRAS", "[").empty               # not a regex
    assert d.default_gene(gv) == "KRAS"
    assert d.default_gene(GeneVectors(np.eye(2), ["X", "Y"])) == "X"


def genes_of(gv):
    return list(gv.genes)


def test_search_genes_is_what_a_picker_lists(vec_path):
    gv = load_vectors(vec_path)
    genes = gv.genes
    assert d.search_genes(gv, "") == genes                                    # every gene, in model order
    assert d.search_genes(gv, " G1 ") == [g for g in genes if "g1" in g.lower()]
    assert d.search_genes(gv, "g1", limit=3, selected=["KRAS"]) == ["G1", "G10", "G11", "KRAS"]
    assert d.search_genes(gv, "g1", selected=["G1", "NOPE", 7]) == [g for g in genes if "g1" in g.lower()][1:] + ["G1"]
    assert d.search_genes(gv, "brca 2") == ["BRCA2"]                          # every word
    assert d.search_genes(gv, "brca 2", any_word=True) == [g for g in genes if "brca" in g.lower() or "2" in g]
    assert d.search_genes(gv, "[", limit=0) == []                             # literal, not a regex
    assert d._index_of(gv) is d._index_of(gv)                                 # one index per model, shared
    odd = GeneVectors(np.eye(5), ["aXa", "a\x00b", "AAA", "b", "xa"])          # the separator in a name
    assert d.search_genes(odd, "a") == ["aXa", "a\x00b", "AAA", "xa"] and d.search_genes(odd, "aa") == ["AAA"]
    assert d.search_genes(odd, "a\x00b") == ["a\x00b"] and d.search_genes(odd, "ab") == []
    plain = GeneVectors(np.eye(4), ["aaa", "xaa", "ab", "b"])
    assert d.search_genes(plain, "aa") == ["aaa", "xaa"] and d.search_genes(plain, "b") == ["ab", "b"]
    assert d.search_genes(plain, "aa b") == [] and d.search_genes(plain, "xa aa b", any_word=True) == genes_of(plain)


def test_rows_note():
    assert d.rows_note(200, 25_320) == "showing 200 of 25,320; filter or download for the rest"
    assert d.rows_note(200, 1_688, rest="download for the rest") == "showing 200 of 1,688; download for the rest"
    assert d.rows_note(200, 200) == "" and d.rows_note(150, 150) == ""


def test_analogy_modes(vec_path):
    gv = load_vectors(vec_path)
    g = d.analogy(gv, "BRCA1", "BRCA2", "TP53")
    assert list(g.columns) == ["Rank", "Gene", "Similarity"] and g["Rank"].tolist() == list(range(1, 21))
    assert g["Gene"].tolist() == [x for x, _ in gv.analogy("BRCA1", "BRCA2", "TP53", topn=20)]
    assert not {"BRCA1", "BRCA2", "TP53"} & set(g["Gene"])
    o = d.analogy(gv, "BRCA1", "BRCA2", "TP53", mode="original")
    assert o["Gene"].tolist() == [x for x, _ in gv.analogy("BRCA1", "BRCA2", "TP53", topn=20, mode="original")]
    assert {"BRCA1", "TP53"} <= set(o["Gene"])                # the original app keeps the inputs
    with pytest.raises(ValueError, match=r"analogy mode must be one of 'gensim', 'original', got 'cosmul'"):
        d.analogy(gv, "BRCA1", "BRCA2", "TP53", mode="cosmul")


def test_csv_and_filenames(vec_path):
    gv = load_vectors(vec_path)
    t = d.neighbours(gv, "KRAS")
    back = pd.read_csv(pd.io.common.StringIO(d.to_csv(t)))
    assert back["Gene"].tolist() == t["Gene"].tolist()
    np.testing.assert_allclose(back["Similarity"], t["Similarity"], rtol=1e-5)
    assert d.for_display(t)["Similarity"].tolist() == t["Similarity"].round(4).tolist()
    assert d.safe_filename(XSS, "neighbours.csv") == "img_src_x_onerror_alert_1_neighbours.csv"
    assert d.safe_filename("../../etc/passwd") == "etc_passwd"


def test_map_computed_once_and_cached_beside_vectors(vec_path, monkeypatch):
    d._maps.clear()
    model = d.load_models([vec_path])[0]
    calls = []
    real = gp.gene_map
    monkeypatch.setattr(gp, "gene_map", lambda *a, **k: calls.append(k) or real(*a, **k))
    m = d.get_map(model)
    cache = vec_path + ".map.tsv"
    assert os.path.isfile(cache) and len(calls) == 1
    assert m["gene"].tolist() == model.vectors.genes
    assert calls[0]["n_clusters"] == 15 and calls[0]["perplexity"] == 13.0    # (40 - 1) / 3
    assert d.get_map(model) is m and len(calls) == 1                           # memory
    d._maps.clear()
    pd.testing.assert_frame_equal(d.get_map(model), gp.read_gene_map(cache))  # disk, no recompute
    assert len(calls) == 1
    # A cache listing other genes is recomputed.
    d._maps.clear()
    gp.write_map_table(m.iloc[:-1], cache)
    d.get_map(model)
    assert len(calls) == 2


def test_stale_map_cache_is_recomputed(vec_path, monkeypatch):
    d._maps.clear()
    model = d.load_models([vec_path])[0]
    cache = vec_path + ".map.tsv"
    stale = pd.DataFrame({"gene": model.vectors.genes, "x": 0.0, "y": 0.0, "cluster": 1})
    gp.write_map_table(stale, cache)
    st = os.stat(vec_path)
    os.utime(cache, ns=(st.st_atime_ns, st.st_mtime_ns - 10**9))            # older than the vectors
    monkeypatch.setattr(gp, "gene_map", lambda *a, **k: stale.assign(cluster=2))
    assert set(d.get_map(model)["cluster"]) == {2}


def test_map_svg_escapes_and_draws_every_gene():
    m = pd.DataFrame({"gene": [XSS, "A&B", "C"], "x": [0.0, 1, 2], "y": [0.0, 2, 1], "cluster": [1, 2, 2]})
    svg = d.map_svg(m)
    assert svg.count("<circle") == 3 and svg.count("<title>") == 3
    assert "<img" not in svg and "&lt;img/src=x/onerror=alert(1)&gt;" in svg and "A&amp;B" in svg
    assert svg.count('<g fill="') == 2
    over = d.map_overlay_svg(m, XSS, ["A&B", "missing"])
    assert "<img" not in over and over.count("<circle") == 2 and over.count("<text") == 2
    assert over.index("A&amp;B") < over.index("&lt;img")                     # focus drawn last, on top
    assert d.map_overlay_svg(m, None).count("<circle") == 0
    xs = [float(s.split('"')[1]) for s in svg.split("cx=")[1:]]
    assert min(xs) == pytest.approx(d.MAP_PAD) and max(xs) <= d.MAP_WIDTH - d.MAP_PAD + 1e-6


def test_clusters_and_about(vec_path):
    m = pd.DataFrame({"gene": list("ABCDE"), "x": 0.0, "y": 0.0, "cluster": [1, 1, 2, 1, 3]})
    s = d.cluster_summary(m, show=2)
    assert s.to_dict("list") == {"Cluster": [1, 2, 3], "Genes": [3, 1, 1], "Examples": ["A, B, ...", "C", "E"]}
    assert d.cluster_table(m, 1)["Gene"].tolist() == ["A", "B", "D"]
    info = d.about(d.load_models([vec_path]))[0]
    assert (info["label"], info["genes"], info["dim"]) == ("pancreas.txt", 40, 8)
    assert info["parameters"] == {"dim": 8, "learning_rate": 0.05, "x_max": 100}
    assert info["quality"] is None and info["support"] is None


def test_about_shows_a_stored_quality_report(tmp_path):
    from genevec import evaluate

    gv = load_vectors(write_vectors(tmp_path / "v.txt"))
    sets = {"a": gv.genes[:10], "b": gv.genes[10:20]}
    report = evaluate(gv, gene_sets=sets)
    GeneVectors(gv.vectors, gv.genes, metadata={"dim": 8, "quality": report.to_dict()}).save(tmp_path / "q.txt")
    info = d.about(d.load_models([str(tmp_path / "q.txt")]))[0]
    assert info["parameters"] == {"dim": 8}  # the report is shown as a report, not as a parameter
    assert info["quality"]["verdicts"] == report.verdicts()
    row = info["quality"]["rows"][0]
    assert row["Collection"] == "custom" and row["Method"] == "these vectors"
    assert row["Precision@10"] == round(float(report.table.iloc[0]["precision"]), 3)
    assert d.quality_summary({"broken": True}) is None


def test_create_app_and_run_app_checks(vec_path, tmp_path):
    other = write_vectors(tmp_path / "blood.txt", n=20, seed=3)
    app = create_app([vec_path, other])
    assert type(app).__name__ == "App"
    page = str(app.ui["html"]) if isinstance(app.ui, dict) else ""
    assert "pancreas.txt" in page and "blood.txt" in page       # the model selector
    assert "as ? is to" in page and "Download CSV" in page
    with pytest.raises(ValueError, match=r"port must be an int in 1..65535, got 0"):
        run_app([vec_path], port=0)


def test_missing_shiny_gives_install_hint(vec_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "shiny", None)
    with pytest.raises(ImportError, match=r'pip install "genevec\[app\]"'):
        create_app([vec_path])


def test_neighbours_query_on_25k_genes_is_fast():
    rng = np.random.default_rng(0)
    genes = ["KRAS"] + [f"G{i}" for i in range(25320)]
    gv = GeneVectors(rng.normal(size=(25321, 100)).astype(np.float32), genes)
    gv.neighbor_table("G1")                                  # builds the unit vectors once, as the app's first query
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        table = d.for_display(d.neighbours(gv, "KRAS", ""))
        table.to_json(orient="values")                       # what the data grid sends
        best = min(best, time.perf_counter() - t0)
    assert len(table) == 25320
    assert best < 1.0, f"a neighbours query over 25,321 genes took {best:.2f} s"
