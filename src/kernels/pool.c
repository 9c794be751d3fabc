// pool.c: max, average and global average pooling on the blocked layout nChw{vb}c (layout.h).
//
// Every kernel works on one (image, channel block) plane at a time, so planes are independent and are
// split across threads. Inside a plane the innermost loop runs over the vb contiguous lanes of one pixel;
// the plane bodies are always_inline and instantiated for the engine's vb values (16, 8, 4, and 1 for
// plain NCHW) so that the lane loop has a constant trip count and gcc turns it into whole vectors. Lane
// loops carry `omp simd` and the max uses a branch-free select: without them gcc 12 fully unrolled the
// 16-lane loop into scalar compares and branches (batch-64 3x3 max pool: 160 ms before, ~10 ms after).
// The max-pool forward, which is bound by its compare-and-select per window tap rather than by memory,
// also has micro-kernels (pool_avx512.c at vb = 16, pool_avx2.c at vb = 8); the generic body at the
// same vb is their scalar equivalent and runs on the other paths.
#include "kernels/pool.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "kernels/cpu.h"
#include "kernels/layout.h"
#include "kernels/pool_internal.h"
#include "util/util.h"

// Per-lane accumulators live on the stack; no engine vb comes near this.
#define SF_POOL_VB_MAX 64
// Planes smaller than this many floats in total are pooled on one thread (a fork costs more).
#define SF_POOL_PAR_MIN (1 << 15)
#define SF_INLINE static inline __attribute__((always_inline))

sf_pool_shape sf_pool_shape_make(int n, int c, int ih, int iw, int k, int stride, int pad) {
    if (n < 1 || c < 1 || k < 1 || stride < 1 || pad < 0)
        sf_die("bad pool shape n=%d c=%d k=%d stride=%d pad=%d", n, c, k, stride, pad);
    // PyTorch's own limit; it also keeps at least one real input in every window.
    if (2 * pad > k) sf_die("pool padding %d exceeds half the kernel %d", pad, k);
    if (ih + 2 * pad < k || iw + 2 * pad < k) sf_die("pool kernel %d larger than padded input %dx%d", k, ih, iw);
    sf_pool_shape s = {.n = n, .c = c, .ih = ih, .iw = iw, .kh = k, .kw = k, .sh = stride, .sw = stride,
                       .ph = pad, .pw = pad};
    s.oh = (ih + 2 * pad - k) / stride + 1;
    s.ow = (iw + 2 * pad - k) / stride + 1;
    return s;
}

static void check_vb(int vb) {
    if (vb < 1 || vb > SF_POOL_VB_MAX) sf_die("channel block vb=%d outside [1, %d]", vb, SF_POOL_VB_MAX);
}

static int pool_threads(size_t floats) { return floats >= SF_POOL_PAR_MIN ? sf_threads() : 1; }

// The input rows [hs, he) and columns [ws, we) that output pixel (oh, ow) reads, padding clipped.
SF_INLINE void window_of(int *hs, int *he, int *ws, int *we, const sf_pool_shape *s, int oh, int ow) {
    sf_pool_window(hs, he, oh, s->sh, s->ph, s->kh, s->ih);
    sf_pool_window(ws, we, ow, s->sw, s->pw, s->kw, s->iw);
}

// One plane: x (IH,IW,vb), y and argmax (OH,OW,vb). Ties keep the first maximum in scan order and a
// NaN wins, as PyTorch does.
SF_INLINE void maxpool_fwd_plane(float *y, int32_t *am, const float *x, const sf_pool_shape *s, int vb) {
    for (int oh = 0; oh < s->oh; oh++)
        for (int ow = 0; ow < s->ow; ow++) {
            int hs, he, ws, we;
            window_of(&hs, &he, &ws, &we, s, oh, ow);
            float m[SF_POOL_VB_MAX];
            int32_t a[SF_POOL_VB_MAX];
            const float *x0 = x + ((size_t)hs * s->iw + ws) * vb;
            #pragma omp simd
            for (int l = 0; l < vb; l++) {
                m[l] = x0[l];
                a[l] = hs * s->iw + ws;
            }
            for (int h = hs; h < he; h++)
                for (int w = ws; w < we; w++) {
                    const float *xp = x + ((size_t)h * s->iw + w) * vb;
                    int32_t idx = h * s->iw + w;
#pragma omp simd
                    for (int l = 0; l < vb; l++) {
                        float v = xp[l];
                        int take = (v > m[l]) | (v != v);
                        m[l] = take ? v : m[l];
                        a[l] = take ? idx : a[l];
                    }
                }
            if (s->relu)
                #pragma omp simd
                for (int l = 0; l < vb; l++) {
                    int keep = m[l] > 0.0f;
                    m[l] = (keep | (m[l] != m[l])) ? m[l] : 0.0f;
                    a[l] = keep ? a[l] : -1;
                }
            size_t o = ((size_t)oh * s->ow + ow) * vb;
            #pragma omp simd
            for (int l = 0; l < vb; l++) {
                y[o + l] = m[l];
                am[o + l] = a[l];
            }
        }
}

// One plane: dy, argmax (OH,OW,vb), dx (IH,IW,vb) overwritten. Overlapping windows accumulate; argmax
// -1 (a fused ReLU's non-positive output) adds nothing.
SF_INLINE void maxpool_bwd_plane(float *dx, const float *dy, const int32_t *am, const sf_pool_shape *s,
                                 int vb) {
    memset(dx, 0, sizeof(float) * (size_t)s->ih * s->iw * vb);
    for (size_t o = 0; o < (size_t)s->oh * s->ow; o++)
        #pragma omp simd
        for (int l = 0; l < vb; l++) {
            int32_t a = am[o * vb + l];
            if (a >= 0) dx[(size_t)a * vb + l] += dy[o * vb + l];
        }
}

// Windows that tile the input (stride = kernel, no padding; SimpleCnn's 2x2 pools) own each input pixel
// alone, so every dx element is written once, in order, with dy or 0: no zeroing pass and no scattered
// read-modify-write. Rows and columns past the last window (floor mode) get 0.
static bool windows_tile(const sf_pool_shape *s) {
    return s->sh == s->kh && s->sw == s->kw && s->ph == 0 && s->pw == 0;
}

SF_INLINE void maxpool_bwd_plane_tiled(float *dx, const float *dy, const int32_t *am, const sf_pool_shape *s,
                                       int vb) {
    int ch = s->oh * s->kh, cw = s->ow * s->kw;  // the rows and columns that windows cover
    for (int h = 0; h < ch; h++) {
        size_t orow = (size_t)(h / s->kh) * s->ow * vb;
        float *dxr = dx + (size_t)h * s->iw * vb;
        for (int ow = 0; ow < s->ow; ow++) {
            const float *g = dy + orow + (size_t)ow * vb;
            const int32_t *a = am + orow + (size_t)ow * vb;
            for (int j = 0; j < s->kw; j++) {
                int w = ow * s->kw + j;
                int32_t idx = h * s->iw + w;
                // Both loads unconditional, so that the select is a vector blend, not a branch.
                #pragma omp simd
                for (int l = 0; l < vb; l++) {
                    float gl = g[l];
                    dxr[(size_t)w * vb + l] = a[l] == idx ? gl : 0.0f;
                }
            }
        }
        memset(dxr + (size_t)cw * vb, 0, sizeof(float) * (size_t)(s->iw - cw) * vb);
    }
    memset(dx + (size_t)ch * s->iw * vb, 0, sizeof(float) * (size_t)(s->ih - ch) * s->iw * vb);
}

// One plane: x (IH,IW,vb), y (OH,OW,vb). Floor mode keeps each window inside the padded input, so
// counting the zero padding makes the divisor kh*kw everywhere.
SF_INLINE void avgpool_fwd_plane(float *y, const float *x, const sf_pool_shape *s, int vb) {
    float div = (float)(s->kh * s->kw);
    for (int oh = 0; oh < s->oh; oh++)
        for (int ow = 0; ow < s->ow; ow++) {
            int hs, he, ws, we;
            window_of(&hs, &he, &ws, &we, s, oh, ow);
            float acc[SF_POOL_VB_MAX];
            #pragma omp simd
            for (int l = 0; l < vb; l++) acc[l] = 0.0f;
            for (int h = hs; h < he; h++)
                for (int w = ws; w < we; w++) {
                    const float *xp = x + ((size_t)h * s->iw + w) * vb;
                    #pragma omp simd
                    for (int l = 0; l < vb; l++) acc[l] += xp[l];
                }
            float *yp = y + ((size_t)oh * s->ow + ow) * vb;
            #pragma omp simd
            for (int l = 0; l < vb; l++) yp[l] = acc[l] / div;
        }
}

// One plane: dy (OH,OW,vb), dx (IH,IW,vb) overwritten.
SF_INLINE void avgpool_bwd_plane(float *dx, const float *dy, const sf_pool_shape *s, int vb) {
    float div = (float)(s->kh * s->kw);
    memset(dx, 0, sizeof(float) * (size_t)s->ih * s->iw * vb);
    for (int oh = 0; oh < s->oh; oh++)
        for (int ow = 0; ow < s->ow; ow++) {
            int hs, he, ws, we;
            window_of(&hs, &he, &ws, &we, s, oh, ow);
            float g[SF_POOL_VB_MAX];
            const float *dyp = dy + ((size_t)oh * s->ow + ow) * vb;
            #pragma omp simd
            for (int l = 0; l < vb; l++) g[l] = dyp[l] / div;
            for (int h = hs; h < he; h++)
                for (int w = ws; w < we; w++) {
                    float *dxp = dx + ((size_t)h * s->iw + w) * vb;
                    #pragma omp simd
                    for (int l = 0; l < vb; l++) dxp[l] += g[l];
                }
        }
}

// Max-pool planes on the x86 micro-kernels, where this build has them; the generic body at the same vb
// is their scalar equivalent.
static void maxpool_fwd_plane_isa(float *y, int32_t *am, const float *x, const sf_pool_shape *s, int vb) {
#if SF_POOL_HAVE_X86
    if (vb == 16) sf_maxpool_fwd_plane16_avx512(y, am, x, s);
    else sf_maxpool_fwd_plane8_avx2(y, am, x, s);
#else
    if (vb == 16) maxpool_fwd_plane(y, am, x, s, 16);
    else maxpool_fwd_plane(y, am, x, s, 8);
#endif
}

// Instantiates a plane body for the constant vb values and falls back to the runtime one.
#define SF_POOL_DISPATCH(body, vb, ...)                 \
    switch (vb) {                                       \
    case 16: body(__VA_ARGS__, 16); break;              \
    case 8: body(__VA_ARGS__, 8); break;                \
    case 4: body(__VA_ARGS__, 4); break;                \
    case 1: body(__VA_ARGS__, 1); break;                \
    default: body(__VA_ARGS__, vb); break;              \
    }

// x (N,C,IH,IW) blocked; y, argmax (N,C,OH,OW) blocked.
void sf_maxpool2d_forward(float *y, int32_t *argmax, const float *x, const sf_pool_shape *s, int vb) {
    check_vb(vb);
    sf_isa isa = sf_isa_active();
    bool x86 = isa == SF_ISA_AVX2 || isa == SF_ISA_AVX512;
    bool simd = SF_POOL_HAVE_X86 && ((vb == 16 && isa == SF_ISA_AVX512) || (vb == 8 && x86));
    int planes = s->n * sf_cblocks(s->c, vb);
    size_t in_sz = (size_t)s->ih * s->iw * vb, out_sz = (size_t)s->oh * s->ow * vb;
#pragma omp parallel for schedule(static) num_threads(pool_threads(planes * in_sz))
    for (int p = 0; p < planes; p++) {
        if (simd) maxpool_fwd_plane_isa(y + p * out_sz, argmax + p * out_sz, x + p * in_sz, s, vb);
        else SF_POOL_DISPATCH(maxpool_fwd_plane, vb, y + p * out_sz, argmax + p * out_sz, x + p * in_sz, s)
    }
}

// dy, argmax (N,C,OH,OW) blocked; dx (N,C,IH,IW) blocked, overwritten.
void sf_maxpool2d_backward(float *dx, const float *dy, const int32_t *argmax, const sf_pool_shape *s, int vb) {
    check_vb(vb);
    int planes = s->n * sf_cblocks(s->c, vb);
    size_t in_sz = (size_t)s->ih * s->iw * vb, out_sz = (size_t)s->oh * s->ow * vb;
    bool tiled = windows_tile(s);
#pragma omp parallel for schedule(static) num_threads(pool_threads(planes * in_sz))
    for (int p = 0; p < planes; p++) {
        if (tiled)
            SF_POOL_DISPATCH(maxpool_bwd_plane_tiled, vb, dx + p * in_sz, dy + p * out_sz, argmax + p * out_sz, s)
        else
            SF_POOL_DISPATCH(maxpool_bwd_plane, vb, dx + p * in_sz, dy + p * out_sz, argmax + p * out_sz, s)
    }
}

// x (N,C,IH,IW) blocked; y (N,C,OH,OW) blocked.
void sf_avgpool2d_forward(float *y, const float *x, const sf_pool_shape *s, int vb) {
    check_vb(vb);
    int planes = s->n * sf_cblocks(s->c, vb);
    size_t in_sz = (size_t)s->ih * s->iw * vb, out_sz = (size_t)s->oh * s->ow * vb;
#pragma omp parallel for schedule(static) num_threads(pool_threads(planes * in_sz))
    for (int p = 0; p < planes; p++) {
        SF_POOL_DISPATCH(avgpool_fwd_plane, vb, y + p * out_sz, x + p * in_sz, s)
    }
}

// dy (N,C,OH,OW) blocked; dx (N,C,IH,IW) blocked, overwritten.
void sf_avgpool2d_backward(float *dx, const float *dy, const sf_pool_shape *s, int vb) {
    check_vb(vb);
    int planes = s->n * sf_cblocks(s->c, vb);
    size_t in_sz = (size_t)s->ih * s->iw * vb, out_sz = (size_t)s->oh * s->ow * vb;
#pragma omp parallel for schedule(static) num_threads(pool_threads(planes * in_sz))
    for (int p = 0; p < planes; p++) {
        SF_POOL_DISPATCH(avgpool_bwd_plane, vb, dx + p * in_sz, dy + p * out_sz, s)
    }
}

// One plane: x (HW,vb) summed per lane into sum (vb), in double so that large maps lose nothing.
SF_INLINE void gap_fwd_plane(double *sum, const float *x, int hw, int vb) {
    #pragma omp simd
    for (int l = 0; l < vb; l++) sum[l] = 0.0;
    for (int i = 0; i < hw; i++)
        #pragma omp simd
        for (int l = 0; l < vb; l++) sum[l] += x[(size_t)i * vb + l];
}

// x (N,C,H,W) blocked; y (N,C) plain.
void sf_global_avgpool_forward(float *y, const float *x, int n, int c, int h, int w, int vb) {
    check_vb(vb);
    int cb = sf_cblocks(c, vb), hw = h * w;
    size_t in_sz = (size_t)hw * vb;
#pragma omp parallel for schedule(static) num_threads(pool_threads(n * cb * in_sz))
    for (int p = 0; p < n * cb; p++) {
        double sum[SF_POOL_VB_MAX];
        SF_POOL_DISPATCH(gap_fwd_plane, vb, sum, x + p * in_sz, hw)
        int img = p / cb, c0 = (p % cb) * vb;
        for (int l = 0; l < vb && c0 + l < c; l++) y[(size_t)img * c + c0 + l] = (float)(sum[l] / hw);
    }
}

// One plane: dx (HW,vb) = g (vb) broadcast over the map.
SF_INLINE void gap_bwd_plane(float *dx, const float *g, int hw, int vb) {
    for (int i = 0; i < hw; i++)
        #pragma omp simd
        for (int l = 0; l < vb; l++) dx[(size_t)i * vb + l] = g[l];
}

// dy (N,C) plain; dx (N,C,H,W) blocked, overwritten (padding lanes zero).
void sf_global_avgpool_backward(float *dx, const float *dy, int n, int c, int h, int w, int vb) {
    check_vb(vb);
    int cb = sf_cblocks(c, vb), hw = h * w;
    size_t in_sz = (size_t)hw * vb;
#pragma omp parallel for schedule(static) num_threads(pool_threads(n * cb * in_sz))
    for (int p = 0; p < n * cb; p++) {
        float g[SF_POOL_VB_MAX];
        int img = p / cb, c0 = (p % cb) * vb;
        #pragma omp simd
        for (int l = 0; l < vb; l++) g[l] = c0 + l < c ? dy[(size_t)img * c + c0 + l] / (float)hw : 0.0f;
        SF_POOL_DISPATCH(gap_bwd_plane, vb, dx + p * in_sz, g, hw)
    }
}
