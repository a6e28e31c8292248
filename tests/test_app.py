"""The app's logic without a browser: model cache, tables, map cache, About, app creation (the SVG: test_app_svg.py)."""

import io
import os
import sys
import time

import numpy as np
import pandas as pd
import pytest

import genevec.maps as gm
from genevec import GeneVectors, load_vectors
from genevec.app import _about as ab
from genevec.app import _data as d
from genevec.app._cache import CACHE
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
    pd.testing.assert_frame_equal(t.drop(columns="Name"), gv.neighbor_table("KRAS"))
    assert list(t.columns) == ["Gene", "Name", "Similarity"]
    assert t.set_index("Gene").loc["TP53", "Name"] == "tumor protein p53" and t.set_index("Gene").loc["G3", "Name"] == ""
    assert len(t) == len(gv) - 1 and "KRAS" not in t["Gene"].tolist()
    assert (np.diff(t["Similarity"].to_numpy()) <= 0).all()
    f = d.neighbours(gv, "KRAS", " g1")                     # trimmed, case-insensitive, literal
    assert f["Gene"].tolist() == [g for g in t["Gene"] if "g1" in g.lower()]
    assert d.neighbours(gv, "KRAS", "g1", topn=2)["Gene"].tolist() == f["Gene"].tolist()[:2]
    pd.testing.assert_frame_equal(d.neighbours(gv, "KRAS", topn=5), t.iloc[:5])
    assert d.neighbours(gv, "KRAS", "[").empty               # not a regex
    assert d.default_gene(gv) == "KRAS"
    assert d.default_gene(GeneVectors(np.eye(3), ["X", "TP53", "Y"])) == "TP53"   # a query gene, never "the first"
    assert d.default_gene(GeneVectors(np.eye(2), ["X", "Y"])) == ""                # none: the picker stays empty


def genes_of(gv):
    return list(gv.genes)


def test_search_genes_is_what_a_picker_lists(vec_path):
    gv = load_vectors(vec_path)
    genes = sorted(gv.genes, key=d.natural_key)                                # what the picker lists, in order
    assert genes[:6] == ["BRCA1", "BRCA2", "G0", "G1", "G2", "G3"] and genes[-1] == "TP53"
    assert d.search_genes(gv, "") == genes                                    # every gene, sorted
    assert d.search_genes(gv, " G1 ") == [g for g in genes if "g1" in g.lower()]
    assert d.search_genes(gv, "g1", limit=3, selected=["KRAS"]) == ["G1", "G10", "G11", "KRAS"]
    assert d.search_genes(gv, "g1", selected=["G1", "NOPE", 7]) == [g for g in genes if "g1" in g.lower()][1:] + [
        "G1", "NOPE"]                                                         # a gene the model lacks keeps its name
    assert d.search_genes(gv, "brca 2") == ["BRCA2"]                          # every word
    assert d.search_genes(gv, "brca 2", any_word=True) == ["BRCA1", "BRCA2"] + [
        g for g in genes if "2" in g and "brca" not in g.lower()]              # prefix of the first word first
    assert d.search_genes(gv, "[", limit=0) == []                             # literal, not a regex
    assert d.search_genes(gv, "2")[:4] == ["BRCA2", "G2", "G12", "G20"]       # no gene starts with 2: natural order
    assert d.search_genes(gv, "s") == ["KRAS"] and d.search_genes(gv, "p5") == ["TP53"]
    assert d._index_of(gv) is d._index_of(gv)                                 # one index per model, shared
    odd = GeneVectors(np.eye(5), ["aXa", "a\x00b", "AAA", "b", "xa"])          # the separator in a name
    assert d.search_genes(odd, "a") == ["a\x00b", "AAA", "aXa", "xa"] and d.search_genes(odd, "aa") == ["AAA"]
    assert d.search_genes(odd, "a\x00b") == ["a\x00b"] and d.search_genes(odd, "ab") == []
    plain = GeneVectors(np.eye(4), ["xaa", "aaa", "ab", "b"])
    assert d.search_genes(plain, "aa") == ["aaa", "xaa"] and d.search_genes(plain, "b") == ["b", "ab"]
    assert d.search_genes(plain, "aa b") == [] and d.search_genes(plain, "xa aa b", any_word=True) == ["xaa", "aaa",
                                                                                                       "ab", "b"]
    assert d.picker_options(plain, ["b", "nope"]) == [{"label": "b", "value": "b", "rank": 2},
                                                      {"label": "nope", "value": "nope", "rank": -1}]


def test_natural_order_reads_numbers_as_numbers():
    genes = ["RPL10", "RPL3", "rpl10a", "RPL10A", "A2M", "HLA-DRB1", "HLA-A", "MT-ND2", "G100", "G20"]
    assert sorted(genes, key=d.natural_key) == ["A2M", "G20", "G100", "HLA-A", "HLA-DRB1", "MT-ND2", "RPL3", "RPL10",
                                                "RPL10A", "rpl10a"]


def test_rows_note():
    assert d.rows_note(200, 25_320) == "showing 200 of 25,320; filter or download for the rest"
    assert d.rows_note(200, 1_688, rest="download for the rest") == "showing 200 of 1,688; download for the rest"
    assert d.rows_note(200, 200) == "" and d.rows_note(150, 150) == ""


def test_analogy_modes(vec_path):
    gv = load_vectors(vec_path)
    g = d.analogy(gv, "BRCA1", "BRCA2", "TP53")
    assert list(g.columns) == ["Rank", "Gene", "Name", "Similarity"] and g["Rank"].tolist() == list(range(1, 38))
    assert g["Gene"].tolist() == [x for x, _ in gv.analogy("BRCA1", "BRCA2", "TP53", topn=40)]   # every answer
    np.testing.assert_allclose(g["Similarity"], [v for _, v in gv.analogy("BRCA1", "BRCA2", "TP53", topn=40)])
    assert not {"BRCA1", "BRCA2", "TP53"} & set(g["Gene"])
    f = d.analogy(gv, "BRCA1", "BRCA2", "TP53", text="g1")   # filtered: the rank stays the rank among all
    assert f["Gene"].tolist() == [x for x in g["Gene"] if "g1" in x.lower()]
    assert f["Rank"].tolist() == [g["Gene"].tolist().index(x) + 1 for x in f["Gene"]]
    o = d.analogy(gv, "BRCA1", "BRCA2", "TP53", mode="original")
    assert o["Gene"].tolist() == [x for x, _ in gv.analogy("BRCA1", "BRCA2", "TP53", topn=40, mode="original")]
    assert {"BRCA1", "TP53"} <= set(o["Gene"]) and len(o) == 40   # the original app keeps the inputs
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
    CACHE.clear()
    model = d.load_models([vec_path])[0]
    calls = []
    real = gm.gene_map
    monkeypatch.setattr(gm, "gene_map", lambda *a, **k: calls.append(k) or real(*a, **k))
    m = d.get_map(model)
    cache = vec_path + ".map.tsv"
    assert os.path.isfile(cache) and len(calls) == 1
    assert m["gene"].tolist() == model.vectors.genes
    assert calls[0]["n_clusters"] == 15 and calls[0]["perplexity"] == 13.0    # (40 - 1) / 3
    assert d.get_map(model) is m and len(calls) == 1                           # memory
    CACHE.clear()
    pd.testing.assert_frame_equal(d.get_map(model), gm.read_gene_map(cache))  # disk, no recompute
    assert len(calls) == 1
    # A cache listing other genes is recomputed.
    CACHE.clear()
    gm.write_map_table(m.iloc[:-1], cache)
    d.get_map(model)
    assert len(calls) == 2


def test_stale_map_cache_is_recomputed(vec_path, monkeypatch):
    CACHE.clear()
    model = d.load_models([vec_path])[0]
    cache = vec_path + ".map.tsv"
    stale = pd.DataFrame({"gene": model.vectors.genes, "x": 0.0, "y": 0.0, "cluster": 1})
    gm.write_map_table(stale, cache)
    st = os.stat(vec_path)
    os.utime(cache, ns=(st.st_atime_ns, st.st_mtime_ns - 10**9))            # older than the vectors
    monkeypatch.setattr(gm, "gene_map", lambda *a, **k: stale.assign(cluster=2))
    assert set(d.get_map(model)["cluster"]) == {2}


def _map_of_first_column(gv, **_):
    """A stand-in for maps.model_map whose map shows which vectors it was computed from (x = first column)."""
    return pd.DataFrame({"gene": gv.genes, "x": gv.vectors[:, 0].astype(np.float64), "y": 0.0, "cluster": 1})


def _replace_on_disk(path, seed):
    """What a retrain does while the app serves: new vectors for the same genes, a later mtime."""
    write_vectors(path, seed=seed)
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))


def test_a_served_model_keeps_its_map_when_its_file_changes(vec_path, monkeypatch):
    """The map is of the vectors the app serves: the file changing on disk neither recomputes it from
    the served (old) vectors nor saves that map beside the new file, where a restart would take it."""
    CACHE.clear()
    calls = []
    monkeypatch.setattr(gm, "model_map", lambda gv, **k: calls.append(gv) or _map_of_first_column(gv))
    model = d.load_models([vec_path])[0]
    cache = vec_path + ".map.tsv"
    m = d.get_map(model)
    assert len(calls) == 1 and os.path.isfile(cache)
    _replace_on_disk(vec_path, seed=1)
    os.remove(cache)
    assert d.map_cached(model) and d.get_map(model) is m and len(calls) == 1    # still the served vectors' map
    assert not os.path.isfile(cache)
    CACHE.clear()                                            # the entry gone (e.g. clear()): recomputed, kept in memory
    again = d.get_map(model)
    assert len(calls) == 2 and calls[1] is model.vectors and not os.path.isfile(cache)
    np.testing.assert_allclose(again["x"], model.vectors.vectors[:, 0])       # the served vectors' map, unrounded
    # a restart serves the new vectors, and computes and saves their map
    new = d.load_models([vec_path])[0]
    assert new.vectors is not model.vectors and not d.map_cached(new)
    np.testing.assert_allclose(d.get_map(new)["x"], new.vectors.vectors[:, 0])
    np.testing.assert_allclose(gm.read_gene_map(cache)["x"], new.vectors.vectors[:, 0], rtol=1e-5)   # TSV: 6 digits
    assert len(calls) == 3 and calls[2] is new.vectors and os.path.isfile(cache)


def test_a_served_model_never_reads_the_map_saved_for_a_newer_file(vec_path, monkeypatch):
    """`genevec train --map` rewrote the vectors and their map while the app serves the old vectors:
    the old vectors' map is computed, not read from the new vectors' TSV (same genes, other map)."""
    CACHE.clear()
    model = d.load_models([vec_path])[0]
    _replace_on_disk(vec_path, seed=1)
    cache = vec_path + ".map.tsv"
    gm.write_map_table(_map_of_first_column(load_vectors(vec_path)), cache)
    st = os.stat(vec_path)
    os.utime(cache, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))                # newer than the new vectors
    assert not d.map_cached(model)
    monkeypatch.setattr(gm, "model_map", lambda gv, **k: _map_of_first_column(gv))
    np.testing.assert_allclose(d.get_map(model)["x"], model.vectors.vectors[:, 0])
    np.testing.assert_allclose(gm.read_gene_map(cache)["x"], load_vectors(vec_path).vectors[:, 0],
                               rtol=1e-5)                                        # the new vectors' TSV left alone


def test_a_map_is_not_saved_beside_a_file_that_changed_while_it_was_computed(vec_path, monkeypatch):
    CACHE.clear()
    model = d.load_models([vec_path])[0]

    def retrained_meanwhile(gv, **_):
        _replace_on_disk(vec_path, seed=1)
        return _map_of_first_column(gv)

    monkeypatch.setattr(gm, "model_map", retrained_meanwhile)
    np.testing.assert_allclose(d.get_map(model)["x"], model.vectors.vectors[:, 0])
    assert not os.path.isfile(vec_path + ".map.tsv") and d.map_cached(model)      # in memory only


def test_clusters_and_about(vec_path):
    m = pd.DataFrame({"gene": list("ABCDE"), "x": 0.0, "y": 0.0, "cluster": [1, 1, 2, 1, 3]})
    s = d.cluster_summary(m, show=2)
    assert s.to_dict("list") == {"Cluster": [1, 2, 3], "Genes": [3, 1, 1], "Examples": ["A, B, ...", "C", "E"]}
    assert d.cluster_table(m, 1)["Gene"].tolist() == ["A", "B", "D"]
    info = ab.about(d.load_models([vec_path]))[0]
    assert (info["label"], info["file"], info["genes"], info["dim"]) == ("pancreas.txt", "pancreas.txt", 40, 8)
    assert os.sep not in info["file"] and vec_path not in str(info)           # never the server's folders
    assert info["parameters"] == [("vector length (dim)", "8"), ("co-occurrence cap (x_max)", "100"),
                                  ("learning rate", "0.05")]
    assert info["provenance"] == [("Training record", "none: these vectors were not trained with genevec train "
                                                      "(or by an older genevec)")]
    assert info["guidance"][0].startswith("No training record")
    assert info["quality"] is None and info["support"] is None


def test_about_shows_a_stored_quality_report(tmp_path):
    from genevec import evaluate

    gv = load_vectors(write_vectors(tmp_path / "v.txt"))
    sets = {"a": gv.genes[:10], "b": gv.genes[10:20]}
    report = evaluate(gv, gene_sets=sets)
    GeneVectors(gv.vectors, gv.genes, metadata={"dim": 8, "quality": report.to_dict()}).save(tmp_path / "q.txt")
    info = ab.about(d.load_models([str(tmp_path / "q.txt")]))[0]
    assert info["parameters"] == [("vector length (dim)", "8")]  # the report is shown as a report, not a parameter
    assert info["quality"]["verdicts"] == report.verdicts()
    row = info["quality"]["rows"][0]
    assert row["Collection"] == "custom" and row["Method"] == "these vectors"
    assert row["Precision@10"] == round(float(report.table.iloc[0]["precision"]), 3)
    assert ab.quality_summary({"broken": True}) is None


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


def test_neighbours_query_on_25k_genes_does_the_bare_computation_once(capsys, monkeypatch):
    """The app's neighbours table over 25,321 genes is the bare computation (scores, one sort, a two-column
    frame to JSON) done once: the same genes in the same order, the same scores, one scoring and one ranking
    of the genes per query. The times of both are printed, not asserted (speed: benchmarks/)."""
    import genevec.similarity as sim

    rng = np.random.default_rng(0)
    genes = ["KRAS"] + [f"G{i}" for i in range(25320)]
    gv = GeneVectors(rng.normal(size=(25321, 100)).astype(np.float32), genes)
    gv.neighbor_table("G1")                                  # builds the unit vectors once, as the app's first query
    names = np.asarray(genes, dtype=object)

    def app():
        table = d.for_display(d.neighbours(gv, "KRAS", ""))
        table.to_json(orient="values")                       # what the data grid sends
        return table

    def bare():
        scores = gv.most_similar("KRAS", topn=None)
        order = np.argsort(-scores, kind="stable")[1:]
        frame = pd.DataFrame({"Gene": names[order], "Similarity": scores[order]})
        frame.to_json(orient="values")
        return frame

    work = {"scored": 0, "ranked": 0}
    cosines, top = GeneVectors._cosines, sim._top_indices
    monkeypatch.setattr(GeneVectors, "_cosines", lambda self, q: work.__setitem__("scored", work["scored"] + 1)
                        or cosines(self, q))
    monkeypatch.setattr(sim, "_top_indices", lambda *a: work.__setitem__("ranked", work["ranked"] + 1) or top(*a))
    table = app()
    assert work == {"scored": 1, "ranked": 1}
    monkeypatch.undo()
    want = bare()
    assert len(table) == 25320 and table["Gene"].tolist() == want["Gene"].tolist()
    np.testing.assert_array_equal(table["Similarity"], want["Similarity"].astype(np.float64).round(4))

    best = {"app": np.inf, "bare": np.inf}
    for _ in range(3):                                       # alternated, so both see the same load
        for name, run in (("app", app), ("bare", bare)):
            t0 = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - t0)
    with capsys.disabled():
        print(f"\nneighbours over 25,321 genes: app {best['app']:.3f} s, bare {best['bare']:.3f} s "
              f"({best['app'] / best['bare']:.1f}x)")


def test_notices_for_repeated_and_absent_genes(tmp_path):
    assert d.analogy_notice("A", "B", "C") == ""
    assert d.analogy_notice("A", "A", "C").startswith("A and B are both A, so A - B + C is just C")
    assert d.analogy_notice("A", "B", "B").startswith("B and C are both B, so A - B + C is just A")
    assert d.analogy_notice("A", "B", "A") == "A and C are both A: the answers are the genes closest to 2 x A - B."
    assert d.analogy_notice("A", "A", "A").startswith("A, B and C are all A")
    path = write_vectors(tmp_path / "blood.txt", metadata={"provenance": {
        "counts_file": "blood.gct.gz", "filters": {"min_counts": 50}, "dropped_by_filters": "EGFR PTEN"}})
    model = d.load_models([path])[0]
    assert d.absent_notice(model, "EGFR") == "EGFR is not in model blood.txt: filtered out at training (min_counts=50)."
    assert d.absent_notice(model, "BRCA3") == ("BRCA3 is not in model blood.txt: not in the training data "
                                               "(blood.gct.gz). Close symbols in it: 'BRCA2', 'BRCA1'.")


def test_train_map_cache_is_what_the_app_shows(vec_path, monkeypatch):
    """`genevec train --map` writes the map the app would compute, so the app reads it and computes nothing."""
    from genevec.cli import _write_model_map

    CACHE.clear()
    _write_model_map(load_vectors(vec_path), vec_path, None, True, io.StringIO())
    monkeypatch.setattr(gm, "gene_map", lambda *a, **k: pytest.fail("the app recomputed a cached map"))
    model = d.load_models([vec_path])[0]
    m = d.get_map(model)
    assert m["gene"].tolist() == model.vectors.genes and m["cluster"].nunique() == 15


# ------------------------------------------------------------------------------ tissue collections
def fit_collection(folder):
    """The demo's detailed tissues, each with its own 300 most expressed genes (genes="union"), written to
    ``folder``: Cells - Transformed fibroblasts (13 samples), Bladder (11), Skin - Not Sun Exposed
    (Suprapubic) (5); Skin - Sun Exposed (Lower leg) (2 samples) is left out. A gene can be in one
    tissue and not another (CD74: not in the fibroblasts; ANXA1: only in them; COL1A1: in all three)."""
    import genevec
    from genevec.datasets import demo_paths

    return genevec.fit_tissues(*demo_paths(), level="SMTSD", min_samples=4, genes="union", top_genes=300,
                               n_splits=2, output=folder)


FIBRO, BLADDER, SKIN = "Cells - Transformed fibroblasts", "Bladder", "Skin - Not Sun Exposed (Suprapubic)"


@pytest.fixture(scope="module")
def collection_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tissues") / "collection"
    fit_collection(folder)
    return folder


@pytest.fixture(scope="module")
def collection(collection_dir):
    from genevec import load_tissues

    return load_tissues(collection_dir)


def test_a_collection_folder_is_served_as_one_model_per_tissue(collection_dir, collection):
    from genevec.app._ui import build_ui

    assert collection.tissues == [FIBRO, BLADDER, SKIN]
    models, served = d.load_served(collection_dir)
    assert served.tissues == collection.tissues and [m.label for m in models] == collection.tissues
    assert {m.kind for m in models} == {"tissue"}
    assert [os.path.basename(m.path) for m in models] == ["cells_transformed_fibroblasts.txt", "bladder.txt",
                                                          "skin_not_sun_exposed_suprapubic.txt"]
    for m in models:                                           # the aligned vectors of each tissue, as loaded
        np.testing.assert_array_equal(m.vectors.vectors, collection[m.label].vectors)
        st = os.stat(m.path)
        assert m.stamp == (st.st_mtime_ns, st.st_size)       # so its map is cached beside it (d._map_file)
    assert d.load_served([str(collection_dir)])[1].tissues == collection.tissues       # a list of one folder
    models, served = d.load_served(collection)                # an object: no files, maps in memory
    assert served is collection and [m.path for m in models] == ["", "", ""]
    assert {m.stamp for m in models} == {(0, 0)}
    ui_ = str(build_ui(models, ["go_bp"], collection.tissues))
    assert 'data-value="compare"' in ui_ and "Compare tissues" in ui_ and '<label class="control-label" ' \
        'id="model-label" for="model">Tissue</label>' in ui_
    assert 'data-value="compare"' not in str(build_ui(models, ["go_bp"]))             # vector files: no Compare tab
    page = str(create_app(collection_dir).ui["html"])
    assert "Compare tissues" in page and FIBRO in page


def test_a_bad_collection_folder_says_what_is_wrong_and_what_to_do(tmp_path, collection_dir, capsys):
    import shutil

    from genevec.cli import main
    from genevec.exceptions import FileFormatError

    with pytest.raises(FileFormatError, match=r"no manifest.json here: this is not a tissue collection. Write one "
                                              r"with genevec train COUNTS --attributes ATTRS --tissue all -o FOLDER"):
        create_app(tmp_path)
    with pytest.raises(ValueError, match=r"genevec app serves one tissue collection folder or vectors files, not "
                                         r"both.*Serve the folder alone \(genevec app .*collection\)"):
        create_app([collection_dir, write_vectors(tmp_path / "v.txt")])
    broken = tmp_path / "broken"
    shutil.copytree(collection_dir, broken)
    with open(broken / "bladder.txt", "a") as fh:
        fh.write("\n")
    with pytest.raises(FileFormatError, match=r"bladder.txt: a file of tissue 'Bladder' changed since manifest.json "
                                              r"was written .* Restore it"):
        create_app(broken)
    # the command line: one line naming the problem and the fix, no traceback
    assert main(["app", str(broken), "--port", "8765"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("genevec: error: ") and "changed since manifest.json was written" in err[-1]
    assert "Traceback" not in "\n".join(err) and len(err) == 2     # "loading ..." then the error
    assert main(["app", str(tmp_path / "empty_dir_missing"), "--port", "8765"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_cli_app_passes_a_collection_folder(collection_dir, monkeypatch, capsys):
    import genevec.app
    from genevec.cli import main

    calls = []
    monkeypatch.setattr(genevec.app, "run_app", lambda paths, **kw: calls.append(paths))
    assert main(["app", str(collection_dir), "--port", "8123"]) == 0
    assert calls == [[str(collection_dir)]]
    assert f"loading the tissue collection {collection_dir}, then serving on http://127.0.0.1:8123" in \
        capsys.readouterr().err


def test_the_tissue_of_a_gene_it_lacks_says_why(collection):
    from genevec.provenance import absent_reason

    models, _ = d.load_served(collection)
    fibro = models[0]
    reason = absent_reason(collection[FIBRO].metadata, "CD74", len(collection[FIBRO]))
    assert reason in (f"not expressed in {FIBRO} (fewer than 10 reads in 50% of its 13 samples)",
                      f"expressed in {FIBRO}, but not among the top_genes=300 most expressed")
    assert d.absent_notice(fibro, "CD74") == (f"CD74 is not in tissue {FIBRO}: {reason}. Close symbols in it: "
                                              "'CD44', 'CD248'.")


def test_side_by_side_is_what_compare_gives(collection):
    from genevec.app import _compare as c

    table, absent = c.side_by_side(collection, "CD74", 5, collection.tissues)
    want = collection.compare("CD74", topn=5)
    assert list(table.columns) == ["Rank", BLADDER, f"{BLADDER} cosine", SKIN, f"{SKIN} cosine"]
    assert table["Rank"].tolist() == [1, 2, 3, 4, 5]
    for t in (BLADDER, SKIN):
        nearest = [g for g, _ in collection[t].most_similar("CD74", topn=5)]
        assert table[t].tolist() == want[(t, "gene")].tolist() == nearest
        np.testing.assert_array_equal(table[f"{t} cosine"], want[(t, "cosine")])
    assert absent == want.attrs["absent"] and list(absent) == [FIBRO]
    assert c.absent_lines("CD74", absent) == [f"CD74 is not in tissue {FIBRO}: {absent[FIBRO]}."]
    assert c.compare_caption("CD74", table, absent) == ("The 5 nearest genes of CD74 in 2 tissues (cosine within "
                                                         "each tissue); 1 chosen tissue lacks it.")
    assert c.side_by_side_display(table)[f"{SKIN} cosine"].tolist() == table[f"{SKIN} cosine"].round(4).tolist()
    back = pd.read_csv(io.StringIO(d.to_csv(table)))                              # the download
    assert back.columns.tolist() == table.columns.tolist() and back[BLADDER].tolist() == table[BLADDER].tolist()
    only, none = c.side_by_side(collection, "COL1A1", 3, [SKIN])
    assert list(only.columns) == ["Rank", SKIN, f"{SKIN} cosine"] and none == {}
    # every problem is a sentence naming it and the fix
    assert c.side_by_side(collection, "", 5, collection.tissues) == c.COMPARE_EMPTY
    assert c.side_by_side(collection, "CD74", 5, []) == ("Choose at least one tissue in the Tissues box to see the "
                                                         "neighbours of CD74 in it.")
    for bad in (0, 101, 2.5, None, float("nan"), True, "5"):
        assert c.side_by_side(collection, "CD74", bad, [SKIN]) == (
            f"Neighbours per tissue: give a whole number from 1 to 100 (got {bad!r}).")
    assert c.side_by_side(collection, "ANXA1", 5, [BLADDER, SKIN]).startswith(
        f"'ANXA1' has no vector in any of {BLADDER}, {SKIN}.")
    assert "Did you mean 'CD74'" in c.side_by_side(collection, "CD47X", 5, [BLADDER])
    assert c.side_by_side(collection, "CD74", 5, ["Kidney"]).startswith("No tissue 'Kidney' in this collection.")


def test_shift_tables_are_what_shifts_gives(collection):
    from genevec.app import _compare as c
    from genevec.collection import TissueModels

    full = collection.shifts(FIBRO, BLADDER, top=None)
    pd.testing.assert_frame_equal(c.all_shifts(collection, FIBRO, BLADDER), full)
    table = c.shift_table(full)
    assert table.columns.tolist() == c.SHIFT_COLUMNS + [f"Stability in {FIBRO}", f"Stability in {BLADDER}",
                                                        f"Neighbours in {FIBRO}", f"Neighbours in {BLADDER}"]
    assert table["Gene"].tolist() == full["gene"].tolist() and len(table) == 165      # the genes both have
    np.testing.assert_array_equal(table["Expected Jaccard"], full["expected_jaccard"])
    assert table[f"Neighbours in {BLADDER}"].tolist() == full["neighbours_b"].tolist()
    shown = c.shift_display(table, 7)
    assert shown.columns.tolist() == ["Gene", "Score", "Q", "Shifted", "Jaccard", "Expected Jaccard", "Cosine",
                                      f"Neighbours in {FIBRO}", f"Neighbours in {BLADDER}"]
    assert shown["Gene"].tolist() == collection.shifts(FIBRO, BLADDER, top=7)["gene"].tolist()
    assert set(shown["Shifted"]) <= {"yes", "no"} and shown["Cosine"].tolist() == table["Cosine"][:7].round(3).tolist()
    n_shifted = int(full["shifted"].sum())
    assert c.shift_caption(table, 7) == (f"{FIBRO} vs {BLADDER}: 165 shared genes, most shifted first; {n_shifted} "
                                         "shifted at q < 0.05. Showing 7 of 165; the CSV holds all.")
    back = pd.read_csv(io.StringIO(d.to_csv(table)), keep_default_na=False)
    assert back.columns.tolist() == table.columns.tolist() and back["Gene"].tolist() == table["Gene"].tolist()
    # problems
    assert c.shift_problem(collection, FIBRO, BLADDER, 50) is None
    assert c.shift_problem(collection, SKIN, SKIN, 50) == (f"Tissue A and tissue B are both {SKIN}: choose two "
                                                           "different tissues to see which genes change neighbours.")
    assert c.shift_problem(collection, FIBRO, BLADDER, 0) == ("Genes to list: give a whole number from 1 to 1,000 "
                                                              "(got 0).")
    assert c.shift_problem(collection, None, BLADDER, 50).startswith("Choose tissue A and tissue B")
    one = TissueModels({BLADDER: collection[BLADDER]}, collection.settings)
    assert c.shift_problem(one, BLADDER, BLADDER, 50) == (f"This collection has one tissue ({BLADDER}): shifts compare "
                                                          "two. Fit more tissues with genevec train --tissue all.")


def test_about_a_collection_and_its_tissues(collection, monkeypatch):
    from genevec.app import _compare as c

    models, _ = d.load_served(collection)
    info = ab.about([models[1]])[0]
    assert info["kind"] == "tissue" and info["file"] == "none (fitted in this process, not saved)"
    rows = dict(info["tissue"])
    assert rows["Tissue in the collection"] == f"{BLADDER} (SMTSD), 11 samples"
    jac = collection[BLADDER].metadata["stability"]["mean_jaccard"]
    assert rows["Split-half stability"].startswith(f"{jac:.2f}: mean Jaccard of a gene's 10 nearest genes")
    assert rows["Aligned onto"].startswith(f"{FIBRO} (orthogonal Procrustes on 165 shared genes")
    assert dict(ab.about([models[0]])[0]["tissue"])["Aligned onto"] == f"{FIBRO}, the reference tissue"
    assert ab.tissue_rows({"dim": 8}) == []                                       # not a tissue: nothing
    summary = c.summary_table(collection)
    assert summary["Tissue"].tolist() == collection.tissues and summary["Samples"].tolist() == [13, 11, 5]
    assert c.skipped_lines(collection) == ["Skin - Sun Exposed (Lower leg) (2 samples) was left out: 2 samples in "
                                           "the counts file, fewer than min_samples=4."]
    assert dict(c.settings_rows(collection))["Genes"] == "union: each tissue keeps the genes it expresses"
    # a collection never saved: its tissues' maps are computed once and kept in memory
    CACHE.clear()
    calls = []
    monkeypatch.setattr(gm, "model_map", lambda gv, **k: calls.append(gv) or pd.DataFrame(
        {"gene": gv.genes, "x": 0.0, "y": 0.0, "cluster": 1}))
    assert not d.map_cached(models[1])
    m = d.get_map(models[1])
    assert d.get_map(models[1]) is m and len(calls) == 1 and d.map_cached(models[1])
    assert m["gene"].tolist() == collection[BLADDER].genes
