"""Gene maps, computed (genevec.maps): k-means on the full vectors, the t-SNE layout, the map table."""

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.neighbors import NearestNeighbors

import genevec.maps as gm
from genevec import GeneVectors
from genevec.exceptions import FileFormatError
from genevec.maps import cluster_genes, gene_map, read_gene_map


def planted(n_per=30, k=4, dim=16, seed=0):
    """k clusters of genes around random directions (norms vary, as GloVe vectors' do)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, dim)) * 3
    labels = np.repeat(np.arange(k), n_per)
    X = centres[labels] + rng.normal(size=(k * n_per, dim))
    X *= rng.lognormal(0, 0.4, size=(len(X), 1))
    genes = [f"C{lab}_{i}" for i, lab in enumerate(labels)]
    return X, genes, labels


@pytest.fixture(scope="module")
def data():
    return planted()


@pytest.fixture(scope="module")
def mapped(data):
    X, genes, _ = data
    return gene_map(GeneVectors(X, genes), n_clusters=4, perplexity=10, random_state=7)


def test_gene_map_table(mapped, data):
    X, genes, _ = data
    assert list(mapped.columns) == ["gene", "x", "y", "cluster"]
    assert mapped.shape == (len(genes), 4)
    assert mapped["gene"].tolist() == genes                     # the order of the vectors
    assert np.isfinite(mapped[["x", "y"]].to_numpy()).all()
    assert mapped["cluster"].dtype.kind == "i"
    sizes = mapped["cluster"].value_counts().sort_index()
    assert sizes.index.tolist() == [1, 2, 3, 4]
    assert (np.diff(sizes.to_numpy()) <= 0).all()              # 1 = largest cluster


def test_gene_map_reproducible_and_seeded(mapped, data):
    X, genes, _ = data
    again = gene_map((X, genes), n_clusters=4, perplexity=10, random_state=7)
    pd.testing.assert_frame_equal(again, mapped)
    other = gene_map((X, genes), n_clusters=4, perplexity=10, random_state=8)
    assert not np.allclose(other[["x", "y"]].to_numpy(), mapped[["x", "y"]].to_numpy())


def test_planted_clusters_recovered_from_full_vectors(mapped, data):
    X, _, labels = data
    assert adjusted_rand_score(labels, mapped["cluster"]) > 0.95
    # The clusters are those of k-means on the full (unit-length) vectors, not of the 2-d map.
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    full = KMeans(4, n_init=10, random_state=0).fit_predict(unit)
    assert adjusted_rand_score(full, mapped["cluster"]) == pytest.approx(1.0)
    # ...and the map keeps the planted groups together.
    emb = mapped[["x", "y"]].to_numpy()
    nn = NearestNeighbors(n_neighbors=6).fit(emb).kneighbors(emb, return_distance=False)[:, 1:]
    assert (labels[nn] == labels[:, None]).mean() > 0.9


def test_clusters_follow_full_dimensions_not_the_first_two():
    # Two groups that differ only in dimensions 3.. : k-means on the full vectors must split them.
    rng = np.random.default_rng(1)
    X = rng.normal(scale=0.2, size=(60, 10))
    X[:30, 5] += 4
    X[30:, 6] += 4
    m = gene_map((X, [f"g{i}" for i in range(60)]), n_clusters=2, perplexity=8, random_state=0,
                 metric="euclidean", method="sklearn")
    assert adjusted_rand_score(np.repeat([0, 1], 30), m["cluster"]) == pytest.approx(1.0)


def test_auto_falls_back_to_sklearn_without_opentsne(monkeypatch, data):
    X, genes, _ = data
    calls = []
    real = gm._tsne_sklearn
    monkeypatch.setattr(gm, "_have_opentsne", lambda: False)
    monkeypatch.setattr(gm, "_tsne_sklearn", lambda *a: calls.append(a) or real(*a))
    m = gene_map((X[:40], genes[:40]), n_clusters=2, perplexity=5, random_state=0)
    assert len(calls) == 1 and m.shape == (40, 4)
    with pytest.raises(ImportError, match=r"pip install openTSNE.*method='sklearn'"):
        gene_map((X, genes), method="opentsne")


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"n_clusters": 0}, ValueError, r"n_clusters must be in \[1, 120\], got 0"),
        ({"n_clusters": 121}, ValueError, r"n_clusters must be in \[1, 120\], got 121.*n_clusters=15"),
        ({"n_clusters": 2.5}, TypeError, r"n_clusters must be an int, got 2.5"),
        ({"perplexity": 120}, ValueError, r"perplexity must be > 0 and smaller than the number of genes \(120\), got 120"),
        ({"perplexity": 0}, ValueError, r"perplexity must be > 0"),
        ({"metric": "l1"}, ValueError, r"metric must be one of 'cosine', 'euclidean', got 'l1'"),
        ({"method": "umap"}, ValueError, r"method must be one of 'auto', 'opentsne', 'sklearn'"),
        ({"n_jobs": 0}, ValueError, r"n_jobs=0 is not a number of threads"),
    ],
)
def test_bad_parameters(data, kwargs, exc, match):
    X, genes, _ = data
    with pytest.raises(exc, match=match):
        gene_map((X, genes), **kwargs)


def test_bad_vectors():
    with pytest.raises(TypeError, match=r"GeneVectors or a tuple.*load_vectors"):
        gene_map(np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"3 vectors but 2 gene names"):
        gene_map((np.zeros((3, 2)), ["a", "b"]))
    X = np.ones((3, 2))
    X[1, 0] = np.nan
    with pytest.raises(ValueError, match=r"gene 'b' \(row 1\) holds NaN"):
        gene_map((X, ["a", "b", "c"]))
    with pytest.raises(ValueError, match=r"at least 2 genes, got 1"):
        gene_map((np.ones((1, 2)), ["a"]))


def test_exact_knn_matches_brute_force(data):
    X, _, _ = data
    idx, dist = gm._exact_knn(X, 5)
    D = np.linalg.norm(X[:, None] - X[None], axis=2)
    np.fill_diagonal(D, np.inf)
    np.testing.assert_array_equal(idx, np.argsort(D, axis=1, kind="stable")[:, :5])
    np.testing.assert_allclose(dist, np.sort(D, axis=1)[:, :5], rtol=1e-9)


def small_map():
    return pd.DataFrame({"gene": ["A", "B", "C", "D"], "x": [0.0, 1, 2, 3], "y": [0.0, 1, 0, 1],
                         "cluster": [1, 2, 1, 3]})


def test_cluster_genes():
    assert cluster_genes(small_map(), 1) == ["A", "C"]
    assert cluster_genes(small_map(), 3) == ["D"]
    with pytest.raises(ValueError, match=r"no cluster 4; its clusters are 1..3 \(3 in all\)"):
        cluster_genes(small_map(), 4)


@pytest.mark.parametrize("text, match", [("gene\tx\ty\nA\t1\t2\n", r"bad.tsv' lacks column\(s\) cluster.*genevec map"),
                                         ("gene\tx\ty\tcluster\nA\tone\t2\t1\n", r"x, y must be numbers")])
def test_read_gene_map_errors(tmp_path, text, match):
    bad = tmp_path / "bad.tsv"
    bad.write_text(text)
    with pytest.raises(FileFormatError, match=match):
        read_gene_map(bad)
