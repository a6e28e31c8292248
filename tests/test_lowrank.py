"""Tests of the closed-form low-rank GloVe solver and its weighted ALS (genevec.lowrank, genevec._lowrank)."""

import re
import subprocess
import sys

import numpy as np
import pytest

from genevec import _layout, _lowrank, lowrank
from genevec.lowrank import als_sweeps, fit_lowrank, svd_fit, weighted_loss

X_MAX, ALPHA = 100.0, 0.75


# ----------------------------------------------------------------------------- references
def dense_loss(T, W, C, bw, bc, x_max=X_MAX, alpha=ALPHA):
    """0.5 * mean over T_ij > 0 of f(T_ij) (w_i.c_j + b_i + bc_j - log T_ij)^2, in plain NumPy."""
    T = np.asarray(T, dtype=np.float64)
    pos = T > 0
    L = np.log(np.where(pos, T, 1.0))
    f = np.where(pos, np.minimum(1.0, (np.where(pos, T, 0.0) / x_max) ** alpha), 0.0)
    R = W @ C.T + bw[:, None] + bc[None, :] - L
    return float(0.5 * (f * R * R)[pos].sum() / pos.sum())


def gd_reference(T, dim, n_iter, seed=0, lr=0.05, x_max=X_MAX, alpha=ALPHA):
    """Full-batch AdaGrad on the dense loss from text2vec's uniform init; returns the best loss seen."""
    T = np.asarray(T, dtype=np.float64)
    n = T.shape[0]
    pos = T > 0
    L = np.where(pos, np.log(np.where(pos, T, 1.0)), 0.0)
    f = np.where(pos, np.minimum(1.0, (np.where(pos, T, 0.0) / x_max) ** alpha), 0.0)
    rng = np.random.default_rng(seed)
    P = [rng.uniform(-0.5, 0.5, (n, dim)) / dim, rng.uniform(-0.5, 0.5, (n, dim)) / dim, np.zeros(n), np.zeros(n)]
    G = [np.ones_like(p) for p in P]
    best = np.inf
    for _ in range(n_iter):
        W, C, bw, bc = P
        E = f * (W @ C.T + bw[:, None] + bc[None, :] - L)
        best = min(best, dense_loss(T, W, C, bw, bc, x_max=x_max, alpha=alpha))
        grads = [E @ C, E.T @ W, E.sum(1), E.sum(0)]
        for p, g, s in zip(P, grads, G):
            s += g * g
            p -= lr * g / np.sqrt(s)
    return min(best, dense_loss(T, *P, x_max=x_max, alpha=alpha))


def als_half_reference(T, fixed, fixed_bias, moving, moving_bias, reg, x_max=X_MAX, alpha=ALPHA):
    """Per-gene dense weighted least squares with the documented proximal ridge."""
    T = np.asarray(T, dtype=np.float64)
    pos = T > 0
    L = np.where(pos, np.log(np.where(pos, T, 1.0)), 0.0)
    f = np.where(pos, np.minimum(1.0, (np.where(pos, T, 0.0) / x_max) ** alpha), 0.0)
    F = np.hstack([fixed, np.ones((T.shape[0], 1))])
    theta = np.hstack([moving, moving_bias[:, None]])
    out = np.empty_like(theta)
    for i in range(T.shape[0]):
        G = (F * f[i][:, None]).T @ F
        lam = reg * max(1.0, np.trace(G) / F.shape[1])
        rhs = F.T @ (f[i] * (L[i] - fixed_bias)) + lam * theta[i]
        out[i] = np.linalg.solve(G + lam * np.eye(F.shape[1]), rhs)
    return out[:, :-1], out[:, -1]


# ----------------------------------------------------------------------------- data
def sym_counts(n, seed, lam=40.0, zero_frac=0.0, small_frac=0.0):
    """A symmetric count TCM with optional zeros and a block of small counts (< x_max)."""
    rng = np.random.default_rng(seed)
    A = rng.gamma(1.0, 1.0, size=(n, 3))
    T = rng.poisson(lam * (1.0 + A @ A.T)).astype(float)
    if small_frac:
        small = rng.random(n) < small_frac
        T[np.ix_(small, small)] = rng.poisson(3.0, size=(small.sum(), small.sum()))
    if zero_frac:
        T[rng.random((n, n)) < zero_frac] = 0.0
    T = np.triu(T)
    return T + np.triu(T, 1).T


def tiles_of(T, group_size=16, dtype=np.float64):
    return _layout.tiles_from_dense_tcm(T, _layout.gene_groups(T.shape[0], group_size), dtype=dtype)


# ----------------------------------------------------------------------------- kernels
@pytest.mark.parametrize("max_cols", [1, 13, 10**9])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tiles_matmat_equals_dense_reference(dtype, max_cols):
    rng = np.random.default_rng(1)
    T = sym_counts(45, 1, zero_frac=0.2, small_frac=0.3)
    tiles = tiles_of(T, group_size=7, dtype=dtype)          # uneven groups: 7 x 6 + ...
    L = tiles.to_dense()
    rb, cb = rng.normal(size=45).astype(dtype), rng.normal(size=45).astype(dtype)
    Q = rng.normal(size=(45, 6)).astype(dtype)
    M = np.where(np.isfinite(L), L - rb[:, None].astype(float) - cb[None, :], 0.0)
    out = np.full((45, 6), np.nan, dtype=dtype)
    # max_cols 1: one gemm per tile; 13: runs of two tiles; 10**9: one run per side of the diagonal
    _lowrank.tiles_matmat(tiles.values, tiles.tile_ptr, tiles.group_bounds, rb, cb, Q, out, max_cols, 2)
    tol = dict(rtol=1e-5, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-11)
    np.testing.assert_allclose(out, M @ Q.astype(float), **tol)


def test_tiles_matmat_reads_read_only_tiles():
    T = sym_counts(20, 2)
    tiles = tiles_of(T, group_size=8)
    tiles.values.setflags(write=False)
    Q = np.ones((20, 2))
    Q.setflags(write=False)
    b = np.zeros(20)
    b.setflags(write=False)
    out = np.empty((20, 2))
    _lowrank.tiles_matmat(tiles.values, tiles.tile_ptr, tiles.group_bounds, b, b, Q, out, 8, 1)
    np.testing.assert_allclose(out, tiles.to_dense() @ Q)


def test_row_sums_equal_dense_reference():
    T = sym_counts(45, 18, zero_frac=0.2)
    for dtype in (np.float32, np.float64):
        tiles = tiles_of(T, group_size=7, dtype=dtype)
        L = tiles.to_dense().astype(np.float64)
        sums, counts = np.empty(45), np.empty(45, dtype=np.int64)
        _lowrank.tiles_row_sums(tiles.values, tiles.tile_ptr, tiles.group_bounds, sums, counts, 2)
        np.testing.assert_array_equal(counts, np.isfinite(L).sum(1))
        np.testing.assert_allclose(sums, np.where(np.isfinite(L), L, 0.0).sum(1), rtol=1e-12)


def test_weighted_loss_equals_dense_reference():
    rng = np.random.default_rng(3)
    T = sym_counts(40, 3, zero_frac=0.1, small_frac=0.4)
    W, C = rng.normal(size=(40, 4)), rng.normal(size=(40, 4))
    bw, bc = rng.normal(size=40), rng.normal(size=40)
    for dtype in (np.float64, np.float32):
        got = weighted_loss(tiles_of(T, 16, dtype), W, C, bw, bc, x_max=X_MAX, alpha=ALPHA, n_threads=2)
        assert got == pytest.approx(dense_loss(T, W, C, bw, bc), rel=1e-6 if dtype == np.float32 else 1e-12)


def test_the_loss_kernel_refuses_shapes_and_thread_counts_it_would_read_past():
    """Bounds checks are off in the kernel: a mismatch must be an error before the loop, not a wild read."""
    from genevec.objective import exact_loss

    rng = np.random.default_rng(3)
    tiles = tiles_of(sym_counts(40, 3, zero_frac=0.1, small_frac=0.4), 16, np.float64)
    W, C, bw, bc = rng.normal(size=(40, 4)), rng.normal(size=(40, 4)), rng.normal(size=40), rng.normal(size=40)
    kw = dict(x_max=X_MAX, alpha=ALPHA)
    with pytest.raises(ValueError, match=r"weighted_loss: C has shape \(3, 2\), expected \(40, 4\) for 40 genes"):
        weighted_loss(tiles, W, np.zeros((3, 2)), bw, bc, **kw)
    with pytest.raises(ValueError, match=r"weighted_loss: bw has shape \(2,\), expected \(40,\)"):
        weighted_loss(tiles, W, C, bw[:2], bc, **kw)
    for n_threads in (0, -1):
        with pytest.raises(ValueError, match=r"loss_tiles: n_threads must be >= 1"):
            weighted_loss(tiles, W, C, bw, bc, n_threads=n_threads, **kw)
    with pytest.raises(ValueError, match=r"loss_tiles: the tiles cover 40 genes; W and C must have shape \(40, dim\)"):
        exact_loss(tiles, W[:30].copy(), C[:30].copy(), bw, bc, **kw)
    assert exact_loss(tiles, W, C, bw, bc, **kw) == weighted_loss(tiles, W, C, bw, bc, **kw)


# ----------------------------------------------------------------------------- closed form
def test_svd_fit_exact_on_rank_k_plus_biases():
    rng = np.random.default_rng(4)
    n, k = 60, 3
    U = rng.normal(size=(n, k))
    S = np.diag([2.0, -1.5, 0.7])                       # a negative eigenvalue too
    b = rng.normal(size=n)
    L = 6.0 + b[:, None] + b[None, :] + U @ S @ U.T / n * 10
    T = np.exp(L)
    tiles = tiles_of(T, 16)
    for dim in (k, k + 2):
        W, C, bw, bc = svd_fit(tiles, dim, rng=0)
        assert W.shape == C.shape == (n, dim)
        assert dense_loss(T, W, C, bw, bc) < 1e-8
    # one dimension short of the rank: the loss is the dropped eigenvalue, so clearly not 0
    W, C, bw, bc = svd_fit(tiles, k - 1, rng=0)
    assert dense_loss(T, W, C, bw, bc) > 1e-4


def test_svd_fit_reaches_eckart_young_optimum_with_all_weights_one():
    T = sym_counts(70, 5, lam=200.0)                    # every T_ij >> x_max: all weights 1
    assert T.min() > X_MAX
    L = np.log(T)
    r = L.mean(1)
    M = L - r[:, None] - r[None, :] + L.mean()
    lam = np.linalg.eigvalsh(M)
    dim = 5
    optimum = float(0.5 * np.sort(lam ** 2)[:-dim].sum() / T.size)
    # a range finder as wide as the matrix is exact: the Eckart-Young optimum and its W C^T
    W, C, bw, bc = svd_fit(tiles_of(T), dim, rng=0, n_oversamples=70)
    assert dense_loss(T, W, C, bw, bc) == pytest.approx(optimum, rel=1e-10)
    np.testing.assert_allclose(W @ C.T, _best_rank(M, dim), atol=1e-10)
    np.testing.assert_allclose(bw[:, None] + bc[None, :], L - M, atol=1e-12)
    # the randomized one converges with the size of its Krylov space; |lambda| 10.8, 9.2, 6.9, then noise
    # 1.56, 1.17, 1.02, ...: dim 5 cuts into the noise, the hardest case for any randomized solver
    losses = [dense_loss(T, *svd_fit(tiles_of(T), dim, rng=0, **kw))
              for kw in ({}, dict(n_power_iter=6, n_oversamples=20), dict(n_power_iter=8, n_oversamples=30))]
    assert optimum <= losses[0] <= optimum * 1.03          # the default
    assert optimum <= losses[1] <= optimum * (1 + 1e-4)
    assert optimum <= losses[2] <= optimum * (1 + 1e-6)


def test_svd_fit_float32_products_agree_with_float64():
    # float32 tiles take sgemm, float64 tiles dgemm: the same fit to the products' rounding
    T = sym_counts(120, 19, lam=60.0, zero_frac=0.05, small_frac=0.3)
    fits = {dt: svd_fit(tiles_of(T, 16, dt), 6, rng=0) for dt in (np.float32, np.float64)}
    loss = {dt: dense_loss(T, *fit) for dt, fit in fits.items()}
    assert loss[np.float32] == pytest.approx(loss[np.float64], rel=1e-6)
    np.testing.assert_allclose(fits[np.float32][2], fits[np.float64][2], rtol=1e-6)      # the biases
    WC = {dt: fit[0] @ fit[1].T for dt, fit in fits.items()}
    np.testing.assert_allclose(WC[np.float32], WC[np.float64], atol=1e-4 * np.abs(WC[np.float64]).max())


def _best_rank(M, dim):
    lam, V = np.linalg.eigh(M)
    keep = np.argsort(-np.abs(lam))[:dim]
    return (V[:, keep] * lam[keep]) @ V[:, keep].T


def sgd_loss(tiles, dim, epochs=50, seed=0):
    """Exact loss after ``epochs`` of the SGD solver (genevec.glove.fit_glove, study settings)."""
    from genevec import glove

    rng = np.random.default_rng(seed)
    params = glove.init_params(tiles.n_genes, dim, tiles.values.dtype, rng)
    glove.fit_glove(tiles, params, x_max=X_MAX, alpha=ALPHA, learning_rate=0.05, max_iter=epochs, rng=rng)
    return glove.glove_loss(tiles, params, x_max=X_MAX, alpha=ALPHA)


def test_closed_form_beats_50_sgd_epochs_when_all_weights_one():
    T = sym_counts(50, 6, lam=300.0)
    tiles = tiles_of(T)
    W, C, bw, bc = svd_fit(tiles, 4, rng=0)
    closed = dense_loss(T, W, C, bw, bc)
    assert closed <= sgd_loss(tiles, 4, 50)
    assert closed <= gd_reference(T, 4, 500, lr=0.2)     # and a long full-batch AdaGrad in NumPy


def test_weighted_loss_agrees_with_glove_loss():
    from genevec import glove

    rng = np.random.default_rng(16)
    T = sym_counts(33, 16, zero_frac=0.2, small_frac=0.4)
    tiles = tiles_of(T, 8)
    W, C, bw, bc = rng.normal(size=(33, 3)), rng.normal(size=(33, 3)), rng.normal(size=33), rng.normal(size=33)
    ours = weighted_loss(tiles, W, C, bw, bc, x_max=X_MAX, alpha=ALPHA)
    p = glove.GloVeParams(W, C, bw, bc, *(np.ones_like(a) for a in (W, C, bw, bc)))
    assert ours == pytest.approx(glove.glove_loss(tiles, p, x_max=X_MAX, alpha=ALPHA), rel=1e-12)
    assert ours == glove.glove_loss(tiles, p, x_max=X_MAX, alpha=ALPHA)   # one kernel: the same bits
    params, curve = fit_lowrank(tiles, 3, max_iter=2, rng=0, dtype=np.float64)
    assert isinstance(params, glove.GloVeParams) and params.gW.min() == params.gW.max() == 1.0
    assert curve[-1] == glove.glove_loss(tiles, params, x_max=X_MAX, alpha=ALPHA)


def test_svd_fit_dim_above_genes_pads_with_zeros():
    T = sym_counts(10, 7, lam=300.0)
    W, C, bw, bc = svd_fit(tiles_of(T, 4), 12, rng=0)
    assert W.shape == (10, 12)
    assert dense_loss(T, W, C, bw, bc) < 1e-20         # full rank kept: exact
    assert not W[:, 10:].any() and not C[:, 10:].any()


# ----------------------------------------------------------------------------- ALS
def test_als_half_sweep_is_the_exact_block_minimiser():
    rng = np.random.default_rng(8)
    T = sym_counts(50, 8, zero_frac=0.3, small_frac=0.5)   # many rows take the "subtract" path, many the direct one
    tiles = tiles_of(T, 16)
    W, C = rng.normal(size=(50, 3)), rng.normal(size=(50, 3))
    bw, bc = rng.normal(size=50), rng.normal(size=50)
    reg = 1e-3
    W_ref, bw_ref = als_half_reference(T, C, bc, W, bw, reg)
    Wk, bwk = W.copy(), bw.copy()
    lowrank._als_half(_lowrank, tiles, C, bc, Wk, bwk, np.log(X_MAX), ALPHA, reg, 2)
    np.testing.assert_allclose(Wk, W_ref, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(bwk, bw_ref, rtol=1e-9, atol=1e-10)


def test_als_sweeps_never_increase_the_loss():
    T = sym_counts(64, 9, lam=20.0, zero_frac=0.25, small_frac=0.4)
    tiles = tiles_of(T, 16)
    rng = np.random.default_rng(9)
    W, C = rng.normal(scale=0.3, size=(64, 4)), rng.normal(scale=0.3, size=(64, 4))
    bw, bc = np.zeros(64), np.zeros(64)
    start = dense_loss(T, W, C, bw, bc)
    curve = als_sweeps(tiles, W, C, bw, bc, x_max=X_MAX, alpha=ALPHA, n_sweeps=15, n_threads=2)
    assert len(curve) == 15
    assert curve[0] < start
    steps = np.diff([start, *curve])
    assert (steps <= 1e-12 * start).all(), steps
    assert curve[-1] < 0.5 * start
    assert curve[-1] == pytest.approx(dense_loss(T, W, C, bw, bc), rel=1e-10)   # arrays updated in place


def test_svd_plus_als_beats_sgd_with_zeros_and_small_counts():
    T = sym_counts(60, 10, lam=15.0, zero_frac=0.2, small_frac=0.5)
    tiles = tiles_of(T, 16)
    params, curve = fit_lowrank(tiles, 4, max_iter=30, rng=0, dtype=np.float64)
    assert curve[-1] < curve[0]
    ours = dense_loss(T, params.W, params.C, params.bw, params.bc)
    assert ours <= sgd_loss(tiles, 4, 50)
    assert ours <= gd_reference(T, 4, 500, lr=0.2)


def test_fit_lowrank_skips_als_when_every_weight_is_one():
    T = sym_counts(30, 11, lam=300.0)
    params, curve = fit_lowrank(tiles_of(T), 3, max_iter=5, rng=0)
    assert len(curve) == 1


def test_fit_lowrank_callback_stops_and_verbose_lines(capsys):
    T = sym_counts(30, 12, lam=10.0, zero_frac=0.2)
    seen = []
    params, curve = fit_lowrank(tiles_of(T), 3, max_iter=8, rng=0, verbose=2,
                                callback=lambda it, loss: seen.append((it, loss)) or it == 2)
    assert [it for it, _ in seen] == [1, 2]
    assert len(curve) == 3 and seen[-1][1] == curve[-1]
    err = capsys.readouterr().err
    assert "closed-form low-rank fit  loss" in err
    assert "sweep 2/8  loss" in err and "sweep 3/8" not in err


@pytest.mark.parametrize("fn, dtype", [("svd", np.float32), ("svd", np.float64), ("als", np.float32)])
def test_bit_identical_for_any_thread_count(fn, dtype):
    T = sym_counts(90, 13, lam=20.0, zero_frac=0.15, small_frac=0.4)
    tiles = tiles_of(T, 16, dtype)
    results = []
    for n_threads in (1, 2, 4):
        W, C, bw, bc = svd_fit(tiles, 5, rng=3, n_threads=n_threads)
        if fn == "als":
            curve = als_sweeps(tiles, W, C, bw, bc, n_sweeps=3, n_threads=n_threads)
            results.append((W, C, bw, bc, np.array(curve)))
        else:
            results.append((W, C, bw, bc))
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert a.tobytes() == b.tobytes()


def test_same_seed_same_result_other_seed_close():
    T = sym_counts(40, 14, lam=300.0)
    a = svd_fit(tiles_of(T), 3, rng=1)
    b = svd_fit(tiles_of(T), 3, rng=np.random.default_rng(1))
    assert all(x.tobytes() == y.tobytes() for x, y in zip(a, b))
    c = svd_fit(tiles_of(T), 3, rng=2)
    assert a[0].tobytes() != c[0].tobytes()                 # the seed is used ...
    # ... within the solver's accuracy (|lambda| 9.4, 8.2, 1.56, 1.47: the third vector is nearly degenerate)
    assert dense_loss(T, *a) == pytest.approx(dense_loss(T, *c), rel=0.02)
    top = lambda p: p[0][:, :2] @ p[1][:, :2].T            # noqa: E731
    np.testing.assert_allclose(top(a), top(c), atol=0.02)


# ----------------------------------------------------------------------------- messages
def test_messages():
    tiles = tiles_of(sym_counts(10, 15), 4)
    with pytest.raises(TypeError, match=r"svd_fit: tiles must be a genevec._layout.TrainingTiles, got ndarray"):
        svd_fit(np.ones((3, 3)), 2)
    with pytest.raises(ValueError, match=r"svd_fit: dim must be a positive int, got 0\."):
        svd_fit(tiles, 0)
    with pytest.raises(ValueError, match=r"svd_fit: n_power_iter must be a non-negative int, got -1\."):
        svd_fit(tiles, 2, n_power_iter=-1)
    with pytest.raises(ValueError, match=r"als_sweeps: x_max must be a positive number, got 0"):
        als_sweeps(tiles, np.zeros((10, 2)), np.zeros((10, 2)), np.zeros(10), np.zeros(10), x_max=0)
    with pytest.raises(ValueError, match=r"als_sweeps: bc has shape \(9,\), expected \(10,\) for 10 genes\."):
        als_sweeps(tiles, np.zeros((10, 2)), np.zeros((10, 2)), np.zeros(10), np.zeros(9))
    ro = np.zeros((10, 2))
    ro.setflags(write=False)
    with pytest.raises(TypeError, match=r"als_sweeps: W must be a writable ndarray .* Pass np.array\(W\)"):
        als_sweeps(tiles, ro, np.zeros((10, 2)), np.zeros(10), np.zeros(10))
    with pytest.raises(ValueError, match=r"fit_lowrank: dtype must be float32 or float64, got int64\."):
        fit_lowrank(tiles, 2, dtype=np.int64)


def test_als_keeps_genes_whose_system_fails_and_warns():
    from genevec.exceptions import ConvergenceWarning

    T = sym_counts(20, 17, lam=10.0)
    tiles = tiles_of(T, 8)
    W, C = np.ones((20, 2)), np.ones((20, 2))
    C[3, 0] = np.nan                                    # every word system sees the NaN row of C
    bw, bc = np.zeros(20), np.zeros(20)
    with pytest.warns(ConvergenceWarning) as record:
        als_sweeps(tiles, W, C, bw, bc, n_sweeps=1)
    messages = [str(w.message) for w in record]
    assert len(messages) == 2
    # word half: every system holds the NaN row of C; context half: only gene 3's start is NaN
    assert re.fullmatch(r"weighted ALS: the normal equations of 20 gene\(s\) were not positive definite "
                        r"\(first: gene index 0\); they keep their previous vectors\. Check that the vectors are "
                        r"finite, or pass a larger ridge, e\.g\. als_sweeps\(\.\.\., reg=1e-4\)\.", messages[0])
    assert "of 1 gene(s)" in messages[1] and "(first: gene index 3)" in messages[1]
    assert (W == 1.0).all() and np.isnan(C[3, 0]) and np.isfinite(np.delete(C, 3, axis=0)).all()


_SCRATCH_FAILS = """
import ctypes, resource, sys
import numpy as np
from scipy.linalg.blas import dgemm
from genevec import _layout, _lowrank

n, kernel = 2000, sys.argv[1]
tiles = _layout.tiles_from_dense_tcm(np.full((n, n), 50.0), np.array([0, n]), dtype=np.float64)
Q, out = np.ones((n, 4)), np.empty((n, 4))
F, theta = np.ones((n, 3)), np.zeros((n, 3))
# Before the limit: the BLAS the kernels call (scipy's) allocates its buffers on its first call, and the
# heap gives back what it freed, so that the kernel's own scratch is what cannot be allocated.
G_full = np.ascontiguousarray(dgemm(1.0, F, F, trans_a=1))
ctypes.CDLL("libc.so.6").malloc_trim(0)
with open("/proc/self/statm") as fh:
    address_space = int(fh.read().split()[0]) * resource.getpagesize()
# room for small allocations, none for the kernel's n x n scratch (32 MB)
resource.setrlimit(resource.RLIMIT_AS, (address_space + (8 << 20), resource.getrlimit(resource.RLIMIT_AS)[1]))
try:
    if kernel == "tiles_matmat":
        _lowrank.tiles_matmat(tiles.values, tiles.tile_ptr, tiles.group_bounds, np.zeros(n), np.zeros(n), Q, out,
                              n, 1)
    else:
        _lowrank.als_half_sweep(tiles.values, tiles.tile_ptr, tiles.group_bounds, F, np.zeros(n), G_full, theta,
                                np.log(100.0), 0.75, 1e-6, np.zeros(n, dtype=np.int64), 1)
except MemoryError as e:
    print("MemoryError:", e)
"""


@pytest.mark.parametrize("kernel", ["tiles_matmat", "als_half_sweep"])
def test_scratch_that_cannot_be_allocated_is_a_memory_error_with_the_fix(kernel):
    # (Linux: RLIMIT_AS, /proc/self/statm) a kernel's per-thread scratch is malloc'd inside its parallel block: a failure must come back as a
    # MemoryError that names the kernel and a way out (every buffer checked, nothing dereferenced, no crash)
    done = subprocess.run([sys.executable, "-c", _SCRATCH_FAILS, kernel], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith(f"MemoryError: {kernel}: could not allocate"), done.stdout
    assert "use fewer threads (n_jobs)" in done.stdout
