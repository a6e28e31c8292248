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
from libc.stdint cimport int64_t, uint32_t

import numpy as np

cdef extern from "glove_block.h" nogil:
    int64_t glove_block_order(int64_t rows, int64_t cols, const uint32_t *keys, int64_t *out)
    void glove_block_f32(const float *tile, int transposed, int64_t rows, int64_t cols, const uint32_t *keys,
                         float *W, float *C, float *bw, float *bc, float *gW, float *gC, float *gbw,
                         float *gbc, int dim, double log_xmax, double alpha, double lr, double clip,
                         double *loss_out, int64_t *count_out)
    void glove_block_f64(const double *tile, int transposed, int64_t rows, int64_t cols, const uint32_t *keys,
                         double *W, double *C, double *bw, double *bc, double *gW, double *gC, double *gbw,
                         double *gbc, int dim, double log_xmax, double alpha, double lr, double clip,
                         double *loss_out, int64_t *count_out)
    double glove_block_loss_f32(const float *tile, int64_t na, int64_t nb, const float *P, const float *ba,
                                const float *bb, double log_xmax, double alpha, double log_shift,
                                int64_t *count_out)
    double glove_block_loss_f64(const double *tile, int64_t na, int64_t nb, const double *P, const double *ba,
                                const double *bb, double log_xmax, double alpha, double log_shift,
                                int64_t *count_out)
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


cdef inline Py_ssize_t _tile_index(Py_ssize_t g, Py_ssize_t h, Py_ssize_t B) noexcept nogil:
    cdef Py_ssize_t t
    if g > h:
        t = g
        g = h
        h = t
    return g * (2 * B - g + 1) // 2 + (h - g)


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


def loss_tiles(const floating[::1] values,           # IN    log T tiles
               const int64_t[::1] tile_ptr,          # IN    tile offsets
               const int64_t[::1] group_bounds,      # IN    (B + 1,)
               const floating[:, ::1] W,             # IN    word vectors
               const floating[:, ::1] C,             # IN    context vectors
               const floating[::1] bw,               # IN    word biases
               const floating[::1] bc,               # IN    context biases
               double log_xmax, double alpha, double log_shift,
               double[::1] block_loss,               # OUT   (B * B,) sum of f * diff^2 of block g * B + h
               int64_t[::1] block_count,             # OUT   (B * B,) finite entries of each block
               int n_threads):
    """Exact weighted loss of every block ``(g, h)``, no updates, one slot per block.

    The dot products of a block come from one BLAS gemm (``W_g C_h^T``, or ``C_h W_g^T`` for a block
    read transposed, so that they share the stored tile's layout), then one pass over the tile adds
    the weighted squares in float64. The caller holds BLAS to one thread: each block's result is then
    the same whichever thread computes it.
    """
    cdef Py_ssize_t B = group_bounds.shape[0] - 1
    cdef int dim = <int> W.shape[1]
    cdef Py_ssize_t b, g, h, t, i, mx = 1
    cdef int na, nb
    cdef const floating* A
    cdef const floating* Bm
    cdef const floating* ba
    cdef const floating* bb
    cdef floating* P
    cdef floating one = 1.0, zero = 0.0
    cdef char* tr = b"T"
    cdef char* nn = b"N"
    if B == 0:
        return
    for i in range(B):
        mx = max(mx, group_bounds[i + 1] - group_bounds[i])
    scratch_arr = np.empty((max(n_threads, 1), mx * mx), dtype=np.float32 if floating is float else np.float64)
    cdef floating[:, ::1] scratch = scratch_arr
    for b in prange(B * B, schedule="dynamic", chunksize=1, nogil=True, num_threads=n_threads):
        g = b // B
        h = b % B
        t = _tile_index(g, h, B)
        P = &scratch[threadid(), 0]
        if g <= h:   # stored as (rows of g) x (columns of h)
            na = <int> (group_bounds[g + 1] - group_bounds[g])
            nb = <int> (group_bounds[h + 1] - group_bounds[h])
            A = &W[group_bounds[g], 0]
            Bm = &C[group_bounds[h], 0]
            ba = &bw[group_bounds[g]]
            bb = &bc[group_bounds[h]]
        else:        # block (g, h) reads tile (h, g): rows are context genes of h, columns word genes of g
            na = <int> (group_bounds[h + 1] - group_bounds[h])
            nb = <int> (group_bounds[g + 1] - group_bounds[g])
            A = &C[group_bounds[h], 0]
            Bm = &W[group_bounds[g], 0]
            ba = &bc[group_bounds[h]]
            bb = &bw[group_bounds[g]]
        # row-major P (na x nb) = A (na x dim) @ Bm^T  <=>  column-major P^T = Bm A^T
        if floating is float:
            sgemm(tr, nn, &nb, &na, &dim, &one, <float*> Bm, &dim, <float*> A, &dim, &zero, P, &nb)
            block_loss[b] = glove_block_loss_f32(&values[tile_ptr[t]], na, nb, P, ba, bb, log_xmax, alpha,
                                                 log_shift, &block_count[b])
        else:
            dgemm(tr, nn, &nb, &na, &dim, &one, <double*> Bm, &dim, <double*> A, &dim, &zero, P, &nb)
            block_loss[b] = glove_block_loss_f64(&values[tile_ptr[t]], na, nb, P, ba, bb, log_xmax, alpha,
                                                 log_shift, &block_count[b])


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
