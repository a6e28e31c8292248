# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""GloVe kernels: DSGD strata of AdaGrad updates, and the exact loss of fixed parameters.

Each block ``(g, (g + shift) % B)`` of a stratum runs serially in C (``src/glove_block.c``); the blocks
of a stratum share no word and no context row, so threads write disjoint memory, and a block of the
next stratum waits only for the two blocks it depends on (no barrier between strata). Per-block loss and
count go to one slot per block and are summed in Python in block order: the result does not depend on
the number of threads or on which thread ran which block.
"""

from cython cimport floating
from cython.parallel cimport prange, threadid
from scipy.linalg.cython_blas cimport dgemm, sgemm
from libc.math cimport INFINITY
from libc.stdint cimport int64_t, uint32_t

import numpy as np

ctypedef fused tile_t:
    float
    double

ctypedef fused param_t:
    float
    double

cdef extern from "genevec_tiles.h" nogil:
    int64_t gv_tile_index(int64_t g, int64_t h, int64_t B)
    double gv_weight(double logx, double log_xmax, double alpha)

cdef extern from "glove_block.h" nogil:
    int64_t glove_block_order(int64_t rows, int64_t cols, const uint32_t *keys, int64_t *out)
    void glove_strata_f32(const float *values, const int64_t *tile_ptr, const int64_t *bounds, int64_t B,
                          int64_t S, const int64_t *shifts, const uint32_t *keys, float *W, float *C, float *bw,
                          float *bc, float *gW, float *gC, float *gbw, float *gbc, int dim, double log_xmax,
                          double alpha, double lr, double clip, double *block_loss, int64_t *block_count,
                          int64_t *done, int n_threads)
    void glove_strata_f64(const double *values, const int64_t *tile_ptr, const int64_t *bounds, int64_t B,
                          int64_t S, const int64_t *shifts, const uint32_t *keys, double *W, double *C,
                          double *bw, double *bc, double *gW, double *gC, double *gbw, double *gbc, int dim,
                          double log_xmax, double alpha, double lr, double clip, double *block_loss,
                          int64_t *block_count, int64_t *done, int n_threads)
    int glove_isa()
    int glove_set_isa(int isa)


def tile_index(int64_t g, int64_t h, int64_t n_groups):
    """Index of tile ``(min(g, h), max(g, h))`` in the row-major order of the upper triangle of tiles."""
    return gv_tile_index(g, h, n_groups)


def sgd_strata(const floating[::1] values,           # IN    log T tiles (TrainingTiles.values)
               const int64_t[::1] tile_ptr,          # IN    (B * (B + 1) / 2 + 1,) tile offsets
               const int64_t[::1] group_bounds,      # IN    (B + 1,) first gene of each group
               const int64_t[::1] shifts,            # IN    (S,) stratum k: blocks (g, (g + shifts[k]) % B)
               const uint32_t[:, :, ::1] keys,       # IN    (S, B, 4) visiting-order keys of block (k, g)
               floating[:, ::1] W,                   # INOUT (n_genes, dim) word vectors
               floating[:, ::1] C,                   # INOUT (n_genes, dim) context vectors
               floating[::1] bw,                     # INOUT (n_genes,) word biases
               floating[::1] bc,                     # INOUT (n_genes,) context biases
               floating[:, ::1] gW,                  # INOUT AdaGrad sums of W
               floating[:, ::1] gC,                  # INOUT AdaGrad sums of C
               floating[::1] gbw,                    # INOUT AdaGrad sums of bw
               floating[::1] gbc,                    # INOUT AdaGrad sums of bc
               double log_xmax, double alpha, double lr, double clip,
               double[:, ::1] block_loss,            # OUT   (S, B) sum of f * diff^2 per block (not halved)
               int64_t[:, ::1] block_count,          # OUT   (S, B) entries visited per block
               int n_threads):
    """Run ``S`` consecutive strata, each block once, with no barrier between strata.

    A block starts as soon as the previous blocks on its word group and on its context group are done
    (``glove_strata_*`` in ``src/glove_block.c``), so every group sees the same sequence of updates as
    with one stratum at a time and a barrier after each: the bits do not depend on ``n_threads``.
    """
    cdef Py_ssize_t B = group_bounds.shape[0] - 1
    cdef Py_ssize_t S = shifts.shape[0]
    cdef Py_ssize_t k
    cdef int dim = <int> W.shape[1]
    if keys.shape[0] != S or keys.shape[1] != B or keys.shape[2] != 4:
        raise ValueError(f"sgd_strata: keys must have shape ({S}, {B}, 4), "
                         f"got ({keys.shape[0]}, {keys.shape[1]}, {keys.shape[2]}).")
    if (block_loss.shape[0] != S or block_loss.shape[1] != B
            or block_count.shape[0] != S or block_count.shape[1] != B):
        raise ValueError(f"sgd_strata: block_loss and block_count must have shape ({S}, {B}).")
    for k in range(S):
        if shifts[k] < 0 or shifts[k] >= B:
            raise ValueError(f"sgd_strata: shifts must lie in [0, {B}), got {shifts[k]}.")
    if S == 0 or B == 0:
        return
    cdef int64_t[::1] done = np.empty(2 * B, dtype=np.int64)
    with nogil:
        if floating is float:
            glove_strata_f32(&values[0], &tile_ptr[0], &group_bounds[0], B, S, &shifts[0], &keys[0, 0, 0],
                             &W[0, 0], &C[0, 0], &bw[0], &bc[0], &gW[0, 0], &gC[0, 0], &gbw[0], &gbc[0],
                             dim, log_xmax, alpha, lr, clip, &block_loss[0, 0], &block_count[0, 0], &done[0],
                             n_threads)
        else:
            glove_strata_f64(&values[0], &tile_ptr[0], &group_bounds[0], B, S, &shifts[0], &keys[0, 0, 0],
                             &W[0, 0], &C[0, 0], &bw[0], &bc[0], &gW[0, 0], &gC[0, 0], &gbw[0], &gbc[0],
                             dim, log_xmax, alpha, lr, clip, &block_loss[0, 0], &block_count[0, 0], &done[0],
                             n_threads)


cdef double _block_loss(const tile_t* tile, int64_t na, int64_t nb, const param_t* P, const param_t* ba,
                        const param_t* bb, double log_xmax, double alpha, double log_shift,
                        int64_t* count_out) noexcept nogil:
    """Sum of f(x) (P + ba + bb - x)^2, x = log T + log_shift, over one stored tile of na x nb values.

    ``P`` holds the dot products of the same pairs in the tile's layout, ``ba`` the biases of its rows and
    ``bb`` those of its columns; summed in float64 in the tile's memory order. ``count_out``: finite entries.
    """
    cdef double loss = 0.0, logx, diff, bias_a
    cdef int64_t count = 0, a, b
    cdef const tile_t* t
    cdef const param_t* pa
    for a in range(na):
        t = tile + a * nb
        pa = P + a * nb
        bias_a = <double> ba[a]
        for b in range(nb):
            logx = <double> t[b] + log_shift
            if not (logx > -INFINITY):
                continue
            diff = <double> pa[b] + bias_a + <double> bb[b] - logx
            loss += gv_weight(logx, log_xmax, alpha) * diff * diff
            count += 1
    count_out[0] = count
    return loss


def loss_tiles(const tile_t[::1] values,             # IN    log T tiles
               const int64_t[::1] tile_ptr,          # IN    tile offsets
               const int64_t[::1] group_bounds,      # IN    (B + 1,)
               const param_t[:, ::1] W,              # IN    word vectors
               const param_t[:, ::1] C,              # IN    context vectors
               const param_t[::1] bw,                # IN    word biases
               const param_t[::1] bc,                # IN    context biases
               double log_xmax, double alpha, double log_shift,
               double[::1] block_loss,               # OUT   (B * B,) sum of f * diff^2 of block g * B + h
               int64_t[::1] block_count,             # OUT   (B * B,) finite entries of each block
               int n_threads):
    """The exact weighted GloVe loss of every block ``(g, h)``, no updates, one slot per block.

    The one exact-loss kernel: both solvers, ``score`` and the curves call it (``genevec.objective``). The
    dot products of a block come from one BLAS gemm in the parameters' precision (``W_g C_h^T``, or
    ``C_h W_g^T`` for a block read transposed, so that they share the stored tile's layout), then one pass
    over the tile adds the weighted squares in float64. The caller holds BLAS to one thread: each block's
    result is then the same whichever thread computes it. The tiles and the parameters may differ in
    precision (float32 tiles, float64 vectors).
    """
    cdef Py_ssize_t B = group_bounds.shape[0] - 1
    cdef int dim = <int> W.shape[1]
    cdef Py_ssize_t b, g, h, t, i, rg, cg, mx = 1
    cdef bint stored
    cdef int na, nb
    cdef const param_t* pW
    cdef const param_t* pC
    cdef const param_t* pbw
    cdef const param_t* pbc
    cdef const param_t* A
    cdef const param_t* Bm
    cdef const param_t* ba
    cdef const param_t* bb
    cdef param_t* P
    cdef float s_one = 1.0, s_zero = 0.0
    cdef double d_one = 1.0, d_zero = 0.0
    cdef char* tr = b"T"
    cdef char* nn = b"N"
    cdef Py_ssize_t n
    # Shapes the nogil loop relies on (bounds checks are off): a mismatch is an error here, not a wild read.
    if n_threads < 1:
        raise ValueError(f"loss_tiles: n_threads must be >= 1, got {n_threads}.")
    if B <= 0:
        return
    n = group_bounds[B]
    if (C.shape[0] != W.shape[0] or C.shape[1] != W.shape[1] or W.shape[0] != n
            or bw.shape[0] != n or bc.shape[0] != n):
        raise ValueError(f"loss_tiles: the tiles cover {n} genes; W and C must have shape ({n}, dim) and bw, bc "
                         f"{n} entries, got W ({W.shape[0]}, {W.shape[1]}), C ({C.shape[0]}, {C.shape[1]}), bw "
                         f"({bw.shape[0]},), bc ({bc.shape[0]},).")
    if (tile_ptr.shape[0] != B * (B + 1) // 2 + 1 or tile_ptr[tile_ptr.shape[0] - 1] > values.shape[0]
            or block_loss.shape[0] != B * B or block_count.shape[0] != B * B):
        raise ValueError(f"loss_tiles: inconsistent layout for {B} gene groups (tile_ptr, values, block_loss, "
                         "block_count).")
    for i in range(B):
        mx = max(mx, group_bounds[i + 1] - group_bounds[i])
    scratch_arr = np.empty((n_threads, mx * mx), dtype=np.float32 if param_t is float else np.float64)
    cdef param_t[:, ::1] scratch = scratch_arr
    pW, pC, pbw, pbc = &W[0, 0], &C[0, 0], &bw[0], &bc[0]
    for b in prange(B * B, schedule="dynamic", chunksize=1, nogil=True, num_threads=n_threads):
        g = b // B
        h = b % B
        t = gv_tile_index(g, h, B)
        P = &scratch[threadid(), 0]
        # The stored tile (rg, cg), rg <= cg, holds rows of group rg and columns of group cg. Read as stored
        # (g <= h) its rows are word genes (W, bw) and its columns context genes (C, bc); block (g, h) with
        # g > h reads tile (h, g), whose rows are then the context genes of h and its columns the word genes of g.
        stored = g <= h
        rg = g if stored else h
        cg = h if stored else g
        na = <int> (group_bounds[rg + 1] - group_bounds[rg])
        nb = <int> (group_bounds[cg + 1] - group_bounds[cg])
        A = (pW if stored else pC) + group_bounds[rg] * dim
        Bm = (pC if stored else pW) + group_bounds[cg] * dim
        ba = (pbw if stored else pbc) + group_bounds[rg]
        bb = (pbc if stored else pbw) + group_bounds[cg]
        # row-major P (na x nb) = A (na x dim) @ Bm^T  <=>  column-major P^T = Bm A^T
        if param_t is float:
            sgemm(tr, nn, &nb, &na, &dim, &s_one, <float*> Bm, &dim, <float*> A, &dim, &s_zero, P, &nb)
        else:
            dgemm(tr, nn, &nb, &na, &dim, &d_one, <double*> Bm, &dim, <double*> A, &dim, &d_zero, P, &nb)
        block_loss[b] = _block_loss(&values[tile_ptr[t]], na, nb, P, ba, bb, log_xmax, alpha, log_shift,
                                    &block_count[b])


def block_order(int64_t rows, int64_t cols, const uint32_t[::1] keys):
    """The C visiting order of a ``rows x cols`` block (for tests against ``_layout.block_order``)."""
    if keys.shape[0] != 4:
        raise ValueError(f"block_order needs 4 uint32 keys, got {keys.shape[0]}.")
    if rows < 0 or cols < 0:
        raise ValueError(f"block_order needs rows, cols >= 0, got {rows}, {cols}.")
    cdef int64_t[::1] out = np.empty(max(rows * cols, 1), dtype=np.int64)
    cdef int64_t n
    with nogil:
        n = glove_block_order(rows, cols, &keys[0], &out[0])
    return np.asarray(out)[:n].copy()


def isa():
    """The SIMD path in use: ``"avx2+fma"`` or ``"generic"``."""
    return "avx2+fma" if glove_isa() == 1 else "generic"


def set_isa(name):
    """Force ``"generic"`` or restore the automatic choice with ``"auto"``; return the path in use."""
    if name not in ("generic", "auto"):
        raise ValueError(f"set_isa: name must be 'generic' or 'auto', got {name!r}.")
    glove_set_isa(0 if name == "generic" else -1)
    return isa()
