/* Branch-free helpers of the low-rank kernels (genevec/_lowrank.pyx) over stored tiles of log T, for float
 * and double from one template (tile_sums_dtype.h). The -inf test is done on the bits: GCC does not vectorize
 * a floating-point compare-and-select under its default -ftrapping-math, but it does vectorize these loops. */
#ifndef GENEVEC_TILE_SUMS_H
#define GENEVEC_TILE_SUMS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define TS_CAT_(name, suf) name##_##suf
#define TS_CAT(name, suf) TS_CAT_(name, suf)
#define TS(name) TS_CAT(name, TS_SUF)

#define TS_T float
#define TS_U uint32_t
#define TS_NEG_INF 0xff800000u
#define TS_SUF f
#include "tile_sums_dtype.h"
#undef TS_T
#undef TS_U
#undef TS_NEG_INF
#undef TS_SUF

#define TS_T double
#define TS_U uint64_t
#define TS_NEG_INF 0xfff0000000000000ull
#define TS_SUF d
#include "tile_sums_dtype.h"
#undef TS_T
#undef TS_U
#undef TS_NEG_INF
#undef TS_SUF

#endif
