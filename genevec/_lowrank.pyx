# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Kernels of the low-rank GloVe solver (:mod:`genevec.lowrank`), on the tiles of :mod:`genevec._layout`.

Every kernel runs ``prange`` over *row groups* ``g``: the thread that takes group ``g`` owns the
output rows ``I_g`` and visits the tiles ``(g, 0), ..., (g, B - 1)`` in that order, so each output
value is computed by one thread in an order fixed by the data. Results are bit-identical for any
``n_threads``. Dense products go through BLAS (``scipy.linalg.cython_blas``) on a per-thread scratch
copy of one tile (ALS, float64) or of a run of tiles (``tiles_matmat``, in the tiles' precision);
hold BLAS to one thread around these calls (``lowrank`` does).

A tile entry ``L_ij = log T_ij`` is ``-inf`` when ``T_ij <= 0`` (weight 0): it contributes nothing.
"""

from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.math cimport sqrt, isinf, isfinite
from libc.stdint cimport int64_t
from libc.stdlib cimport malloc, free
from scipy.linalg.cython_blas cimport dgemm, dsyrk, sgemm
from scipy.linalg.cython_lapack cimport dposv

cdef extern from "genevec_tiles.h" nogil:
    int64_t gv_tile_index(int64_t g, int64_t h, int64_t B)
    double gv_weight(double logx, double log_xmax, double alpha)

cdef enum:
    CHUNK = 64     # rows gathered per dsyrk call when forming a gene's normal equations (fixed: never the thread count)


cdef inline void* _alloc(size_t n_bytes, int* fail) noexcept nogil:
    """``malloc`` inside a parallel block, which cannot raise: a failure sets the shared flag ``fail[0]``."""
    cdef void* ptr = malloc(n_bytes)
    if ptr == NULL:
        fail[0] = 1
    return ptr


cdef inline double _weight(double L, double log_xmax, double alpha) noexcept nogil:
    """``gv_weight`` (genevec_tiles.h), with T <= 0 (L = -inf, weight 0) answered without calling exp."""
    if isinf(L):
        return 0.0
    return gv_weight(L, log_xmax, alpha)


cdef inline const floating* _tile(const floating[::1] values, const int64_t[::1] tile_ptr,
                                  Py_ssize_t g, Py_ssize_t h, Py_ssize_t B) noexcept nogil:
    """Start of tile (min(g, h), max(g, h)) in the upper-triangle tile order."""
    return &values[0] + tile_ptr[gv_tile_index(g, h, B)]


cdef inline void _fill_block(const floating* t, bint transposed, Py_ssize_t mg, Py_ssize_t mh,
                             const double* cb, double log_xmax, double alpha, double* S) noexcept nogil:
    """S (mg x mh, row-major): S_ab = f(L_ab) * (L_ab - cb_b), 0 where L = -inf (the ALS right-hand side).

    L[I_g, I_h] is read from tile t (transposed when g > h).
    """
    cdef Py_ssize_t a, b
    cdef double L
    for a in range(mg):
        for b in range(mh):
            L = t[b * mg + a] if transposed else t[a * mh + b]
            if isinf(L):
                S[a * mh + b] = 0.0
            else:
                S[a * mh + b] = gv_weight(L, log_xmax, alpha) * (L - cb[b])


cdef void _block_matmat(const floating[::1] values, const int64_t[::1] tile_ptr,
                        const int64_t[::1] bounds, Py_ssize_t g,
                        const double* cb, double log_xmax, double alpha,
                        double* Q, int k, double* out_g, double* S) noexcept nogil:
    """out_g (|I_g| x k) = sum_h S_gh @ Q[I_h, :k], h = 0 .. B - 1 in order (S_gh from _fill_block).

    ``out_g`` points at the rows of group g; ``cb`` and ``Q`` at row 0.
    """
    cdef Py_ssize_t B = bounds.shape[0] - 1
    cdef Py_ssize_t h, bg = bounds[g], bh
    cdef int mg = <int>(bounds[g + 1] - bg), mh
    cdef double one = 1.0, zero = 0.0, beta
    cdef char* nn = b"N"
    for h in range(B):
        bh = bounds[h]
        mh = <int>(bounds[h + 1] - bh)
        _fill_block(_tile(values, tile_ptr, g, h, B), g > h, mg, mh, cb + bh, log_xmax, alpha, S)
        beta = zero if h == 0 else one
        # row-major out_g (mg x k) += S (mg x mh) @ Q_h (mh x k)  <=>  col-major out^T += Q_h^T S^T
        dgemm(nn, nn, &k, &mg, &mh, &one, Q + bh * k, &k, S, &mh, &beta, out_g, &k)


def _max_group(const int64_t[::1] bounds):
    cdef Py_ssize_t g, m = 1
    for g in range(bounds.shape[0] - 1):
        if bounds[g + 1] - bounds[g] > m:
            m = bounds[g + 1] - bounds[g]
    return m


cdef inline void _gemm(char* tb, int m, int n, int k, const floating* A, int lda, const floating* B, int ldb,
                       floating beta, floating* C, int ldc) noexcept nogil:
    """col-major C (m x n) = A (m x k) @ op(B) + beta C, op(B) = B or B^T by ``tb``: sgemm or dgemm."""
    cdef char* nn = b"N"
    cdef float s_one = 1.0, s_beta = <float>beta
    cdef double d_one = 1.0, d_beta = <double>beta
    if floating is float:
        sgemm(nn, tb, &m, &n, &k, &s_one, <float*>A, &lda, <float*>B, &ldb, &s_beta, <float*>C, &ldc)
    else:
        dgemm(nn, tb, &m, &n, &k, &d_one, <double*>A, &lda, <double*>B, &ldb, &d_beta, <double*>C, &ldc)


cdef extern from "tile_sums.h" nogil:
    void genevec_colsums_f(const float* t, Py_ssize_t rows, Py_ssize_t cols, double* sums,
                           int64_t* counts) noexcept nogil
    void genevec_rowsums_f(const float* t, Py_ssize_t rows, Py_ssize_t cols, double* sums,
                           int64_t* counts) noexcept nogil
    void genevec_colsums_d(const double* t, Py_ssize_t rows, Py_ssize_t cols, double* sums,
                           int64_t* counts) noexcept nogil
    void genevec_rowsums_d(const double* t, Py_ssize_t rows, Py_ssize_t cols, double* sums,
                           int64_t* counts) noexcept nogil
    void genevec_centre_f(const float* t, Py_ssize_t rows, Py_ssize_t cols, const float* rbias,
                          const float* cbias, float* S, Py_ssize_t ld) noexcept nogil
    void genevec_centre_d(const double* t, Py_ssize_t rows, Py_ssize_t cols, const double* rbias,
                          const double* cbias, double* S, Py_ssize_t ld) noexcept nogil


cdef inline void _centre(const floating* t, Py_ssize_t rows, Py_ssize_t cols, const floating* rbias,
                         const floating* cbias, floating* S, Py_ssize_t ld) noexcept nogil:
    """S[a, b] (row-major, leading dimension ld) = t[a, b] - rbias[a] - cbias[b], or 0 where t = -inf.

    Reads the stored tile t (rows x cols, row-major) in memory order, in the tiles' precision.
    """
    if floating is float:
        genevec_centre_f(t, rows, cols, rbias, cbias, S, ld)
    else:
        genevec_centre_d(t, rows, cols, rbias, cbias, S, ld)


cdef void _strip_matmat(const floating[::1] values, const int64_t[::1] tile_ptr, const int64_t[::1] bounds,
                        Py_ssize_t g, const floating* rb, const floating* cb, const floating* Q, int k,
                        Py_ssize_t max_cols, floating* out_g, floating* S) noexcept nogil:
    """out_g (|I_g| x k) = M[I_g, :] @ Q, with M_ij = L_ij - rb_i - cb_j where finite, else 0.

    The tiles of row group g are centred into S in runs of consecutive groups of at most ``max_cols``
    genes (at least one group), each followed by one gemm on the run: first the tiles (h, g), h < g,
    stored above the diagonal and used transposed, then the tiles (g, h), h >= g. The runs depend on
    the group bounds only, so each output value is summed in the same order for any thread count.
    ``rb``, ``cb``, ``Q`` point at row 0; S holds at least |I_g| * max(max_cols, largest group) values.
    """
    cdef Py_ssize_t B = bounds.shape[0] - 1
    cdef Py_ssize_t h, hh, h0, bg = bounds[g], c0, width
    cdef int mg = <int>(bounds[g + 1] - bg), kk
    cdef char* nn = b"N"
    cdef char* tt = b"T"
    cdef floating beta = 0
    # left: S (K x mg, row-major) stacks the stored tiles (h, g); out_g^T += Q_run^T S  (col-major)
    h0 = 0
    while h0 < g:
        c0 = bounds[h0]
        h = h0
        while h < g and (h == h0 or bounds[h + 1] - c0 <= max_cols):
            _centre(_tile(values, tile_ptr, h, g, B), bounds[h + 1] - bounds[h], mg, cb + bounds[h], rb + bg,
                    S + (bounds[h] - c0) * mg, mg)
            h = h + 1
        width = bounds[h] - c0
        kk = <int>width
        _gemm(tt, k, mg, kk, Q + c0 * k, k, S, mg, beta, out_g, k)
        beta = 1
        h0 = h
    # right: S (mg x K, row-major) holds the stored tiles (g, h) side by side; out_g^T += Q_run^T S^T
    h0 = g
    while h0 < B:
        c0 = bounds[h0]
        h = h0
        while h < B and (h == h0 or bounds[h + 1] - c0 <= max_cols):
            h = h + 1
        width = bounds[h] - c0
        for hh in range(h0, h):
            _centre(_tile(values, tile_ptr, g, hh, B), mg, bounds[hh + 1] - bounds[hh], rb + bg, cb + bounds[hh],
                    S + (bounds[hh] - c0), width)
        kk = <int>width
        _gemm(nn, k, mg, kk, Q + c0 * k, k, S, kk, beta, out_g, k)
        beta = 1
        h0 = h


def tiles_row_sums(const floating[::1] values,      # IN    tile values (log T, -inf where T <= 0)
                   const int64_t[::1] tile_ptr,     # IN    (n_tiles + 1,)
                   const int64_t[::1] bounds,       # IN    (B + 1,) group bounds
                   double[::1] sums,                # OUT   (n,) sum of the finite L_ij over j
                   int64_t[::1] counts,             # OUT   (n,) number of finite L_ij over j
                   int n_threads):
    """Row sums and counts of the finite entries of the full symmetric ``L`` (both triangles).

    Row group g adds, in this order, the column sums of the stored tiles (h, g), h < g, then the
    row sums of the tiles (g, h), h >= g; every tile is read in memory order.
    """
    cdef Py_ssize_t B = bounds.shape[0] - 1
    cdef Py_ssize_t g, h, a, mg, mh, bg
    cdef const floating* t
    for g in prange(B, nogil=True, schedule="dynamic", num_threads=n_threads):
        bg = bounds[g]
        mg = bounds[g + 1] - bg
        for a in range(mg):
            sums[bg + a] = 0.0
            counts[bg + a] = 0
        for h in range(B):
            mh = bounds[h + 1] - bounds[h]
            t = _tile(values, tile_ptr, h, g, B)
            if floating is float:
                if h < g:
                    genevec_colsums_f(t, mh, mg, &sums[bg], &counts[bg])
                else:
                    genevec_rowsums_f(t, mg, mh, &sums[bg], &counts[bg])
            else:
                if h < g:
                    genevec_colsums_d(t, mh, mg, &sums[bg], &counts[bg])
                else:
                    genevec_rowsums_d(t, mg, mh, &sums[bg], &counts[bg])


def tiles_matmat(const floating[::1] values,        # IN    tile values (log T, -inf where T <= 0)
                 const int64_t[::1] tile_ptr,       # IN    (n_tiles + 1,)
                 const int64_t[::1] bounds,         # IN    (B + 1,) group bounds
                 const floating[::1] row_bias,      # IN    (n,) rb
                 const floating[::1] col_bias,      # IN    (n,) cb
                 const floating[:, ::1] Q,          # IN    (n, k)
                 floating[:, ::1] out,              # OUT   (n, k) M @ Q
                 Py_ssize_t max_cols,               # IN    genes centred per gemm call (>= 1)
                 int n_threads):
    """``out = M @ Q`` with ``M_ij = L_ij - rb_i - cb_j`` where ``L_ij`` is finite, else 0, in the tiles' precision.

    ``M`` is never formed: each thread centres runs of one row group's tiles into its own scratch
    (``|I_g| x max_cols`` values) and multiplies them by BLAS (sgemm for float32 tiles, dgemm for float64).
    """
    cdef Py_ssize_t B = bounds.shape[0] - 1
    cdef Py_ssize_t g, mx = _max_group(bounds)
    cdef Py_ssize_t n = bounds[B]
    cdef Py_ssize_t width = mx if max_cols < mx else (n if max_cols > n else max_cols)
    cdef int k = <int>Q.shape[1]
    cdef floating* S
    cdef int failed = 0                        # shared: the parallel block only takes its address
    if B == 0 or k == 0:
        return
    with nogil, parallel(num_threads=n_threads):
        S = <floating*>_alloc(mx * width * sizeof(floating), &failed)
        for g in prange(B, schedule="dynamic"):
            if S == NULL:
                continue
            _strip_matmat(values, tile_ptr, bounds, g, &row_bias[0], &col_bias[0], &Q[0, 0], k, width,
                          &out[bounds[g], 0], S)
        free(S)
    if failed:
        raise MemoryError(f"tiles_matmat: could not allocate {mx * width * sizeof(floating):,} bytes of scratch "
                          "per thread; use fewer threads (n_jobs) or a smaller MAX_COLS.")


cdef int _spd_solve(double* G, double* x, int p) noexcept nogil:
    """Solve G x = rhs in place (x holds rhs) by LAPACK's Cholesky (dposv) on G's BLAS-upper triangle.

    Returns 0, or non-zero when G is not positive definite or the solution is not finite (NaN in G
    or rhs; some LAPACKs do not flag a NaN pivot), x then undefined.
    """
    cdef char* up = b"U"
    cdef int one = 1, info = 0, q
    dposv(up, &p, &one, G, &p, x, &p, &info)
    if info != 0:
        return info
    for q in range(p):
        if not isfinite(x[q]):
            return -1
    return 0


cdef void _flush(double* Z, int rows, int p, double sign, double* G) noexcept nogil:
    """G += sign * Z^T Z for the first ``rows`` rows of Z (rows x p, row-major); upper triangle in BLAS terms."""
    cdef char* up = b"U"
    cdef char* nn = b"N"
    cdef double one = 1.0
    if rows > 0:
        # col-major view of Z is Z^T (p x rows): C = alpha A A^T = Z^T Z
        dsyrk(up, nn, &p, &rows, &sign, Z, &p, &one, G, &p)


def als_half_sweep(const floating[::1] values,      # IN    tile values
                   const int64_t[::1] tile_ptr,     # IN    (n_tiles + 1,)
                   const int64_t[::1] bounds,       # IN    (B + 1,)
                   const double[:, ::1] F,          # IN    (n, p) fixed side [C, 1] (or [W, 1])
                   const double[::1] offset,        # IN    (n,) fixed side's bias bc (or bw)
                   const double[:, ::1] G_full,     # IN    (p, p) F^T F
                   double[:, ::1] theta,            # INOUT (n, p) [w_i, b_i]: old values in, minimisers out
                   double log_xmax, double alpha, double reg,
                   int64_t[::1] failed,             # OUT   (n,) 1 where the Cholesky failed (theta_i kept)
                   int n_threads):
    """One block of weighted ALS: every ``theta_i`` minimises its exact weighted least squares (LAPACK dposv).

    For gene ``i``: ``min_t sum_j f_ij (t . F_j - (L_ij - offset_j))^2 + lam_i ||t - theta_i||^2``, the
    proximal ridge ``lam_i = reg * max(1, trace(G_i) / p)`` toward the current value, so the loss
    cannot increase. ``G_i = sum_j f_ij F_j F_j^T`` is built from the rows with ``0 < f`` or, when
    fewer rows have ``f < 1``, as ``G_full - sum_{f_ij < 1} (1 - f_ij) F_j F_j^T``.
    """
    cdef Py_ssize_t n = F.shape[0], B = bounds.shape[0] - 1
    cdef int p = <int>F.shape[1]
    cdef Py_ssize_t g, h, a, b, i, j, q, mg, mh, bg, mx = _max_group(bounds)
    cdef int rows, n_pos, n_low, use_full
    cdef const floating* t
    cdef double* S
    cdef double* R
    cdef double* G
    cdef double* Z
    cdef double* x
    cdef double* row
    cdef double w, lam, tr
    cdef int no_memory = 0                     # shared: the parallel block only takes its address
    if B == 0 or p == 0:
        return
    with nogil, parallel(num_threads=n_threads):
        S = <double*>_alloc(mx * mx * sizeof(double), &no_memory)
        R = <double*>_alloc(mx * p * sizeof(double), &no_memory)
        G = <double*>_alloc(<size_t>p * p * sizeof(double), &no_memory)
        Z = <double*>_alloc(<size_t>CHUNK * p * sizeof(double), &no_memory)
        x = <double*>_alloc(p * sizeof(double), &no_memory)
        row = <double*>_alloc(n * sizeof(double), &no_memory)
        for g in prange(B, schedule="dynamic"):
            if S == NULL or R == NULL or G == NULL or Z == NULL or x == NULL or row == NULL:
                continue
            bg = bounds[g]
            mg = bounds[g + 1] - bg
            # right-hand sides of the whole group: R = sum_h (f * (L - offset))_gh @ F_h
            _block_matmat(values, tile_ptr, bounds, g, &offset[0], log_xmax, alpha, <double*>&F[0, 0], p, R, S)
            for a in range(mg):
                i = bg + a
                # gene i's row of L, gathered once from its tiles
                for h in range(B):
                    mh = bounds[h + 1] - bounds[h]
                    t = _tile(values, tile_ptr, g, h, B)
                    for b in range(mh):
                        row[bounds[h] + b] = t[b * mg + a] if g > h else t[a * mh + b]
                # pass 1: how many weights are positive, how many below 1
                n_pos = 0
                n_low = 0
                for j in range(n):
                    if not isinf(row[j]):
                        n_pos = n_pos + 1
                    if isinf(row[j]) or row[j] < log_xmax:
                        n_low = n_low + 1
                use_full = n_low < n_pos
                for q in range(p * p):
                    G[q] = G_full[q // p, q % p] if use_full else 0.0
                # pass 2: gather sqrt-weighted rows of F, CHUNK at a time, into the Gram matrix
                rows = 0
                for j in range(n):
                    w = _weight(row[j], log_xmax, alpha)
                    if use_full:
                        w = 1.0 - w
                    if w > 0.0:
                        w = sqrt(w)
                        for q in range(p):
                            Z[rows * p + q] = w * F[j, q]
                        rows = rows + 1
                        if rows == CHUNK:
                            _flush(Z, rows, p, -1.0 if use_full else 1.0, G)
                            rows = 0
                _flush(Z, rows, p, -1.0 if use_full else 1.0, G)
                # dsyrk updated the BLAS-upper triangle, the one dposv reads (G is symmetric)
                tr = 0.0
                for q in range(p):
                    tr = tr + G[q * p + q]
                lam = tr / p
                if lam < 1.0:
                    lam = 1.0
                lam = reg * lam
                for q in range(p):
                    G[q * p + q] = G[q * p + q] + lam
                    x[q] = R[a * p + q] + lam * theta[i, q]
                if _spd_solve(G, x, p) == 0:
                    failed[i] = 0
                    for q in range(p):
                        theta[i, q] = x[q]
                else:
                    failed[i] = 1
        free(S)
        free(R)
        free(G)
        free(Z)
        free(x)
        free(row)
    if no_memory:
        raise MemoryError(f"als_half_sweep: could not allocate the per-thread scratch ({mx:,} x {mx:,} and "
                          f"{p} x {p} doubles); use fewer threads (n_jobs) or fewer genes per group.")
