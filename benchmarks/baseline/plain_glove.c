/* A plain, straightforward GloVe epoch: the peer genevec's kernel is timed against.
 *
 * Same update as genevec/src/glove_block.c (text2vec's rule: clipped residual, AdaGrad with the
 * sums before the update, exact sqrt and division), float32, one entry at a time in the order given
 * (the benchmark passes row-major order), no blocking, no threads, no hand-written SIMD. Built by
 * benchmarks/bench_fit.py with gcc -O3 -march=native, so the compiler may vectorise what it can.
 */
#include <math.h>
#include <stdint.h>

double plain_glove_epoch(const int32_t *row, const int32_t *col, const float *logx, int64_t nnz,
                         float *W, float *C, float *bw, float *bc, float *gW, float *gC, float *gbw,
                         float *gbc, int dim, float x_max, float alpha, float lr, float clip) {
    const float log_xmax = logf(x_max);
    double loss = 0.0;
    for (int64_t e = 0; e < nnz; e++) {
        const int64_t i = row[e], j = col[e];
        float *w = W + i * dim, *c = C + j * dim, *gw = gW + i * dim, *gc = gC + j * dim;
        float dot = 0.0f;
        for (int k = 0; k < dim; k++) dot += w[k] * c[k];
        float diff = dot + bw[i] + bc[j] - logx[e];
        if (diff > clip) diff = clip;
        else if (diff < -clip) diff = -clip;
        const float f = logx[e] >= log_xmax ? 1.0f : expf(alpha * (logx[e] - log_xmax));
        const float fd = f * diff;
        loss += fd * diff;
        for (int k = 0; k < dim; k++) {
            const float grad_w = fd * c[k], grad_c = fd * w[k];
            w[k] -= lr * grad_w / sqrtf(gw[k]);
            c[k] -= lr * grad_c / sqrtf(gc[k]);
            gw[k] += grad_w * grad_w;
            gc[k] += grad_c * grad_c;
        }
        bw[i] -= lr * fd / sqrtf(gbw[i]);
        bc[j] -= lr * fd / sqrtf(gbc[j]);
        gbw[i] += fd * fd;
        gbc[j] += fd * fd;
    }
    return 0.5 * loss / (nnz > 0 ? (double)nnz : 1.0);
}
