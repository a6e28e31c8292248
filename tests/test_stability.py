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


# --- mode="halves": split-half stability ------------------------------------------------------------

FIT_LOG = []  # what each fit of the recording estimators saw, in fit order (clone() copies parameters)


class RecordingVectors(FixedVectors):
    """FixedVectors that logs the samples it was fitted on (column ``ID`` holds each sample's number)."""

    def fit(self, X, y=None):
        super().fit(X, y)
        FIT_LOG.append({"ids": X["ID"].to_numpy().copy(), "vectors": self.vectors_})
        return self


class SplitVectors(BaseEstimator):
    """Vectors that depend only on the split: both halves of one split give the same vectors, other splits differ."""

    def __init__(self, base=None, n_samples=0, noise=1.0, random_state=None):
        self.base = base
        self.n_samples = n_samples
        self.noise = noise
        self.random_state = random_state

    def fit(self, X, y=None):
        ids = set(X["ID"].tolist())
        rest = set(range(self.n_samples)) - ids
        half = min(tuple(sorted(ids)), tuple(sorted(rest)))  # the same for a half and its complement
        rng = np.random.default_rng(list(half))
        self.vectors_ = GeneVectors(self.base + self.noise * rng.normal(size=self.base.shape), list(X.columns))
        FIT_LOG.append({"ids": X["ID"].to_numpy().copy(), "vectors": self.vectors_})
        return self


def numbered_counts(n_samples, n_genes=30):
    """Counts whose column ID numbers the samples 0..n-1 (the fits see renamed rows, so the number tells them apart)."""
    genes = ["ID"] + [f"G{i}" for i in range(n_genes - 1)]
    X = np.ones((n_samples, n_genes), dtype=int)
    X[:, 0] = np.arange(n_samples)
    return pd.DataFrame(X, columns=genes, index=[f"S{i}" for i in range(n_samples)])


def brute_top_k(gv, k):
    U = gv.get_normed_vectors().astype(np.float64)
    sims = U @ U.T
    np.fill_diagonal(sims, -np.inf)
    return [set(np.argsort(-row, kind="stable")[:k].tolist()) for row in sims]


@pytest.mark.parametrize("n_samples", [4, 10, 11])
def test_halves_fits_see_disjoint_halves_that_cover_every_sample(n_samples):
    FIT_LOG.clear()
    X = numbered_counts(n_samples)
    stab = stability(X, RecordingVectors(np.random.default_rng(0).normal(size=(30, 4))), n_resamples=6, k=3,
                     mode="halves", random_state=1)
    assert stab.mode == "halves" and stab.n_fits == 6 and len(FIT_LOG) == 6
    splits = []
    for i in range(0, 6, 2):
        first, second = FIT_LOG[i]["ids"], FIT_LOG[i + 1]["ids"]
        assert len(set(first)) == len(first) and len(set(second)) == len(second)  # no sample twice
        assert not set(first) & set(second)
        assert sorted(set(first) | set(second)) == list(range(n_samples))
        assert {len(first), len(second)} == {n_samples // 2, n_samples - n_samples // 2}
        splits.append(frozenset(first))
    assert len(set(splits)) > 1  # a new random split for each pair of fits
    assert "disjoint random halves of the samples" in stab.summary()


def test_halves_jaccard_compares_the_two_fits_of_each_split_only():
    FIT_LOG.clear()
    n, k = 12, 4
    base = np.random.default_rng(3).normal(size=(40, 5))
    X = numbered_counts(n, n_genes=40)
    stab = stability(X, SplitVectors(base, n_samples=n, noise=1.0), n_resamples=6, k=k, mode="halves",
                     random_state=2)
    # the two halves of a split agree perfectly, different splits do not
    assert (stab.jaccard == 1.0).all()
    tops = [brute_top_k(entry["vectors"], k) for entry in FIT_LOG]
    across = [len(tops[0][g] & tops[2][g]) / len(tops[0][g] | tops[2][g]) for g in range(40)]
    assert np.mean(across) < 0.7
    # the same fits compared over every pair (as bootstrap mode would) give a lower Jaccard
    every = [np.mean([len(tops[a][g] & tops[b][g]) / len(tops[a][g] | tops[b][g])
                      for a, b in itertools.combinations(range(6), 2)]) for g in range(40)]
    assert np.mean(every) < 0.9


def test_halves_jaccard_matches_brute_force_over_the_recorded_fits():
    FIT_LOG.clear()
    k = 5
    X = numbered_counts(9, n_genes=35)
    stab = stability(X, RecordingVectors(np.random.default_rng(4).normal(size=(35, 4)), noise=0.4), n_resamples=4,
                     k=k, mode="halves", random_state=7)
    tops = [brute_top_k(entry["vectors"], k) for entry in FIT_LOG]
    paired = [np.mean([len(tops[a][g] & tops[a + 1][g]) / len(tops[a][g] | tops[a + 1][g]) for a in (0, 2)])
              for g in range(35)]
    every = [np.mean([len(tops[a][g] & tops[b][g]) / len(tops[a][g] | tops[b][g])
                      for a, b in itertools.combinations(range(4), 2)]) for g in range(35)]
    np.testing.assert_allclose(stab.jaccard.to_numpy(), paired, rtol=1e-12)
    assert not np.allclose(paired, every)  # the test tells the two rules apart
    # support still counts every fit
    np.testing.assert_allclose(np.asarray(stab.support.matrix.sum(axis=1)).ravel(), k)


def test_halves_errors_name_the_problem():
    X = numbered_counts(10)
    est = FixedVectors(np.ones((30, 3)))
    for odd in (3, 5):
        with pytest.raises(ValueError, match=rf"mode='halves' fits the two halves of each split, so n_resamples must "
                                             rf"be even, got {odd}\."):
            stability(X, est, n_resamples=odd, k=3, mode="halves")
    for few in (1, 2, 3):
        with pytest.raises(ValueError, match=rf"mode='halves' needs at least 4 samples \(2 per half\), X has {few}\."):
            stability(X.iloc[:few], est, n_resamples=2, k=3, mode="halves")
    FIT_LOG.clear()
    stability(X.iloc[:4], RecordingVectors(np.ones((30, 3))), n_resamples=2, k=3, mode="halves")
    assert [len(e["ids"]) for e in FIT_LOG] == [2, 2]


def test_halves_reproducible_for_a_fixed_random_state(module_counts):
    runs = []
    for seed in (11, 11, 12):
        FIT_LOG.clear()
        counts = module_counts.assign(ID=np.arange(len(module_counts)))
        stab = stability(counts, RecordingVectors(np.random.default_rng(0).normal(size=(counts.shape[1], 6)),
                                                  noise=0.3), n_resamples=4, k=4, mode="halves", random_state=seed)
        runs.append((stab, [e["ids"].tolist() for e in FIT_LOG]))
    (a, ids_a), (b, ids_b), (c, ids_c) = runs
    assert ids_a == ids_b and ids_a != ids_c
    assert a.jaccard.equals(b.jaccard)
    assert (a.support.matrix != b.support.matrix).nnz == 0
    assert a.consensus_vectors.vectors.tobytes() == b.consensus_vectors.vectors.tobytes()
    assert not a.jaccard.equals(c.jaccard)


def test_halves_with_geneglove_is_bit_identical_for_any_n_jobs(module_counts):
    one = stability(module_counts, GeneGloVe(dim=8), n_resamples=2, k=4, mode="halves", n_jobs=1)
    two = stability(module_counts, GeneGloVe(dim=8), n_resamples=2, k=4, mode="halves", n_jobs=2)
    assert one.jaccard.equals(two.jaccard) and one.mode == "halves"
    assert one.consensus_vectors.vectors.tobytes() == two.consensus_vectors.vectors.tobytes()
    assert ((one.jaccard >= 0) & (one.jaccard <= 1)).all()


def test_an_interrupted_resample_fit_stops_stability(module_counts, ctrl_c_in_epoch):
    ctrl_c_in_epoch(4)
    with pytest.raises(KeyboardInterrupt, match="interrupted after epoch 0"):   # the second fit's first epoch
        stability(module_counts, GeneGloVe(solver="sgd", max_iter=3, dim=4), n_resamples=2, k=3)
