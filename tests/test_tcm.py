"""dtm_to_tcm and training_tiles against the brute-force reference, across inputs and thread counts."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from _reference import tcm_ref

from genevec import _layout, dtm_to_tcm
from genevec.exceptions import CountsError
from genevec.tcm import estimate_training_bytes, training_tiles

counts_matrices = arrays(
    dtype=np.int64,
    shape=array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=8).map(lambda s: (s[0], min(s[1], 6))),
    elements=st.integers(0, 50),
)


def ref64(A):
    return np.asarray(tcm_ref(A), dtype=np.float64)


def poisson_counts(n_samples, n_genes, lam=3.0, seed=0, zero_frac=0.4):
    rng = np.random.default_rng(seed)
    A = rng.poisson(lam, size=(n_samples, n_genes)).astype(np.int64)
    A[rng.random(A.shape) < zero_frac] = 0
    return A


# ---------------------------------------------------------------- properties


@settings(max_examples=60, deadline=None)
@given(counts_matrices)
def test_dense_equals_reference_and_is_symmetric(A):
    T = dtm_to_tcm(A, n_jobs=1)
    assert T.dtype == np.float64 and T.shape == (A.shape[1], A.shape[1])
    assert np.array_equal(T, ref64(A))
    assert np.array_equal(T, T.T)


@settings(max_examples=40, deadline=None)
@given(counts_matrices, st.randoms(use_true_random=False))
def test_invariant_to_sample_order_and_permutes_with_genes(A, rnd):
    rows = list(range(A.shape[0]))
    cols = list(range(A.shape[1]))
    rnd.shuffle(rows)
    rnd.shuffle(cols)
    T = dtm_to_tcm(A, n_jobs=1)
    assert np.array_equal(dtm_to_tcm(A[rows], n_jobs=1), T)
    assert np.array_equal(dtm_to_tcm(A[:, cols], n_jobs=1), T[np.ix_(cols, cols)])


@settings(max_examples=40, deadline=None)
@given(counts_matrices)
def test_sparse_equals_dense_without_explicit_zeros(A):
    S = dtm_to_tcm(sp.csr_matrix(A), n_jobs=2)
    assert sp.issparse(S) and S.format == "csr"
    assert np.array_equal(S.toarray(), ref64(A))
    assert np.all(S.data != 0)
    assert S.has_sorted_indices and np.all(np.diff(S.indices[S.indptr[0]:S.indptr[1]]) > 0)


@settings(max_examples=30, deadline=None)
@given(counts_matrices)
def test_thread_counts_agree_bitwise_small(A):
    T1 = dtm_to_tcm(A, n_jobs=1)
    for n_jobs in (2, 4):
        assert dtm_to_tcm(A, n_jobs=n_jobs).tobytes() == T1.tobytes()


# ---------------------------------------------------------------- targeted cases


@pytest.mark.parametrize(
    "A",
    [
        np.zeros((4, 3), dtype=np.int64),
        np.ones((5, 4), dtype=np.int64),
        np.array([[0, 3, 0], [0, 1, 2], [0, 0, 7]]),     # an all-zero gene
        np.array([[4, 0, 2, 9]]),                         # one sample
        np.array([[3], [0], [5]]),                        # one gene
        np.array([[7]]),
    ],
    ids=["zeros", "ones", "all-zero-gene", "one-sample", "one-gene", "one-by-one"],
)
def test_edge_shapes(A):
    T = dtm_to_tcm(A, n_jobs=2)
    assert np.array_equal(T, ref64(A))
    S = dtm_to_tcm(sp.csr_matrix(A), n_jobs=2)
    assert np.array_equal(S.toarray(), ref64(A)) and np.all(S.data != 0)


def test_known_values_and_diagonal_rule():
    A = np.array([[1, 2, 0], [3, 0, 1]])
    T = dtm_to_tcm(A, n_jobs=1)
    # gene 0: reads 1 and 3 -> pairs C(1,2) + C(3,2) = 0 + 3; genes 0 and 1 meet in sample 0 only: 1 * 2.
    assert T.tolist() == [[3.0, 2.0, 3.0], [2.0, 1.0, 0.0], [3.0, 0.0, 0.0]]
    assert dtm_to_tcm(np.ones((5, 2)), n_jobs=1).tolist() == [[0.0, 5.0], [5.0, 0.0]]


def test_huge_counts_exact_below_2_53():
    rng = np.random.default_rng(1)
    A = rng.integers(0, 10_000_001, size=(40, 7))        # GTEx-sized counts up to 1e7
    A[0, 0] = 10_000_000
    R = tcm_ref(A)
    assert max(abs(int(v)) for v in R.ravel()) < 2**53
    assert np.array_equal(dtm_to_tcm(A, n_jobs=2), np.asarray(R, dtype=np.float64))
    assert np.array_equal(dtm_to_tcm(sp.csr_matrix(A), n_jobs=2).toarray(), np.asarray(R, dtype=np.float64))


def test_sums_beyond_2_53_within_1e_12():
    rng = np.random.default_rng(2)
    A = rng.integers(5_000_000, 10_000_001, size=(300, 5))  # sums of squares ~ 2e16 > 2^53 ~ 9e15
    R = tcm_ref(A)
    assert max(int(v) for v in R.ravel()) > 2**53
    exact = np.array([[float(v) for v in row] for row in R])
    for T in (dtm_to_tcm(A, n_jobs=2), dtm_to_tcm(sp.csr_matrix(A), n_jobs=2).toarray()):
        np.testing.assert_allclose(T, exact, rtol=1e-12, atol=0)
        assert not np.array_equal(T, np.zeros_like(T))


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int64, np.float64, np.uint16])
def test_input_dtypes_agree(dtype):
    A = poisson_counts(9, 7, seed=3)
    assert np.array_equal(dtm_to_tcm(A.astype(dtype), n_jobs=1), ref64(A))
    assert np.array_equal(dtm_to_tcm(sp.csr_matrix(A.astype(dtype)), n_jobs=1).toarray(), ref64(A))


def test_read_only_fortran_and_dataframe_inputs():
    A = poisson_counts(11, 6, seed=4).astype(np.float64)
    R = ref64(A)
    ro = A.copy()
    ro.setflags(write=False)
    assert np.array_equal(dtm_to_tcm(ro, n_jobs=2), R)
    assert np.array_equal(dtm_to_tcm(np.asfortranarray(A), n_jobs=2), R)
    df = pd.DataFrame(A, columns=[f"g{i}" for i in range(6)])
    assert np.array_equal(dtm_to_tcm(df, n_jobs=2), R)
    S = sp.csr_matrix(A)
    for arr in (S.data, S.indices, S.indptr):
        arr.setflags(write=False)
    assert np.array_equal(dtm_to_tcm(S, n_jobs=2).toarray(), R)
    assert np.array_equal(dtm_to_tcm(sp.csc_matrix(A), n_jobs=2).toarray(), R)


def test_non_integer_values_need_opt_in():
    A = np.array([[0.5, 1.25], [0.5, 0.75]])
    with pytest.raises(CountsError, match=r"non-integer value\(s\); the first is 0.5 at sample row 0, gene g0.*"
                                          r"allow_non_integer=True"):
        dtm_to_tcm(A, gene_names=["g0", "g1"])
    T = dtm_to_tcm(A, allow_non_integer=True, n_jobs=2)
    np.testing.assert_allclose(T, ref64(A), rtol=1e-15)
    assert T[0, 0] == (0.25 + 0.25 - 1.0) / 2          # below zero: the diagonal rule is for counts
    S = dtm_to_tcm(sp.csr_matrix(A), allow_non_integer=True, n_jobs=2)
    np.testing.assert_allclose(S.toarray(), T, rtol=1e-15)


def test_bad_inputs_are_refused_with_their_fix():
    with pytest.raises(CountsError, match=r"^dtm_to_tcm: expects raw read counts, .*negative value\(s\).*the first is -1 at sample row 1, gene 0\. Pass counts before log"):
        dtm_to_tcm(np.array([[1, 2], [-1, 0]]))
    with pytest.raises(CountsError, match=r"NaN or infinite value\(s\); the first is nan at sample row 0, gene B.*fillna"):
        dtm_to_tcm(np.array([[1.0, np.nan]]), gene_names=["A", "B"])
    with pytest.raises(CountsError, match=r"negative value\(s\)"):
        dtm_to_tcm(sp.csr_matrix(np.array([[0, -3.0]])))
    with pytest.raises(ValueError, match=r"n_jobs=0 is not a number of threads\. Use n_jobs=None or -1"):
        dtm_to_tcm(np.ones((2, 2)), n_jobs=0)
    with pytest.raises(ValueError, match=r"n_jobs=0 is not a number of threads"):
        training_tiles(np.ones((2, 2)), [0, 2], n_jobs=0)


# ---------------------------------------------------------------- larger: several tiles, several threads


def test_multi_tile_dense_and_sparse_bitwise_across_threads():
    # 1,100 genes: three 512-gene tiles per side with a ragged last tile; dsyrk and dgemm tiles both used.
    A = poisson_counts(23, 1100, lam=2.0, seed=5, zero_frac=0.6)
    R = ref64(A)
    T1 = dtm_to_tcm(A, n_jobs=1)
    assert np.array_equal(T1, R)
    S1 = dtm_to_tcm(sp.csr_matrix(A), n_jobs=1)
    assert np.array_equal(S1.toarray(), R)
    for n_jobs in (2, 4):
        assert dtm_to_tcm(A, n_jobs=n_jobs).tobytes() == T1.tobytes()
        S = dtm_to_tcm(sp.csr_matrix(A), n_jobs=n_jobs)
        assert S.indptr.tobytes() == S1.indptr.tobytes()
        assert S.indices.tobytes() == S1.indices.tobytes()
        assert S.data.tobytes() == S1.data.tobytes()


def test_non_integer_bitwise_across_threads():
    rng = np.random.default_rng(6)
    A = rng.gamma(0.5, 3.0, size=(37, 700)) * (rng.random((37, 700)) < 0.5)
    T1 = dtm_to_tcm(A, n_jobs=1, allow_non_integer=True)
    np.testing.assert_allclose(T1, ref64(A), rtol=1e-12, atol=1e-12)
    assert np.array_equal(T1, T1.T)
    S1 = dtm_to_tcm(sp.csr_matrix(A), n_jobs=1, allow_non_integer=True)
    np.testing.assert_allclose(S1.toarray(), T1, rtol=1e-12, atol=1e-12)
    for n_jobs in (2, 4):
        assert dtm_to_tcm(A, n_jobs=n_jobs, allow_non_integer=True).tobytes() == T1.tobytes()
        assert dtm_to_tcm(sp.csr_matrix(A), n_jobs=n_jobs, allow_non_integer=True).data.tobytes() == S1.data.tobytes()


def test_sparse_rows_with_few_genes_use_sorted_touched_list():
    # 400 genes, each sample touching 2: rows are far sparser than n_genes / 16 (the qsort path).
    rng = np.random.default_rng(7)
    A = np.zeros((300, 400), dtype=np.int64)
    for s in range(300):
        A[s, rng.choice(400, size=2, replace=False)] = rng.integers(1, 9, size=2)
    S = dtm_to_tcm(sp.csr_matrix(A), n_jobs=2)
    assert np.array_equal(S.toarray(), ref64(A))
    for i in range(400):
        assert np.all(np.diff(S.indices[S.indptr[i]:S.indptr[i + 1]]) > 0)


# ---------------------------------------------------------------- training tiles


def assert_tiles_equal(got, want):
    assert np.array_equal(got.group_bounds, want.group_bounds)
    assert np.array_equal(got.tile_ptr, want.tile_ptr)
    assert got.values.dtype == want.values.dtype
    assert got.values.tobytes() == want.values.tobytes()
    assert got.n_entries == want.n_entries


@pytest.mark.parametrize(
    "n_genes,bounds",
    [
        (37, None),                                  # gene_groups: [0, 16, 32, 37]
        (37, [0, 37]),                               # B = 1
        (37, [0, 1, 5, 6, 20, 37]),                  # uneven groups, a group of one gene
        (130, [0, 100, 101, 130]),
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_training_tiles_equal_reference(n_genes, bounds, dtype):
    A = poisson_counts(15, n_genes, seed=8, zero_frac=0.7)
    A[:, 3] = 0                                      # an all-zero gene: -inf row and column
    A[:, 4] = 0
    A[2, 4] = 1                                      # one read: T[4, 4] = 0 -> -inf on the diagonal
    b = _layout.gene_groups(n_genes) if bounds is None else np.asarray(bounds)
    want = _layout.tiles_from_dense_tcm(tcm_ref(A), b, dtype=dtype)
    assert np.isneginf(want.values).any()
    for X in (A, sp.csr_matrix(A)):
        assert_tiles_equal(training_tiles(X, b, dtype=dtype, n_jobs=2), want)


def test_training_tiles_super_blocks_threads_and_sparse(monkeypatch):
    import genevec.tcm as tcm

    # Small super-blocks so several (P, Q) pairs, including P < Q, are exercised.
    monkeypatch.setattr(tcm, "SUPER_BLOCK", 100)
    monkeypatch.setattr(tcm, "TILE", 48)
    A = poisson_counts(21, 333, lam=1.5, seed=9, zero_frac=0.5)
    b = _layout.gene_groups(333, group_size=40)
    want = _layout.tiles_from_dense_tcm(tcm_ref(A), b)
    got1 = training_tiles(A, b, n_jobs=1)
    assert_tiles_equal(got1, want)
    for n_jobs in (2, 4):
        assert_tiles_equal(training_tiles(A, b, n_jobs=n_jobs), want)
    monkeypatch.setattr(tcm, "DENSE_BLOCK_BYTES", 21 * 8 * 60)   # sparse: 60-gene column blocks
    assert_tiles_equal(training_tiles(sp.csr_matrix(A), b, n_jobs=2), want)
    np.testing.assert_allclose(np.exp(got1.to_dense()), np.maximum(ref64(A), 0), rtol=1e-6)


def test_training_tiles_bad_arguments():
    A = np.ones((3, 10))
    with pytest.raises(ValueError, match=r"group_bounds must increase strictly from 0 to n_genes=10, got \[0, 5, 9\]"):
        training_tiles(A, [0, 5, 9])
    with pytest.raises(ValueError, match=r"group_bounds must be a 1-d int array"):
        training_tiles(A, [0.0, 10.0])
    with pytest.raises(ValueError, match=r"dtype must be float32 or float64, got float16"):
        training_tiles(A, [0, 10], dtype=np.float16)
    with pytest.raises(CountsError, match=r"training_tiles: expects raw read counts, but X has 10 negative value\(s\) \(min -1\)"):
        training_tiles(-A[:1], [0, 10])


def test_estimate_training_bytes_matches_allocation():
    n = 1000
    b = _layout.gene_groups(n)
    tiles = training_tiles(poisson_counts(3, n, seed=10), b, n_jobs=1)
    est = estimate_training_bytes(n, np.float32)
    assert tiles.values.nbytes <= est <= tiles.values.nbytes + 8 * n * n + 10**5
    # Pancreas: packed float32 (1.28 GB) plus a 4,096-gene float64 super-block; under the 2 GB budget.
    assert 1.28e9 < estimate_training_bytes(25321, np.float32) < 2e9
    assert estimate_training_bytes(25321, np.float64) > 2.5e9
    with pytest.raises(ValueError, match="n_genes must be >= 1, got 0"):
        estimate_training_bytes(0)
