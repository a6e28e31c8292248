"""genevec.stability: Jaccard against brute force, support, consensus vectors, planted modules, errors."""

import itertools
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator

from genevec import GeneGloVe, GeneVectors, load_vectors, stability
from genevec.stability import NeighbourSupport, Stability

stability_module = sys.modules["genevec.stability"]


class FixedVectors(BaseEstimator):
    """A stand-in estimator: its vectors are ``base @ Q`` with Q drawn from random_state (noise optional)."""

    def __init__(self, base=None, noise=0.0, random_state=None):
        self.base = base
        self.noise = noise
        self.random_state = random_state

    def fit(self, X, y=None):
        rng = np.random.default_rng(self.random_state)
        d = self.base.shape[1]
        Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
        V = self.base @ Q + self.noise * rng.normal(size=self.base.shape)
        self.vectors_ = GeneVectors(V, list(X.columns))
        return self


def counts_for(genes, n_samples=10):
    return pd.DataFrame(np.ones((n_samples, len(genes)), dtype=int), columns=genes)


def test_rotated_fits_agree_perfectly_and_consensus_keeps_the_cosines():
    rng = np.random.default_rng(0)
    genes = [f"G{i}" for i in range(40)]
    base = rng.normal(size=(40, 5))
    stab = stability(counts_for(genes), FixedVectors(base), n_resamples=4, k=5)
    assert isinstance(stab, Stability) and stab.n_fits == 4
    assert (stab.jaccard == 1.0).all()
    unit = base / np.linalg.norm(base, axis=1, keepdims=True)
    cv = stab.consensus_vectors
    assert cv.dim == 5
    np.testing.assert_allclose(cv.get_normed_vectors() @ cv.get_normed_vectors().T, unit @ unit.T, atol=1e-5)
    # every top-5 neighbour came back in every fit
    table = stab.table()
    assert (table[[f"support{t}" for t in range(1, 6)]] == 1.0).all().all()


def test_consensus_is_the_best_low_rank_fit_of_the_mean_cosine():
    genes = [f"G{i}" for i in range(30)]
    stab = stability(counts_for(genes), FixedVectors(rng_base_30x4(), noise=0.5), n_resamples=3, k=4,
                     mode="seed", random_state=5)
    # rebuild the three fits from the same seeds
    draw = np.random.default_rng(5)
    mean = np.zeros((30, 30))
    for _ in range(3):
        seed = int(draw.integers(2**31))
        V = FixedVectors(rng_base_30x4(), noise=0.5, random_state=seed).fit(counts_for(genes)).vectors_
        U = V.get_normed_vectors().astype(np.float64)
        mean += U @ U.T / 3
    lam, E = np.linalg.eigh(mean)
    best = (E[:, -4:] * lam[-4:]) @ E[:, -4:].T
    C = stab.consensus_vectors.vectors.astype(np.float64)
    np.testing.assert_allclose(C @ C.T, best, atol=1e-5)


def rng_base_30x4():
    return np.random.default_rng(1).normal(size=(30, 4))


def test_pairwise_jaccard_matches_brute_force():
    rng = np.random.default_rng(2)
    n, k, fits = 12, 3, 4
    neighbours = [np.array([rng.choice([j for j in range(n) if j != i], size=k, replace=False) for i in range(n)])
                  for _ in range(fits)]
    present = rng.random((fits, n)) > 0.2
    for f in range(fits):
        neighbours[f][~present[f]] = -1
    got = stability_module._pairwise_jaccard(neighbours, present, k)
    for i in range(n):
        values = [len(set(neighbours[a][i]) & set(neighbours[b][i])) / len(set(neighbours[a][i]) | set(neighbours[b][i]))
                  for a, b in itertools.combinations(range(fits), 2) if present[a, i] and present[b, i]]
        if values:
            assert got[i] == pytest.approx(np.mean(values))
        else:
            assert np.isnan(got[i])


def test_planted_modules_are_stable_and_supported(module_counts):
    stab = stability(module_counts, GeneGloVe(dim=8), n_resamples=5, k=5)
    assert stab.jaccard.mean() > 0.5
    for gene in ("M1_0", "M2_3"):
        top = stab.consensus(gene, topn=5)
        assert list(top.columns) == ["gene", "support", "cosine"]
        assert all(g.split("_")[0] == gene.split("_")[0] for g in top["gene"])  # own module
        assert top["support"].iloc[0] >= 0.8
    # support rows: k neighbours per fit, so each row sums to k
    np.testing.assert_allclose(np.asarray(stab.support.matrix.sum(axis=1)).ravel(), 5.0)


def test_seed_mode_separates_the_closed_form_from_the_studys_sgd(module_counts):
    closed = stability(module_counts, GeneGloVe(dim=8), n_resamples=3, k=5, mode="seed")
    assert (closed.jaccard == 1.0).all()  # the closed form does not depend on the seed
    study = stability(module_counts, GeneGloVe.exp2vec(dim=8, max_iter=3), n_resamples=3, k=5, mode="seed")
    assert study.jaccard.mean() < 0.9  # text2vec's random start is still visible after 3 epochs


def test_bit_identical_for_any_n_jobs(module_counts):
    one = stability(module_counts, GeneGloVe(dim=8), n_resamples=3, k=4, n_jobs=1)
    two = stability(module_counts, GeneGloVe(dim=8), n_resamples=3, k=4, n_jobs=2)
    assert one.jaccard.equals(two.jaccard)
    assert (one.support.matrix != two.support.matrix).nnz == 0
    assert one.consensus_vectors.vectors.tobytes() == two.consensus_vectors.vectors.tobytes()


def test_anndata_input(module_counts):
    import anndata

    adata = anndata.AnnData(module_counts.to_numpy().astype(np.float32))
    adata.var_names = list(module_counts.columns)
    adata.obs_names = list(module_counts.index)
    stab = stability(adata, GeneGloVe(dim=8), n_resamples=2, k=3)
    assert stab.genes == list(module_counts.columns)


def test_support_travels_with_the_vectors(module_counts, tmp_path):
    model = GeneGloVe(dim=8).fit(module_counts)
    stab = stability(module_counts, GeneGloVe(dim=8), n_resamples=3, k=5)
    gv = model.vectors_.with_support(stab)
    assert model.vectors_.support is None and isinstance(gv.support, NeighbourSupport)
    table = gv.neighbor_table("M1_0", topn=4)
    assert list(table.columns) == ["Gene", "Similarity", "Support"]
    expect = stab.support.of("M1_0", list(table["Gene"]))
    np.testing.assert_array_equal(table["Support"].to_numpy(), expect)
    triples = gv.most_similar("M1_0", topn=3, with_support=True)
    assert [t[:2] for t in triples] == gv.most_similar("M1_0", topn=3)
    assert [t[2] for t in triples] == list(expect[:3])
    path = tmp_path / "v.txt"
    gv.save(path)
    back = load_vectors(path)
    assert back.support.to_json() == gv.support.to_json()
    assert back.neighbor_table("M1_0", topn=4).equals(table)
    with pytest.raises(ValueError, match="no neighbour support.*genevec.stability"):
        model.vectors_.most_similar("M1_0", with_support=True)
    with pytest.raises(ValueError, match="pass a single gene as positive"):
        gv.most_similar(["M1_0", "M1_1"], with_support=True)
    with pytest.raises(TypeError, match="support must be the result of genevec.stability"):
        model.vectors_.with_support("lots")
    assert gv.with_support(None).support is None


def test_damaged_support_in_a_sidecar_is_named(module_counts, tmp_path):
    import json

    gv = GeneGloVe(dim=4).fit(module_counts).vectors_.with_support(
        stability(module_counts, GeneGloVe(dim=4), n_resamples=2, k=2))
    path = tmp_path / "v.txt"
    gv.save(path)
    side = json.loads((tmp_path / "v.txt.json").read_text())
    side["support"] = {"neighbours": {"M1_0": [["M1_1"]]}}
    (tmp_path / "v.txt.json").write_text(json.dumps(side))
    with pytest.raises(ValueError, match=r"v\.txt\.json: holds a 'support' entry that cannot be read"):
        load_vectors(path)


def test_errors_name_the_problem(module_counts):
    with pytest.raises(ValueError, match="n_resamples must be an int >= 2, got 1"):
        stability(module_counts, n_resamples=1)
    with pytest.raises(ValueError, match="mode must be 'bootstrap'"):
        stability(module_counts, mode="jackknife")
    with pytest.raises(TypeError, match="X must be a samples x genes DataFrame"):
        stability(module_counts.to_numpy())
    with pytest.raises(ValueError, match="k=30 neighbours need more than 30 genes; X has 24"):
        stability(module_counts, k=30)
    with pytest.raises(TypeError, match="estimator must be a GeneGloVe"):
        stability(module_counts, estimator="svd")


def test_summary_is_plain_language(module_counts):
    stab = stability(module_counts, GeneGloVe(dim=8), n_resamples=2, k=3, mode="seed")
    text = stab.summary()
    assert text.startswith("2 fits on seeds on the same data, 24 genes: a gene's top-3 neighbours agree")
    assert "mean Jaccard index of 1.00" in text and "Stability(2 seed fits" in repr(stab)
