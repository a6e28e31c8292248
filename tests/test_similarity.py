"""GeneVectors: queries against a brute-force reference and gensim (its files: test_io_word2vec.py)."""

import math
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import genevec
from genevec import GeneVectors
from genevec.exceptions import GeneNotFoundError

from gensim.models import KeyedVectors  # a test dependency (pyproject [test]); never skipped


# ---------------------------------------------------------------------------------------- helpers
def random_vectors(n=60, dim=8, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    V = rng.standard_normal((n, dim)).astype(dtype)
    return GeneVectors(V, [f"G{i}" for i in range(n)])


def to_gensim(gv):
    kv = KeyedVectors(gv.dim, dtype=gv.vectors.dtype)
    kv.add_vectors(gv.genes, np.array(gv.vectors))
    return kv


def ref_most_similar(V, genes, positive, negative, topn):
    """Plain loops: unit terms, weighted mean / sum|w|, unit, cosine with each gene, stable sort, drop queries."""
    V = np.asarray(V, dtype=np.float64)
    terms = [(t, 1.0) for t in positive] + [(t, -1.0) for t in negative]
    dim = V.shape[1]
    mean = [0.0] * dim
    total = 0.0
    excluded = set()
    for term, weight in terms:
        if isinstance(term, tuple):
            term, weight = term
        if isinstance(term, str):
            excluded.add(genes.index(term))
            v = V[genes.index(term)]
        else:
            v = np.asarray(term, dtype=np.float64)
        norm = math.sqrt(sum(x * x for x in v))
        for j in range(dim):
            mean[j] += weight * (v[j] / norm if norm > 0 else 0.0)
        total += abs(weight)
    mean = [m / total for m in mean]
    qn = math.sqrt(sum(m * m for m in mean))
    q = [m / qn if qn > 0 else 0.0 for m in mean]
    scores = []
    for i in range(V.shape[0]):
        vn = math.sqrt(sum(x * x for x in V[i]))
        scores.append(sum(V[i][j] * q[j] for j in range(dim)) / vn if vn > 0 else 0.0)
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    return [(genes[i], scores[i]) for i in order if i not in excluded][:topn], scores


def assert_same(ours, ref, atol):
    assert [g for g, _ in ours] == [g for g, _ in ref]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in ref], rtol=0, atol=atol)
    assert all(type(s) is float for _, s in ours)


# ---------------------------------------------------------------------------------------- container
def test_container_protocol():
    V = np.arange(12, dtype=np.float32).reshape(4, 3)
    gv = GeneVectors(V, np.array(["A", "B", "C", "D"]), metadata={"dim": 3})
    assert len(gv) == 4 and gv.dim == 3 and gv.vector_size == 3
    assert gv.genes == gv.index_to_key == ["A", "B", "C", "D"] and all(type(g) is str for g in gv.genes)
    assert gv.key_to_index == {"A": 0, "B": 1, "C": 2, "D": 3}
    assert "C" in gv and "c" not in gv and 2 not in gv
    np.testing.assert_array_equal(gv["C"], [6, 7, 8])
    np.testing.assert_array_equal(gv[["D", "A"]], [[9, 10, 11], [0, 1, 2]])
    assert gv[["A"]].shape == (1, 3)
    assert gv.vectors.dtype == np.float32
    V[0, 0] = 99  # the input was copied
    assert gv["A"][0] == 0
    with pytest.raises(ValueError, match="read-only"):
        gv.vectors[0, 0] = 1
    assert repr(gv) == "GeneVectors(4 genes x 3 dims, float32, metadata: dim)"
    assert repr(GeneVectors(np.ones((2, 5)), ["A", "B"])) == "GeneVectors(2 genes x 5 dims, float64)"
    many = GeneVectors(np.ones((1, 1)), ["A"], metadata={k: 1 for k in "abcdef"})
    assert repr(many) == "GeneVectors(1 gene x 1 dim, float64, metadata: a, b, c, d, ... (6 keys))"
    assert GeneVectors(np.ones((2, 2), dtype=np.int64), ["A", "B"]).vectors.dtype == np.float64
    with pytest.raises(TypeError, match=r"index with a gene symbol or a list of them, got 3\. "
                                        r"For row i use \.vectors\[i\]"):
        gv[3]


def test_lazy_public_names():
    from genevec import similarity

    assert genevec.GeneVectors is similarity.GeneVectors
    assert genevec.load_vectors is similarity.load_vectors


def test_normed_vectors_and_zero_rows():
    gv = GeneVectors(np.array([[3.0, 4.0], [0.0, 0.0], [0.0, -2.0]]), ["A", "Z", "C"])
    N = gv.get_normed_vectors()
    np.testing.assert_allclose(N, [[0.6, 0.8], [0, 0], [0, -1]])
    assert not N.flags.writeable
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no divide-by-zero RuntimeWarning anywhere
        res = dict(gv.most_similar("A", topn=5))
        assert res["Z"] == 0.0
        assert gv.similarity("A", "Z") == 0.0
        # Terms that cancel: a zero query scores 0 against every gene, no NaN.
        allscores = gv.most_similar(positive="A", negative="A", topn=None)
        assert np.array_equal(allscores, np.zeros(3))
        assert gv.most_similar(positive=["Z"], topn=2) == [("A", 0.0), ("C", 0.0)]
        assert np.isfinite(gv.most_similar_cosmul(positive=["Z"], negative=["A"], topn=None)).all()


@pytest.mark.parametrize(
    "kwargs, match, exc",
    [
        (dict(vectors=np.ones(3), genes=["A", "B", "C"]),
         r"must be a 2-d array \(n_genes, dim\), got shape \(3,\)", ValueError),
        (dict(vectors=np.ones((3, 2)), genes=["A", "B"]),
         r"got 2 gene names for 3 vectors; pass one name per row", ValueError),
        (dict(vectors=np.ones((3, 2)), genes=["A", "B", "A"]),
         r"1 gene names occur more than once \('A'\)", ValueError),
        (dict(vectors=np.ones((2, 2)), genes=["A", 7]), r"name 1 is 7 \(int\)\. Convert them", TypeError),
        (dict(vectors=np.ones((2, 2)), genes=["A", ""]), r"gene name 1 is the empty string", ValueError),
        (dict(vectors=np.ones((2, 2)), genes="AB"), r"got the single string 'AB'", TypeError),
        (dict(vectors=np.array([[1.0, 2.0], [np.nan, 0.0]]), genes=["A", "B"]),
         r"vector of gene 1 has a non-finite value \(nan\).*lower learning_rate", ValueError),
        (dict(vectors=np.ones((0, 2)), genes=[]),
         r"at least one gene and one dimension, got shape \(0, 2\)", ValueError),
        (dict(vectors=np.array([["a"]]), genes=["A"]),
         r"vectors must be numbers, got an array of dtype <U1", TypeError),
        (dict(vectors=np.ones((1, 2)), genes=["A"], metadata={1: 2}), r"metadata keys must be str .* got 1", TypeError),
        (dict(vectors=np.ones((1, 2)), genes=["A"], metadata=[1]),
         r"metadata must be a dict or None, got list", TypeError),
    ],
)
def test_constructor_errors(kwargs, match, exc):
    with pytest.raises(exc, match=match):
        GeneVectors(**kwargs)


# ---------------------------------------------------------------------------------------- most_similar
QUERIES = [
    dict(positive="G3"),
    dict(positive=["G1", "G2"], negative=["G3"]),
    dict(positive=[("G1", 2.0), "G7"], negative=[("G9", -0.5)]),
    dict(positive=[("G4", 0.25)], negative="G5"),
    dict(negative=["G10", "G11"]),
]


@pytest.mark.parametrize("dtype, atol", [(np.float32, 1e-6), (np.float64, 1e-12)])
@pytest.mark.parametrize("query", QUERIES)
def test_most_similar_equals_brute_force(dtype, atol, query):
    gv = random_vectors(dtype=dtype)
    pos = query.get("positive", [])
    neg = query.get("negative", [])
    pos = [pos] if isinstance(pos, str) else pos
    neg = [neg] if isinstance(neg, str) else neg
    ref, scores = ref_most_similar(gv.vectors, gv.genes, pos, neg, topn=7)
    assert_same(gv.most_similar(topn=7, **query), ref, atol)
    full = gv.most_similar(topn=None, **query)
    assert full.shape == (60,)
    np.testing.assert_allclose(full, scores, atol=atol, rtol=0)
    ref_all, _ = ref_most_similar(gv.vectors, gv.genes, pos, neg, topn=1000)
    assert_same(gv.most_similar(topn=1000, **query), ref_all, atol)  # every other gene, none twice


def test_most_similar_raw_vectors_are_normalised():
    gv = random_vectors(dtype=np.float64)
    raw = np.arange(8.0) - 3
    ref, _ = ref_most_similar(gv.vectors, gv.genes, [raw, "G2"], [], topn=5)
    assert_same(gv.most_similar([raw * 1000, "G2"], topn=5), ref, 1e-12)
    ref, _ = ref_most_similar(gv.vectors, gv.genes, [gv["G2"]], [], topn=5)
    res = gv.most_similar(gv["G2"], topn=5)  # a raw vector is not a query gene: G2 itself comes first
    assert res[0][0] == "G2" and res[0][1] == pytest.approx(1.0)
    assert_same(res, ref, 1e-12)
    rows = [gv["G1"], gv["G2"], 3 * gv["G9"]]
    three = gv.most_similar(np.vstack(rows), topn=4)  # a 2-d array is a list of vectors
    assert_same(three, ref_most_similar(gv.vectors, gv.genes, rows, [], 4)[0], 1e-12)


def test_most_similar_ties_are_in_row_order():
    V = np.array([[1, 0], [1, 1], [0, 1], [1, 1], [2, 2], [1, -1]], dtype=np.float64)
    gv = GeneVectors(V, list("ABCDEF"))
    assert [g for g, _ in gv.most_similar("B", topn=4)] == ["D", "E", "A", "C"]


def test_topn_edge_values():
    gv = random_vectors(n=5)
    assert gv.most_similar("G0", topn=0) == [] and gv.most_similar("G0", topn=-3) == []
    everyone = [g for g, _ in gv.most_similar(["G0", "G1"], topn=10)]
    assert everyone == [g for g, _ in gv.most_similar(["G0", "G1"], topn=3)]
    assert len(gv.most_similar(["G0", "G1"], topn=np.int64(10))) == 3
    with pytest.raises(TypeError, match=r"most_similar: topn must be an int .* or None .* got '5'"):
        gv.most_similar("G0", topn="5")


def test_query_term_errors():
    gv = random_vectors(n=5)
    with pytest.raises(ValueError, match=r"most_similar needs at least one gene or vector in positive or negative; "
                                         r"got none\. Example: most_similar\(positive=\['EGFR'\]\)"):
        gv.most_similar([])
    with pytest.raises(ValueError, match=r"a raw vector must be a 1-d numeric array of length dim=8, got shape \(3,\)"):
        gv.most_similar(np.ones(3))
    with pytest.raises(TypeError, match=r"cannot use 4 \(int\) as a query term; pass a gene symbol \(str\), a vector "
                                        r"\(ndarray of shape \(8,\)\) or a \(gene, weight\) pair"):
        gv.most_similar(["G0", 4])
    with pytest.raises(ValueError, match="the query vector has non-finite values"):
        gv.most_similar(np.full(8, np.inf))
    with pytest.raises(TypeError, match=r"most_similar_cosmul: takes no weights, got the pair \('G1', 2\.0\)"):
        gv.most_similar_cosmul([("G1", 2.0)])
    with pytest.raises(ValueError, match=r"most_similar_cosmul needs at least one gene or vector in positive"):
        gv.most_similar_cosmul(negative=["G1"])


@settings(max_examples=60, deadline=None)
@given(
    V=arrays(np.float32, st.tuples(st.integers(2, 12), st.integers(1, 5)),
             elements=st.one_of(st.just(0.0), st.floats(-10, 10, width=32))),
    data=st.data(),
)
def test_property_never_returns_queries_sorted_in_range(V, data):
    n = V.shape[0]
    gv = GeneVectors(V, [f"g{i}" for i in range(n)])
    pos = data.draw(st.lists(st.sampled_from(gv.genes), min_size=1, max_size=3, unique=True))
    rest = [g for g in gv.genes if g not in pos]
    neg = data.draw(st.lists(st.sampled_from(rest), max_size=2, unique=True)) if rest else []
    topn = data.draw(st.integers(1, n + 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for res in (gv.most_similar(pos, neg, topn=topn), gv.most_similar_cosmul(pos, neg, topn=topn)):
            genes = [g for g, _ in res]
            scores = [s for _, s in res]
            assert not set(genes) & set(pos + neg)
            assert len(genes) == len(set(genes)) == min(topn, n - len(pos) - len(neg))
            assert scores == sorted(scores, reverse=True)
            assert all(np.isfinite(scores))
        scores = [s for _, s in gv.most_similar(pos, neg, topn=topn)]
        assert all(-1.0 <= s <= 1.0 for s in scores)


# ---------------------------------------------------------------------------------------- gensim
@pytest.mark.parametrize("query", QUERIES)
def test_most_similar_equals_gensim(query):
    gv = random_vectors(n=300, dim=20, seed=3)
    kv = to_gensim(gv)
    assert_same(gv.most_similar(topn=15, **query), kv.most_similar(topn=15, **query), 1e-6)
    np.testing.assert_allclose(gv.most_similar(topn=None, **query), kv.most_similar(topn=None, **query), atol=1e-6)


@pytest.mark.filterwarnings("ignore:Call to deprecated `init_sims`:DeprecationWarning")
@pytest.mark.parametrize("pos, neg", [(["G1"], []), (["G1", "G2"], ["G3"]), (["G4", "G5", "G6"], ["G7", "G8"])])
def test_most_similar_cosmul_equals_gensim(pos, neg):
    gv = random_vectors(n=300, dim=20, seed=4)
    kv = to_gensim(gv)
    ours, theirs = gv.most_similar_cosmul(pos, neg, topn=15), kv.most_similar_cosmul(pos, neg, topn=15)
    assert [g for g, _ in ours] == [g for g, _ in theirs]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], rtol=1e-5)
    np.testing.assert_allclose(gv.most_similar_cosmul(pos, neg, topn=None),
                               kv.most_similar_cosmul(pos, neg, topn=None), rtol=1e-5)


def test_cosmul_is_equation_4_by_hand():
    gv = random_vectors(n=40, dim=6, dtype=np.float64, seed=5)
    N = gv.vectors / np.linalg.norm(gv.vectors, axis=1, keepdims=True)
    s = lambda g: (1 + N @ N[gv.key_to_index[g]]) / 2  # noqa: E731
    expected = s("G1") * s("G2") / (s("G3") + 1e-6)
    np.testing.assert_allclose(gv.most_similar_cosmul(["G1", "G2"], ["G3"], topn=None), expected, rtol=1e-12)
    np.testing.assert_allclose(gv.most_similar_cosmul(["G1"], topn=None), s("G1") / (1 + 1e-6), rtol=1e-12)


def test_gensim_reads_our_file_and_agrees(tmp_path):
    gv = random_vectors(n=300, dim=20, seed=6)
    path = tmp_path / "v.txt"
    gv.save(path)
    kv = KeyedVectors.load_word2vec_format(str(path))
    assert kv.index_to_key == gv.genes
    np.testing.assert_array_equal(kv.vectors, gv.vectors)
    for query in QUERIES:
        assert_same(gv.most_similar(topn=10, **query), kv.most_similar(topn=10, **query), 1e-6)


# ---------------------------------------------------------------------------------------- analogy etc.
def test_analogy_modes():
    gv = random_vectors(n=80, dim=10, seed=8)
    assert gv.analogy("G1", "G2", "G3", topn=6) == gv.most_similar(positive=["G1", "G3"], negative=["G2"], topn=6)
    assert gv.analogy("G1", "G2", "G3", topn=6, mode="cosmul") == \
        gv.most_similar_cosmul(positive=["G1", "G3"], negative=["G2"], topn=6)
    # original: raw vectors a - b + c, cosine with all genes, inputs kept
    V = gv.vectors.astype(np.float64)
    target = V[1] - V[2] + V[3]
    cos = V @ target / np.linalg.norm(V, axis=1) / np.linalg.norm(target)
    order = sorted(range(80), key=lambda i: (-cos[i], i))[:10]
    res = gv.analogy("G1", "G2", "G3", topn=10, mode="original")
    assert [g for g, _ in res] == [f"G{i}" for i in order]
    np.testing.assert_allclose([s for _, s in res], cos[order], atol=1e-6)
    np.testing.assert_allclose(gv.analogy("G1", "G2", "G3", topn=None, mode="original"), cos, atol=1e-6)


def test_analogy_original_keeps_inputs_and_differs_from_gensim():
    # BRCA1 - BRCA2 = ? - TP53: the raw target lands on TP53's own direction.
    genes = ["BRCA1", "BRCA2", "TP53", "MDM2", "OTHER"]
    V = np.array([[1.0, 0.1, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 5.0], [0.2, 0.1, 3.0], [-1.0, 0.0, 0.0]])
    gv = GeneVectors(V, genes)
    original = gv.analogy("BRCA1", "BRCA2", "TP53", topn=2, mode="original")
    assert original[0][0] == "TP53" and original[0][1] > 0.99
    assert gv.analogy("BRCA1", "BRCA2", "TP53", topn=1)[0][0] == "MDM2"
    assert "TP53" not in [g for g, _ in gv.analogy("BRCA1", "BRCA2", "TP53", topn=10)]


def test_analogy_errors():
    gv = random_vectors(n=5)
    with pytest.raises(ValueError, match=r"mode must be one of 'gensim', 'original', 'cosmul', got 'R'"):
        gv.analogy("G0", "G1", "G2", mode="R")
    with pytest.raises(TypeError, match=r"analogy: b must be a gene symbol \(str\), got \['G1'\]"):
        gv.analogy("G0", ["G1"], "G2")
    assert gv.analogy("G0", "G1", "G2", topn=0, mode="original") == []


def test_similarity_matches_cosine():
    gv = random_vectors(dtype=np.float64)
    a, b = gv["G1"], gv["G2"]
    assert gv.similarity("G1", "G2") == pytest.approx(a @ b / np.linalg.norm(a) / np.linalg.norm(b), abs=1e-12)
    assert gv.similarity("G1", "G1") == pytest.approx(1.0) and gv.similarity("G1", "G1") <= 1.0


def test_neighbors_table():
    gv = random_vectors(n=300, dim=12, seed=9)
    query = ["G5", "G17", "G5", "G299"]
    table = gv.neighbors(query, topn=5)
    assert isinstance(table, pd.DataFrame)
    assert table.shape == (4, 5)
    assert table.index.tolist() == query and table.index.name == "gene"
    assert table.columns.tolist() == ["n1", "n2", "n3", "n4", "n5"]
    for gene, row in zip(query, table.to_numpy()):
        assert row.tolist() == [g for g, _ in gv.most_similar(gene, topn=5)]
    many = gv.neighbors(gv.genes, topn=3)  # more than one 256-query block
    assert many.loc["G280"].tolist() == [g for g, _ in gv.most_similar("G280", topn=3)]
    single = gv.neighbors("G7", topn=2)
    assert single.shape == (1, 2) and single.index.tolist() == ["G7"]
    assert gv.neighbors("G1", topn=1000).shape == (1, 299)  # capped at the other genes
    with pytest.raises(ValueError, match=r"neighbors: topn must be an int >= 1 .* got 0"):
        gv.neighbors("G1", topn=0)


def test_neighbor_table():
    gv = random_vectors(n=40, dim=5, seed=10)
    table = gv.neighbor_table("G3")
    assert table.columns.tolist() == ["Gene", "Similarity"] and len(table) == 39
    assert "G3" not in set(table["Gene"])
    assert table["Similarity"].is_monotonic_decreasing
    assert table.index.tolist() == list(range(39))
    ms = gv.most_similar("G3", topn=39)
    assert list(zip(table["Gene"], table["Similarity"])) == ms
    assert len(gv.neighbor_table("G3", topn=4)) == 4


def test_unknown_gene_message():
    genes = [f"GENE{i}" for i in range(1230)] + ["EGFR", "EGFL6", "ERBB2", "TP53"]
    gv = GeneVectors(np.random.default_rng(0).standard_normal((len(genes), 3)), genes)
    msg = (r"^'egfr' is not among the 1,234 genes of this model\. Did you mean 'EGFR'.*\? "
           r"Genes are matched by symbol, case-sensitively; see \.genes\.$")
    with pytest.raises(GeneNotFoundError, match=msg):
        gv.most_similar("egfr")
    with pytest.raises(KeyError, match=r"'EGRF' is not among .* Did you mean 'EGFR'"):
        gv["EGRF"]
    with pytest.raises(GeneNotFoundError, match=r"'XYZZY' is not among the 1,234 genes of this model\. Genes are"):
        gv.similarity("TP53", "XYZZY")
    for call in (lambda: gv.analogy("TP53", "EGFR", "nope"), lambda: gv.neighbors(["TP53", "nope"]),
                 lambda: gv.neighbor_table("nope"), lambda: gv.most_similar_cosmul(["nope"]),
                 lambda: gv[["TP53", "nope"]], lambda: gv.most_similar([("nope", 1.0)])):
        with pytest.raises(GeneNotFoundError, match="'nope' is not among"):
            call()
    with pytest.raises(TypeError, match=r"Genes are looked up by symbol \(str\), got 5 \(int\)"):
        gv.similarity("TP53", 5)


def test_pickle_round_trip():
    gv = random_vectors(n=30)
    gv.most_similar("G1")  # fill the caches
    back = pickle.loads(pickle.dumps(gv))
    assert back._normed is None
    assert back.genes == gv.genes and back.metadata == gv.metadata
    np.testing.assert_array_equal(back.vectors, gv.vectors)
    assert not back.vectors.flags.writeable
    assert back.most_similar("G1") == gv.most_similar("G1")
