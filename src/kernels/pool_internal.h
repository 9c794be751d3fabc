// pool_internal.h: what pool.c shares with its per-ISA micro-kernels (not public API).
#ifndef SF_POOL_INTERNAL_H
#define SF_POOL_INTERNAL_H

#include <stdint.h>

#include "kernels/pool.h"

// Window rows [*lo, *hi) of output row o, clipped to the input (padding never wins a max and adds 0).
static inline void sf_pool_window(int *lo, int *hi, int o, int stride, int pad, int k, int in) {
    int start = o * stride - pad;
    *lo = start < 0 ? 0 : start;
    *hi = start + k > in ? in : start + k;
}

#if defined(__x86_64__)
#define SF_POOL_HAVE_X86 1
// One plane of the max pool at vb = 16: x (IH,IW,16) -> y, argmax (OH,OW,16), one zmm per pixel.
// Same results as pool.c's generic plane body at vb = 16, which is its scalar equivalent.
void sf_maxpool_fwd_plane16_avx512(float *y, int32_t *argmax, const float *x, const sf_pool_shape *s);
// The same at vb = 8 with one ymm per pixel.
void sf_maxpool_fwd_plane8_avx2(float *y, int32_t *argmax, const float *x, const sf_pool_shape *s);
#else
#define SF_POOL_HAVE_X86 0
#endif

#endif
