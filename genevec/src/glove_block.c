/* GloVe AdaGrad SGD over one DSGD block (word group x context group), run serially by one thread.
 *
 * The update follows text2vec/rsparse (GloveFit::partial_fit): for each visited entry
 *     diff = clip(w.c + bw + bc - log T, +-clip);  fd = f(T) * diff;  loss += fd * diff
 *     w -= lr * fd * c / sqrt(gW);  c -= lr * fd * w / sqrt(gC)     (both with the *old* w and c)
 *     gW += (fd * c)^2;             gC += (fd * w)^2
 *     bw -= lr * fd / sqrt(gbw);    bc -= lr * fd / sqrt(gbc);   gbw += fd^2;  gbc += fd^2
 * with f(T) = 1 if log T >= log x_max else exp(alpha * (log T - log x_max)).
 *
 * Two code paths, chosen at run time with __builtin_cpu_supports (no -march=native in the package):
 *   - AVX2+FMA (x86-64 with GCC or clang): 8 floats / 4 doubles per step. float32 uses the rsqrt estimate
 *     plus one Newton step for 1/sqrt(gW) (relative error ~2e-7, see glove.py's Notes); float64 uses the
 *     exact sqrt and division. The biases always use the exact sqrt and division.
 *   - generic C: exact sqrt and division for both dtypes.
 * The dot product uses a fixed number of partial sums in a fixed order, so a given path gives the same
 * bits on every run; the two paths differ in the last bits.
 *
 * Visiting order (genevec._layout.block_order is the NumPy reference): the block is cut into sub-blocks
 * of 8 x 8 genes, visited in a keyed Feistel order; each sub-block's 64 slots are visited along 8
 * wrapped diagonals (see sub_slots). Why:
 *   - the 8 word and 8 context rows of a sub-block and their AdaGrad sums (12.8 KB at dim 100) stay in
 *     L1 for its 64 updates, where a uniformly random order over the whole 128 x 128 block streamed
 *     1.6 KB from L2 for every update;
 *   - within a sub-block consecutive entries share no row (both orders are diagonals, and consecutive
 *     diagonals are chosen 1 or 3 apart), so the float32 path can always run two entries together.
 *
 * Other choices, each measured (the numbers are in benchmarks/RESULTS.md, "Kernel design"):
 *   - each block first reads its tile and its W, gW, C, gC rows front to back (warm_f32): on large data
 *     the tiles and the parameters do not fit the L3, and a sequential pass is streamed by the hardware
 *     prefetcher where random first touches each wait for memory;
 *   - two consecutive entries that share no row are run together (dot products in one loop, updates
 *     in one loop): each sees exactly the operations it would see alone, so no bit changes, but their
 *     latency chains overlap (software pipelining across pairs was no faster: the loop is bound by the
 *     FP pipes, not by latency);
 *   - the four bias steps of a pair run as one 4-lane sqrt and division (bit-identical to scalar code:
 *     both are correctly rounded), a quarter of the divider's work;
 *   - the dim % 8 tail uses 128-bit and scalar stores: AMD's vmaskmovps stores are microcoded;
 *   - rsqrt + one Newton step instead of sqrt + div (compile with -DGLOVE_EXACT_F32 for the exact
 *     division); software prefetching of the next rows was slower and is not used.
 *
 * Both dtypes come from one template, glove_block_dtype.h, included once per dtype (entries, the generic
 * path, the dispatch and the strata); the AVX2 paths below are written per dtype, and they are why this
 * file is over 500 lines (float32 runs two entries at a time with rsqrt, float64 one at a time, exact).
 */
#include "glove_block.h"
#include "genevec_tiles.h"

#include <math.h>
#include <stddef.h>
#if defined(__unix__) || defined(__APPLE__)
#include <sched.h>
#define GLOVE_YIELD() sched_yield()
#else
#define GLOVE_YIELD() ((void)0)
#endif

#if defined(_MSC_VER) && !defined(__clang__)
#define restrict __restrict
#endif

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#define GLOVE_HAVE_AVX2 1
#define AVX2 __attribute__((target("avx2,fma")))
#include <immintrin.h>
#else
#define GLOVE_HAVE_AVX2 0
#endif

/* ------------------------------------------------------------------ visiting order */

typedef struct {
    uint64_t m;
    uint64_t domain; /* 2^(2 * half) >= m: the Feistel network permutes [0, domain) */
    uint64_t mask;
    int half;
    uint32_t key[4];
} order_t;

static inline uint32_t fmix32(uint32_t h) {
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    return h;
}

static inline void order_init(order_t *o, int64_t m, const uint32_t *keys) {
    int bits = 1;
    if (m > 1) {
        uint64_t v = (uint64_t)(m - 1);
        bits = 0;
        while (v) { bits++; v >>= 1; }
        if (bits < 1) bits = 1;
    }
    o->half = (bits + 1) / 2;
    if (o->half < 1) o->half = 1;
    o->mask = (((uint64_t)1) << o->half) - 1;
    o->domain = ((uint64_t)1) << (2 * o->half);
    o->m = (uint64_t)m;
    for (int r = 0; r < 4; r++) o->key[r] = keys[r];
}

static inline uint64_t feistel(uint64_t x, const order_t *o) {
    uint64_t left = x >> o->half, right = x & o->mask;
    for (int r = 0; r < 4; r++) {
        uint64_t f = (uint64_t)fmix32((uint32_t)(right ^ (uint64_t)o->key[r])) & o->mask;
        uint64_t t = right;
        right = left ^ f;
        left = t;
    }
    return (left << o->half) | right;
}

#define GLOVE_SUB 8                        /* sub-blocks of GLOVE_SUB x GLOVE_SUB genes */
#define GLOVE_SLOTS (GLOVE_SUB * GLOVE_SUB)

/* The block positions (row, col) of sub-block sb's slots in visiting order; returns how many lie inside
 * the block (edge sub-blocks are cut). Sub-block sb covers rows 8 sr .. 8 sr + 7 and columns 8 sc .. 8 sc
 * + 7 (sb = sr * Cs + sc). From h = fmix32(sb ^ keys[3]), three affine bijections of 0..7:
 *     row(j) = (rm j + ra) & 7,  col(k) = (cm k + ca) & 7,  diagonal(t) = (dm t + da) & 7
 * with odd rm, cm in {1, 3, 5, 7} and dm in {1, 3}; slot (t, j) is row(j), col((j + diagonal(t)) & 7).
 * Each diagonal meets every row and every column once, so two slots of one diagonal never share a row or
 * a column. Across a diagonal boundary the rows differ too (row(7), then row(0)), and the columns
 * col((7 + d) & 7) and col((0 + d + dm) & 7) differ because dm is 1 or 3, not 7: in a whole sub-block
 * no two consecutive slots share a row or a column. */
static inline int sub_slots(int64_t sb, int64_t Cs, const uint32_t *keys, int64_t rows, int64_t cols,
                            int32_t *r_out, int32_t *c_out) {
    const int64_t sr = sb / Cs, sc = sb - sr * Cs;
    const uint32_t h = fmix32((uint32_t)sb ^ keys[3]);
    const int ra = (int)(h & 7), rm = 2 * (int)((h >> 3) & 3) + 1;
    const int ca = (int)((h >> 5) & 7), cm = 2 * (int)((h >> 8) & 3) + 1;
    const int da = (int)((h >> 10) & 7), dm = 2 * (int)((h >> 13) & 1) + 1;
    const int64_t r0 = sr * GLOVE_SUB, c0 = sc * GLOVE_SUB;
    int n = 0;
    for (int t = 0; t < GLOVE_SUB; t++) {
        const int d = (dm * t + da) & 7;
        for (int j = 0; j < GLOVE_SUB; j++) {
            const int64_t r = r0 + ((rm * j + ra) & 7), c = c0 + ((cm * ((j + d) & 7) + ca) & 7);
            r_out[n] = (int32_t)r;
            c_out[n] = (int32_t)c;
            n += (r < rows) & (c < cols);
        }
    }
    return n;
}

/* Sub-blocks in visiting order: F(0), F(1), ... of the keyed Feistel network, values >= n_sub left out. */
typedef struct {
    order_t o;
    uint64_t k;
    int64_t Cs;
} sub_iter_t;

static inline void sub_iter_init(sub_iter_t *it, int64_t rows, int64_t cols, const uint32_t *keys) {
    const int64_t Rs = (rows + GLOVE_SUB - 1) / GLOVE_SUB, Cs = (cols + GLOVE_SUB - 1) / GLOVE_SUB;
    order_init(&it->o, Rs * Cs, keys);
    it->k = 0;
    it->Cs = Cs;
}

/* The next sub-block, or -1 at the end. */
static inline int64_t sub_iter_next(sub_iter_t *it) {
    while (it->k < it->o.domain) {
        const uint64_t sb = feistel(it->k++, &it->o);
        if (sb < it->o.m) return (int64_t)sb;
    }
    return -1;
}

int64_t glove_block_order(int64_t rows, int64_t cols, const uint32_t *keys, int64_t *out) {
    if (rows <= 0 || cols <= 0) return 0;
    sub_iter_t it;
    int32_t r[GLOVE_SLOTS], c[GLOVE_SLOTS];
    int64_t n = 0, sb;
    sub_iter_init(&it, rows, cols, keys);
    while ((sb = sub_iter_next(&it)) >= 0) {
        const int k = sub_slots(sb, it.Cs, keys, rows, cols, r, c);
        for (int e = 0; e < k; e++) out[n++] = (int64_t)r[e] * cols + c[e];
    }
    return n;
}

/* ------------------------------------------------------------------ ISA choice */

static int isa_forced = -1;
static int isa_detected = -1; /* a benign race: every thread writes the same value */

static int isa_detect(void) {
    if (isa_detected >= 0) return isa_detected;
    int isa = 0;
#if GLOVE_HAVE_AVX2
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) isa = 1;
#endif
    isa_detected = isa;
    return isa;
}

int glove_isa(void) {
    int detected = isa_detect();
    if (isa_forced >= 0 && isa_forced < detected) return isa_forced;
    return detected;
}

int glove_set_isa(int isa) {
    isa_forced = isa;
    return glove_isa();
}

/* ------------------------------------------------------------------ waiting for a block's predecessors */

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#define GLOVE_PAUSE() __builtin_ia32_pause()
#else
#define GLOVE_PAUSE() ((void)0)
#endif

/* Wait until *done >= want (acquire: the writes of the block that stored it are visible). Spins
 * briefly, then yields the core, so that waiting threads do not starve a busy machine. */
static inline void wait_for(const int64_t *done, int64_t want) {
    int spins = 0;
    while (__atomic_load_n(done, __ATOMIC_ACQUIRE) < want) {
        if (spins < 256) {
            GLOVE_PAUSE();
            spins++;
        } else {
            GLOVE_YIELD();
        }
    }
}

/* ------------------------------------------------------------------ both dtypes, from one template */

#define GLOVE_NPART 8 /* partial sums of the generic dot product */
#define GV_CAT_(name, suf) name##_##suf
#define GV_CAT(name, suf) GV_CAT_(name, suf)
#define GV(name) GV_CAT(name, GV_SUF)

#define GV_T float
#define GV_SUF f32
#define GV_SQRT sqrtf
#include "glove_block_dtype.h"
#undef GV_T
#undef GV_SUF
#undef GV_SQRT

#define GV_T double
#define GV_SUF f64
#define GV_SQRT sqrt
#include "glove_block_dtype.h"
#undef GV_T
#undef GV_SUF
#undef GV_SQRT

/* ------------------------------------------------------------------ AVX2 + FMA */
#if GLOVE_HAVE_AVX2

static const int32_t lane_mask_src[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

/* Mask with the first n lanes (0 <= n <= 8) of 32 bits set. */
AVX2 static inline __m256i mask_ps(int n) { return _mm256_loadu_si256((const __m256i *)(lane_mask_src + 8 - n)); }

/* Load the first n (1 <= n <= 7) floats at p, zeros above: a plain 128-bit load for the low half when
 * n >= 4, a masked load only for what remains. */
AVX2 static inline __m256 load_tail_ps(const float *p, int n) {
    if (n >= 4) {
        const __m128 lo = _mm_loadu_ps(p);
        const __m128 hi = n > 4 ? _mm_maskload_ps(p + 4, _mm_loadu_si128((const __m128i *)(lane_mask_src + 12 - n)))
                                : _mm_setzero_ps();
        return _mm256_insertf128_ps(_mm256_castps128_ps256(lo), hi, 1);
    }
    return _mm256_maskload_ps(p, mask_ps(n));
}

/* Store the first n (1 <= n <= 7) lanes of x: one 128-bit store and scalar stores, because AMD's masked
 * stores (vmaskmovps) are microcoded and slow. */
AVX2 static inline void store_tail_ps(float *p, __m256 x, int n) {
    __m128 lo = _mm256_castps256_ps128(x);
    int j = 0;
    if (n >= 4) {
        _mm_storeu_ps(p, lo);
        lo = _mm256_extractf128_ps(x, 1);
        j = 4;
    }
    for (; j < n; j++) {
        _mm_store_ss(p + j, lo);
        lo = _mm_shuffle_ps(lo, lo, _MM_SHUFFLE(0, 3, 2, 1));
    }
}

/* Mask with the first n lanes (0 <= n <= 4) of 64 bits set. */
AVX2 static inline __m256i mask_pd(int n) {
    return _mm256_cvtepi32_epi64(_mm_loadu_si128((const __m128i *)(lane_mask_src + 8 - n)));
}

AVX2 static inline float hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AVX2 static inline double hsum_pd(__m256d v) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
    return _mm_cvtsd_f64(s);
}

/* Two accumulators over chunks of 16 floats, then one chunk of 8, then a masked tail. */
AVX2 static inline float dot_avx2_f32(const float *a, const float *b, int dim) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int k = 0;
    for (; k + 16 <= dim; k += 16) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k), _mm256_loadu_ps(b + k), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k + 8), _mm256_loadu_ps(b + k + 8), acc1);
    }
    if (k + 8 <= dim) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k), _mm256_loadu_ps(b + k), acc0);
        k += 8;
    }
    if (k < dim) {
        acc1 = _mm256_fmadd_ps(load_tail_ps(a + k, dim - k), load_tail_ps(b + k, dim - k), acc1);
    }
    return hsum_ps(_mm256_add_ps(acc0, acc1));
}

AVX2 static inline double dot_avx2_f64(const double *a, const double *b, int dim) {
    __m256d acc0 = _mm256_setzero_pd(), acc1 = _mm256_setzero_pd();
    int k = 0;
    for (; k + 8 <= dim; k += 8) {
        acc0 = _mm256_fmadd_pd(_mm256_loadu_pd(a + k), _mm256_loadu_pd(b + k), acc0);
        acc1 = _mm256_fmadd_pd(_mm256_loadu_pd(a + k + 4), _mm256_loadu_pd(b + k + 4), acc1);
    }
    if (k + 4 <= dim) {
        acc0 = _mm256_fmadd_pd(_mm256_loadu_pd(a + k), _mm256_loadu_pd(b + k), acc0);
        k += 4;
    }
    if (k < dim) {
        const __m256i mk = mask_pd(dim - k);
        acc1 = _mm256_fmadd_pd(_mm256_maskload_pd(a + k, mk), _mm256_maskload_pd(b + k, mk), acc1);
    }
    return hsum_pd(_mm256_add_pd(acc0, acc1));
}

/* lr / sqrt(g) from the hardware estimate r (12 bits) refined by one Newton step:
 * lr * r * (1.5 - 0.5 * g * r^2) = r * (1.5 lr - 0.5 lr * g * r^2). */
AVX2 static inline __m256 lr_rsqrt_ps(__m256 g, __m256 lr15, __m256 lr05) {
    const __m256 r = _mm256_rsqrt_ps(g);
    const __m256 grr = _mm256_mul_ps(_mm256_mul_ps(g, r), r);
    return _mm256_mul_ps(r, _mm256_fnmadd_ps(grr, lr05, lr15));
}

#ifdef GLOVE_EXACT_F32
#define F32_LR_OVER_SQRT(G) _mm256_div_ps(vlr, _mm256_sqrt_ps(G))
#else
#define F32_LR_OVER_SQRT(G) lr_rsqrt_ps((G), lr15, lr05)
#endif

/* w -= grad_w * (lr / sqrt(gw)) with grad_w = fd * v (one fused multiply-add), then gw += grad_w^2;
 * likewise for v. Masked tail: lanes beyond dim are neither read nor written. */
#define F32_UPDATE_STEP(LOAD, STORE)                                                                        \
    do {                                                                                                    \
        const __m256 wk = LOAD(w + k), vk = LOAD(v + k), gwk = LOAD(gw + k), gvk = LOAD(gv + k);            \
        const __m256 grad_w = _mm256_mul_ps(vfd, vk), grad_c = _mm256_mul_ps(vfd, wk);                      \
        STORE(w + k, _mm256_fnmadd_ps(grad_w, F32_LR_OVER_SQRT(gwk), wk));                                  \
        STORE(v + k, _mm256_fnmadd_ps(grad_c, F32_LR_OVER_SQRT(gvk), vk));                                  \
        STORE(gw + k, _mm256_fmadd_ps(grad_w, grad_w, gwk));                                                \
        STORE(gv + k, _mm256_fmadd_ps(grad_c, grad_c, gvk));                                                \
    } while (0)

AVX2 static inline void update_avx2_f32(float *w, float *v, float *gw, float *gv, float fd, float lr, int dim) {
    const __m256 vfd = _mm256_set1_ps(fd), vlr = _mm256_set1_ps(lr);
    const __m256 lr15 = _mm256_set1_ps(1.5f * lr), lr05 = _mm256_set1_ps(0.5f * lr);
    (void)vlr; (void)lr15; (void)lr05;
    int k = 0;
#define LOADU(p) _mm256_loadu_ps(p)
#define STOREU(p, x) _mm256_storeu_ps((p), (x))
    for (; k + 8 <= dim; k += 8) F32_UPDATE_STEP(LOADU, STOREU);
    if (k < dim) {
#define LOADM(p) load_tail_ps((p), dim - k)
#define STOREM(p, x) store_tail_ps((p), (x), dim - k)
        F32_UPDATE_STEP(LOADM, STOREM);
    }
#undef LOADU
#undef STOREU
#undef LOADM
#undef STOREM
}

AVX2 static inline void update_avx2_f64(double *w, double *v, double *gw, double *gv, double fd, double lr,
                                        int dim) {
    const __m256d vfd = _mm256_set1_pd(fd), vlr = _mm256_set1_pd(lr);
    int k = 0;
    for (; k + 4 <= dim; k += 4) {
        const __m256d wk = _mm256_loadu_pd(w + k), vk = _mm256_loadu_pd(v + k);
        const __m256d gwk = _mm256_loadu_pd(gw + k), gvk = _mm256_loadu_pd(gv + k);
        const __m256d grad_w = _mm256_mul_pd(vfd, vk), grad_c = _mm256_mul_pd(vfd, wk);
        _mm256_storeu_pd(w + k, _mm256_sub_pd(wk, _mm256_div_pd(_mm256_mul_pd(vlr, grad_w), _mm256_sqrt_pd(gwk))));
        _mm256_storeu_pd(v + k, _mm256_sub_pd(vk, _mm256_div_pd(_mm256_mul_pd(vlr, grad_c), _mm256_sqrt_pd(gvk))));
        _mm256_storeu_pd(gw + k, _mm256_fmadd_pd(grad_w, grad_w, gwk));
        _mm256_storeu_pd(gv + k, _mm256_fmadd_pd(grad_c, grad_c, gvk));
    }
    if (k < dim) {
        const __m256i mk = mask_pd(dim - k);
        const __m256d one = _mm256_set1_pd(1.0);
        const __m256d wk = _mm256_maskload_pd(w + k, mk), vk = _mm256_maskload_pd(v + k, mk);
        /* masked-out lanes read 1 so that no lane computes 0 / 0 */
        const __m256d gwk = _mm256_blendv_pd(one, _mm256_maskload_pd(gw + k, mk), _mm256_castsi256_pd(mk));
        const __m256d gvk = _mm256_blendv_pd(one, _mm256_maskload_pd(gv + k, mk), _mm256_castsi256_pd(mk));
        const __m256d grad_w = _mm256_mul_pd(vfd, vk), grad_c = _mm256_mul_pd(vfd, wk);
        _mm256_maskstore_pd(w + k, mk, _mm256_sub_pd(wk, _mm256_div_pd(_mm256_mul_pd(vlr, grad_w), _mm256_sqrt_pd(gwk))));
        _mm256_maskstore_pd(v + k, mk, _mm256_sub_pd(vk, _mm256_div_pd(_mm256_mul_pd(vlr, grad_c), _mm256_sqrt_pd(gvk))));
        _mm256_maskstore_pd(gw + k, mk, _mm256_fmadd_pd(grad_w, grad_w, gwk));
        _mm256_maskstore_pd(gv + k, mk, _mm256_fmadd_pd(grad_c, grad_c, gvk));
    }
}

/* Two entries that share no row: both dot products in one loop, then both updates in one loop. Each
 * entry sees exactly the operations of dot_avx2 / update_avx2, so pairing never changes a bit; it only
 * lets the CPU overlap the two latency chains (one entry alone is ~400 instructions, more than the
 * reorder window, so consecutive entries would otherwise hardly overlap). */
AVX2 static inline void dot2_avx2_f32(const float *a, const float *b, const float *c, const float *d, int dim,
                                      float *ab, float *cd) {
    __m256 x0 = _mm256_setzero_ps(), x1 = _mm256_setzero_ps(), y0 = _mm256_setzero_ps(), y1 = _mm256_setzero_ps();
    int k = 0;
    for (; k + 16 <= dim; k += 16) {
        x0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k), _mm256_loadu_ps(b + k), x0);
        y0 = _mm256_fmadd_ps(_mm256_loadu_ps(c + k), _mm256_loadu_ps(d + k), y0);
        x1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k + 8), _mm256_loadu_ps(b + k + 8), x1);
        y1 = _mm256_fmadd_ps(_mm256_loadu_ps(c + k + 8), _mm256_loadu_ps(d + k + 8), y1);
    }
    if (k + 8 <= dim) {
        x0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k), _mm256_loadu_ps(b + k), x0);
        y0 = _mm256_fmadd_ps(_mm256_loadu_ps(c + k), _mm256_loadu_ps(d + k), y0);
        k += 8;
    }
    if (k < dim) {
        x1 = _mm256_fmadd_ps(load_tail_ps(a + k, dim - k), load_tail_ps(b + k, dim - k), x1);
        y1 = _mm256_fmadd_ps(load_tail_ps(c + k, dim - k), load_tail_ps(d + k, dim - k), y1);
    }
    *ab = hsum_ps(_mm256_add_ps(x0, x1));
    *cd = hsum_ps(_mm256_add_ps(y0, y1));
}

AVX2 static inline void update2_avx2_f32(float *w0, float *v0, float *gw0, float *gv0, float fd0,
                                         float *w1, float *v1, float *gw1, float *gv1, float fd1,
                                         float lr, int dim) {
    const __m256 vlr = _mm256_set1_ps(lr);
    const __m256 lr15 = _mm256_set1_ps(1.5f * lr), lr05 = _mm256_set1_ps(0.5f * lr);
    (void)vlr; (void)lr15; (void)lr05;
    int k = 0;
    float *w, *v, *gw, *gv;
    __m256 vfd;
    const __m256 vfd0 = _mm256_set1_ps(fd0), vfd1 = _mm256_set1_ps(fd1);
#define LOADU(p) _mm256_loadu_ps(p)
#define STOREU(p, x) _mm256_storeu_ps((p), (x))
#define LOADM(p) load_tail_ps((p), dim - k)
#define STOREM(p, x) store_tail_ps((p), (x), dim - k)
    for (; k + 8 <= dim; k += 8) {
        w = w0; v = v0; gw = gw0; gv = gv0; vfd = vfd0;
        F32_UPDATE_STEP(LOADU, STOREU);
        w = w1; v = v1; gw = gw1; gv = gv1; vfd = vfd1;
        F32_UPDATE_STEP(LOADU, STOREU);
    }
    if (k < dim) {
        w = w0; v = v0; gw = gw0; gv = gv0; vfd = vfd0;
        F32_UPDATE_STEP(LOADM, STOREM);
        w = w1; v = v1; gw = gw1; gv = gv1; vfd = vfd1;
        F32_UPDATE_STEP(LOADM, STOREM);
    }
#undef LOADU
#undef STOREU
#undef LOADM
#undef STOREM
}

/* The scalar part of one float32 entry ENT (an entry_f32) at block row r, column c: clipped residual,
 * weighted residual fd, loss. */
#define F32_ENTRY_SCALAR(r, c, ENT, dot, fd)                                                                \
    do {                                                                                                    \
        float diff_ = (dot) + bw[r] + bc[c] - (ENT).logx;                                                   \
        if (diff_ > clip) diff_ = clip;                                                                     \
        else if (diff_ < -clip) diff_ = -clip;                                                              \
        fd = (ENT).f * diff_;                                                                               \
        loss += (double)(fd * diff_);                                                                       \
        count++;                                                                                            \
    } while (0)

/* The bias steps of one entry, with the same operations as one lane of bias2_f32. */
#define F32_BIAS(r, c, fd)                                                                                  \
    do {                                                                                                    \
        bw[r] -= (lr * fd) / sqrtf(gbw[r]);                                                                 \
        bc[c] -= (lr * fd) / sqrtf(gbc[c]);                                                                 \
        gbw[r] = fmaf(fd, fd, gbw[r]);                                                                      \
        gbc[c] = fmaf(fd, fd, gbc[c]);                                                                      \
    } while (0)

/* Read n floats once, front to back, before they are used in random order: a sequential pass is streamed
 * by the hardware prefetcher, whereas random first touches of memory that is not in cache (every tile and
 * parameter row at 25,321 genes) each wait for memory. Reads only: no value or bit changes. */
AVX2 static inline void warm_f32(const float *p, int64_t n) {
    __m256 acc = _mm256_setzero_ps();
    for (int64_t k = 0; k + 16 <= n; k += 16) acc = _mm256_or_ps(acc, _mm256_loadu_ps(p + k));
    __asm__ volatile("" : : "x"(acc));
}

/* The four bias steps of two disjoint entries (r0, c0), (r1, c1) as one 4-lane division and square root:
 * lanes (bw[r0], bc[c0], bw[r1], bc[c1]). sqrt and division are correctly rounded, so each lane gets the
 * bits of the scalar step b -= (lr * fd) / sqrt(g); then g += fd * fd as one FMA. */
AVX2 static inline void bias2_f32(float *bw, float *bc, float *gbw, float *gbc, int64_t r0, int64_t c0, float fd0,
                                  int64_t r1, int64_t c1, float fd1, float lr) {
    const __m128 g = _mm_setr_ps(gbw[r0], gbc[c0], gbw[r1], gbc[c1]);
    const __m128 b = _mm_setr_ps(bw[r0], bc[c0], bw[r1], bc[c1]);
    const __m128 fd = _mm_setr_ps(fd0, fd0, fd1, fd1);
    float nb[4], ng[4];
    _mm_storeu_ps(nb, _mm_sub_ps(b, _mm_div_ps(_mm_mul_ps(_mm_set1_ps(lr), fd), _mm_sqrt_ps(g))));
    _mm_storeu_ps(ng, _mm_fmadd_ps(fd, fd, g));
    bw[r0] = nb[0];
    bc[c0] = nb[1];
    bw[r1] = nb[2];
    bc[c1] = nb[3];
    gbw[r0] = ng[0];
    gbc[c0] = ng[1];
    gbw[r1] = ng[2];
    gbc[c1] = ng[3];
}

AVX2 static void block_avx2_f32(const float *tile, int transposed, int64_t rows, int64_t cols,
                                const uint32_t *keys, float *W, float *C, float *bw, float *bc, float *gW,
                                float *gC, float *gbw, float *gbc, int dim, double log_xmax, double alpha,
                                double lr_, double clip_, double *loss_out, int64_t *count_out) {
    const float lr = (float)lr_, clip = (float)clip_;
    double loss = 0.0;
    int64_t count = 0, sb;
    entry_f32 buf[GLOVE_SLOTS];
    sub_iter_t it;
    sub_iter_init(&it, rows, cols, keys);
    warm_f32(tile, rows * cols);
    warm_f32(W, rows * dim);
    warm_f32(gW, rows * dim);
    warm_f32(C, cols * dim);
    warm_f32(gC, cols * dim);
    while ((sb = sub_iter_next(&it)) >= 0) {
        const int n_ok = fill_sub_f32(sb, &it, keys, tile, transposed, rows, cols, log_xmax, alpha, buf);
        int e = 0;
        while (e < n_ok) {
            const int64_t r0 = buf[e].r, c0 = buf[e].c;
            float fd0, fd1, d0, d1;
            if (e + 1 < n_ok && buf[e + 1].r != r0 && buf[e + 1].c != c0) {
                const int64_t r1 = buf[e + 1].r, c1 = buf[e + 1].c;
                dot2_avx2_f32(W + r0 * dim, C + c0 * dim, W + r1 * dim, C + c1 * dim, dim, &d0, &d1);
                F32_ENTRY_SCALAR(r0, c0, buf[e], d0, fd0);
                F32_ENTRY_SCALAR(r1, c1, buf[e + 1], d1, fd1);
                update2_avx2_f32(W + r0 * dim, C + c0 * dim, gW + r0 * dim, gC + c0 * dim, fd0,
                                 W + r1 * dim, C + c1 * dim, gW + r1 * dim, gC + c1 * dim, fd1, lr, dim);
                bias2_f32(bw, bc, gbw, gbc, r0, c0, fd0, r1, c1, fd1, lr);
                e += 2;
            } else {
                d0 = dot_avx2_f32(W + r0 * dim, C + c0 * dim, dim);
                F32_ENTRY_SCALAR(r0, c0, buf[e], d0, fd0);
                update_avx2_f32(W + r0 * dim, C + c0 * dim, gW + r0 * dim, gC + c0 * dim, fd0, lr, dim);
                F32_BIAS(r0, c0, fd0);
                e += 1;
            }
        }
    }
    *loss_out = loss;
    *count_out = count;
}

AVX2 static void block_avx2_f64(const double *tile, int transposed, int64_t rows, int64_t cols,
                                const uint32_t *keys, double *W, double *C, double *bw, double *bc, double *gW,
                                double *gC, double *gbw, double *gbc, int dim, double log_xmax, double alpha,
                                double lr, double clip, double *loss_out, int64_t *count_out) {
    double loss = 0.0;
    int64_t count = 0, sb;
    entry_f64 buf[GLOVE_SLOTS];
    sub_iter_t it;
    sub_iter_init(&it, rows, cols, keys);
    warm_f32((const float *)tile, 2 * rows * cols);
    warm_f32((const float *)W, 2 * rows * dim);
    warm_f32((const float *)gW, 2 * rows * dim);
    warm_f32((const float *)C, 2 * cols * dim);
    warm_f32((const float *)gC, 2 * cols * dim);
    while ((sb = sub_iter_next(&it)) >= 0) {
        const int n_ok = fill_sub_f64(sb, &it, keys, tile, transposed, rows, cols, log_xmax, alpha, buf);
        for (int e = 0; e < n_ok; e++) {
            const int64_t r = buf[e].r, c = buf[e].c;
            double *w = W + r * dim, *v = C + c * dim;
            double diff = dot_avx2_f64(w, v, dim) + bw[r] + bc[c] - buf[e].logx;
            if (diff > clip) diff = clip;
            else if (diff < -clip) diff = -clip;
            const double fd = buf[e].f * diff;
            loss += fd * diff;
            count++;
            update_avx2_f64(w, v, gW + r * dim, gC + c * dim, fd, lr, dim);
            bw[r] -= (lr * fd) / sqrt(gbw[r]);
            bc[c] -= (lr * fd) / sqrt(gbc[c]);
            gbw[r] = fma(fd, fd, gbw[r]);
            gbc[c] = fma(fd, fd, gbc[c]);
        }
    }
    *loss_out = loss;
    *count_out = count;
}
#endif /* GLOVE_HAVE_AVX2 */
