// resize.c: see resize.h. Follows the published algorithm of PIL's Resample.c (precompute per-output
// coefficient windows, normalise, convert to fixed point, two 1-D passes).
#include "data/resize.h"
#include "util/util.h"

#include <math.h>
#include <stdlib.h>

#define PRECISION_BITS (32 - 8 - 2)

static double filter_support(sf_resize_filter f) { return f == SF_FILTER_BICUBIC ? 2.0 : 1.0; }

static double filter_eval(sf_resize_filter f, double x) {
    if (x < 0.0) x = -x;
    if (f == SF_FILTER_BILINEAR) return x < 1.0 ? 1.0 - x : 0.0;
    const double a = -0.5;  // PIL's cubic
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
    if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
    return 0.0;
}

// Taps per output pixel for a 1-D resize from in_size to out_size.
static int kernel_size(int in_size, int out_size, sf_resize_filter f) {
    double scale = (double)in_size / out_size;
    if (scale < 1.0) scale = 1.0;
    return (int)ceil(filter_support(f) * scale) * 2 + 1;
}

size_t sf_resize_scratch_bytes(int ow, int oh, int w, int h, sf_resize_filter f) {
    size_t kh = (size_t)kernel_size(w, ow, f), kv = (size_t)kernel_size(h, oh, f);
    size_t ints = (size_t)ow * (kh + 2) + (size_t)oh * (kv + 2);
    return ints * sizeof(int32_t) + (size_t)h * ow * 3;
}

// For each output index: bounds[2i] = first input index, bounds[2i+1] = taps; kk[i*ksize + t] = weight.
static void precompute(int32_t *bounds, int32_t *kk, int ksize, int in_size, int out_size, sf_resize_filter f) {
    double scale = (double)in_size / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = filter_support(f) * filterscale;
    double ss = 1.0 / filterscale;
    double w[ksize];
    for (int i = 0; i < out_size; i++) {
        double center = (i + 0.5) * scale;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        double sum = 0.0;
        for (int x = 0; x < xmax; x++) {
            w[x] = filter_eval(f, (x + xmin - center + 0.5) * ss);
            sum += w[x];
        }
        int32_t *k = kk + (size_t)i * ksize;
        for (int x = 0; x < ksize; x++) {
            double v = x < xmax && sum != 0.0 ? w[x] / sum : 0.0;
            k[x] = (int32_t)(v * (1 << PRECISION_BITS) + (v < 0.0 ? -0.5 : 0.5));
        }
        bounds[2 * i] = xmin;
        bounds[2 * i + 1] = xmax;
    }
}

static inline uint8_t clip8(int32_t v) {
    v >>= PRECISION_BITS;  // arithmetic shift: floor, as PIL
    return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v;
}

// dst (H,OW,3) from src (H,W,3)
static void pass_horizontal(uint8_t *dst, int ow, const uint8_t *src, int w, int h, const int32_t *bounds,
                            const int32_t *kk, int ksize) {
    for (int y = 0; y < h; y++) {
        const uint8_t *s = src + (size_t)y * w * 3;
        uint8_t *d = dst + (size_t)y * ow * 3;
        for (int x = 0; x < ow; x++) {
            int xmin = bounds[2 * x], n = bounds[2 * x + 1];
            const int32_t *k = kk + (size_t)x * ksize;
            int32_t r = 1 << (PRECISION_BITS - 1), g = r, b = r;
            for (int t = 0; t < n; t++) {
                const uint8_t *p = s + (size_t)(xmin + t) * 3;
                r += p[0] * k[t];
                g += p[1] * k[t];
                b += p[2] * k[t];
            }
            d[3 * x] = clip8(r);
            d[3 * x + 1] = clip8(g);
            d[3 * x + 2] = clip8(b);
        }
    }
}

// dst (OH,W,3) from src (H,W,3)
static void pass_vertical(uint8_t *dst, int oh, const uint8_t *src, int w, const int32_t *bounds,
                          const int32_t *kk, int ksize) {
    size_t row = (size_t)w * 3;
    for (int y = 0; y < oh; y++) {
        int ymin = bounds[2 * y], n = bounds[2 * y + 1];
        const int32_t *k = kk + (size_t)y * ksize;
        uint8_t *d = dst + (size_t)y * row;
        for (size_t c = 0; c < row; c++) {
            int32_t acc = 1 << (PRECISION_BITS - 1);
            for (int t = 0; t < n; t++) acc += src[(size_t)(ymin + t) * row + c] * k[t];
            d[c] = clip8(acc);
        }
    }
}

void sf_resize_rgb8(uint8_t *dst, int ow, int oh, const uint8_t *src, int w, int h, sf_resize_filter f,
                    void *scratch) {
    void *own = scratch ? NULL : sf_malloc(sf_resize_scratch_bytes(ow, oh, w, h, f));
    if (own) scratch = own;
    int kh = kernel_size(w, ow, f), kv = kernel_size(h, oh, f);
    int32_t *bh = scratch, *kkh = bh + 2 * ow;
    int32_t *bv = kkh + (size_t)ow * kh, *kkv = bv + 2 * oh;
    uint8_t *tmp = (uint8_t *)(kkv + (size_t)oh * kv);  // (H,OW,3)
    int need_h = ow != w, need_v = oh != h;
    const uint8_t *mid = src;
    if (need_h) {
        precompute(bh, kkh, kh, w, ow, f);
        uint8_t *out = need_v ? tmp : dst;
        pass_horizontal(out, ow, src, w, h, bh, kkh, kh);
        mid = out;
    }
    if (need_v) {
        precompute(bv, kkv, kv, h, oh, f);
        pass_vertical(dst, oh, mid, ow, bv, kkv, kv);
    }
    if (!need_h && !need_v)
        for (size_t i = 0; i < (size_t)w * h * 3; i++) dst[i] = src[i];
    free(own);
}

void sf_image_shrink(sf_image *img, int side) {
    int w = img->w, h = img->h, short_side = w < h ? w : h;
    if (side <= 0 || short_side <= side) return;
    int ow = w < h ? side : (int)floor((double)w * side / h + 0.5);
    int oh = w < h ? (int)floor((double)h * side / w + 0.5) : side;
    uint8_t *px = sf_malloc((size_t)ow * oh * 3);  // (OH,OW,3)
    sf_resize_rgb8(px, ow, oh, img->px, w, h, SF_FILTER_BICUBIC, NULL);
    free(img->px);
    img->px = px;
    img->w = ow;
    img->h = oh;
}
