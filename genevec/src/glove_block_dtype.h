/* One dtype of the GloVe block kernel, included by glove_block.c once per dtype (no include guard) with
 *   GV_T      the element type, float or double
 *   GV_SUF    the name suffix, f32 or f64 (GV(name) is name_f32 or name_f64)
 *   GV_SQRT   its square root, sqrtf or sqrt
 * It defines entry_SUF and fill_sub_SUF (a sub-block's entries), block_generic_SUF (the generic C update),
 * the public glove_block_SUF (AVX2+FMA when the CPU has it: block_avx2_SUF, from glove_block_avx2_dtype.h) and
 * glove_strata_SUF. See glove_block.c for the update and the visiting order. */

/* One sub-block's finite entries, in visiting order, with their log T and weight f(T): the weight and
 * the -inf test are taken out of the update loop (they depend on the data only). */
typedef struct {
    int32_t r, c;
    GV_T logx, f;
} GV(entry);

static inline int GV(fill_sub)(int64_t sb, const sub_iter_t *it, const uint32_t *keys, const GV_T *tile,
                               int transposed, int64_t rows, int64_t cols, double log_xmax, double alpha,
                               GV(entry) *buf) {
    int32_t rr[GLOVE_SLOTS], cc[GLOVE_SLOTS];
    const int k = sub_slots(sb, it->Cs, keys, rows, cols, rr, cc);
    int n = 0;
    for (int j = 0; j < k; j++) {
        const int64_t r = rr[j], c = cc[j];
        const GV_T logx = transposed ? tile[c * rows + r] : tile[r * cols + c];
        if (!(logx > -INFINITY)) continue;
        buf[n].r = (int32_t)r;
        buf[n].c = (int32_t)c;
        buf[n].logx = logx;
        buf[n].f = (GV_T)gv_weight((double)logx, log_xmax, alpha);
        n++;
    }
    return n;
}

/* The weighted residual fd = f(T) clip(w.c + bw + bc - log T) of one entry; adds fd * clip(...) to *loss.
 * Shared by both paths (plain scalar code: the AVX2 path inlines it). */
static inline GV_T GV(residual)(GV_T dot, GV_T bw, GV_T bc, const GV(entry) *ent, GV_T clip, double *loss) {
    GV_T diff = dot + bw + bc - ent->logx;
    if (diff > clip) diff = clip;
    else if (diff < -clip) diff = -clip;
    const GV_T fd = ent->f * diff;
    *loss += (double)(fd * diff);
    return fd;
}

/* ------------------------------------------------------------------ generic C: exact sqrt and division */

static inline GV_T GV(dot_generic)(const GV_T *restrict a, const GV_T *restrict b, int dim) {
    GV_T part[GLOVE_NPART] = {0};
    int k = 0;
    for (; k + GLOVE_NPART <= dim; k += GLOVE_NPART)
        for (int j = 0; j < GLOVE_NPART; j++) part[j] += a[k + j] * b[k + j];
    for (int j = 0; k < dim; k++, j++) part[j] += a[k] * b[k];
    return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
}

static void GV(block_generic)(const GV_T *tile, int transposed, int64_t rows, int64_t cols, const uint32_t *keys,
                              GV_T *W, GV_T *C, GV_T *bw, GV_T *bc, GV_T *gW, GV_T *gC, GV_T *gbw, GV_T *gbc,
                              int dim, double log_xmax, double alpha, double lr_, double clip_,
                              double *loss_out, int64_t *count_out) {
    const GV_T lr = (GV_T)lr_, clip = (GV_T)clip_;
    double loss = 0.0;
    int64_t count = 0, sb;
    GV(entry) buf[GLOVE_SLOTS];
    sub_iter_t it;
    sub_iter_init(&it, rows, cols, keys);
    while ((sb = sub_iter_next(&it)) >= 0) {
        const int n_ok = GV(fill_sub)(sb, &it, keys, tile, transposed, rows, cols, log_xmax, alpha, buf);
        for (int e = 0; e < n_ok; e++) {
            const int64_t r = buf[e].r, c = buf[e].c;
            GV_T *restrict w = W + r * dim, *restrict v = C + c * dim;
            GV_T *restrict gw = gW + r * dim, *restrict gv = gC + c * dim;
            const GV_T fd = GV(residual)(GV(dot_generic)(w, v, dim), bw[r], bc[c], &buf[e], clip, &loss);
            count++;
            for (int j = 0; j < dim; j++) {
                const GV_T grad_w = fd * v[j], grad_c = fd * w[j];
                w[j] -= lr * grad_w / GV_SQRT(gw[j]);
                v[j] -= lr * grad_c / GV_SQRT(gv[j]);
                gw[j] += grad_w * grad_w;
                gv[j] += grad_c * grad_c;
            }
            bw[r] -= lr * fd / GV_SQRT(gbw[r]);
            bc[c] -= lr * fd / GV_SQRT(gbc[c]);
            gbw[r] += fd * fd;
            gbc[c] += fd * fd;
        }
    }
    *loss_out = loss;
    *count_out = count;
}

/* ------------------------------------------------------------------ one block: the SIMD path or the generic one */

#if GLOVE_HAVE_AVX2
AVX2 static void GV(block_avx2)(const GV_T *tile, int transposed, int64_t rows, int64_t cols, const uint32_t *keys,
                                GV_T *W, GV_T *C, GV_T *bw, GV_T *bc, GV_T *gW, GV_T *gC, GV_T *gbw, GV_T *gbc,
                                int dim, double log_xmax, double alpha, double lr, double clip, double *loss_out,
                                int64_t *count_out);
#endif

void GV(glove_block)(const GV_T *tile, int transposed, int64_t rows, int64_t cols, const uint32_t *keys,
                     GV_T *W, GV_T *C, GV_T *bw, GV_T *bc, GV_T *gW, GV_T *gC, GV_T *gbw, GV_T *gbc,
                     int dim, double log_xmax, double alpha, double lr, double clip,
                     double *loss_out, int64_t *count_out) {
#if GLOVE_HAVE_AVX2
    if (glove_isa() == 1) {
        GV(block_avx2)(tile, transposed, rows, cols, keys, W, C, bw, bc, gW, gC, gbw, gbc, dim, log_xmax,
                       alpha, lr, clip, loss_out, count_out);
        return;
    }
#endif
    GV(block_generic)(tile, transposed, rows, cols, keys, W, C, bw, bc, gW, gC, gbw, gbc, dim, log_xmax,
                      alpha, lr, clip, loss_out, count_out);
}

/* ------------------------------------------------------------------ many strata, no barrier between them */

/* Blocks are handed out in the order (stratum 0, group 0), (0, 1), ..., (1, 0), ... A block waits only
 * for the previous block on its word group and the previous block on its context group (both in the
 * stratum before), so each group sees the same sequence of blocks as with a barrier after every
 * stratum: the result is the same bits for any number of threads. The lowest unfinished block always
 * has its two predecessors done, so the schedule cannot deadlock. */
void GV(glove_strata)(const GV_T *values, const int64_t *tile_ptr, const int64_t *bounds, int64_t B, int64_t S,
                      const int64_t *shifts, const uint32_t *keys, GV_T *W, GV_T *C, GV_T *bw, GV_T *bc, GV_T *gW,
                      GV_T *gC, GV_T *gbw, GV_T *gbc, int dim, double log_xmax, double alpha, double lr,
                      double clip, double *block_loss, int64_t *block_count, int64_t *done, int n_threads) {
    int64_t *word_done = done, *ctx_done = done + B;
    int64_t next = 0;
    for (int64_t g = 0; g < 2 * B; g++) done[g] = 0;
    if (n_threads < 1) n_threads = 1;
    #pragma omp parallel num_threads(n_threads)
    for (;;) {
        const int64_t j = __atomic_fetch_add(&next, 1, __ATOMIC_RELAXED);
        if (j >= S * B) break;
        const int64_t k = j / B, g = j % B, h = (g + shifts[k]) % B;
        wait_for(&word_done[g], k);
        wait_for(&ctx_done[h], k);
        const int64_t r0 = bounds[g], c0 = bounds[h];
        GV(glove_block)(values + tile_ptr[gv_tile_index(g, h, B)], g > h, bounds[g + 1] - r0,
                        bounds[h + 1] - c0, keys + 4 * j, W + r0 * dim, C + c0 * dim, bw + r0, bc + c0,
                        gW + r0 * dim, gC + c0 * dim, gbw + r0, gbc + c0, dim, log_xmax, alpha, lr, clip,
                        block_loss + j, block_count + j);
        __atomic_store_n(&word_done[g], k + 1, __ATOMIC_RELEASE);
        __atomic_store_n(&ctx_done[h], k + 1, __ATOMIC_RELEASE);
    }
}
