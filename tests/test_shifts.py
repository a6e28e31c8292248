"""genevec.shifts: Procrustes, alignment, the resampling-noise null, BH q values and the shift table."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import false_discovery_control

from genevec.shifts import align, benjamini_hochberg, expected_jaccard, keep_probability, procrustes, shift_table
from genevec.similarity import GeneVectors


def random_orthogonal(rng, d):
    """Haar-distributed orthogonal matrix (QR with the signs of R's diagonal fixed)."""
    Q, R = np.linalg.qr(rng.normal(size=(d, d)))
    return Q * np.sign(np.diag(R))


def loss(X, R, Y):
    return float(np.linalg.norm(X @ R - Y))


def unit(V):
    V = np.asarray(V, dtype=np.float64)
    return V / np.linalg.norm(V, axis=1, keepdims=True)


# --- procrustes -------------------------------------------------------------------------------

@pytest.mark.parametrize("d", [2, 3, 8])
def test_procrustes_recovers_a_random_orthogonal_matrix(d):
    rng = np.random.default_rng(d)
    X = rng.normal(size=(40, d))
    Q = random_orthogonal(rng, d)
    R = procrustes(X, X @ Q)
    assert R.dtype == np.float64 and R.shape == (d, d)
    np.testing.assert_allclose(R, Q, atol=1e-10)
    np.testing.assert_allclose(R.T @ R, np.eye(d), atol=1e-12)


def test_procrustes_beats_every_random_orthogonal_matrix_and_every_small_turn():
    rng = np.random.default_rng(1)
    d = 4
    X = rng.normal(size=(30, d))
    Y = X @ random_orthogonal(rng, d) + 0.8 * rng.normal(size=(30, d))
    R = procrustes(X, Y)
    np.testing.assert_allclose(R.T @ R, np.eye(d), atol=1e-12)
    best = loss(X, R, Y)
    for _ in range(3000):
        assert loss(X, random_orthogonal(rng, d), Y) >= best - 1e-12
    for _ in range(200):  # a little turn away from R, in any direction, does worse
        A = rng.normal(size=(d, d)) * 1e-3
        turn = np.linalg.qr(np.eye(d) + (A - A.T))[0]
        turn = turn * np.sign(np.diag(turn))
        assert loss(X, R @ turn, Y) >= best - 1e-12


def test_procrustes_in_the_plane_against_a_grid_of_rotations_and_reflections():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(25, 2))
    Y = rng.normal(size=(25, 2))  # unrelated: the best matrix may be a reflection
    R = procrustes(X, Y)
    grid = []
    for t in np.linspace(0, 2 * np.pi, 20001):
        c, s = np.cos(t), np.sin(t)
        grid += [np.array([[c, -s], [s, c]]), np.array([[c, s], [s, -c]])]
    brute = min(grid, key=lambda M: loss(X, M, Y))
    assert loss(X, R, Y) <= loss(X, brute, Y) + 1e-12
    np.testing.assert_allclose(R, brute, atol=1e-3)


def test_procrustes_is_bit_identical_across_calls_and_checks_shapes():
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(500, 16)), rng.normal(size=(500, 16))
    first = procrustes(X, Y).tobytes()
    assert all(procrustes(X, Y).tobytes() == first for _ in range(5))
    assert procrustes(X.astype(np.float32), Y).dtype == np.float64
    with pytest.raises(ValueError, match=r"procrustes: X and Y must be matched \(n, dim\) arrays, got shapes "
                                         r"\(500, 16\) and \(499, 16\)"):
        procrustes(X, Y[:-1])
    with pytest.raises(ValueError, match=r"got shapes \(16,\) and \(16,\)"):
        procrustes(X[0], Y[0])


# --- align ----------------------------------------------------------------------------------------

def two_tissues(seed=0, n=60, d=6, shared=40):
    """Tissue a, and a reference sharing ``shared`` genes whose vectors are a's rotated, rescaled and jittered."""
    rng = np.random.default_rng(seed)
    genes = [f"G{i}" for i in range(n)]
    V = rng.normal(size=(n, d)) * rng.uniform(0.5, 3.0, size=(n, 1))
    Q = random_orthogonal(rng, d)
    ref_genes = genes[n - shared:] + [f"R{i}" for i in range(10)]
    W = np.vstack([V[n - shared:] @ Q * 2.0 + 0.01 * rng.normal(size=(shared, d)), rng.normal(size=(10, d))])
    order = rng.permutation(len(ref_genes))  # the reference lists its genes in another order
    return (GeneVectors(V.astype(np.float32), genes),
            GeneVectors(W[order], [ref_genes[i] for i in order]), Q)


def test_align_keeps_every_within_tissue_cosine_and_neighbour_list():
    a, ref, Q = two_tissues()
    aligned, info = align(a, ref)
    assert aligned.dtype == np.float64 and aligned.shape == (len(a), a.dim)
    assert info["shared_genes"] == 40
    before = unit(a.vectors)
    after = unit(aligned)
    np.testing.assert_allclose(after @ after.T, before @ before.T, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(aligned, axis=1), np.linalg.norm(a.vectors.astype(np.float64), axis=1),
                               rtol=1e-12)
    rotated = GeneVectors(aligned, a.genes)
    original = GeneVectors(a.vectors.astype(np.float64), a.genes)
    for g in a.genes:
        got, want = rotated.most_similar(g, topn=len(a) - 1), original.most_similar(g, topn=len(a) - 1)
        assert [h for h, _ in got] == [h for h, _ in want]
        np.testing.assert_allclose([s for _, s in got], [s for _, s in want], atol=1e-12)


def test_align_lays_the_shared_genes_on_the_reference():
    a, ref, Q = two_tissues(seed=1)
    aligned, info = align(a, ref)
    shared = [g for g in a.genes if g in ref]
    rows = [a.key_to_index[g] for g in shared]
    np.testing.assert_allclose(unit(aligned[rows]), unit(ref[shared]), atol=0.02)
    assert 0.999 < info["mean_cosine"] <= 1.0
    # the rotation is the Procrustes one of the shared unit vectors
    R = procrustes(unit(a[shared]), unit(ref[shared]))
    np.testing.assert_allclose(aligned, a.vectors.astype(np.float64) @ R, rtol=0, atol=1e-12)
    np.testing.assert_allclose(R, Q, atol=0.02)
    again, _ = align(a, ref)
    assert again.tobytes() == aligned.tobytes()


def test_align_errors_name_the_problem():
    a, ref, _ = two_tissues()
    other = GeneVectors(np.ones((5, 3)), ["G1", "G2", "G3", "G4", "G5"])
    with pytest.raises(ValueError, match=r"align: the vectors have 6 dimensions and the reference 3; tissues are "
                                         r"aligned when they are fitted with the same dim"):
        align(a, other)
    for genes in (["X1", "X2", "X3", "X4", "X5", "X6"], ["G0", "X2", "X3", "X4", "X5", "X6"]):
        lonely = GeneVectors(np.random.default_rng(0).normal(size=(6, 6)), genes)
        n = sum(g in a for g in genes)
        with pytest.raises(ValueError, match=rf"align: (only )?{n} gene(s|\(s\)) (are|is) shared with the reference"):
            align(a, lonely)


# --- the noise model ------------------------------------------------------------------------------

def simulate_lists(rng, n_genes, k, q_first, q_second, pool=20000):
    """Per gene, two top-k lists: each keeps each of k true neighbours with its probability, the rest is filler."""
    jaccards = np.empty(n_genes)
    for i in range(n_genes):
        true = np.arange(k)
        lists = []
        for q in (q_first, q_second):
            kept = true[rng.random(k) < q]
            filler = rng.choice(np.arange(k, pool), size=k - kept.size, replace=False)
            lists.append(set(kept.tolist()) | set(filler.tolist()))
        jaccards[i] = len(lists[0] & lists[1]) / len(lists[0] | lists[1])
    return jaccards


@pytest.mark.parametrize("k, q_a, q_b", [(10, 0.9, 0.9), (10, 0.6, 0.85), (5, 0.4, 0.7), (20, 0.95, 0.5)])
def test_expected_jaccard_against_monte_carlo(k, q_a, q_b):
    rng = np.random.default_rng(k)
    J = simulate_lists(rng, 20000, k, q_a, q_b)
    # the mean of 20,000 Jaccards (sd <= 0.3): 10 standard errors is 0.021 at most
    assert float(expected_jaccard(q_a * q_b, k)) == pytest.approx(J.mean(), abs=10 * J.std() / math.sqrt(J.size))


def test_expected_jaccard_exact_values_and_shapes():
    k = 6
    for x in (0.0, 0.1, 0.5, 0.77, 1.0):
        exact = sum(math.comb(k, o) * x**o * (1 - x) ** (k - o) * o / (2 * k - o) for o in range(k + 1))
        assert float(expected_jaccard(x, k)) == pytest.approx(exact, abs=1e-14)
    grid = np.array([[0.1, 0.2], [0.3, 0.9]])
    out = expected_jaccard(grid, 10)
    assert out.shape == (2, 2) and (np.diff(np.sort(out.ravel())) > 0).all()


def test_keep_probability_inverts_the_jaccard_of_the_expected_overlap():
    q2 = np.linspace(0, 1, 101)
    J = q2 / (2 - q2)  # two lists sharing a fraction q2 of k
    np.testing.assert_allclose(keep_probability(J), q2, atol=1e-15)
    np.testing.assert_array_equal(keep_probability([-0.5, 1.5]), [0.0, 1.0])  # clipped to [0, 1]


@pytest.mark.parametrize("k, q", [(10, 0.5), (10, 0.8), (10, 0.95), (50, 0.8)])
def test_keep_probability_of_a_simulated_split_half_jaccard(k, q):
    # two fits of halves, each keeping each true neighbour with probability q: they share q**2 of them
    rng = np.random.default_rng(int(100 * q) + k)
    J = simulate_lists(rng, 20000, k, q, q)
    est = float(keep_probability(J.mean()))
    # keep_probability inverts J = E[o] / (2k - E[o]), not E[o / (2k - o)]: by Jensen it reads a little high
    # (exactly +0.011, +0.017, +0.008 at k=10 for q=0.5, 0.8, 0.95; +0.003 at k=50). Within 0.03 of q**2:
    assert est == pytest.approx(q * q, abs=0.03)
    assert est >= q * q - 0.005


# --- Benjamini-Hochberg -----------------------------------------------------------------------------

def bh_slow(p):
    """q_i = min over the p-values j >= p_i of min(1, m p_j / rank_j), NaN left out and kept NaN."""
    p = [float(v) for v in p]
    ok = [i for i, v in enumerate(p) if not math.isnan(v)]
    m = len(ok)
    ranked = sorted(ok, key=lambda i: p[i])
    q = [math.nan] * len(p)
    for i in ok:
        q[i] = min(min(1.0, m * p[j] / (r + 1)) for r, j in enumerate(ranked) if p[j] >= p[i])
    return np.array(q)


@pytest.mark.parametrize("seed", range(6))
def test_benjamini_hochberg_against_slow_reference_and_scipy(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    p = np.concatenate([rng.uniform(size=n) ** 3, rng.choice([0.0, 0.01, 0.5, 1.0], size=5)])  # with ties
    p[rng.random(p.size) < 0.2] = np.nan
    got = benjamini_hochberg(p)
    np.testing.assert_allclose(got, bh_slow(p), rtol=1e-13, equal_nan=True)
    ok = ~np.isnan(p)
    assert np.isnan(got[~ok]).all()
    if ok.any():
        np.testing.assert_allclose(got[ok], false_discovery_control(p[ok], method="bh"), rtol=1e-13)


def test_benjamini_hochberg_edges():
    assert np.isnan(benjamini_hochberg([np.nan, np.nan])).all()
    assert benjamini_hochberg([]).shape == (0,)
    np.testing.assert_array_equal(benjamini_hochberg([0.2]), [0.2])
    p = np.array([0.04, np.nan, 0.01, 0.03])  # m = 3, not 4
    np.testing.assert_allclose(benjamini_hochberg(p), [0.04, np.nan, 0.03, 0.04], equal_nan=True)


# --- shift_table --------------------------------------------------------------------------------------

def top_k_sets(V, genes, k):
    U = unit(V)
    out = {}
    for i, g in enumerate(genes):
        cos = U @ U[i]
        cos[i] = -np.inf
        out[g] = [genes[j] for j in np.argsort(-cos, kind="stable")[:k]]
    return out


def slow_keep(J, k):
    """q² with E[o / (2k - o)] = J for o ~ Binomial(k, q²): a scalar bisection over math.comb sums."""
    def expected(x):
        return sum(math.comb(k, o) * x**o * (1 - x) ** (k - o) * o / (2 * k - o) for o in range(k + 1))
    if math.isnan(J):
        return math.nan
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if expected(mid) < J else (lo, mid)
    return (lo + hi) / 2


def shift_reference(a, b, stab_a, stab_b, k, n_pairs):
    """The table's numbers from their definitions, gene by gene."""
    common = [g for g in a.genes if g in b]
    Na = top_k_sets(a[common], common, k)
    Nb = top_k_sets(b[common], common, k)
    rows = {}
    for g in common:
        o = len(set(Na[g]) & set(Nb[g]))
        ja, jb = stab_a.get(g, np.nan), stab_b.get(g, np.nan)
        x = min(math.sqrt(slow_keep(ja, k) * slow_keep(jb, k)), 1 - 1 / (2 * k * n_pairs))
        p = sum(math.comb(k, t) * x**t * (1 - x) ** (k - t) for t in range(o + 1)) if not math.isnan(x) else np.nan
        rows[g] = {"jaccard": o / (2 * k - o), "p_value": p, "neighbours_a": ", ".join(Na[g]),
                   "neighbours_b": ", ".join(Nb[g])}
    return rows


def tissue(seed, n=300, d=12):
    rng = np.random.default_rng(seed)
    genes = [f"G{i:04d}" for i in range(n)]
    return GeneVectors(rng.normal(size=(n, d)), genes)


def scrambled(a, genes, extra_genes=()):
    """``a`` with the vectors of ``genes`` passed round a cycle (none keeps its own), plus genes absent from a."""
    V = np.array(a.vectors)
    rows = [a.key_to_index[g] for g in genes]
    V[rows] = V[rows[1:] + rows[:1]]
    names = list(a.genes)
    if extra_genes:
        V = np.vstack([V, np.ones((len(extra_genes), a.dim))])
        names += list(extra_genes)
    return GeneVectors(V, names)


COLUMNS = ["gene", "score", "p_value", "q_value", "shifted", "jaccard", "expected_jaccard", "cosine",
           "stability_a", "stability_b", "neighbours_a", "neighbours_b"]


def test_identical_tissues_shift_nothing():
    a = tissue(0)
    stab = pd.Series(0.9, index=a.genes)
    table = shift_table(a, a, stab, stab, k=10, n_pairs=5)
    assert table.columns.tolist() == COLUMNS and len(table) == len(a)
    assert (table["jaccard"] == 1.0).all() and not table["shifted"].any()
    np.testing.assert_array_equal(table["p_value"], 1.0)
    np.testing.assert_array_equal(table["q_value"], 1.0)
    assert (table["score"] == 0).all()
    np.testing.assert_allclose(table["cosine"], 1.0, atol=1e-12)
    assert (table["neighbours_a"] == table["neighbours_b"]).all()


def test_scrambled_genes_rank_first_and_are_shifted_when_stability_is_high():
    a = tissue(1)
    moved = ["G0007", "G0050", "G0123", "G0200", "G0299", "G0013"]
    b = scrambled(a, moved)
    k = 10
    stable = pd.Series(0.9, index=a.genes)
    table = shift_table(a, b, stable, stable, k=k, n_pairs=10, names=("a", "b"))
    assert set(table["gene"].iloc[:len(moved)]) == set(moved)
    assert table["shifted"].iloc[:len(moved)].all()
    assert table["shifted"].sum() == len(moved)  # the genes whose list lost a moved gene are within noise
    assert (table["jaccard"].iloc[:len(moved)] < 0.2).all()
    # with unstable neighbours (Jaccard 0.05 between halves) the same change is within noise
    shaky = pd.Series(0.05, index=a.genes)
    calm = shift_table(a, b, shaky, shaky, k=k, n_pairs=10)
    assert not calm["shifted"].any()
    assert (calm["p_value"] > 0.05).all()


def test_shift_table_numbers_against_their_definitions():
    a = tissue(2, n=200)
    b = scrambled(tissue(2, n=200), ["G0001", "G0002", "G0003", "G0100"], extra_genes=["ONLY_B"])
    rng = np.random.default_rng(5)
    stab_a = pd.Series(rng.uniform(0.2, 1.0, size=len(a)), index=a.genes)
    stab_b = pd.Series(rng.uniform(0.2, 1.0, size=len(a)), index=a.genes).drop(["G0150", "G0151"])  # not measured
    k, n_pairs = 7, 3
    table = shift_table(a, b, stab_a, stab_b, k=k, n_pairs=n_pairs, alpha=0.1, names=("a", "b"))
    ref = shift_reference(a, b, stab_a.to_dict(), stab_b.to_dict(), k, n_pairs)
    assert sorted(table["gene"]) == sorted(ref) and "ONLY_B" not in set(table["gene"])
    by_gene = table.set_index("gene")
    for g, row in ref.items():
        got = by_gene.loc[g]
        assert got["jaccard"] == pytest.approx(row["jaccard"], abs=1e-15)
        assert got["neighbours_a"] == row["neighbours_a"] and got["neighbours_b"] == row["neighbours_b"]
        if math.isnan(row["p_value"]):
            assert np.isnan(got["p_value"]) and np.isnan(got["q_value"]) and not got["shifted"]
        else:
            assert got["p_value"] == pytest.approx(row["p_value"], rel=1e-9, abs=1e-300)
            assert got["score"] == pytest.approx(-math.log10(row["p_value"]), rel=1e-9)
    np.testing.assert_allclose(table["q_value"], bh_slow(table["p_value"]), rtol=1e-12, equal_nan=True)
    np.testing.assert_array_equal(table["shifted"], table["q_value"] < 0.1)
    np.testing.assert_array_equal(table["stability_a"], stab_a.reindex(table["gene"]).to_numpy())
    assert table.loc[table["gene"] == "G0150", "stability_b"].isna().all()
    cos = np.einsum("ij,ij->i", unit(a[list(table["gene"])]), unit(b[list(table["gene"])]))
    np.testing.assert_allclose(table["cosine"], cos, atol=1e-12)


def test_perfect_stability_is_capped_by_the_number_of_pairs():
    a = tissue(3, n=100)
    b = scrambled(a, ["G0001", "G0002"])
    one = pd.Series(1.0, index=a.genes)
    k, n_pairs = 5, 4
    table = shift_table(a, b, one, one, k=k, n_pairs=n_pairs)
    cap = 1 - 1 / (2 * k * n_pairs)
    np.testing.assert_allclose(table["expected_jaccard"], float(expected_jaccard(cap, k)), rtol=1e-14)
    assert np.isfinite(table["score"]).all() and (table["p_value"] > 0).all()
    lost_one = table[table["jaccard"] == pytest.approx(4 / 6)]
    np.testing.assert_allclose(lost_one["p_value"], 1 - cap**k, rtol=1e-12)


def test_rows_are_sorted_as_documented():
    a = tissue(4, n=250)
    b = scrambled(a, [f"G{i:04d}" for i in range(0, 250, 17)])
    rng = np.random.default_rng(0)
    stab = pd.Series(rng.choice([0.3, 0.6, 0.9], size=len(a)), index=a.genes).drop(["G0005", "G0006"])
    table = shift_table(a, b, stab, stab, k=8, n_pairs=2)
    rows = list(table.itertuples(index=False))
    key = [(math.inf if math.isnan(r.p_value) else r.p_value, r.jaccard, r.cosine, r.gene) for r in rows]
    assert key == sorted(key)
    assert set(table["gene"].iloc[-2:]) == {"G0005", "G0006"}  # no stability: NaN p value, last
    assert table["p_value"].iloc[:-2].notna().all()
    # ties in p_value are many (identical stabilities and overlaps): the later keys decide
    assert table["p_value"].duplicated().sum() > 50


def test_too_few_shared_genes_is_a_clear_error():
    a = tissue(5, n=30)
    b = GeneVectors(a[a.genes[:6]], a.genes[:6])
    stab = pd.Series(0.5, index=a.genes)
    with pytest.raises(ValueError, match=r"tissues 'Lung' and 'Liver' share 6 expressed gene\(s\), too few to compare "
                                         r"neighbour lists of k=6\. Fit them with genes='shared'"):
        shift_table(a, b, stab, stab, k=6, n_pairs=2, names=("Lung", "Liver"))
    assert len(shift_table(a, b, stab, stab, k=5, n_pairs=2)) == 6


def test_same_table_for_one_and_two_threads():
    # more genes than one block of the neighbour search (1,024 rows), so two threads really split the work
    a = tissue(6, n=1500, d=8)
    b = scrambled(tissue(6, n=1500, d=8), [f"G{i:04d}" for i in range(0, 1500, 50)])
    rng = np.random.default_rng(1)
    stab = pd.Series(rng.uniform(0.3, 0.95, size=len(a)), index=a.genes)
    one = shift_table(a, b, stab, stab, k=10, n_pairs=5, n_threads=1)
    two = shift_table(a, b, stab, stab, k=10, n_pairs=5, n_threads=2)
    pd.testing.assert_frame_equal(one, two, check_exact=True)
    assert one["shifted"].sum() >= 25


@pytest.mark.parametrize("k", [1, 5, 10, 50])
def test_keep_probability_with_k_inverts_expected_jaccard_exactly(k):
    q2 = np.array([0.0, 0.01, 0.2, 0.5, 0.77, 0.99, 1.0])
    np.testing.assert_allclose(keep_probability(expected_jaccard(q2, k), k), q2, atol=1e-9)
    assert np.isnan(keep_probability([np.nan], k)).all()
    # the closed form reads high by Jensen; the exact inverse does not
    J = expected_jaccard(np.array([0.5]), k)
    assert keep_probability(J)[0] >= keep_probability(J, k)[0] - 1e-12
