"""The closed-form low-rank GloVe solver: double-centring + randomized eigendecomposition, then weighted ALS.

GloVe minimises ``J = sum_ij f(T_ij) (w_i . c_j + b_i + bc_j - log T_ij)^2`` over the ordered pairs
with ``T_ij > 0``. On raw RNA-seq counts nearly every co-occurrence exceeds ``x_max``, so ``f = 1``
almost everywhere and ``J`` is an unweighted fit of ``L = log T`` by a rank-``dim`` matrix plus row
and column biases. Its optimum is closed form (Eckart-Young on the double-centred matrix):

1. biases: ``b_i + bc_j = r_i + r_j - m`` (``r`` the row means of ``L``, ``m`` its grand mean;
   ``L`` is symmetric, so the column means are ``r`` too), split symmetrically ``b = bc = r - m / 2``;
2. ``M = L - b 1^T - 1 bc^T`` is symmetric, so its best rank-``dim`` approximation keeps the ``dim``
   eigenpairs of largest ``|lambda|`` (negative ones too): ``W = U sqrt|Lambda|``,
   ``C = U sqrt|Lambda| sign(Lambda)``, so ``W C^T = U Lambda U^T``.

The eigenpairs are Ritz pairs from a randomized block Krylov space (Musco and Musco 2015; Halko,
Martinsson and Tropp 2011, section 4.5) whose only access to ``M`` is the product ``M @ Q`` with a
narrow ``(n, b)`` block, computed tile by tile in :func:`genevec._lowrank.tiles_matmat`, in the
tiles' precision (sgemm for float32 tiles). ``M`` is never formed.

Missing co-occurrences (``T_ij = 0``, stored as ``-inf``, weight 0) have no target: the means run
over the finite entries only, and ``M_ij = 0`` there, i.e. ``L_ij`` is imputed by its bias part
``b_i + bc_j``. Where some weights are below 1 or entries are missing, the closed form is only a
start, and :func:`als_sweeps` minimises the weighted ``J`` exactly, one block of variables at a time.

Every kernel splits its work by gene group (from the data, never from the thread count), so the
result is bit-identical for any ``n_threads``. BLAS is held to one thread while they run.
"""

from __future__ import annotations

import logging
import time
import warnings
from typing import Callable

import numpy as np
import scipy.linalg

from ._progress import Progress
from ._threads import one_blas_thread
from ._validation import check_dtype, check_positive, check_random_state, check_tiles, check_vectors_for_tiles
from .exceptions import ConvergenceWarning
from .objective import GloVeParams, exact_loss

__all__ = ["svd_fit", "als_sweeps", "fit_lowrank", "weighted_loss", "centred_biases"]

log = logging.getLogger(__name__)

#: fit_lowrank stops when a sweep changes the loss by less than this fraction.
TOL = 1e-6


def _kernels():
    from . import _lowrank

    return _lowrank


def _as_f64(a) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64)


def weighted_loss(tiles, W, C, bw, bc, *, x_max: float, alpha: float, n_threads: int = 1) -> float:
    """Exact GloVe loss: ``0.5 * mean f(T_ij) (w_i . c_j + b_i + bc_j - log T_ij)^2`` over pairs with ``T_ij > 0``.

    The mean runs over the ``tiles.n_entries`` ordered pairs; with the factor 0.5 this is
    text2vec's convention. The same kernel as :func:`genevec.objective.glove_loss`, with the vectors in
    float64 (dgemm) whatever the tiles' precision: one partial sum per block added in block order, the
    same bits for any ``n_threads``.

    Parameters
    ----------
    tiles : TrainingTiles
    W, C : array-like of shape (n_genes, dim)
    bw, bc : array-like of shape (n_genes,)
    x_max, alpha : float
        GloVe's weighting ``f(T) = min(1, (T / x_max) ** alpha)``.
    n_threads : int, default=1

    Returns
    -------
    float

    Examples
    --------
    Zero where every ``log T`` is met exactly, and the same number as ``glove_loss`` of the same vectors:

    >>> import numpy as np
    >>> from genevec import _layout
    >>> from genevec.lowrank import weighted_loss
    >>> from genevec.objective import GloVeParams, glove_loss
    >>> T = np.full((3, 3), np.e ** 2)
    >>> tiles = _layout.tiles_from_dense_tcm(T, _layout.gene_groups(3, 2), dtype=np.float64)
    >>> z, ones = np.zeros((3, 1)), np.ones(3)
    >>> round(weighted_loss(tiles, z, z, ones, ones, x_max=1.0, alpha=0.75), 6)
    0.0
    >>> W = np.arange(3.0).reshape(3, 1)
    >>> same = glove_loss(tiles, GloVeParams.from_vectors(W, W, ones, ones), x_max=1.0, alpha=0.75)
    >>> bool(weighted_loss(tiles, W, W, ones, ones, x_max=1.0, alpha=0.75) == same)
    True
    """
    check_tiles(tiles, "weighted_loss")
    W, C, bw, bc = (_as_f64(a) for a in (W, C, bw, bc))
    check_vectors_for_tiles(tiles, W, C, bw, bc, "weighted_loss")
    return float(exact_loss(tiles, W, C, bw, bc, x_max=float(x_max), alpha=float(alpha), n_threads=int(n_threads)))


def _glove_loss(tiles, W, C, bw, bc, *, x_max, alpha, n_threads) -> float:
    """The exact loss of the vectors rounded to the tiles' precision: what both solvers report."""
    dt = tiles.values.dtype
    W, C, bw, bc = (np.ascontiguousarray(a, dtype=dt) for a in (W, C, bw, bc))
    return float(exact_loss(tiles, W, C, bw, bc, x_max=x_max, alpha=alpha, n_threads=n_threads))


def centred_biases(tiles, n_threads: int = 1) -> np.ndarray:
    """Symmetric biases ``b = r - m / 2`` from the means over the finite entries of ``log T``.

    ``r_i`` is the mean of row ``i``, ``m`` the grand mean, so ``b_i + b_j = r_i + r_j - m`` is the
    double-centring offset of entry ``(i, j)``: the closed form's biases, and SGD's start with
    ``init="centred"`` (so that the vectors only have to fit the centred residual).

    Returns
    -------
    ndarray of float64, shape (n_genes,)
        0 for a gene without any finite entry.
    """
    n = tiles.n_genes
    sums = np.empty(n)
    counts = np.empty(n, dtype=np.int64)
    _kernels().tiles_row_sums(tiles.values, tiles.tile_ptr, tiles.group_bounds, sums, counts, n_threads)
    total = int(counts.sum())
    if total == 0:
        return np.zeros(n)
    r = sums / np.maximum(counts, 1)
    m = float(sums.sum()) / total
    return np.where(counts > 0, r - m / 2.0, 0.0)


#: Genes centred per gemm call in :func:`genevec._lowrank.tiles_matmat` (|I_g| x MAX_COLS scratch per
#: thread, 2 MB in float32 at 128 genes per group). Fixed, never the thread count: it sets the summation order.
MAX_COLS = 4096


def _orth(Y: np.ndarray, V: np.ndarray | None) -> np.ndarray:
    """Orthonormal basis of ``Y``'s columns after projecting out ``V`` (orthonormal) twice, for rounding."""
    if V is not None:
        for _ in range(2):
            Y = Y - V @ (V.T @ Y)
    Q, R = scipy.linalg.qr(Y, mode="economic", check_finite=False)
    d = np.abs(np.diag(R))
    if V is not None and d.size and d.min() <= 1e-8 * max(d.max(), np.finfo(float).tiny):
        # Y nearly rank-deficient (an invariant subspace was found): QR's extra columns are arbitrary
        Q = scipy.linalg.qr(Q - V @ (V.T @ Q), mode="economic", check_finite=False)[0]
    return Q


def svd_fit(tiles, dim: int, *, x_max: float = 100.0, alpha: float = 0.75, rng=None, n_threads: int = 1,
            n_oversamples: int | None = None, n_power_iter: int = 7):
    """Closed-form low-rank GloVe fit: biases by double-centring, vectors by a randomized eigendecomposition.

    Exact optimum of the GloVe loss when every weight is 1 (every ``T_ij >= x_max``), up to the
    accuracy of the randomized eigensolver; otherwise a start for :func:`als_sweeps`. ``x_max`` and
    ``alpha`` do not enter the closed form; they are accepted, and ignored, so that it takes the same
    keyword arguments as :func:`fit_lowrank` and :func:`als_sweeps`.

    Parameters
    ----------
    tiles : TrainingTiles
        ``log T`` in the layout of :mod:`genevec._layout`.
    dim : int
        Length of the vectors. If ``dim`` exceeds the number of genes the extra columns are zero.
    x_max, alpha : float, default=100.0, 0.75
        Unused by the closed form (see above); validated.
    rng : int, Generator, RandomState or None
        Draws the Gaussian start block of the eigensolver.
    n_threads : int, default=1
        Threads of the tile kernels; the result is the same for every value.
    n_oversamples : int or None, default=None
        The search space has ``k = dim + n_oversamples`` columns (at most the number of genes),
        ``None`` meaning ``max(2 dim, 20)`` (``k = 3 dim`` from ``dim = 10`` on).
    n_power_iter : int, default=7
        Highest power ``q`` of the block Krylov space ``span{O, M O, ..., M^q O}`` in which the
        eigenpairs are sought, ``O`` a Gaussian block of ``ceil(k / (q + 1))`` columns. It costs
        ``q + 1`` passes over the tiles but the same flops whatever ``q``, as the block narrows when
        ``q`` grows; ``q = 0`` is a random subspace, useless but for tests. The default was chosen
        by measurement, see Notes.

    Returns
    -------
    W, C : ndarray of float64, shape (n_genes, dim)
        ``W = U sqrt|lambda|``, ``C = U sqrt|lambda| sign(lambda)`` for the ``dim`` Ritz pairs of the
        centred ``log T`` of largest ``|lambda|``.
    bw, bc : ndarray of float64, shape (n_genes,)
        Equal word and context biases ``r_i - m / 2``.

    See Also
    --------
    fit_lowrank : the closed form followed by weighted ALS (``GeneGloVe(solver="svd")``).
    als_sweeps : the weighted refinement.

    Notes
    -----
    Missing co-occurrences (``T_ij = 0``) are left out of the means and count as 0 in the centred
    matrix, which imputes ``log T_ij`` by ``b_i + bc_j``.

    Time: one pass over the tiles for the means, then ``n_power_iter + 1`` passes of ``M @ block``,
    each ``O(n^2 k / (q + 1))`` in BLAS, in the tiles' precision (sgemm for float32 tiles: the
    products are accurate to ~1e-6, far below the eigensolver's own error, and the loss moves by
    less than 1e-6 relative); the Rayleigh-Ritz step and the vectors are float64. Memory: the tiles
    (1.3 GB in float32 at 25,321 genes) plus a few ``(n, k)`` float64 blocks (60 MB each at 25,321
    genes and ``k = 300``), never an ``n x n`` array.

    Why ``n_power_iter=7`` and ``k = 3 dim``: so that the vectors no longer depend on the seed.
    Unconverged Ritz vectors at the end of the kept spectrum carry the random start, and the
    eigenvalue weighting of :class:`genevec.GeneGloVe` (``eigen_power < 0.5``) gives them more
    weight. With the former ``k = 2 dim`` in 5 blocks, the top-10 neighbour sets of two seeds
    shared 91 % (LCL cohort, 5,000 genes; 57 % after whitening); with ``k = 3 dim`` in 8 blocks,
    99.9-100 % on every shared cohort, for 1.5x the flops and 1.6-1.7x the time (1.04 s instead
    of 0.61 s at 5,000 genes, 10.1 s instead of 6.3 s at 25,321; ``benchmarks/bench_stability.py``).
    Loss against ``n_power_iter`` is in ``benchmarks/RESULTS.md`` (section Solvers).

    References
    ----------
    Halko, Martinsson and Tropp (2011), Finding structure with randomness, SIAM Review 53(2).
    Musco and Musco (2015), Randomized block Krylov methods for stronger and faster approximate
    singular value decomposition, NeurIPS.
    Eckart and Young (1936), The approximation of one matrix by another of lower rank.

    Examples
    --------
    >>> import numpy as np
    >>> from genevec import _layout
    >>> from genevec.lowrank import svd_fit, weighted_loss
    >>> g = np.random.default_rng(0).normal(size=(40, 2))
    >>> T = np.exp(5.0 + g @ g.T)             # log T is rank 2 plus constant biases
    >>> tiles = _layout.tiles_from_dense_tcm(T, _layout.gene_groups(40, 16), dtype=np.float64)
    >>> W, C, bw, bc = svd_fit(tiles, 2, rng=0)
    >>> W.shape, weighted_loss(tiles, W, C, bw, bc, x_max=100.0, alpha=0.75) < 1e-20
    ((40, 2), True)
    """
    check_tiles(tiles, "svd_fit")
    check_positive(dim, "dim", "svd_fit", integer=True)
    check_positive(x_max, "x_max", "svd_fit")
    check_positive(alpha, "alpha", "svd_fit")
    check_positive(n_threads, "n_threads", "svd_fit", integer=True)
    if n_oversamples is not None:
        check_positive(n_oversamples, "n_oversamples", "svd_fit", integer=True, allow_zero=True)
    check_positive(n_power_iter, "n_power_iter", "svd_fit", integer=True, allow_zero=True)
    rng = check_random_state(rng, caller="svd_fit")
    kern = _kernels()
    n = tiles.n_genes
    dtype = tiles.values.dtype
    k = min(n, int(dim) + int(max(2 * int(dim), 20) if n_oversamples is None else n_oversamples))
    block = -(-k // (int(n_power_iter) + 1))
    t0 = time.perf_counter()
    with one_blas_thread():
        b = centred_biases(tiles, n_threads)
        b_t = b.astype(dtype)

        def matmat(Q):
            Q = np.ascontiguousarray(Q, dtype=dtype)
            out = np.empty_like(Q)
            kern.tiles_matmat(tiles.values, tiles.tile_ptr, tiles.group_bounds, b_t, b_t, Q, out, MAX_COLS,
                              n_threads)
            return out.astype(np.float64)

        # block Krylov: V = [V_0, ..., V_q] orthonormal, V_0 = orth(O), V_j+1 = orth(M V_j minus V);
        # H = V^T M V from its upper blocks V_i^T (M V_j), i <= j, filled as each M V_j arrives
        V = np.empty((n, k), order="F")
        H = np.zeros((k, k))
        Vj = _orth(rng.standard_normal((n, block)), None)
        m = 0
        for step in range(int(n_power_iter) + 1):
            w = Vj.shape[1]
            V[:, m: m + w] = Vj
            Y = matmat(Vj)
            H[: m + w, m: m + w] = V[:, : m + w].T @ Y
            m += w
            if step == int(n_power_iter) or m == k:
                break
            Vj = _orth(Y[:, : min(block, k - m)], V[:, :m])
        V, H = V[:, :m], H[:m, :m]
        small = np.triu(H) + np.triu(H, 1).T
        lam, E = np.linalg.eigh(small)
        keep = np.argsort(-np.abs(lam), kind="stable")[: min(int(dim), V.shape[1])]
        lam = lam[keep]
        U = V @ E[:, keep]
    scale = np.sqrt(np.abs(lam))
    W = np.zeros((n, int(dim)))
    C = np.zeros((n, int(dim)))
    W[:, : lam.shape[0]] = U * scale
    C[:, : lam.shape[0]] = U * (scale * np.sign(lam))
    log.debug("svd_fit: %d genes, dim %d, Krylov space %d (block %d, %d passes), %d negative eigenvalues kept, "
              "%.2f s", n, dim, V.shape[1], block, step + 1, int((lam < 0).sum()),
              time.perf_counter() - t0)
    return W, C, b.copy(), b.copy()


def _als_half(kern, tiles, fixed, fixed_bias, moving, moving_bias, log_xmax, alpha, reg, n_threads):
    """Replace (moving, moving_bias) by their exact weighted least-squares minimisers given the fixed side."""
    n = tiles.n_genes
    F = np.empty((n, fixed.shape[1] + 1))
    F[:, :-1] = fixed
    F[:, -1] = 1.0
    theta = np.empty_like(F)
    theta[:, :-1] = moving
    theta[:, -1] = moving_bias
    failed = np.zeros(n, dtype=np.int64)
    kern.als_half_sweep(tiles.values, tiles.tile_ptr, tiles.group_bounds, F, _as_f64(fixed_bias), F.T @ F,
                        theta, log_xmax, alpha, reg, failed, n_threads)
    if failed.any():
        warnings.warn(
            f"weighted ALS: the normal equations of {int(failed.sum()):,} gene(s) were not positive definite "
            f"(first: gene index {int(np.flatnonzero(failed)[0])}); they keep their previous vectors. Check that "
            "the vectors are finite, or pass a larger ridge, e.g. als_sweeps(..., reg=1e-4).",
            ConvergenceWarning, stacklevel=4)
    moving[...] = theta[:, :-1]
    moving_bias[...] = theta[:, -1]


def als_sweeps(tiles, W, C, bw, bc, *, x_max: float = 100.0, alpha: float = 0.75, n_sweeps: int = 10,
               n_threads: int = 1, reg: float = 1e-6, callback: Callable | None = None) -> list[float]:
    """Weighted alternating least squares on the GloVe loss, updating ``W, C, bw, bc`` in place.

    A sweep solves, for every gene ``i``, the ``dim + 1`` normal equations of ``[w_i, b_i]`` against
    the fixed ``[C, bc]`` with weights ``f(T_ij)`` over its finite entries, then the same for
    ``[c_j, bc_j]`` against the new ``[W, bw]``. Each block is minimised exactly (plus a proximal
    ridge ``lam ||theta - theta_old||^2``), so no sweep increases the loss.

    Parameters
    ----------
    tiles : TrainingTiles
    W, C : ndarray of shape (n_genes, dim), float32 or float64, writable
        Start; overwritten with the result.
    bw, bc : ndarray of shape (n_genes,), writable
    x_max, alpha : float, default=100.0, 0.75
        GloVe's weighting ``f(T) = min(1, (T / x_max) ** alpha)``, 0 where ``T = 0``.
    n_sweeps : int, default=10
    n_threads : int, default=1
        Threads; the result is the same for every value.
    reg : float, default=1e-6
        Proximal ridge, relative: ``lam_i = reg * max(1, trace(G_i) / (dim + 1))`` for gene ``i``'s
        Gram matrix ``G_i``. It keeps the systems positive definite and does not bias the fixed point.
    callback : callable, optional
        ``callback(sweep, loss)`` after every sweep (``sweep`` from 1); returning ``True`` stops.

    Returns
    -------
    list of float
        The exact loss (:func:`weighted_loss`) after each sweep.

    See Also
    --------
    svd_fit : the closed-form start.
    weighted_loss : the loss reported after each sweep.

    Notes
    -----
    Work per sweep: one ``O(n^2 dim)`` BLAS pass over the tiles for the right-hand sides, and per
    gene ``O(m_i dim^2)`` for its Gram matrix, where ``m_i`` is the smaller of its entries with
    ``0 < f`` and with ``f < 1`` (the Gram matrix is ``F^T F`` minus the rows with ``f < 1`` when
    those are fewer), plus a ``(dim + 1)^3 / 3`` Cholesky. Memory: two ``(n, dim + 1)`` blocks.

    Examples
    --------
    >>> import numpy as np
    >>> from genevec import _layout
    >>> from genevec.lowrank import als_sweeps, svd_fit
    >>> T = np.random.default_rng(0).poisson(30.0, size=(30, 30)).astype(float)
    >>> T = T + T.T
    >>> tiles = _layout.tiles_from_dense_tcm(T, _layout.gene_groups(30, 16), dtype=np.float64)
    >>> W, C, bw, bc = svd_fit(tiles, 3, rng=0)
    >>> curve = als_sweeps(tiles, W, C, bw, bc, n_sweeps=3)
    >>> len(curve), bool(curve[0] >= curve[1] >= curve[2])
    (3, True)
    """
    check_tiles(tiles, "als_sweeps")
    check_positive(x_max, "x_max", "als_sweeps")
    check_positive(alpha, "alpha", "als_sweeps")
    check_positive(n_sweeps, "n_sweeps", "als_sweeps", integer=True, allow_zero=True)
    check_positive(n_threads, "n_threads", "als_sweeps", integer=True)
    check_positive(reg, "reg", "als_sweeps")
    check_vectors_for_tiles(tiles, W, C, bw, bc, "als_sweeps", in_place=True)
    loss_fn = lambda Wd, Cd, bwd, bcd: weighted_loss(tiles, Wd, Cd, bwd, bcd, x_max=x_max, alpha=alpha,  # noqa: E731
                                                      n_threads=n_threads)
    return _sweeps(tiles, W, C, bw, bc, x_max, alpha, int(n_sweeps), int(n_threads), float(reg), loss_fn, callback)


def _sweeps(tiles, W, C, bw, bc, x_max, alpha, n_sweeps, n_threads, reg, loss_fn, callback) -> list[float]:
    """The ALS loop of :func:`als_sweeps` on validated input; ``loss_fn(W, C, bw, bc)`` scores each sweep."""
    kern = _kernels()
    log_xmax = float(np.log(x_max))
    Wd, Cd, bwd, bcd = (np.array(a, dtype=np.float64) for a in (W, C, bw, bc))
    curve: list[float] = []
    for sweep in range(1, n_sweeps + 1):
        with one_blas_thread():
            _als_half(kern, tiles, Cd, bcd, Wd, bwd, log_xmax, float(alpha), reg, n_threads)
            _als_half(kern, tiles, Wd, bwd, Cd, bcd, log_xmax, float(alpha), reg, n_threads)
        W[...], C[...], bw[...], bc[...] = Wd, Cd, bwd, bcd
        loss = float(loss_fn(Wd, Cd, bwd, bcd))
        curve.append(loss)
        if callback is not None and callback(sweep, loss):
            break
    return curve


def _needs_als(tiles, x_max: float) -> bool:
    """True when some weight is below 1: an entry with T < x_max, or a missing one (T = 0)."""
    return tiles.n_entries < tiles.n_genes ** 2 or bool(tiles.values.min() < np.log(x_max))


def fit_lowrank(tiles, dim: int, *, x_max: float = 100.0, alpha: float = 0.75, max_iter: int = 10, rng=None,
                n_threads: int = 1, dtype=np.float32, verbose: int = 0, callback: Callable | None = None):
    """The ``solver="svd"`` fit: the closed form (:func:`svd_fit`), then weighted ALS sweeps where needed.

    ALS runs only when some weight is below 1 (some ``T_ij < x_max``, or missing); it stops after
    ``max_iter`` sweeps or when a sweep changes the loss by less than a fraction ``1e-6``.

    Parameters
    ----------
    tiles : TrainingTiles
    dim : int
    x_max, alpha : float, default=100.0, 0.75
    max_iter : int, default=10
        Largest number of ALS sweeps.
    rng : int, Generator, RandomState or None
    n_threads : int, default=1
        Threads; the result is the same for every value.
    dtype : {np.float32, np.float64}, default=np.float32
        Precision of the returned parameters (the work is done in float64).
    verbose : int, default=0
        1: a line for the closed form; 2: also ``sweep 3/10  loss 0.0123  1.2 s`` per sweep; on stderr.
    callback : callable, optional
        ``callback(sweep, loss)`` after every sweep; returning ``True`` stops.

    Returns
    -------
    params : GloVeParams
        ``W, C, bw, bc`` in ``dtype`` with AdaGrad sums of ones (:meth:`GloVeParams.from_vectors`).
    loss_curve : list of float
        The exact loss (:func:`genevec.objective.glove_loss` of the vectors in the tiles'
        precision) after the closed form, then after each sweep.

    See Also
    --------
    genevec.glove.fit_glove : the AdaGrad SGD solver (``solver="sgd"``).

    Notes
    -----
    On GTEx-like counts (dim 100, 2 threads) the closed form alone takes 0.2-0.3 s at 5,000 genes
    (50 SGD epochs: about a minute) for 28 % of SGD's 50-epoch loss, and 3.5 s at 25,321 genes for
    55 % of it; its exact loss costs as long again at 25,321 genes (3.6 s). Each ALS sweep takes
    about 2 s at 5,000 genes and lowers the loss by a further 10-25 %; see
    ``benchmarks/bench_solvers.py`` and ``docs/solvers.rst``.

    Examples
    --------
    >>> import numpy as np
    >>> from genevec import _layout
    >>> from genevec.lowrank import fit_lowrank
    >>> T = np.random.default_rng(0).poisson(30.0, size=(30, 30)).astype(float)
    >>> tiles = _layout.tiles_from_dense_tcm(T + T.T, _layout.gene_groups(30, 16))
    >>> params, curve = fit_lowrank(tiles, 3, max_iter=2, rng=0)
    >>> len(curve), bool(curve[-1] <= curve[0])
    (3, True)
    """
    check_tiles(tiles, "fit_lowrank")
    check_positive(max_iter, "max_iter", "fit_lowrank", integer=True, allow_zero=True)
    dtype = check_dtype(dtype, "fit_lowrank")
    progress = Progress(verbose)
    common = dict(x_max=float(x_max), alpha=float(alpha), n_threads=int(n_threads))
    t0 = time.perf_counter()
    W, C, bw, bc = svd_fit(tiles, dim, rng=rng, **common)
    curve = [_glove_loss(tiles, W, C, bw, bc, **common)]
    progress.say(1, f"closed-form low-rank fit  loss {curve[0]:.6g}  {time.perf_counter() - t0:.1f} s")
    if max_iter > 0 and _needs_als(tiles, x_max):
        t_start = time.perf_counter()
        sweeps = progress.loop(2, "sweep", max_iter, loss_format=".6g", eta=False)

        def each(sweep, loss):
            curve.append(loss)
            sweeps.step(sweep, loss, time.perf_counter() - t_start)
            stop = callback is not None and bool(callback(sweep, loss))
            return stop or abs(curve[-2] - loss) <= TOL * abs(curve[-2])

        loss_fn = lambda Wd, Cd, bwd, bcd: _glove_loss(tiles, Wd, Cd, bwd, bcd, **common)  # noqa: E731
        _sweeps(tiles, W, C, bw, bc, float(x_max), float(alpha), int(max_iter), int(n_threads), 1e-6, loss_fn, each)
    else:
        log.debug("fit_lowrank: every weight is 1, the closed form is the optimum; no ALS sweeps")
    return GloVeParams.from_vectors(W, C, bw, bc, dtype), curve
