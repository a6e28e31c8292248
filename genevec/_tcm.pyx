# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Co-occurrence kernels: A^T A over gene tiles (dense, BLAS per tile) and over gene rows (sparse).

Every piece of work (a tile of the output, a chunk of output rows) is fixed by the data and done by
one thread with a fixed summation order, so the result does not depend on the thread count. BLAS
must be held to one thread by the caller (``_threads.one_blas_thread``) around these calls.
"""

import numpy as np

from cython cimport floating
from cython.parallel cimport prange, parallel
from libc.stdlib cimport malloc, realloc, free, qsort
from libc.string cimport memcpy
from libc.math cimport INFINITY

from libc.stdint cimport int64_t

cdef extern from "genevec_tiles.h" nogil:
    int64_t gv_tile_index(int64_t g, int64_t h, int64_t B)

from scipy.linalg.cython_blas cimport dgemm, dsyrk

ctypedef long long i64


cdef int _cmp_int(const void *a, const void *b) noexcept nogil:
    cdef int x = (<const int *> a)[0]
    cdef int y = (<const int *> b)[0]
    return (x > y) - (x < y)


cdef void _gemm_tile(const double *P, int ldp, const double *Q, int ldq, int n_rows, int n_cols, int k,
                     double *C, int ldc, bint diagonal) noexcept nogil:
    """C[r, c] (row-major, ldc) = sum_s P[s, r] * Q[s, c]; P, Q row-major samples x genes.

    Row-major C is column-major C^T = Q^T P, with Q^T column-major (n_cols x k, ld ldq). On a
    diagonal tile (P is Q) only the upper triangle of C is written (dsyrk, lower in column-major).
    """
    cdef double one = 1.0, zero = 0.0
    cdef char *nn = b"N"
    cdef char *tt = b"T"
    cdef char *lo = b"L"
    if diagonal:
        dsyrk(lo, nn, &n_cols, &k, &one, <double *> Q, &ldq, &zero, C, &ldc)
    else:
        dgemm(nn, tt, &n_cols, &n_rows, &k, &one, <double *> Q, &ldq, <double *> P, &ldp, &zero, C, &ldc)


cdef class ChunkBuffers:
    """Per-chunk output rows of :func:`sparse_gram_rows` (C buffers, freed with the object)."""
    cdef int **idx
    cdef double **val
    cdef i64 *used
    cdef Py_ssize_t n

    def __cinit__(self):
        self.idx = NULL
        self.val = NULL
        self.used = NULL
        self.n = 0

    cdef allocate(self, Py_ssize_t n):
        cdef Py_ssize_t c
        self.idx = <int **> malloc((n + 1) * sizeof(int *))
        self.val = <double **> malloc((n + 1) * sizeof(double *))
        self.used = <i64 *> malloc((n + 1) * sizeof(i64))
        if self.idx == NULL or self.val == NULL or self.used == NULL:
            self.release()
            raise MemoryError("dtm_to_tcm: could not allocate the chunk table of the sparse co-occurrence.")
        self.n = n
        for c in range(n):
            self.idx[c] = NULL
            self.val[c] = NULL
            self.used[c] = 0

    cdef release(self):
        cdef Py_ssize_t c
        if self.idx != NULL:
            for c in range(self.n):
                free(self.idx[c])
        if self.val != NULL:
            for c in range(self.n):
                free(self.val[c])
        free(self.idx)
        free(self.val)
        free(self.used)
        self.idx = NULL
        self.val = NULL
        self.used = NULL
        self.n = 0

    def __dealloc__(self):
        self.release()

    def chunk_nnz(self):
        """Nonzeros held by each chunk."""
        return [self.used[c] for c in range(self.n)]



cdef Py_ssize_t _accumulate_row(Py_ssize_t i, const double *data, const int *indices, const i64 *indptr,
                                const double *cdata, const int *cindices, const i64 *cindptr,
                                double *acc, int *marker, int *touched, Py_ssize_t n_genes) noexcept nogil:
    """acc[j] = sum_s A[s, i] A[s, j] over the samples s of gene i in ascending order; diagonal rule on acc[i].

    ``acc`` is zero everywhere on entry (0 + x == x, so the first term is exact). A row whose work
    (sum of the nnz of its samples) reaches n_genes / 8 is accumulated without bookkeeping and
    returns -1 (emit by scanning every gene); a lighter row lists the genes it touched in
    ``touched`` (``marker[j] == i``) and returns their number. Both give the same sums.
    """
    cdef Py_ssize_t p, q, s, j, nt = 0, work = 0
    cdef int ii = <int> i
    cdef bint listed
    cdef double a, colsum = 0.0
    for p in range(cindptr[i], cindptr[i + 1]):
        s = cindices[p]
        work = work + (indptr[s + 1] - indptr[s])
    listed = work * 8 < n_genes                # loop-invariant: the compiler (-O3) unswitches the loop on it
    for p in range(cindptr[i], cindptr[i + 1]):
        s = cindices[p]
        a = cdata[p]
        colsum = colsum + a
        for q in range(indptr[s], indptr[s + 1]):
            j = indices[q]
            acc[j] = acc[j] + a * data[q]
            if listed and marker[j] != ii:
                marker[j] = ii
                touched[nt] = <int> j
                nt = nt + 1
    if not listed:
        nt = -1
    if cindptr[i + 1] > cindptr[i]:
        acc[i] = (acc[i] - colsum) * 0.5
    return nt


cdef Py_ssize_t _emit_row(Py_ssize_t nt, Py_ssize_t n_genes, double *acc, int *touched,
                          int *idx_out, double *val_out) noexcept nogil:
    """Write the nonzeros of acc in increasing gene order and zero acc; returns their number.

    ``nt == -1``: scan every gene; otherwise only the ``nt`` genes listed in ``touched`` (sorted here).
    """
    cdef Py_ssize_t e, j, m = 0
    if nt < 0:
        for j in range(n_genes):
            if acc[j] != 0.0:
                idx_out[m] = <int> j
                val_out[m] = acc[j]
                m = m + 1
                acc[j] = 0.0
    else:
        qsort(touched, nt, sizeof(int), _cmp_int)
        for e in range(nt):
            j = touched[e]
            if acc[j] != 0.0:
                idx_out[m] = <int> j
                val_out[m] = acc[j]
                m = m + 1
            acc[j] = 0.0
    return m


def gram_tiles(const double[:, ::1] AP,      # IN    (n_samples, *) row-major, genes p0:p1 are the rows of out
               Py_ssize_t p0,
               const double[:, ::1] AQ,      # IN    (n_samples, *) row-major, genes q0:q1 are the columns of out
               Py_ssize_t q0,
               double[:, ::1] out,           # OUT   (p1 - p0, q1 - q0): out[r, c] = sum_s AP[s, p0 + r] * AQ[s, q0 + c]
               const i64[::1] bounds_r,      # IN    tile bounds along the rows of out (0 ... n_rows)
               const i64[::1] bounds_c,      # IN    tile bounds along the columns of out (0 ... n_cols)
               const i64[::1] tile_r,        # IN    (n_tiles,) row-tile of each tile to compute
               const i64[::1] tile_c,        # IN    (n_tiles,) column-tile of each tile to compute
               bint symmetric,               # IN    AP is AQ, p0 == q0, bounds equal: tiles r <= c, then mirror
               int n_threads):
    """Fill ``out`` with a block of A^T A, one BLAS call per tile, one thread per tile."""
    cdef Py_ssize_t t, r0, r1, c0, c1, a, b, i, j, ii, jj, i_end, j_end
    cdef Py_ssize_t n_tiles = tile_r.shape[0]
    cdef int k = <int> AP.shape[0]
    cdef int ldp = <int> AP.shape[1]
    cdef int ldq = <int> AQ.shape[1]
    cdef int ldc = <int> out.shape[1]
    cdef double *C = &out[0, 0]
    cdef const double *P = &AP[0, 0]
    cdef const double *Q = &AQ[0, 0]
    for t in prange(n_tiles, nogil=True, schedule="dynamic", num_threads=n_threads):
        r0 = bounds_r[tile_r[t]]
        r1 = bounds_r[tile_r[t] + 1]
        c0 = bounds_c[tile_c[t]]
        c1 = bounds_c[tile_c[t] + 1]
        _gemm_tile(P + p0 + r0, ldp, Q + q0 + c0, ldq, <int> (r1 - r0), <int> (c1 - c0), k,
                   C + r0 * ldc + c0, ldc, symmetric and tile_r[t] == tile_c[t])
    if not symmetric:
        return
    # Mirror: the lower triangle (tiles a >= b) from the upper one, in 32 x 32 blocks.
    for t in prange(n_tiles, nogil=True, schedule="dynamic", num_threads=n_threads):
        a = tile_c[t]
        b = tile_r[t]
        r0 = bounds_r[a]
        r1 = bounds_r[a + 1]
        c0 = bounds_c[b]
        c1 = bounds_c[b + 1]
        ii = r0
        while ii < r1:
            i_end = ii + 32
            if i_end > r1:
                i_end = r1
            jj = c0
            while jj < c1:
                j_end = jj + 32
                if j_end > c1:
                    j_end = c1
                for i in range(ii, i_end):
                    for j in range(jj, j_end):
                        if j < i:
                            C[i * ldc + j] = C[j * ldc + i]
                jj = jj + 32
            ii = ii + 32


def scatter_tiles(const double[:, ::1] buf,      # IN    log T of genes [gb[g_lo], gb[g_hi]) x [gb[h_lo], gb[h_hi])
                  const i64[::1] gb,             # IN    group bounds (B + 1,)
                  Py_ssize_t g_lo, Py_ssize_t h_lo,
                  const i64[::1] tile_g,         # IN    (n,) word group of each tile to write
                  const i64[::1] tile_h,         # IN    (n,) context group, tile_g <= tile_h
                  const i64[::1] tile_ptr,       # IN    (B (B + 1) / 2 + 1,) offsets of the tiles in values
                  floating[::1] values,          # OUT   packed tiles
                  i64[::1] n_positive,           # OUT   (n,) entries with log T > -inf in each tile
                  int n_threads):
    """Copy the tiles (g, h) of one super-block of log T into the packed layout, cast to ``floating``."""
    cdef Py_ssize_t t, g, h, B, idx, i, j, row0, col0, n_r, n_c, pos
    cdef i64 count
    cdef double v
    cdef Py_ssize_t ld = buf.shape[1]
    cdef const double *src = &buf[0, 0]
    cdef floating *dst = &values[0]
    B = gb.shape[0] - 1
    for t in prange(tile_g.shape[0], nogil=True, schedule="dynamic", num_threads=n_threads):
        g = tile_g[t]
        h = tile_h[t]
        idx = gv_tile_index(g, h, B)
        row0 = gb[g] - gb[g_lo]
        col0 = gb[h] - gb[h_lo]
        n_r = gb[g + 1] - gb[g]
        n_c = gb[h + 1] - gb[h]
        pos = tile_ptr[idx]
        count = 0
        for i in range(n_r):
            for j in range(n_c):
                v = src[(row0 + i) * ld + col0 + j]
                if v > -INFINITY:
                    count = count + 1
                dst[pos + i * n_c + j] = <floating> v
        n_positive[t] = count


def sparse_gram_rows(const double[::1] data,      # IN    CSR of A (n_samples x n_genes): values
                     const int[::1] indices,      # IN    gene of each value, sorted within a row
                     const i64[::1] indptr,       # IN    (n_samples + 1,)
                     const double[::1] cdata,     # IN    CSC of A: values
                     const int[::1] cindices,     # IN    sample of each value, sorted within a column
                     const i64[::1] cindptr,      # IN    (n_genes + 1,)
                     i64[::1] row_nnz,            # OUT   (n_genes,) nonzeros of each output row
                     Py_ssize_t chunk,            # IN    output rows per chunk (fixed, not from n_threads)
                     int n_threads):
    """Rows of T = A^T A with the diagonal rule, computed chunk by chunk into private buffers.

    Row ``i``: for the samples ``s`` holding gene ``i`` (ascending), for the genes ``j`` of ``s``,
    ``acc[j] += A[s, i] * A[s, j]``; then ``acc[i] = (acc[i] - colsum[i]) / 2`` and the nonzeros are
    emitted in increasing ``j``. Returns a ``ChunkBuffers`` to be copied out by :func:`gather_rows`.
    """
    cdef Py_ssize_t n_genes = cindptr.shape[0] - 1
    cdef Py_ssize_t n_chunks = (n_genes + chunk - 1) // chunk
    cdef ChunkBuffers out = ChunkBuffers.__new__(ChunkBuffers)
    out.allocate(n_chunks)
    cdef Py_ssize_t c, i, j0, nt, bound, cap, used, i_lo, i_hi, m
    cdef double *acc
    cdef int *marker
    cdef int *touched
    cdef int *idx_buf
    cdef double *val_buf
    cdef void *tmp
    cdef int failed = 0
    cdef int *fail = &failed                   # shared flag, written through a pointer (not privatised)
    cdef int **idx_tab = out.idx
    cdef double **val_tab = out.val
    cdef i64 *used_tab = out.used
    cdef const double *data_p = &data[0] if data.shape[0] > 0 else NULL
    cdef const int *indices_p = &indices[0] if indices.shape[0] > 0 else NULL
    cdef const i64 *indptr_p = &indptr[0]
    cdef const double *cdata_p = &cdata[0] if cdata.shape[0] > 0 else NULL
    cdef const int *cindices_p = &cindices[0] if cindices.shape[0] > 0 else NULL
    cdef const i64 *cindptr_p = &cindptr[0]
    with nogil, parallel(num_threads=n_threads):
        acc = <double *> malloc(n_genes * sizeof(double) + 1)
        marker = <int *> malloc(n_genes * sizeof(int) + 1)
        touched = <int *> malloc(n_genes * sizeof(int) + 1)
        if acc == NULL or marker == NULL or touched == NULL:
            fail[0] = 1
        else:
            for j0 in range(n_genes):
                marker[j0] = -1
                acc[j0] = 0.0
        for c in prange(n_chunks, schedule="dynamic"):
            if acc == NULL or marker == NULL or touched == NULL:
                continue
            i_lo = c * chunk
            i_hi = i_lo + chunk
            if i_hi > n_genes:
                i_hi = n_genes
            cap = 1024
            used = 0
            idx_buf = <int *> malloc(cap * sizeof(int))
            val_buf = <double *> malloc(cap * sizeof(double))
            if idx_buf == NULL or val_buf == NULL:
                fail[0] = 1
                free(idx_buf)
                free(val_buf)
                continue
            for i in range(i_lo, i_hi):
                nt = _accumulate_row(i, data_p, indices_p, indptr_p, cdata_p, cindices_p, cindptr_p,
                                     acc, marker, touched, n_genes)
                bound = n_genes if nt < 0 else nt
                if used + bound > cap:
                    while used + bound > cap:
                        cap = 2 * cap
                    tmp = realloc(idx_buf, cap * sizeof(int))
                    if tmp == NULL:
                        fail[0] = 1
                        break
                    idx_buf = <int *> tmp
                    tmp = realloc(val_buf, cap * sizeof(double))
                    if tmp == NULL:
                        fail[0] = 1
                        break
                    val_buf = <double *> tmp
                m = _emit_row(nt, n_genes, acc, touched, idx_buf + used, val_buf + used)
                used = used + m
                row_nnz[i] = m
            idx_tab[c] = idx_buf
            val_tab[c] = val_buf
            used_tab[c] = used
        free(acc)
        free(marker)
        free(touched)
    if failed:
        out.release()
        raise MemoryError(
            "dtm_to_tcm: could not allocate the per-thread buffers of the sparse co-occurrence; "
            "use fewer genes, or pass a dense X."
        )
    return out


def gather_rows(ChunkBuffers buffers,         # INOUT chunk buffers, freed as they are copied
                const i64[::1] chunk_start,   # IN    (n_chunks,) offset of each chunk in the output
                int[::1] indices,             # OUT   (nnz,) column indices
                double[::1] data,             # OUT   (nnz,) values
                int n_threads):
    """Concatenate the chunk buffers into the output CSR arrays, in chunk order."""
    cdef Py_ssize_t c, n = buffers.n
    cdef int **idx_tab = buffers.idx
    cdef double **val_tab = buffers.val
    cdef i64 *used_tab = buffers.used
    cdef int *dst_i = &indices[0] if indices.shape[0] > 0 else NULL
    cdef double *dst_v = &data[0] if data.shape[0] > 0 else NULL
    for c in prange(n, nogil=True, schedule="dynamic", num_threads=n_threads):
        if used_tab[c] > 0:
            memcpy(dst_i + chunk_start[c], idx_tab[c], used_tab[c] * sizeof(int))
            memcpy(dst_v + chunk_start[c], val_tab[c], used_tab[c] * sizeof(double))
        free(idx_tab[c])
        free(val_tab[c])
        idx_tab[c] = NULL
        val_tab[c] = NULL


def accumulate_chunk(const double[::1] data,      # IN    CSR of one chunk of cells (cells x genes): values
                     const int[::1] indices,      # IN    gene of each value, ascending within a cell
                     const i64[::1] indptr,       # IN    (n_cells + 1,)
                     const i64[::1] gb,           # IN    group bounds (B + 1,)
                     const i64[::1] group_of,     # IN    (n_genes,) group of each gene
                     const i64[::1] tile_g,       # IN    (n_tiles,) word group of each tile to add to, g <= h
                     const i64[::1] tile_h,       # IN    (n_tiles,) context group
                     const i64[::1] tile_off,     # IN    (n_tiles,) offset of each tile in out
                     double[::1] out,             # INOUT tiles of T = sum of A^T A over the chunks so far
                     int n_threads):
    """Add one chunk's A^T A to the listed tiles (row-major; diagonal tiles whole), one thread per tile.

    The chunk is first regrouped (serially, O(nnz)) group-major: for each gene group ``g``, the
    entries of every cell in that group, cell after cell. Tile ``(g, h)`` then walks the cells in
    ascending order and adds the outer product of the cell's entries in ``g`` and in ``h``: entry
    ``(i, j)`` receives its products in the order of the cells, one at a time, after what earlier
    chunks left, whatever the chunking or the thread count. The tile stays in cache while the two
    groups' entries stream past. The diagonal receives ``sum A^2`` (the caller applies quanteda's rule).
    """
    cdef Py_ssize_t n_cells = indptr.shape[0] - 1
    cdef Py_ssize_t B = gb.shape[0] - 1
    cdef Py_ssize_t n1 = n_cells + 1
    cdef i64 nnz = indptr[n_cells]
    cdef Py_ssize_t s, q, q_end, g, h, t, pos, p, p_end, r, r_end, n_h
    cdef i64 run
    cdef double a
    cdef double *tile
    cdef double *row
    if nnz == 0 or tile_g.shape[0] == 0:
        return
    goff_arr = np.zeros(B * n1, dtype=np.int64)
    gval_arr = np.empty(nnz, dtype=np.float64)
    gidx_arr = np.empty(nnz, dtype=np.int32)
    cdef i64[::1] goff = goff_arr
    cdef double[::1] gval = gval_arr
    cdef int[::1] gidx = gidx_arr
    cdef double *dst = &out[0]
    with nogil:
        # group-major layout: goff[g * n1 + s] .. goff[g * n1 + s + 1] are cell s's entries in group g
        for s in range(n_cells):
            for q in range(indptr[s], indptr[s + 1]):
                goff[group_of[indices[q]] * n1 + s + 1] += 1
        run = 0
        for g in range(B):
            goff[g * n1] = run
            for s in range(n_cells):
                run = run + goff[g * n1 + s + 1]
                goff[g * n1 + s + 1] = run
        for s in range(n_cells):
            q = indptr[s]
            q_end = indptr[s + 1]
            while q < q_end:
                g = group_of[indices[q]]
                pos = goff[g * n1 + s]
                while q < q_end and indices[q] < gb[g + 1]:
                    gval[pos] = data[q]
                    gidx[pos] = <int> (indices[q] - gb[g])
                    pos = pos + 1
                    q = q + 1
    for t in prange(tile_g.shape[0], nogil=True, schedule="dynamic", num_threads=n_threads):
        g = tile_g[t]
        h = tile_h[t]
        n_h = gb[h + 1] - gb[h]
        tile = dst + tile_off[t]
        for s in range(n_cells):
            r = goff[h * n1 + s]
            r_end = goff[h * n1 + s + 1]
            if r == r_end:
                continue
            p_end = goff[g * n1 + s + 1]
            for p in range(goff[g * n1 + s], p_end):
                a = gval[p]
                row = tile + gidx[p] * n_h
                for q in range(r, r_end):
                    row[gidx[q]] += a * gval[q]
