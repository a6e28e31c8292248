/* GloVe AdaGrad SGD over one DSGD block; see glove_block.c and genevec/_layout.py. */
#ifndef GENEVEC_GLOVE_BLOCK_H
#define GENEVEC_GLOVE_BLOCK_H

#include <stdint.h>

/* The visiting order of a rows x cols block: writes the rows * cols positions r * cols + c, in order, to
 * out; returns rows * cols. */
int64_t glove_block_order(int64_t rows, int64_t cols, const uint32_t *keys, int64_t *out);

/* One whole block, serially, in block_order(rows, cols, keys).
 *   tile        IN     log T of the block: (rows, cols) row-major, or (cols, rows) when transposed
 *   W, gW       INOUT  (rows, dim) word vectors / AdaGrad sums of the word group (first row of the group)
 *   C, gC       INOUT  (cols, dim) context vectors / sums of the context group
 *   bw, gbw     INOUT  (rows,)  word biases / sums;  bc, gbc INOUT (cols,) context biases / sums
 *   loss_out    OUT    sum of f * clip(diff)^2 over the visited entries (before their update), not halved
 *   count_out   OUT    number of visited (finite) entries
 */
void glove_block_f32(const float *tile, int transposed, int64_t rows, int64_t cols, const uint32_t *keys,
                     float *W, float *C, float *bw, float *bc, float *gW, float *gC, float *gbw, float *gbc,
                     int dim, double log_xmax, double alpha, double lr, double clip,
                     double *loss_out, int64_t *count_out);
void glove_block_f64(const double *tile, int transposed, int64_t rows, int64_t cols, const uint32_t *keys,
                     double *W, double *C, double *bw, double *bc, double *gW, double *gC, double *gbw,
                     double *gbc, int dim, double log_xmax, double alpha, double lr, double clip,
                     double *loss_out, int64_t *count_out);

/* S consecutive strata of an epoch with the B blocks of each, on n_threads OpenMP threads, without a
 * barrier between strata (see glove_block.c). Stratum k holds blocks (g, (g + shifts[k]) % B); block j =
 * k * B + g has visiting-order keys keys[4 * j .. 4 * j + 3] and writes block_loss[j], block_count[j].
 * done is scratch of 2 * B int64. */
void glove_strata_f32(const float *values, const int64_t *tile_ptr, const int64_t *bounds, int64_t B,
                      int64_t S, const int64_t *shifts, const uint32_t *keys, float *W, float *C, float *bw,
                      float *bc, float *gW, float *gC, float *gbw, float *gbc, int dim, double log_xmax,
                      double alpha, double lr, double clip, double *block_loss, int64_t *block_count,
                      int64_t *done, int n_threads);
void glove_strata_f64(const double *values, const int64_t *tile_ptr, const int64_t *bounds, int64_t B,
                      int64_t S, const int64_t *shifts, const uint32_t *keys, double *W, double *C, double *bw,
                      double *bc, double *gW, double *gC, double *gbw, double *gbc, int dim, double log_xmax,
                      double alpha, double lr, double clip, double *block_loss, int64_t *block_count,
                      int64_t *done, int n_threads);

/* SIMD path in use: 0 = generic C, 1 = AVX2+FMA. glove_set_isa(0) forces the generic path (tests);
 * glove_set_isa(-1) restores the automatic choice. Returns the path now in use. */
int glove_isa(void);
int glove_set_isa(int isa);

#endif
