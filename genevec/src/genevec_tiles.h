/* The training layout and GloVe's weight, written once for every kernel (_glove, _lowrank, _tcm, glove_block.c;
 * genevec/_layout.py calls gv_tile_index through genevec._glove.tile_index).
 *
 * Tiles (g, h), g <= h, of the upper triangle of B x B gene groups are stored row-major in tile order; the
 * tiles hold L = log T, -inf where T <= 0. */
#ifndef GENEVEC_TILES_H
#define GENEVEC_TILES_H

#include <math.h>
#include <stdint.h>

/* Index of tile (min(g, h), max(g, h)) in the row-major order of the upper triangle of B x B tiles. */
static inline int64_t gv_tile_index(int64_t g, int64_t h, int64_t B) {
    if (g > h) {
        const int64_t t = g;
        g = h;
        h = t;
    }
    return g * (2 * B - g + 1) / 2 + (h - g);
}

/* GloVe's weight f(T) = min(1, (T / x_max)^alpha) from L = log T: 1 at or above log x_max, else
 * exp(alpha (L - log x_max)) (0 for L = -inf, as alpha > 0). */
static inline double gv_weight(double logx, double log_xmax, double alpha) {
    return logx >= log_xmax ? 1.0 : exp(alpha * (logx - log_xmax));
}

#endif
