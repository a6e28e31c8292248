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
 *     diagonals are chosen 1 or 3 apart), so the AVX2 path can always run two entries together.
 *
 * Other choices, each measured (the numbers are in benchmarks/RESULTS.md, "Kernel design"):
 *   - each block first reads its tile and its W, gW, C, gC rows front to back (warm): on large data
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
 * Both dtypes come from two templates included once per dtype: glove_block_dtype.h (entries, the generic
 * path, the dispatch and the strata) and glove_block_avx2_dtype.h (the AVX2 path, pairs included, for both
 * dtypes). This file holds what they share (the visiting order, the ISA choice, the wait) and the few
 * intrinsic-level pieces that differ per dtype (tails, horizontal sum, the AdaGrad step).
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

/* ------------------------------------------------------------------ AVX2 + FMA: what differs per dtype */
#if GLOVE_HAVE_AVX2

/* Everything here is one intrinsic-level difference between the dtypes; the entries, the pairs and the
 * block are written once, in glove_block_avx2_dtype.h. */

static const int32_t lane_mask_src[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

/* Load the first n (1 <= n <= 7) floats at p, zeros above: a plain 128-bit load for the low half when
 * n >= 4, a masked load only for what remains. */
AVX2 static inline __m256 load_tail_f32(const float *p, int n) {
    if (n >= 4) {
        const __m128 lo = _mm_loadu_ps(p);
        const __m128 hi = n > 4 ? _mm_maskload_ps(p + 4, _mm_loadu_si128((const __m128i *)(lane_mask_src + 12 - n)))
                                : _mm_setzero_ps();
        return _mm256_insertf128_ps(_mm256_castps128_ps256(lo), hi, 1);
    }
    return _mm256_maskload_ps(p, _mm256_loadu_si256((const __m256i *)(lane_mask_src + 8 - n)));
}

/* Store the first n (1 <= n <= 7) lanes of x: one 128-bit store and scalar stores, because AMD's masked
 * stores (vmaskmovps) are microcoded and slow. */
AVX2 static inline void store_tail_f32(float *p, __m256 x, int n) {
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

/* The first n (1 <= n <= 3) doubles: masked load (zeros above) and masked store. */
AVX2 static inline __m256i mask_f64(int n) {
    return _mm256_cvtepi32_epi64(_mm_loadu_si128((const __m128i *)(lane_mask_src + 8 - n)));
}
AVX2 static inline __m256d load_tail_f64(const double *p, int n) { return _mm256_maskload_pd(p, mask_f64(n)); }
AVX2 static inline void store_tail_f64(double *p, __m256d x, int n) { _mm256_maskstore_pd(p, mask_f64(n), x); }

/* The sum of the lanes, halves first (a fixed order: the same bits on every run). */
AVX2 static inline float hsum_f32(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AVX2 static inline double hsum_f64(__m256d v) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
    return _mm_cvtsd_f64(s);
}

/* The AdaGrad step x - lr * grad / sqrt(g) of one vector. float32: lr / sqrt(g) from the hardware estimate
 * r (12 bits) refined by one Newton step, lr * r * (1.5 - 0.5 * g * r^2) = r * (1.5 lr - 0.5 lr * g r^2),
 * then one fused multiply-add (relative error ~2e-7, see glove.py's Notes; -DGLOVE_EXACT_F32 divides
 * instead). float64: the exact square root and division. */
typedef struct {
    __m256 lr, lr15, lr05;
} lr_f32;

typedef struct {
    __m256d lr;
} lr_f64;

AVX2 static inline lr_f32 lr_make_f32(float lr) {
    const lr_f32 out = {_mm256_set1_ps(lr), _mm256_set1_ps(1.5f * lr), _mm256_set1_ps(0.5f * lr)};
    return out;
}

AVX2 static inline lr_f64 lr_make_f64(double lr) {
    const lr_f64 out = {_mm256_set1_pd(lr)};
    return out;
}

AVX2 static inline __m256 step_f32(__m256 x, __m256 grad, __m256 g, lr_f32 lr) {
#ifdef GLOVE_EXACT_F32
    return _mm256_fnmadd_ps(grad, _mm256_div_ps(lr.lr, _mm256_sqrt_ps(g)), x);
#else
    const __m256 r = _mm256_rsqrt_ps(g);
    const __m256 grr = _mm256_mul_ps(_mm256_mul_ps(g, r), r);
    return _mm256_fnmadd_ps(grad, _mm256_mul_ps(r, _mm256_fnmadd_ps(grr, lr.lr05, lr.lr15)), x);
#endif
}

AVX2 static inline __m256d step_f64(__m256d x, __m256d grad, __m256d g, lr_f64 lr) {
    return _mm256_sub_pd(x, _mm256_div_pd(_mm256_mul_pd(lr.lr, grad), _mm256_sqrt_pd(g)));
}

/* Read n bytes once, front to back, before they are used in random order: a sequential pass is streamed
 * by the hardware prefetcher, whereas random first touches of memory that is not in cache (the tiles and
 * parameter rows of a large run) each wait for memory. Reads only: no value or bit changes. */
AVX2 static inline void warm(const void *p, int64_t n_bytes) {
    const float *f = (const float *)p;
    const int64_t n = n_bytes / (int64_t)sizeof(float);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t k = 0; k + 16 <= n; k += 16) acc = _mm256_or_ps(acc, _mm256_loadu_ps(f + k));
    __asm__ volatile("" : : "x"(acc));
}

#endif /* GLOVE_HAVE_AVX2 */

/* ------------------------------------------------------------------ both dtypes, from two templates */

#define GLOVE_NPART 8 /* partial sums of the generic dot product */
#define GV_CAT_(name, suf) name##_##suf
#define GV_CAT(name, suf) GV_CAT_(name, suf)
#define GV(name) GV_CAT(name, GV_SUF)

/* float32: 8 lanes of __m256 (_mm256_*_ps); the four bias steps of a pair in one __m128 (_mm_*_ps). */
#define GV_T float
#define GV_SUF f32
#define GV_SQRT sqrtf
#define GV_FMA fmaf
#define GV_VEC __m256
#define GV_MM(op) _mm256_##op##_ps
#define GV_VEC4 __m128
#define GV_MM4(op) _mm_##op##_ps
#include "glove_block_dtype.h"
#include "glove_block_avx2_dtype.h"
#undef GV_T
#undef GV_SUF
#undef GV_SQRT
#undef GV_FMA
#undef GV_VEC
#undef GV_MM
#undef GV_VEC4
#undef GV_MM4

/* float64: 4 lanes of __m256d (_mm256_*_pd), which also holds the four bias steps of a pair. */
#define GV_T double
#define GV_SUF f64
#define GV_SQRT sqrt
#define GV_FMA fma
#define GV_VEC __m256d
#define GV_MM(op) _mm256_##op##_pd
#define GV_VEC4 __m256d
#define GV_MM4(op) _mm256_##op##_pd
#include "glove_block_dtype.h"
#include "glove_block_avx2_dtype.h"
