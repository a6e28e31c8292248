"""Gene co-occurrence: the term co-occurrence matrix (TCM) of a samples x genes count matrix.

``T = A^T A`` off the diagonal, and quanteda's ``fcm`` rule on it, ``T[i, i] = (sum_s A[s, i]^2 -
sum_s A[s, i]) / 2`` (the pairs of reads of gene ``i`` within a sample). Two entry points:

* :func:`dtm_to_tcm` returns the whole matrix (dense in, dense out; sparse in, CSR out);
* :func:`training_tiles` streams ``log T`` straight into the tiled layout of :mod:`genevec._layout`
  that the GloVe kernels read, without ever holding the ``n x n`` float64 matrix.

Work is split by the data (tiles of 512 genes, chunks of 64 output rows), each piece is computed by
one thread with a fixed summation order, and BLAS runs on one thread inside the parallel region, so
the result is bit-identical for every ``n_jobs``. Numpy's whole-matrix ``A.T @ A`` is never called
(threaded OpenBLAS SYRK crashes above ~16k float64 columns, numpy issue 19685).
"""

from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike

from . import _layout
from ._threads import one_blas_thread
from ._validation import check_counts, check_dtype, check_group_bounds, effective_n_jobs


__all__ = ["dtm_to_tcm", "training_tiles", "estimate_training_bytes", "isolated_genes"]

log = logging.getLogger(__name__)

#: Genes per side of an output tile computed by one BLAS call (fixed: never a function of n_jobs).
TILE = 512
#: Output rows per chunk of the sparse kernel.
SPARSE_CHUNK = 64
#: Largest side of a super-block of T held in float64 while producing training tiles.
SUPER_BLOCK = 4096
#: Largest float64 column block densified from a sparse X while producing training tiles.
DENSE_BLOCK_BYTES = 256 * 2**20


def isolated_genes(X) -> np.ndarray:
    """Boolean mask of genes with no co-occurrence at all (a zero row of the TCM), for validated counts.

    Gene ``i`` co-occurs with another gene iff some sample has ``i`` and at least one other gene
    expressed; it co-occurs with itself iff some count exceeds 1 (diagonal ``a (a - 1) / 2``).
    """
    if sp.issparse(X):
        nz = X.copy()
        nz.data = (nz.data > 0).astype(np.float64)
        nz.eliminate_zeros()
        per_sample = np.asarray(nz.sum(axis=1)).ravel()
        shared = np.asarray(nz.T @ (per_sample >= 2).astype(np.float64)).ravel() > 0
        self_pair = np.zeros(X.shape[1], dtype=bool)
        big = X.tocoo()
        self_pair[big.col[big.data > 1]] = True
    else:
        nz = X > 0
        per_sample = nz.sum(axis=1)
        shared = nz[per_sample >= 2].any(axis=0)
        self_pair = (X > 1).any(axis=0)
    return ~(shared | self_pair)


def _tile_bounds(n: int, tile: int = TILE) -> np.ndarray:
    return np.append(np.arange(0, n, tile, dtype=np.int64), np.int64(n))


@one_blas_thread()  # each kernel thread calls BLAS itself
def _gram_block(AP: np.ndarray, p0: int, p1: int, AQ: np.ndarray, q0: int, q1: int,
                out: np.ndarray, n_threads: int) -> None:
    """out[:] = AP[:, p0:p1].T @ AQ[:, q0:q1] by tiles; symmetric (upper tiles + mirror) when same block."""
    from . import _tcm

    symmetric = AP is AQ and p0 == q0 and p1 == q1
    br = _tile_bounds(p1 - p0)
    bc = _tile_bounds(q1 - q0)
    nr, nc = br.shape[0] - 1, bc.shape[0] - 1
    rr, cc = np.meshgrid(np.arange(nr, dtype=np.int64), np.arange(nc, dtype=np.int64), indexing="ij")
    if symmetric:
        keep = rr <= cc
        rr, cc = rr[keep], cc[keep]
    _tcm.gram_tiles(AP, p0, AQ, q0, out, br, bc, np.ascontiguousarray(rr.ravel()),
                    np.ascontiguousarray(cc.ravel()), symmetric, n_threads)


def _set_diagonal(block: np.ndarray, colsum: np.ndarray) -> None:
    """quanteda's rule on the diagonal of a square block: (sum A^2 - sum A) / 2."""
    diag = block.reshape(-1)[:: block.shape[0] + 1]
    diag -= colsum
    diag *= 0.5


def _csr_parts(X: sp.csr_matrix):
    """int32 indices and int64 indptr of a canonical CSR (the kernel's index types)."""
    return (np.ascontiguousarray(X.data, dtype=np.float64), np.ascontiguousarray(X.indices, dtype=np.int32),
            np.ascontiguousarray(X.indptr, dtype=np.int64))


def _sparse_tcm(X: sp.csr_matrix, n_threads: int) -> sp.csr_matrix:
    from . import _tcm

    X = X.copy()
    X.eliminate_zeros()
    X.sort_indices()
    C = X.tocsc()
    C.sort_indices()
    n = X.shape[1]
    data, indices, indptr = _csr_parts(X)
    cdata, cindices, cindptr = _csr_parts(C)
    row_nnz = np.zeros(n, dtype=np.int64)
    buffers = _tcm.sparse_gram_rows(data, indices, indptr, cdata, cindices, cindptr, row_nnz,
                                    SPARSE_CHUNK, n_threads)
    chunk_nnz = np.asarray(buffers.chunk_nnz(), dtype=np.int64)
    chunk_start = np.zeros_like(chunk_nnz)
    np.cumsum(chunk_nnz[:-1], out=chunk_start[1:])
    nnz = int(chunk_nnz.sum())
    out_indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(row_nnz, out=out_indptr[1:])
    out_indices = np.empty(nnz, dtype=np.int32)
    out_data = np.empty(nnz, dtype=np.float64)
    _tcm.gather_rows(buffers, chunk_start, out_indices, out_data, n_threads)
    if nnz < 2**31 - 1:
        out_indptr = out_indptr.astype(np.int32)
    T = sp.csr_matrix((out_data, out_indices, out_indptr), shape=(n, n), copy=False)
    T.has_sorted_indices = True
    return T


def dtm_to_tcm(X: ArrayLike, *, gene_names=None, n_jobs: int | None = None,
               allow_non_integer: bool = False, layer: str | None = None) -> np.ndarray | sp.csr_matrix:
    """Gene co-occurrence matrix of a samples x genes count matrix.

    ``T[i, j] = sum_s X[s, i] * X[s, j]`` for ``i != j`` and ``T[i, i] = (sum_s X[s, i]^2 -
    sum_s X[s, i]) / 2``: each sample is a document, each read a token, and the diagonal counts the
    pairs of reads of one gene within a sample (quanteda's ``fcm`` on a document-feature matrix).

    Parameters
    ----------
    X : array-like, DataFrame, scipy.sparse matrix, AnnData, path, iterable of blocks or Dask array
        Raw read counts, samples (cells) in rows and genes in columns. Besides matrices in memory:
        an ``.h5ad`` path or an AnnData opened with ``backed="r"`` (read a chunk of cells at a
        time), an iterable of row blocks (scipy.sparse, ndarrays, DataFrames or AnnData with the same
        genes), or a Dask array (reduced with ``dask.delayed``, on a ``distributed.Client`` if one
        is active); see :mod:`genevec.stream`.
    gene_names : sequence of str, optional
        One name per column; only used to name genes in error messages.
    layer : str, optional
        For AnnData and ``.h5ad`` input: the layer holding the counts (``None``: ``X``). Never guessed.
    n_jobs : int, default=None
        Threads. ``None`` or ``-1`` use every core this process may use (a departure from the
        joblib convention, safe since the result does not depend on it), ``-k`` all but ``k - 1``.
    allow_non_integer : bool, default=False
        Accept values that are not whole numbers (e.g. TPM).

    Returns
    -------
    T : ndarray of shape (n_genes, n_genes), float64, or scipy.sparse.csr_matrix
        Symmetric. Dense for dense and streamed input; CSR with sorted indices and no explicit zeros
        for sparse input.

    Raises
    ------
    CountsError
        Negative, non-finite or (unless allowed) non-integer counts; empty input.
    ValueError
        ``n_jobs=0``.

    See Also
    --------
    training_tiles : ``log T`` in the tiled layout GloVe trains on, without the dense matrix.

    Notes
    -----
    Dense path: the upper triangle of ``T`` in tiles of 512 genes, one single-threaded BLAS call
    (``dgemm``, ``dsyrk`` on diagonal tiles) per tile, tiles shared among threads, then mirrored.
    Time ``n_samples * n_genes^2`` flops; memory ``8 * n_genes^2`` bytes (5.1 GB for 25,321 genes:
    use :func:`training_tiles` to train). Sparse path: output row ``i`` walks the samples holding
    gene ``i`` and their genes into a per-thread dense accumulator; time ``sum_s nnz(row s)^2``.

    Integer counts give the exact integers while entries stay below 2^53 (all arithmetic is
    float64, so counts up to 1e7 over tens of thousands of samples cannot overflow); beyond that
    the relative error is about 1e-15 per summed term. The result is bit-identical for every
    ``n_jobs``.

    Streamed input is added to packed upper tiles chunk by chunk (memory: ``4 * n_genes^2`` bytes
    plus one chunk, then the dense result); the products of each entry are summed in the order of
    the cells, so integer counts give exactly the in-memory result.

    Examples
    --------
    >>> import numpy as np
    >>> from genevec import dtm_to_tcm
    >>> X = np.array([[1, 2, 0],
    ...               [3, 0, 1]])
    >>> dtm_to_tcm(X, n_jobs=1)
    array([[3., 2., 3.],
           [2., 1., 0.],
           [3., 0., 0.]])
    >>> import scipy.sparse as sp
    >>> T = dtm_to_tcm(sp.csr_matrix(X), n_jobs=1)
    >>> T.nnz, float(T[0, 2])
    (6, 3.0)
    """
    from . import stream

    n_threads = effective_n_jobs(n_jobs, caller="dtm_to_tcm")
    if stream.is_streamed(X, layer):
        T, _ = stream.tcm_tiles(X, layer=layer, gene_names=gene_names, allow_non_integer=allow_non_integer,
                                n_threads=n_threads, caller="dtm_to_tcm")
        return T.to_dense()
    if type(X).__name__ == "AnnData":
        X = stream.in_memory_anndata(X, layer, "dtm_to_tcm")
    counts = check_counts(X, gene_names=gene_names, allow_non_integer=allow_non_integer, caller="dtm_to_tcm")
    A = counts.X
    n_samples, n_genes = A.shape
    log.debug("dtm_to_tcm: %d samples x %d genes, %s, %d thread(s)", n_samples, n_genes,
              "sparse" if sp.issparse(A) else "dense", n_threads)
    if sp.issparse(A):
        return _sparse_tcm(A, n_threads)
    T = np.empty((n_genes, n_genes), dtype=np.float64)
    _gram_block(A, 0, n_genes, A, 0, n_genes, T, n_threads)
    _set_diagonal(T, A.sum(axis=0))
    return T


def _super_groups(b: np.ndarray, limit: int) -> list[tuple[int, int]]:
    """Consecutive runs of groups [g_lo, g_hi) spanning at most ``limit`` genes (or one group)."""
    runs, g = [], 0
    B = b.shape[0] - 1
    while g < B:
        h = g + 1
        while h < B and b[h + 1] - b[g] <= limit:
            h += 1
        runs.append((g, h))
        g = h
    return runs


def estimate_training_bytes(n_genes: int, dtype=np.float32) -> int:
    """Peak bytes :func:`training_tiles` allocates for ``n_genes`` genes (groups of ``gene_groups``).

    The packed ``log T`` tiles (about ``n_genes^2 / 2`` values of ``dtype``) plus one float64
    super-block of at most 4,096 x 4,096 genes (128 MiB). The count matrix is not included.

    Examples
    --------
    >>> from genevec.tcm import estimate_training_bytes
    >>> round(estimate_training_bytes(25321, "float32") / 1e9, 2)
    1.42
    """
    n_genes = int(n_genes)
    if n_genes < 1:
        raise ValueError(f"estimate_training_bytes: n_genes must be >= 1, got {n_genes}.")
    itemsize = np.dtype(dtype).itemsize
    b = _layout.gene_groups(n_genes)
    sizes = np.diff(b).astype(np.int64)
    n_values = (int(sizes.sum()) ** 2 + int((sizes ** 2).sum())) // 2
    side = min(n_genes, max(SUPER_BLOCK, int(sizes.max())))
    return int(n_values * itemsize + side * side * 8 + 8 * (b.shape[0] + len(sizes) * (len(sizes) + 1) // 2 + 1))


def training_tiles(counts_X, group_bounds, *, dtype=np.float32, n_jobs: int | None = None,
                   layer: str | None = None, verbose: int = 0) -> _layout.TrainingTiles:
    """``log T`` in the tiled layout of :mod:`genevec._layout`, built straight from the counts.

    Parameters
    ----------
    counts_X : ndarray, scipy.sparse matrix, or a streamed input of shape (n_samples, n_genes)
        Counts (float64 C-contiguous or CSR preferred; others are converted). Non-integer values
        are accepted here (``GeneGloVe`` decides with ``allow_non_integer`` before it builds its own
        tiles).
        Streamed input (an ``.h5ad`` path, a backed AnnData, an iterable of row blocks, a Dask
        array; see :func:`dtm_to_tcm`) is added chunk by chunk to the packed tiles.
    group_bounds : array of int, shape (B + 1,)
        Gene groups, strictly increasing from 0 to ``n_genes`` (``_layout.gene_groups(n_genes)``).
    dtype : {float32, float64}, default=float32
        Type of the stored ``log T`` (the float64 log, rounded once).
    n_jobs : int, default=None
        Threads; the result is the same for every value.
    layer : str, optional
        For AnnData and ``.h5ad`` input: the layer holding the counts (``None``: ``X``).
    verbose : int, default=0
        ``2`` prints a line per streamed chunk on stderr.

    Returns
    -------
    TrainingTiles
        Tiles ``(g, h)``, ``g <= h``, of ``log T`` (``-inf`` where ``T <= 0``) and ``n_entries``, the
        number of ordered pairs with ``T > 0``. Equal to
        ``_layout.tiles_from_dense_tcm(dtm_to_tcm(X), group_bounds, dtype)``.

    See Also
    --------
    dtm_to_tcm : The whole co-occurrence matrix.
    estimate_training_bytes : Peak memory of this function.

    Notes
    -----
    ``T`` is computed in super-blocks of whole groups spanning at most 4,096 genes: each pair of
    super-blocks ``(P, Q)``, ``P <= Q``, is one tiled BLAS product into a reusable float64 buffer
    (128 MiB), its log is taken with numpy, and its tiles are copied, rounded to ``dtype``, into the
    packed array in parallel. Peak memory is the packed array (1.28 GB in float32 for 25,321 genes)
    plus that buffer; the ``n x n`` float64 matrix (5.1 GB) is never held. A sparse ``X`` is
    densified one column block at a time (at most 256 MiB each, two at a time), so its
    super-blocks shrink when there are many samples.

    Streamed input accumulates ``T`` chunk by chunk in float64 tiles. When those fit in 256 MiB (up
    to ~8,000 genes), or the chunks can be read only once, one pass builds them and ``log T`` is
    written over them. Otherwise the float32 result is filled in bands of tile rows, one pass over
    the chunks per band: the peak is the result (``2 * n_genes^2`` bytes: 0.8 GB for 20,000 genes)
    plus a 256 MiB band plus one chunk. For integer counts the tiles are bit-identical to the
    in-memory ones.

    Examples
    --------
    >>> import numpy as np
    >>> from genevec import _layout
    >>> from genevec.tcm import training_tiles
    >>> X = np.array([[1, 2, 0, 4], [3, 0, 1, 1]])
    >>> tiles = training_tiles(X, _layout.gene_groups(4, group_size=2), n_jobs=1)
    >>> tiles.n_entries, tiles.values.dtype.name
    (13, 'float32')
    >>> round(float(np.exp(tiles.tile(0, 1)[0, 1])), 3)
    7.0
    """
    from . import stream

    dtype = check_dtype(dtype, "training_tiles", " Use dtype='float32'.")
    n_threads = effective_n_jobs(n_jobs, caller="training_tiles")
    if not stream.is_streamed(counts_X, layer):
        if type(counts_X).__name__ == "AnnData":
            counts_X = stream.in_memory_anndata(counts_X, layer, "training_tiles")
        counts_X = check_counts(counts_X, allow_non_integer=True, caller="training_tiles").X
    return build_tiles(counts_X, group_bounds, dtype, n_threads, layer=layer, verbose=verbose)


def build_tiles(A, group_bounds, dtype, n_threads: int, *, layer: str | None = None,
                verbose: int = 0) -> _layout.TrainingTiles:
    """:func:`training_tiles` on input validated at the boundary (``GeneGloVe.fit`` checked the counts).

    ``A`` is a float64 C-contiguous array, a CSR matrix or a streamed input; ``dtype`` a numpy dtype and
    ``n_threads`` a resolved thread count. Nothing here checks the counts again.
    """
    from . import stream

    if stream.is_streamed(A, layer):
        return stream.training_tiles(A, group_bounds, dtype=dtype, layer=layer, n_threads=n_threads,
                                     verbose=verbose, caller="training_tiles")
    n_samples, n_genes = A.shape
    b = check_group_bounds(group_bounds, n_genes)
    B = b.shape[0] - 1
    ptr = _layout.tile_sizes(b)
    values = np.empty(int(ptr[-1]), dtype=dtype)

    sparse = sp.issparse(A)
    if not sparse:
        A = np.ascontiguousarray(A, dtype=np.float64)  # a column selection of checked counts may be strided
    limit = SUPER_BLOCK
    if sparse:
        A = A.tocsc()
        limit = max(1, min(limit, DENSE_BLOCK_BYTES // (8 * n_samples)))
    runs = _super_groups(b, limit)
    side = max(int(b[h] - b[g]) for g, h in runs)
    scratch = np.empty(side * side, dtype=np.float64)
    colsum = np.asarray(A.sum(axis=0), dtype=np.float64).ravel()
    n_entries = 0
    log.debug("training_tiles: %d genes, %d groups, %d super-blocks, %s, %d thread(s)",
              n_genes, B, len(runs), dtype.name, n_threads)

    def block(g_lo, g_hi):
        if not sparse:
            return A, int(b[g_lo])
        return np.ascontiguousarray(A[:, int(b[g_lo]):int(b[g_hi])].toarray(), dtype=np.float64), 0

    from . import _tcm

    for u, (pg_lo, pg_hi) in enumerate(runs):
        AP, p0 = block(pg_lo, pg_hi)
        p_len = int(b[pg_hi] - b[pg_lo])
        for qg_lo, qg_hi in runs[u:]:
            q_len = int(b[qg_hi] - b[qg_lo])
            same = qg_lo == pg_lo
            AQ, q0 = (AP, p0) if same else block(qg_lo, qg_hi)
            buf = scratch[: p_len * q_len].reshape(p_len, q_len)
            _gram_block(AP, p0, p0 + p_len, AQ, q0, q0 + q_len, buf, n_threads)
            if same:
                _set_diagonal(buf, colsum[b[pg_lo]:b[pg_hi]])
            _layout.log_inplace(buf, n_threads)
            gg, hh = np.meshgrid(np.arange(pg_lo, pg_hi, dtype=np.int64),
                                 np.arange(qg_lo, qg_hi, dtype=np.int64), indexing="ij")
            keep = gg <= hh
            tg, th = np.ascontiguousarray(gg[keep]), np.ascontiguousarray(hh[keep])
            positive = np.zeros(tg.shape[0], dtype=np.int64)
            _tcm.scatter_tiles(buf, b, pg_lo, qg_lo, tg, th, ptr, values, positive, n_threads)
            n_entries += int(np.where(tg == th, positive, 2 * positive).sum())
    return _layout.TrainingTiles(group_bounds=b, tile_ptr=ptr, values=values, n_entries=n_entries)
