/* One dtype of tile_sums.h (no include guard: included once per dtype) with
 *   TS_T        float or double;   TS_U        the unsigned integer of its bits
 *   TS_NEG_INF  the bits of -inf;  TS_SUF      the name suffix, f or d (TS(name) is name_f or name_d) */

/* *x = *p with -inf read as +0.0; *keep = all ones if *p is not -inf, else 0 (by the bits). */
static inline void TS(genevec_finite_or_zero)(const TS_T *p, TS_T *x, TS_U *keep) {
    TS_U bits;
    memcpy(&bits, p, sizeof bits);
    *keep = -(TS_U)(bits != (TS_U)TS_NEG_INF);
    bits &= *keep;
    memcpy(x, &bits, sizeof bits);
}

/* S[a, b] (leading dimension ld) = t[a, b] - rbias[a] - cbias[b], or 0 where t = -inf. */
static void TS(genevec_centre)(const TS_T *restrict t, ptrdiff_t rows, ptrdiff_t cols, const TS_T *restrict rbias,
                               const TS_T *restrict cbias, TS_T *restrict S, ptrdiff_t ld) {
    for (ptrdiff_t a = 0; a < rows; a++) {
        const TS_T *restrict src = t + a * cols;
        TS_T *restrict row = S + a * ld;
        const TS_T r = rbias[a];
        for (ptrdiff_t b = 0; b < cols; b++) {
            const TS_T L = src[b];
            const TS_T v = (L - r) - cbias[b];
            TS_U lb, vb;
            memcpy(&lb, &L, sizeof lb);
            memcpy(&vb, &v, sizeof vb);
            vb &= -(TS_U)(lb != (TS_U)TS_NEG_INF);
            memcpy(&row[b], &vb, sizeof vb);
        }
    }
}

/* Sums and counts of the finite entries of a stored tile t (rows x cols, row-major), read in memory order:
 * column sums into sums[0:cols] (+=). -inf counts as +0.0. */
static void TS(genevec_colsums)(const TS_T *restrict t, ptrdiff_t rows, ptrdiff_t cols, double *restrict sums,
                                int64_t *restrict counts) {
    for (ptrdiff_t b = 0; b < rows; b++) {
        const TS_T *restrict src = t + b * cols;
        for (ptrdiff_t a = 0; a < cols; a++) {
            TS_U keep;
            TS_T x;
            TS(genevec_finite_or_zero)(&src[a], &x, &keep);
            sums[a] += (double)x;
            counts[a] += (int64_t)(keep & 1);
        }
    }
}

/* Row sums into sums[0:rows] (+=), through 8 partial sums per row combined in a fixed order. */
static void TS(genevec_rowsums)(const TS_T *restrict t, ptrdiff_t rows, ptrdiff_t cols, double *restrict sums,
                                int64_t *restrict counts) {
    for (ptrdiff_t a = 0; a < rows; a++) {
        const TS_T *restrict src = t + a * cols;
        double p[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        int64_t c[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        ptrdiff_t b = 0;
        for (; b + 8 <= cols; b += 8) {
            for (int u = 0; u < 8; u++) {
                TS_U keep;
                TS_T x;
                TS(genevec_finite_or_zero)(&src[b + u], &x, &keep);
                p[u] += (double)x;
                c[u] += (int64_t)(keep & 1);
            }
        }
        for (int u = 0; b < cols; b++, u++) {
            TS_U keep;
            TS_T x;
            TS(genevec_finite_or_zero)(&src[b], &x, &keep);
            p[u] += (double)x;
            c[u] += (int64_t)(keep & 1);
        }
        sums[a] += ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
        counts[a] += ((c[0] + c[1]) + (c[2] + c[3])) + ((c[4] + c[5]) + (c[6] + c[7]));
    }
}
