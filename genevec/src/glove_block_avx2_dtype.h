/* The AVX2+FMA path of one dtype, included by glove_block.c once per dtype (no include guard), after
 * glove_block_dtype.h, with
 *   GV_T, GV_SUF, GV_SQRT   as for glove_block_dtype.h;  GV_FMA  the scalar fused multiply-add (fmaf, fma)
 *   GV_VEC, GV_MM(op)       the 256-bit vector of GV_T and its intrinsics (__m256, _mm256_op_ps or
 *                           __m256d, _mm256_op_pd)
 *   GV_VEC4, GV_MM4(op)     a vector of 4 GV_T and its intrinsics (__m128, _mm_op_ps or __m256d, _mm256_op_pd)
 * and glove_block.c's per-dtype pieces: load_tail_SUF / store_tail_SUF (the first n < lanes lanes), hsum_SUF,
 * lr_SUF / lr_make_SUF / step_SUF (x - lr * grad / sqrt(g) the dtype's way) and warm.
 *
 * It defines block_avx2_SUF. Two consecutive entries that share no row run as a pair: both dot products
 * in one loop, both updates in one loop, the four bias steps as one 4-lane square root and division. Each
 * entry of a pair sees exactly the operations it would see alone (sqrt and division are correctly
 * rounded, the bias sums one FMA either way), so pairing never changes a bit; it lets the CPU overlap two
 * latency chains (one entry alone is more instructions than the reorder window holds). */

#if GLOVE_HAVE_AVX2

#define GV_LANES ((int)(sizeof(GV_VEC) / sizeof(GV_T)))

/* a . b: two accumulators over chunks of 2 x lanes, then one chunk of lanes, then the tail (zeros above). */
AVX2 static inline GV_T GV(dot_avx2)(const GV_T *a, const GV_T *b, int dim) {
    GV_VEC acc0 = GV_MM(setzero)(), acc1 = GV_MM(setzero)();
    int k = 0;
    for (; k + 2 * GV_LANES <= dim; k += 2 * GV_LANES) {
        acc0 = GV_MM(fmadd)(GV_MM(loadu)(a + k), GV_MM(loadu)(b + k), acc0);
        acc1 = GV_MM(fmadd)(GV_MM(loadu)(a + k + GV_LANES), GV_MM(loadu)(b + k + GV_LANES), acc1);
    }
    if (k + GV_LANES <= dim) {
        acc0 = GV_MM(fmadd)(GV_MM(loadu)(a + k), GV_MM(loadu)(b + k), acc0);
        k += GV_LANES;
    }
    if (k < dim) acc1 = GV_MM(fmadd)(GV(load_tail)(a + k, dim - k), GV(load_tail)(b + k, dim - k), acc1);
    return GV(hsum)(GV_MM(add)(acc0, acc1));
}

/* a . b and c . d in one loop, each with the operations of dot_avx2. */
AVX2 static inline void GV(dot2_avx2)(const GV_T *a, const GV_T *b, const GV_T *c, const GV_T *d, int dim,
                                      GV_T *ab, GV_T *cd) {
    GV_VEC x0 = GV_MM(setzero)(), x1 = GV_MM(setzero)(), y0 = GV_MM(setzero)(), y1 = GV_MM(setzero)();
    int k = 0;
    for (; k + 2 * GV_LANES <= dim; k += 2 * GV_LANES) {
        x0 = GV_MM(fmadd)(GV_MM(loadu)(a + k), GV_MM(loadu)(b + k), x0);
        y0 = GV_MM(fmadd)(GV_MM(loadu)(c + k), GV_MM(loadu)(d + k), y0);
        x1 = GV_MM(fmadd)(GV_MM(loadu)(a + k + GV_LANES), GV_MM(loadu)(b + k + GV_LANES), x1);
        y1 = GV_MM(fmadd)(GV_MM(loadu)(c + k + GV_LANES), GV_MM(loadu)(d + k + GV_LANES), y1);
    }
    if (k + GV_LANES <= dim) {
        x0 = GV_MM(fmadd)(GV_MM(loadu)(a + k), GV_MM(loadu)(b + k), x0);
        y0 = GV_MM(fmadd)(GV_MM(loadu)(c + k), GV_MM(loadu)(d + k), y0);
        k += GV_LANES;
    }
    if (k < dim) {
        x1 = GV_MM(fmadd)(GV(load_tail)(a + k, dim - k), GV(load_tail)(b + k, dim - k), x1);
        y1 = GV_MM(fmadd)(GV(load_tail)(c + k, dim - k), GV(load_tail)(d + k, dim - k), y1);
    }
    *ab = GV(hsum)(GV_MM(add)(x0, x1));
    *cd = GV(hsum)(GV_MM(add)(y0, y1));
}

/* The first n lanes at p: all of them (n == lanes, a plain load or store) or a tail. With a constant n
 * the test folds away. */
AVX2 static inline GV_VEC GV(load_n)(const GV_T *p, int n) {
    return n == GV_LANES ? GV_MM(loadu)(p) : GV(load_tail)(p, n);
}

AVX2 static inline void GV(store_n)(GV_T *p, GV_VEC x, int n) {
    if (n == GV_LANES) GV_MM(storeu)(p, x);
    else GV(store_tail)(p, x, n);
}

/* Lanes k .. k + n - 1 of one entry's update with the old w and v: w -= step(fd v), v -= step(fd w), then
 * gw += (fd v)^2, gv += (fd w)^2 (one FMA each). Lanes beyond n are neither read nor written. */
AVX2 static inline void GV(update_lanes)(GV_T *w, GV_T *v, GV_T *gw, GV_T *gv, GV_VEC fd, GV(lr) lr, int k, int n) {
    const GV_VEC wk = GV(load_n)(w + k, n), vk = GV(load_n)(v + k, n);
    const GV_VEC gwk = GV(load_n)(gw + k, n), gvk = GV(load_n)(gv + k, n);
    const GV_VEC grad_w = GV_MM(mul)(fd, vk), grad_c = GV_MM(mul)(fd, wk);
    GV(store_n)(w + k, GV(step)(wk, grad_w, gwk, lr), n);
    GV(store_n)(v + k, GV(step)(vk, grad_c, gvk, lr), n);
    GV(store_n)(gw + k, GV_MM(fmadd)(grad_w, grad_w, gwk), n);
    GV(store_n)(gv + k, GV_MM(fmadd)(grad_c, grad_c, gvk), n);
}

AVX2 static inline void GV(update_avx2)(GV_T *w, GV_T *v, GV_T *gw, GV_T *gv, GV_T fd, GV(lr) lr, int dim) {
    const GV_VEC vfd = GV_MM(set1)(fd);
    int k = 0;
    for (; k + GV_LANES <= dim; k += GV_LANES) GV(update_lanes)(w, v, gw, gv, vfd, lr, k, GV_LANES);
    if (k < dim) GV(update_lanes)(w, v, gw, gv, vfd, lr, k, dim - k);
}

/* Two entries' updates (rows w0, v0 and w1, v1, all distinct) in one loop, each as update_avx2. */
AVX2 static inline void GV(update2_avx2)(GV_T *w0, GV_T *v0, GV_T *gw0, GV_T *gv0, GV_T fd0, GV_T *w1, GV_T *v1,
                                         GV_T *gw1, GV_T *gv1, GV_T fd1, GV(lr) lr, int dim) {
    const GV_VEC vfd0 = GV_MM(set1)(fd0), vfd1 = GV_MM(set1)(fd1);
    int k = 0;
    for (; k + GV_LANES <= dim; k += GV_LANES) {
        GV(update_lanes)(w0, v0, gw0, gv0, vfd0, lr, k, GV_LANES);
        GV(update_lanes)(w1, v1, gw1, gv1, vfd1, lr, k, GV_LANES);
    }
    if (k < dim) {
        GV(update_lanes)(w0, v0, gw0, gv0, vfd0, lr, k, dim - k);
        GV(update_lanes)(w1, v1, gw1, gv1, vfd1, lr, k, dim - k);
    }
}

/* The bias steps of one entry: b -= (lr fd) / sqrt(g), then g += fd^2 as one FMA. */
static inline void GV(bias1)(GV_T *bw, GV_T *bc, GV_T *gbw, GV_T *gbc, int64_t r, int64_t c, GV_T fd, GV_T lr) {
    bw[r] -= (lr * fd) / GV_SQRT(gbw[r]);
    bc[c] -= (lr * fd) / GV_SQRT(gbc[c]);
    gbw[r] = GV_FMA(fd, fd, gbw[r]);
    gbc[c] = GV_FMA(fd, fd, gbc[c]);
}

/* The bias steps of two disjoint entries (r0, c0), (r1, c1) as one 4-lane square root and division, lanes
 * (bw[r0], bc[c0], bw[r1], bc[c1]): each lane gets the bits of bias1. */
AVX2 static inline void GV(bias2)(GV_T *bw, GV_T *bc, GV_T *gbw, GV_T *gbc, int64_t r0, int64_t c0, GV_T fd0,
                                  int64_t r1, int64_t c1, GV_T fd1, GV_T lr) {
    const GV_VEC4 g = GV_MM4(setr)(gbw[r0], gbc[c0], gbw[r1], gbc[c1]);
    const GV_VEC4 b = GV_MM4(setr)(bw[r0], bc[c0], bw[r1], bc[c1]);
    const GV_VEC4 fd = GV_MM4(setr)(fd0, fd0, fd1, fd1);
    GV_T nb[4], ng[4];
    GV_MM4(storeu)(nb, GV_MM4(sub)(b, GV_MM4(div)(GV_MM4(mul)(GV_MM4(set1)(lr), fd), GV_MM4(sqrt)(g))));
    GV_MM4(storeu)(ng, GV_MM4(fmadd)(fd, fd, g));
    bw[r0] = nb[0];
    bc[c0] = nb[1];
    bw[r1] = nb[2];
    bc[c1] = nb[3];
    gbw[r0] = ng[0];
    gbc[c0] = ng[1];
    gbw[r1] = ng[2];
    gbc[c1] = ng[3];
}

AVX2 static void GV(block_avx2)(const GV_T *tile, int transposed, int64_t rows, int64_t cols, const uint32_t *keys,
                                GV_T *W, GV_T *C, GV_T *bw, GV_T *bc, GV_T *gW, GV_T *gC, GV_T *gbw, GV_T *gbc,
                                int dim, double log_xmax, double alpha, double lr_, double clip_, double *loss_out,
                                int64_t *count_out) {
    const GV_T lr = (GV_T)lr_, clip = (GV_T)clip_;
    const GV(lr) vlr = GV(lr_make)(lr);
    double loss = 0.0;
    int64_t count = 0, sb;
    GV(entry) buf[GLOVE_SLOTS];
    sub_iter_t it;
    sub_iter_init(&it, rows, cols, keys);
    warm(tile, rows * cols * (int64_t)sizeof(GV_T));
    warm(W, rows * dim * (int64_t)sizeof(GV_T));
    warm(gW, rows * dim * (int64_t)sizeof(GV_T));
    warm(C, cols * dim * (int64_t)sizeof(GV_T));
    warm(gC, cols * dim * (int64_t)sizeof(GV_T));
    while ((sb = sub_iter_next(&it)) >= 0) {
        const int n_ok = GV(fill_sub)(sb, &it, keys, tile, transposed, rows, cols, log_xmax, alpha, buf);
        int e = 0;
        while (e < n_ok) {
            const int64_t r0 = buf[e].r, c0 = buf[e].c;
            GV_T d0, d1;
            if (e + 1 < n_ok && buf[e + 1].r != r0 && buf[e + 1].c != c0) {
                const int64_t r1 = buf[e + 1].r, c1 = buf[e + 1].c;
                GV(dot2_avx2)(W + r0 * dim, C + c0 * dim, W + r1 * dim, C + c1 * dim, dim, &d0, &d1);
                const GV_T fd0 = GV(residual)(d0, bw[r0], bc[c0], &buf[e], clip, &loss);
                const GV_T fd1 = GV(residual)(d1, bw[r1], bc[c1], &buf[e + 1], clip, &loss);
                GV(update2_avx2)(W + r0 * dim, C + c0 * dim, gW + r0 * dim, gC + c0 * dim, fd0, W + r1 * dim,
                                 C + c1 * dim, gW + r1 * dim, gC + c1 * dim, fd1, vlr, dim);
                GV(bias2)(bw, bc, gbw, gbc, r0, c0, fd0, r1, c1, fd1, lr);
                e += 2;
            } else {
                d0 = GV(dot_avx2)(W + r0 * dim, C + c0 * dim, dim);
                const GV_T fd0 = GV(residual)(d0, bw[r0], bc[c0], &buf[e], clip, &loss);
                GV(update_avx2)(W + r0 * dim, C + c0 * dim, gW + r0 * dim, gC + c0 * dim, fd0, vlr, dim);
                GV(bias1)(bw, bc, gbw, gbc, r0, c0, fd0, lr);
                e += 1;
            }
        }
        count += n_ok;
    }
    *loss_out = loss;
    *count_out = count;
}

#undef GV_LANES

#endif /* GLOVE_HAVE_AVX2 */
