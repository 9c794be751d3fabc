// augment.c: see augment.h.
#include "data/augment.h"
#include "data/resize.h"
#include "data/warp_kernels.h"
#include "kernels/cpu.h"
#include "util/util.h"

#include <math.h>
#include <stdlib.h>

const float sf_imagenet_mean[3] = {0.485f, 0.456f, 0.406f};
const float sf_imagenet_std[3] = {0.229f, 0.224f, 0.225f};

sf_augment_cfg sf_augment_defaults(void) {
    sf_augment_cfg c = {15.0f, 0.5f, 0.08f, 1.0f, 3.0f / 4.0f, 4.0f / 3.0f, 0.0f};
    return c;
}

// PIL's rotate(angle, expand=True) as a map from canvas (x, y) to source (x, y), continuous coordinates
// with pixel k spanning [k, k+1). Writes the canvas size.
static void rotation_map(double r[6], int *cw, int *ch, double angle_deg, int w, int h) {
    double t = -angle_deg * M_PI / 180.0;
    // PIL rounds the matrix to 15 decimals, which makes quarter turns exact.
    double a = round(cos(t) * 1e15) / 1e15, b = round(sin(t) * 1e15) / 1e15, d = -b, e = a;
    double cx = w / 2.0, cy = h / 2.0;
    double c = a * -cx + b * -cy + cx, f = d * -cx + e * -cy + cy;
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    const double corners[4][2] = {{0, 0}, {w, 0}, {w, h}, {0, h}};
    for (int k = 0; k < 4; k++) {
        double x = a * corners[k][0] + b * corners[k][1] + c, y = d * corners[k][0] + e * corners[k][1] + f;
        xmin = fmin(xmin, x), xmax = fmax(xmax, x), ymin = fmin(ymin, y), ymax = fmax(ymax, y);
    }
    int nw = (int)(ceil(xmax) - floor(xmin)), nh = (int)(ceil(ymax) - floor(ymin));
    if (fmod(angle_deg, 90.0) == 0.0) {  // PIL transposes quarter turns exactly instead
        int quarter = ((int)(angle_deg / 90.0) % 2 + 2) % 2;
        nw = quarter ? h : w, nh = quarter ? w : h;
    }
    double ox = -(nw - w) / 2.0, oy = -(nh - h) / 2.0;
    double c2 = a * ox + b * oy + c, f2 = d * ox + e * oy + f;
    r[0] = a, r[1] = b, r[2] = c2, r[3] = d, r[4] = e, r[5] = f2;
    *cw = nw;
    *ch = nh;
}

void sf_augment_canvas(int *cw, int *ch, float angle_deg, int w, int h) {
    double r[6];
    rotation_map(r, cw, ch, angle_deg, w, h);
}

void sf_augment_draw(sf_augment_params *p, const sf_augment_cfg *cfg, int w, int h, sf_rng *rng) {
    p->angle = cfg->rot_deg > 0.0f ? sf_rng_uniform_range(rng, -cfg->rot_deg, cfg->rot_deg) : 0.0f;
    double r[6];
    rotation_map(r, &p->rot_w, &p->rot_h, p->angle, w, h);
    p->flip = sf_rng_uniform(rng) < cfg->flip_p;
    int W = p->rot_w, H = p->rot_h;
    double area = (double)W * H;
    double lr0 = log(cfg->ratio_min), lr1 = log(cfg->ratio_max);
    for (int attempt = 0; attempt < 10; attempt++) {
        double target = area * sf_rng_uniform_range(rng, cfg->scale_min, cfg->scale_max);
        double ar = exp(sf_rng_uniform_range(rng, (float)lr0, (float)lr1));
        int cw = (int)lround(sqrt(target * ar)), ch = (int)lround(sqrt(target / ar));
        if (cw > 0 && cw <= W && ch > 0 && ch <= H) {
            p->crop_y = (int)sf_rng_below(rng, (uint32_t)(H - ch + 1));
            p->crop_x = (int)sf_rng_below(rng, (uint32_t)(W - cw + 1));
            p->crop_w = cw;
            p->crop_h = ch;
            return;
        }
    }
    double in_ratio = (double)W / H;
    int cw = W, ch = H;
    if (in_ratio < cfg->ratio_min) ch = (int)lround(W / cfg->ratio_min);
    else if (in_ratio > cfg->ratio_max) cw = (int)lround(H * cfg->ratio_max);
    p->crop_w = cw;
    p->crop_h = ch;
    p->crop_x = (W - cw) / 2;
    p->crop_y = (H - ch) / 2;
}

int sf_erase_draw(int box[4], float p, int s, sf_rng *rng) {
    if (!(sf_rng_uniform(rng) < p)) return 0;
    const double area = (double)s * s, lr0 = log(0.3), lr1 = log(3.3);
    for (int attempt = 0; attempt < 10; attempt++) {
        double target = area * sf_rng_uniform_range(rng, 0.02f, 0.33f);
        double aspect = exp(sf_rng_uniform_range(rng, (float)lr0, (float)lr1));  // h / w
        int h = (int)lround(sqrt(target * aspect)), w = (int)lround(sqrt(target / aspect));
        if (!(h < s && w < s) || h < 1 || w < 1) continue;
        box[1] = (int)sf_rng_below(rng, (uint32_t)(s - h + 1));
        box[0] = (int)sf_rng_below(rng, (uint32_t)(s - w + 1));
        box[2] = w;
        box[3] = h;
        return 1;
    }
    return 0;
}

void sf_erase_apply(float *out, int s, const int box[4]) {
    for (int c = 0; c < 3; c++)
        for (int y = box[1]; y < box[1] + box[3]; y++) {
            float *row = out + ((size_t)c * s + y) * s + box[0];
            for (int x = 0; x < box[2]; x++) row[x] = 0.0f;
        }
}

void sf_augment_affine(sf_affine *a, const sf_augment_params *p, int w, int h, int s) {
    double r[6];
    int W, H;
    rotation_map(r, &W, &H, p->angle, w, h);
    // Output pixel centre (ox + 0.5) lands at canvas x = X0 + sx * ox, before the flip mirrors it.
    double sx = (double)p->crop_w / s, sy = (double)p->crop_h / s;
    double X0 = p->crop_x + 0.5 * sx, Y0 = p->crop_y + 0.5 * sy;
    if (p->flip) X0 = W - X0, sx = -sx;
    // source = r * (X0 + sx*ox, Y0 + sy*oy), then -0.5 to pixel-index units.
    a->m[0] = r[0] * sx;
    a->m[1] = r[1] * sy;
    a->m[2] = r[0] * X0 + r[1] * Y0 + r[2] - 0.5;
    a->m[3] = r[3] * sx;
    a->m[4] = r[4] * sy;
    a->m[5] = r[3] * X0 + r[4] * Y0 + r[5] - 0.5;
}

// Source images up to this many bytes stay in L2 (512 KiB or more on the CPUs served) after decoding
// and need no software prefetch.
#define SF_WARP_PREFETCH_MIN ((size_t)256 << 10)

// min/max and ceil inline (the libm calls cost more than the arithmetic at two spans per output row).
static inline double dmin(double a, double b) { return a < b ? a : b; }
static inline double dmax(double a, double b) { return a > b ? a : b; }
static inline int ceil_in(double a, int hi) {  // ceil(a) clamped to [0, hi]
    a = dmax(0.0, dmin((double)hi, a));
    int i = (int)a;
    return i + (i < a);
}

// Narrows [*a, *b) to the real ox where lo <= k*ox + c < hi.
static void clip_linear(double *a, double *b, double k, double c, double lo, double hi) {
    if (k > 0) {
        *a = dmax(*a, (lo - c) / k);
        *b = dmin(*b, (hi - c) / k);
    } else if (k < 0) {
        *a = dmax(*a, (hi - c) / k);
        *b = dmin(*b, (lo - c) / k);
    } else if (!(c >= lo && c < hi)) {
        *b = *a;
    }
}

typedef struct {
    double ax, bx, ay, by;  // the row's map: fx = ax*ox + bx, fy = ay*ox + by
} row_map;

static inline int in_box(const row_map *r, int ox, double x0, double x1, double y0, double y1) {
    double fx = r->ax * ox + r->bx, fy = r->ay * ox + r->by;
    return fx >= x0 && fx < x1 && fy >= y0 && fy < y1;
}

// The pixels [*i0, *i1) of a row of s whose source position lies in [x0,x1) x [y0,y1): solved in closed
// form, then settled with the exact per-pixel test so rounding can never admit an out-of-range tap.
// fx and fy are monotonic in ox, so the pixels that pass the test are one run, and the result is that
// run whatever the closed form's rounding.
static void row_span(int *i0, int *i1, const row_map *r, int s, double x0, double x1, double y0, double y1) {
    double a = 0.0, b = s;
    clip_linear(&a, &b, r->ax, r->bx, x0, x1);
    clip_linear(&a, &b, r->ay, r->by, y0, y1);
    int lo = a >= b ? 0 : ceil_in(a, s);
    int hi = a >= b ? 0 : ceil_in(b, s);
    if (hi < lo) hi = lo;
    while (lo < hi && !in_box(r, lo, x0, x1, y0, y1)) lo++;
    while (hi > lo && !in_box(r, hi - 1, x0, x1, y0, y1)) hi--;
    if (lo == hi) {  // empty by the closed form: a neighbour may still pass by rounding
        for (int k = 0; k < s; k++)
            if (in_box(r, k, x0, x1, y0, y1)) {
                lo = k, hi = k + 1;
                break;
            }
        if (lo == hi) {
            *i0 = *i1 = 0;
            return;
        }
    }
    while (lo > 0 && in_box(r, lo - 1, x0, x1, y0, y1)) lo--;
    while (hi < s && in_box(r, hi, x0, x1, y0, y1)) hi++;
    *i0 = lo;
    *i1 = hi;
}

// Bilinear sample at (fx, fy), fx in [-1, w) and fy in [-1, h), taps clamped to the edge, written
// normalised to the three planes.
static inline void sample(float *o0, float *o1, float *o2, const uint8_t *src, size_t row, int w, int h, double fx,
                          double fy, const float sc[3], const float bi[3]) {
    // fx >= -1, so truncation after +1 is floor.
    int x0 = (int)(fx + 1.0) - 1, y0 = (int)(fy + 1.0) - 1;
    float dx = (float)(fx - x0), dy = (float)(fy - y0);
    int xa = x0 < 0 ? 0 : x0, xb = x0 + 1 >= w ? w - 1 : x0 + 1;
    int ya = y0 < 0 ? 0 : y0, yb = y0 + 1 >= h ? h - 1 : y0 + 1;
    const uint8_t *r0 = src + (size_t)ya * row, *r1 = src + (size_t)yb * row;
    const uint8_t *p00 = r0 + 3 * xa, *p01 = r0 + 3 * xb, *p10 = r1 + 3 * xa, *p11 = r1 + 3 * xb;
    float w00 = (1 - dx) * (1 - dy), w01 = dx * (1 - dy), w10 = (1 - dx) * dy, w11 = dx * dy;
    *o0 = (w00 * p00[0] + w01 * p01[0] + w10 * p10[0] + w11 * p11[0]) * sc[0] + bi[0];
    *o1 = (w00 * p00[1] + w01 * p01[1] + w10 * p10[1] + w11 * p11[1]) * sc[1] + bi[1];
    *o2 = (w00 * p00[2] + w01 * p01[2] + w10 * p10[2] + w11 * p11[2]) * sc[2] + bi[2];
}

void sf_warp_interior_scalar(float *o0, float *o1, float *o2, int n, const uint8_t *src, int row, int32_t X0,
                             int32_t Y0, int32_t DX, int32_t DY, const float k[3], const float bi[3]) {
    for (int i = 0; i < n; i++) {
        int32_t X = X0 + i * DX, Y = Y0 + i * DY;
        int32_t dx = (X >> 5) & 2047, dy = (Y >> 5) & 2047;
        const uint8_t *p00 = src + (size_t)(Y >> 16) * (size_t)row + 3 * (size_t)(X >> 16), *p10 = p00 + row;
        int32_t t0 = p00[0] * 2048 + (p00[3] - p00[0]) * dx, b0 = p10[0] * 2048 + (p10[3] - p10[0]) * dx;
        int32_t t1 = p00[1] * 2048 + (p00[4] - p00[1]) * dx, b1 = p10[1] * 2048 + (p10[4] - p10[1]) * dx;
        int32_t t2 = p00[2] * 2048 + (p00[5] - p00[2]) * dx, b2 = p10[2] * 2048 + (p10[5] - p10[2]) * dx;
        o0[i] = (float)(t0 * 2048 + (b0 - t0) * dy) * k[0] + bi[0];
        o1[i] = (float)(t1 * 2048 + (b1 - t1) * dy) * k[1] + bi[1];
        o2[i] = (float)(t2 * 2048 + (b2 - t2) * dy) * k[2] + bi[2];
    }
}

sf_warp_interior_fn sf_warp_interior(void) {
#if defined(__x86_64__)
    switch (sf_isa_active()) {
    case SF_ISA_AVX512: return sf_warp_interior_avx512;
    case SF_ISA_AVX2: return sf_warp_interior_avx2;
    default: break;
    }
#endif
    return sf_warp_interior_scalar;
}

// Asks the cache for the source lines that the output row mapped by r will read (the caller passes the
// row two ahead of the one it samples).
// A large decoded image (a full-size original at half scale is ~1.5 MiB) no longer fits in L2, and a
// rotated row crosses its source rows on a slant that the hardware prefetchers do not follow: without
// this the interior's gathers waited on L3 for most of their time. Points go every `st` output pixels,
// st small enough that neither 16 source pixels along x nor one source row is skipped between them;
// each fetches the two rows its bilinear taps use.
static void prefetch_row(const uint8_t *src, size_t row, int w, int h, const row_map *r, int s) {
    double ax = fabs(r->ax), ay = fabs(r->ay);
    double st = dmin(ax > 0.0 ? 16.0 / ax : s, ay > 0.0 ? 1.0 / ay : s);
    int step = st < 1.0 ? 1 : (int)st;
    for (int ox = 0; ox < s + step - 1; ox += step) {
        int o = ox < s ? ox : s - 1;
        double fx = r->ax * o + r->bx, fy = r->ay * o + r->by;
        if (!(fx >= 0.0 && fx < w && fy >= 0.0 && fy < h)) continue;
        const uint8_t *p = src + (size_t)fy * row + 3 * (size_t)fx;
        __builtin_prefetch(p);
        if ((int)fy + 1 < h) __builtin_prefetch(p + row);
    }
}

void sf_warp_normalize(float *out, int s, const uint8_t *src, int w, int h, const sf_affine *a) {
    float sc[3], bi[3], k[3];
    for (int c = 0; c < 3; c++) {
        sc[c] = 1.0f / (255.0f * sf_imagenet_std[c]);
        bi[c] = -sf_imagenet_mean[c] / sf_imagenet_std[c];
        k[c] = sc[c] / 4194304.0f;  // the kernels' blend is in units of 2^-22 (two 11-bit weights)
    }
    sf_warp_interior_fn interior = sf_warp_interior();
    size_t plane = (size_t)s * s, row = (size_t)w * 3;
    // Fixed-point positions drift by at most 2^-17 per pixel from rounding the step; the interior keeps
    // that far from the edges. Images too large for 16.16 fixed point take the clamped path throughout.
    const double margin = (s + 2) / 65536.0;
    int fixed_ok = w < 32000 && h < 32000;
    for (int oy = 0; oy < s; oy++) {
        float *o0 = out + (size_t)oy * s, *o1 = o0 + plane, *o2 = o1 + plane;
        row_map r = {a->m[0], a->m[1] * oy + a->m[2], a->m[3], a->m[4] * oy + a->m[5]};
        if (row * (size_t)h > SF_WARP_PREFETCH_MIN && oy + 2 < s) {
            row_map ahead = {a->m[0], a->m[1] * (oy + 2) + a->m[2], a->m[3], a->m[4] * (oy + 2) + a->m[5]};
            prefetch_row(src, row, w, h, &ahead, s);
        }
        // A row crosses: fill | clamped edge | interior | clamped edge | fill. PIL's bilinear samples
        // any position whose floor is within [-1, size) (edge clamped); beyond that is the fill colour.
        int v0, v1, i0 = 0, i1 = 0;
        row_span(&v0, &v1, &r, s, -1.0, w, -1.0, h);
        if (fixed_ok) row_span(&i0, &i1, &r, s, margin, w - 1 - margin, margin, h - 1 - margin);
        if (i0 >= i1 || i0 < v0 || i1 > v1) i0 = i1 = v0;  // interior is inside valid; empty when not
        for (int ox = 0; ox < v0; ox++) o0[ox] = bi[0], o1[ox] = bi[1], o2[ox] = bi[2];
        for (int ox = v0; ox < i0; ox++)
            sample(o0 + ox, o1 + ox, o2 + ox, src, row, w, h, r.ax * ox + r.bx, r.ay * ox + r.by, sc, bi);
        if (i1 > i0)
            interior(o0 + i0, o1 + i0, o2 + i0, i1 - i0, src, (int)row, (int32_t)lround((r.ax * i0 + r.bx) * 65536.0),
                     (int32_t)lround((r.ay * i0 + r.by) * 65536.0), (int32_t)lround(r.ax * 65536.0),
                     (int32_t)lround(r.ay * 65536.0), k, bi);
        for (int ox = i1 > v0 ? i1 : v0; ox < v1; ox++)
            sample(o0 + ox, o1 + ox, o2 + ox, src, row, w, h, r.ax * ox + r.bx, r.ay * ox + r.by, sc, bi);
        for (int ox = v1 > v0 ? v1 : v0; ox < s; ox++) o0[ox] = bi[0], o1[ox] = bi[1], o2[ox] = bi[2];
    }
}

void sf_warp_source_box(int box[4], const sf_affine *a, int s, int w, int h) {
    // The map is affine, so its extremes over the output square are at the corner pixels.
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int k = 0; k < 4; k++) {
        double ox = k & 1 ? s - 1 : 0, oy = k & 2 ? s - 1 : 0;
        double fx = a->m[0] * ox + a->m[1] * oy + a->m[2], fy = a->m[3] * ox + a->m[4] * oy + a->m[5];
        x0 = fmin(x0, fx), x1 = fmax(x1, fx), y0 = fmin(y0, fy), y1 = fmax(y1, fy);
    }
    // Taps are floor(f) and floor(f) + 1; one more pixel each side absorbs the rounding of the row-wise
    // and fixed-point evaluation of the same map.
    const double lo[2] = {x0, y0}, hi[2] = {x1, y1}, size[2] = {w, h};
    for (int d = 0; d < 2; d++) {
        double a0 = fmax(0.0, fmin(size[d], floor(lo[d]) - 1.0)), a1 = fmax(0.0, fmin(size[d], floor(hi[d]) + 3.0));
        box[d] = (int)a0;
        box[2 + d] = (int)a1;
    }
}

size_t sf_eval_scratch_bytes(int s, int w, int h) {
    return (size_t)s * s * 3 + sf_resize_scratch_bytes(s, s, w, h, SF_FILTER_BILINEAR);
}

void sf_eval_transform(float *out, int s, const uint8_t *src, int w, int h, int flip, void *scratch) {
    void *own = scratch ? NULL : sf_malloc(sf_eval_scratch_bytes(s, w, h));
    if (own) scratch = own;
    uint8_t *small = scratch;  // (S,S,3)
    sf_resize_rgb8(small, s, s, src, w, h, SF_FILTER_BILINEAR, small + (size_t)s * s * 3);
    size_t plane = (size_t)s * s;
    for (int c = 0; c < 3; c++) {
        // torchvision computes (v/255 - mean) / std; same arithmetic order keeps the goldens within 1 ulp.
        float m = sf_imagenet_mean[c], sd = sf_imagenet_std[c];
        float *o = out + c * plane;
        for (int y = 0; y < s; y++)
            for (int x = 0; x < s; x++) {
                int sx = flip ? s - 1 - x : x;
                o[(size_t)y * s + x] = ((float)small[((size_t)y * s + sx) * 3 + c] / 255.0f - m) / sd;
            }
    }
    free(own);
}
