// resize.c: bilinear resize with align_corners=False on the blocked layout nChw{vb}c (layout.h).
//
// Source coordinates follow F.interpolate exactly: src = (dst + 0.5) * in/out - 0.5, clamped at 0,
// in float as PyTorch computes it; the upper neighbour is clamped to the last row/column. Planes
// (image, channel block) are independent and split across threads; the innermost loop runs over the vb
// contiguous lanes of one pixel (marked `omp simd` so that gcc vectorizes rather than unrolls it).
#include "kernels/resize.h"

#include <string.h>

#include "kernels/layout.h"
#include "util/util.h"

#define SF_RESIZE_PAR_MIN (1 << 15)
#define SF_INLINE static inline __attribute__((always_inline))

// Neighbours i0, i1 and weights w0, w1 of output index o along an axis of in -> out.
typedef struct {
    int i0, i1;
    float w0, w1;
} tap;

SF_INLINE tap source_tap(int o, int in, int out) {
    float scale = (float)in / (float)out;
    float src = scale * ((float)o + 0.5f) - 0.5f;
    if (src < 0.0f) src = 0.0f;
    tap t;
    t.i0 = (int)src;
    if (t.i0 > in - 1) t.i0 = in - 1;
    t.i1 = t.i0 + (t.i0 < in - 1 ? 1 : 0);
    t.w1 = src - (float)t.i0;
    t.w0 = 1.0f - t.w1;
    return t;
}

// One plane: x (IH,IW,vb) -> y (OH,OW,vb).
SF_INLINE void resize_fwd_plane(float *y, const float *x, int ih, int iw, int oh, int ow, int vb) {
    for (int r = 0; r < oh; r++) {
        tap th = source_tap(r, ih, oh);
        const float *x0 = x + (size_t)th.i0 * iw * vb, *x1 = x + (size_t)th.i1 * iw * vb;
        for (int q = 0; q < ow; q++) {
            tap tw = source_tap(q, iw, ow);
            size_t a = (size_t)tw.i0 * vb, b = (size_t)tw.i1 * vb;
            float *yp = y + ((size_t)r * ow + q) * vb;
            #pragma omp simd
            for (int l = 0; l < vb; l++)
                yp[l] = th.w0 * (tw.w0 * x0[a + l] + tw.w1 * x0[b + l]) +
                        th.w1 * (tw.w0 * x1[a + l] + tw.w1 * x1[b + l]);
        }
    }
}

// One plane: dy (OH,OW,vb) scattered into dx (IH,IW,vb), which is overwritten.
SF_INLINE void resize_bwd_plane(float *dx, const float *dy, int ih, int iw, int oh, int ow, int vb) {
    memset(dx, 0, sizeof(float) * (size_t)ih * iw * vb);
    for (int r = 0; r < oh; r++) {
        tap th = source_tap(r, ih, oh);
        float *x0 = dx + (size_t)th.i0 * iw * vb, *x1 = dx + (size_t)th.i1 * iw * vb;
        for (int q = 0; q < ow; q++) {
            tap tw = source_tap(q, iw, ow);
            size_t a = (size_t)tw.i0 * vb, b = (size_t)tw.i1 * vb;
            const float *g = dy + ((size_t)r * ow + q) * vb;
            // Four separate loops: when i0 == i1 the same lanes are hit twice and must add twice.
            #pragma omp simd
            for (int l = 0; l < vb; l++) x0[a + l] += th.w0 * tw.w0 * g[l];
            #pragma omp simd
            for (int l = 0; l < vb; l++) x0[b + l] += th.w0 * tw.w1 * g[l];
            #pragma omp simd
            for (int l = 0; l < vb; l++) x1[a + l] += th.w1 * tw.w0 * g[l];
            #pragma omp simd
            for (int l = 0; l < vb; l++) x1[b + l] += th.w1 * tw.w1 * g[l];
        }
    }
}

#define SF_RESIZE_DISPATCH(body, vb, ...)  \
    switch (vb) {                          \
    case 16: body(__VA_ARGS__, 16); break; \
    case 8: body(__VA_ARGS__, 8); break;   \
    case 4: body(__VA_ARGS__, 4); break;   \
    case 1: body(__VA_ARGS__, 1); break;   \
    default: body(__VA_ARGS__, vb); break; \
    }

static void check_args(int n, int c, int ih, int iw, int oh, int ow, int vb) {
    if (n < 1 || c < 1 || ih < 1 || iw < 1 || oh < 1 || ow < 1 || vb < 1)
        sf_die("bad resize shape n=%d c=%d %dx%d -> %dx%d vb=%d", n, c, ih, iw, oh, ow, vb);
}

static int resize_threads(size_t floats) { return floats >= SF_RESIZE_PAR_MIN ? sf_threads() : 1; }

// x (N,C,IH,IW) blocked -> y (N,C,OH,OW) blocked.
void sf_resize_bilinear_forward(float *y, const float *x, int n, int c, int ih, int iw, int oh, int ow, int vb) {
    check_args(n, c, ih, iw, oh, ow, vb);
    int planes = n * sf_cblocks(c, vb);
    size_t in_sz = (size_t)ih * iw * vb, out_sz = (size_t)oh * ow * vb;
#pragma omp parallel for schedule(static) num_threads(resize_threads(planes * (in_sz + out_sz)))
    for (int p = 0; p < planes; p++) {
        SF_RESIZE_DISPATCH(resize_fwd_plane, vb, y + p * out_sz, x + p * in_sz, ih, iw, oh, ow)
    }
}

// dy (N,C,OH,OW) blocked -> dx (N,C,IH,IW) blocked, overwritten.
void sf_resize_bilinear_backward(float *dx, const float *dy, int n, int c, int ih, int iw, int oh, int ow, int vb) {
    check_args(n, c, ih, iw, oh, ow, vb);
    int planes = n * sf_cblocks(c, vb);
    size_t in_sz = (size_t)ih * iw * vb, out_sz = (size_t)oh * ow * vb;
#pragma omp parallel for schedule(static) num_threads(resize_threads(planes * (in_sz + out_sz)))
    for (int p = 0; p < planes; p++) {
        SF_RESIZE_DISPATCH(resize_bwd_plane, vb, dx + p * in_sz, dy + p * out_sz, ih, iw, oh, ow)
    }
}
