// test_kern_conv2d_bf16.c: the fp32 -> bf16 conversion (vector path against the scalar reference, and
// known roundings), and the bf16 convolution (forward, backward-data) against the fp32 reference run on
// the same bf16-rounded inputs: products of bf16 values are exact in fp32, so the two differ only by the
// order of the fp32 sums. The convolution cases skip where the CPU has no AVX512_BF16.
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "springfield.h"
#include "util/npy.h"

static void fill(float *x, size_t n, uint64_t seed) {
    sf_rng r;
    sf_rng_seed(&r, seed, 3);
    for (size_t i = 0; i < n; i++) x[i] = sf_rng_uniform_range(&r, -1.0f, 1.0f);
}

static float bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

Test(bf16, rounding) {
    const struct {
        float in;
        uint16_t out;
    } cases[] = {
        {1.0f, 0x3f80},
        {bits(0x3f808000), 0x3f80},  // 1 + 2^-8: a tie, to the even mantissa below
        {bits(0x3f818000), 0x3f82},  // 1 + 3 * 2^-8: a tie, to the even mantissa above
        {bits(0x3f808001), 0x3f81},  // just above the tie
        {-0.1f, 0xbdcd},
        {bits(0x00016c20), 0x0000},  // denormal -> +0
        {bits(0x80016c20), 0x8000},  // denormal -> -0
        {bits(0x00800000), 0x0080},  // the smallest normal stays
        {bits(0x7f7fffff), 0x7f80},  // FLT_MAX rounds to inf
        {INFINITY, 0x7f80},
        {bits(0x7f800001), 0x7fc0},  // a signalling NaN comes back quiet
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint16_t r;
        sf_bf16_from_f32_ref(&r, &cases[i].in, 1);
        uint32_t u;
        memcpy(&u, &cases[i].in, sizeof u);
        cr_expect_eq(r, cases[i].out, "case %zu: %08x -> %04x, expected %04x", i, u, r, cases[i].out);
    }
    cr_expect_eq(sf_bf16_to_f32(0x3f82), bits(0x3f820000));
}

// The dispatched conversion (AVX512_BF16 where the CPU has it, threads for long inputs) gives the
// reference's bits, tails included.
Test(bf16, vector_matches_reference) {
    const size_t lens[] = {1, 15, 16, 17, 100, 8192 * 5 + 3};
    for (size_t c = 0; c < sizeof lens / sizeof lens[0]; c++) {
        size_t n = lens[c];
        float *x = malloc(n * sizeof *x);
        uint16_t *a = malloc((n + 1) * sizeof *a), *b = malloc(n * sizeof *b);
        fill(x, n, 10 + c);
        for (size_t i = 0; i < n; i += 7) x[i] *= 1e-39f;  // denormals too
        if (n > 3) x[3] = bits(0x3f808000), x[n - 1] = NAN;
        a[n] = 0xabcd;  // the word after the output stays
        sf_bf16_from_f32(a, x, n);
        sf_bf16_from_f32_ref(b, x, n);
        cr_expect(!memcmp(a, b, n * sizeof *a), "n %zu: vector and reference differ", n);
        cr_expect_eq(a[n], 0xabcd, "n %zu: wrote past the end", n);
        free(x), free(a), free(b);
    }
    cr_log_info("bf16 vector path: %s", sf_bf16_supported() ? "AVX512_BF16" : "none here (reference only)");
}

// Image pairs: the vector path gives the reference's bits, odd counts (a zero image) and tails included.
Test(bf16, image_pairs) {
    const int ns[] = {1, 2, 5, 64};
    const size_t pers[] = {7, 16, 8192 + 33};
    for (size_t a = 0; a < 4; a++)
        for (size_t b = 0; b < 3; b++) {
            int n = ns[a];
            size_t per = pers[b], q = (size_t)(n + 1) / 2;
            float *x = malloc((size_t)n * per * sizeof *x);
            uint16_t *u = malloc(q * per * 2 * sizeof *u + 2), *v = malloc(q * per * 2 * sizeof *v);
            fill(x, (size_t)n * per, 40 + a * 3 + b);
            u[q * per * 2] = 0xabcd;
            sf_bf16_pair_images(u, x, n, per);
            sf_bf16_pair_images_ref(v, x, n, per);
            cr_expect(!memcmp(u, v, q * per * 2 * sizeof *u), "n %d per %zu: vector and reference differ", n, per);
            cr_expect_eq(u[q * per * 2], 0xabcd, "n %d per %zu: wrote past the end", n, per);
            // element e of image 2q+j lands at (q*per + e)*2 + j
            cr_expect_eq(v[((q - 1) * per + per - 1) * 2], sf_bf16_round(x[(size_t)(2 * (q - 1)) * per + per - 1]));
            if (n % 2) cr_expect_eq(v[((q - 1) * per) * 2 + 1], 0, "n %d: the missing image is not zero", n);
            free(x), free(u), free(v);
        }
}

// Channel pairs of plain NCHW (a bf16 first layer's input): the vector path gives the reference's bits,
// odd channel counts (a zero channel) and tails included, and each value lands where the layout says.
Test(bf16, channel_pairs) {
    const int ns[] = {1, 3}, cs[] = {1, 3, 4};
    const size_t planes[] = {5, 16, 8192 + 17};
    for (size_t a = 0; a < 2; a++)
        for (size_t b = 0; b < 3; b++)
            for (size_t e = 0; e < 3; e++) {
                int n = ns[a], c = cs[b], pairs = (c + 1) / 2;
                size_t plane = planes[e], out = (size_t)n * pairs * plane * 2;
                float *x = malloc((size_t)n * c * plane * sizeof *x);
                uint16_t *u = malloc(out * sizeof *u + 2), *v = malloc(out * sizeof *v);
                fill(x, (size_t)n * c * plane, 70 + a * 9 + b * 3 + e);
                u[out] = 0xabcd;
                sf_bf16_pair_channels(u, x, n, c, plane);
                sf_bf16_pair_channels_ref(v, x, n, c, plane);
                cr_expect(!memcmp(u, v, out * sizeof *u), "n %d c %d plane %zu: vector and reference differ", n, c, plane);
                cr_expect_eq(u[out], 0xabcd, "n %d c %d plane %zu: wrote past the end", n, c, plane);
                // channel ch of image i, element p lands at ((i*pairs + ch/2)*plane + p)*2 + ch%2
                for (int i = 0; i < n; i++)
                    for (int ch = 0; ch < 2 * pairs; ch++) {
                        size_t p = (size_t)(i + ch) * 7 % plane;
                        uint16_t want = ch < c ? sf_bf16_round(x[((size_t)i * c + ch) * plane + p]) : 0;
                        cr_expect_eq(v[(((size_t)i * pairs + ch / 2) * plane + p) * 2 + ch % 2], want,
                                     "n %d c %d plane %zu: image %d channel %d", n, c, plane, i, ch);
                    }
                free(x), free(u), free(v);
            }
}

static void round_bf16(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = sf_bf16_to_f32(sf_bf16_round(x[i]));
}

// Returns the worst relative error: forward, backward-data and bf16 backward-weights against the fp32
// reference on the rounded inputs, fp32 backward-weights against the reference on the unrounded ones.
static double check_bf16(const sf_conv2d_shape *s, uint64_t seed) {
    size_t nx = (size_t)s->n * s->ci * s->ih * s->iw, ny = (size_t)s->n * s->co * s->oh * s->ow;
    size_t nw = (size_t)s->co * s->ci * s->kh * s->kw;
    float *x = malloc(nx * 4), *w = malloc(nw * 4), *b = malloc(s->co * 4), *dy = malloc(ny * 4);
    float *y0 = malloc(ny * 4), *y1 = malloc(ny * 4), *dx0 = malloc(nx * 4), *dx1 = malloc(nx * 4);
    fill(x, nx, seed), fill(w, nw, seed + 1), fill(b, s->co, seed + 2), fill(dy, ny, seed + 3);
    // The plan rounds w itself; x and dy are rounded by the conversion below. The reference gets them
    // rounded alike (bias stays fp32 on both sides).
    float *wr = malloc(nw * 4);
    memcpy(wr, w, nw * 4);
    round_bf16(wr, nw);
    float *xr = malloc(nx * 4), *dyr = malloc(ny * 4);
    memcpy(xr, x, nx * 4), memcpy(dyr, dy, ny * 4);
    round_bf16(xr, nx), round_bf16(dyr, ny);
    sf_conv2d_forward_ref(y0, xr, wr, b, s);
    sf_conv2d_backward_data_ref(dx0, dyr, wr, s);

    sf_conv2d_plan *p = sf_conv2d_plan_create_bf16(s, false, true);
    size_t xb_n = sf_blocked_floats(s->n, s->ci, s->ih, s->iw, 16), yb_n = sf_blocked_floats(s->n, s->co, s->oh, s->ow, 16);
    float *xb = sf_aligned_alloc(xb_n * 4), *yb = sf_aligned_alloc(yb_n * 4), *dyb = sf_aligned_alloc(yb_n * 4);
    float *dxb = sf_aligned_alloc(xb_n * 4);
    uint16_t *x16 = sf_aligned_alloc(xb_n * 2), *dy16 = sf_aligned_alloc(yb_n * 2);
    uint16_t *wp = sf_aligned_alloc(sf_conv2d_packed_weights_bf16(p) * 2);
    sf_reorder_to_blocked(xb, x, s->n, s->ci, s->ih, s->iw, 16);
    sf_reorder_to_blocked(dyb, dy, s->n, s->co, s->oh, s->ow, 16);
    sf_bf16_from_f32(x16, xb, xb_n);
    sf_bf16_from_f32(dy16, dyb, yb_n);
    sf_conv2d_pack_weights_bf16(p, wp, w);
    sf_conv2d_forward_bf16(p, yb, x16, wp, b);
    sf_reorder_to_plain(y1, yb, s->n, s->co, s->oh, s->ow, 16);
    for (size_t i = 0; i < xb_n; i++) dxb[i] = NAN;  // every element of dx must be written
    sf_conv2d_backward_data_bf16(p, dxb, dy16, wp);
    sf_reorder_to_plain(dx1, dxb, s->n, s->ci, s->ih, s->iw, 16);
    for (size_t i = 0; i < xb_n; i++)
        if ((int)(i % 16) + (int)(i / 16 / ((size_t)s->ih * s->iw) % sf_cblocks(s->ci, 16)) * 16 >= s->ci)
            cr_assert_eq(dxb[i], 0.0f, "nonzero padding channel in dx");
    // Backward-weights: fp32 on the fp32 tensors (as an fp32 plan), and bf16 on image pairs against the
    // reference on the rounded x and dy (dbias from the fp32 dy, as the fp32 reference's).
    float *dw0 = malloc(nw * 4), *dw1 = malloc(nw * 4), *db0 = malloc(s->co * 4), *db1 = malloc(s->co * 4);
    float *dw0r = malloc(nw * 4), *db0r = malloc(s->co * 4), *dw2 = malloc(nw * 4), *db2 = malloc(s->co * 4);
    sf_conv2d_backward_weights_ref(dw0, db0, dy, x, s);
    sf_conv2d_backward_weights_ref(dw0r, db0r, dyr, xr, s);
    sf_conv2d_backward_weights(p, dw1, db1, dyb, xb);
    size_t xper = xb_n / s->n, yper = yb_n / s->n, pairs = (size_t)(s->n + 1) / 2;
    uint16_t *xp = sf_aligned_alloc(pairs * xper * 4), *dyp = sf_aligned_alloc(pairs * yper * 4);
    sf_bf16_pair_images(xp, xb, s->n, xper);
    sf_bf16_pair_images(dyp, dyb, s->n, yper);
    for (size_t i = 0; i < nw; i++) dw2[i] = NAN;
    sf_conv2d_backward_weights_bf16(p, dw2, db2, dyp, xp, dyb);
    double ey = max_rel_err(y1, y0, ny), edx = max_rel_err(dx1, dx0, nx);
    double edw = fmax(max_rel_err(dw1, dw0, nw), max_rel_err(db1, db0, s->co));
    double edw16 = fmax(max_rel_err(dw2, dw0r, nw), max_rel_err(db2, db0, s->co));
    cr_log_info("bf16 n%d ci%d %dx%d co%d k%dx%d s%d p%d (%s / %s / %s): y %.2e dx %.2e dw %.2e (fp32 %.2e)", s->n,
                s->ci, s->ih, s->iw, s->co, s->kh, s->kw, s->sh, s->ph, sf_conv2d_plan_dir_algo(p, 0),
                sf_conv2d_plan_dir_algo(p, 1), sf_conv2d_plan_dir_algo(p, 2), ey, edx, edw16, edw);
    free(dw0), free(dw1), free(db0), free(db1), free(dw0r), free(db0r), free(dw2), free(db2);
    sf_free_aligned(xp), sf_free_aligned(dyp);
    edw = fmax(edw, edw16);
    sf_conv2d_plan_destroy(p);
    sf_free_aligned(xb), sf_free_aligned(yb), sf_free_aligned(dyb), sf_free_aligned(dxb);
    sf_free_aligned(x16), sf_free_aligned(dy16), sf_free_aligned(wp);
    free(x), free(w), free(b), free(dy), free(y0), free(y1), free(dx0), free(dx1), free(wr), free(xr), free(dyr);
    return fmax(fmax(ey, edx), edw);
}

Test(conv2d_bf16, matches_reference_on_rounded_inputs) {
    sf_conv2d_shape probe = sf_conv2d_shape_make(1, 16, 4, 4, 16, 3, 3, 1, 1);
    if (!sf_conv2d_bf16_ok(&probe)) cr_skip_test("no AVX512_BF16 on this CPU or path (%s)", sf_isa_name(sf_isa_active()));
    const sf_conv2d_shape cases[] = {
        sf_conv2d_shape_make(2, 32, 9, 9, 48, 3, 3, 1, 1),    // ResNet's 3x3, several output groups
        sf_conv2d_shape_make(3, 20, 7, 11, 40, 3, 3, 1, 1),   // channels not a multiple of 16 (2 pairs left)
        sf_conv2d_shape_make(2, 19, 8, 8, 17, 3, 3, 1, 1),    // an odd channel count: half a pair
        sf_conv2d_shape_make(2, 64, 10, 10, 64, 3, 3, 2, 1),  // strided 3x3
        sf_conv2d_shape_make(2, 64, 10, 10, 128, 1, 1, 2, 0), // strided 1x1 (a downsample)
        sf_conv2d_shape_make(4, 48, 6, 6, 32, 1, 1, 1, 0),    // 1x1
        sf_conv2d_shape_make(2, 128, 4, 4, 64, 3, 3, 1, 1),   // a 4x4 map: strips across images
        sf_conv2d_shape_make(1, 16, 12, 12, 16, 5, 5, 1, 2),  // 5x5
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double e = check_bf16(&cases[i], 100 + i);
        cr_expect(e < 1e-5, "case %zu: max rel err %.3e", i, e);
    }
}

// Rounding to bf16 is what the path changes: against the unrounded fp32 reference the error is that of
// 8-bit mantissas (about 2^-9 relative per input), far above the fp32 summation error checked above.
Test(conv2d_bf16, differs_from_fp32_by_bf16_rounding_only) {
    sf_conv2d_shape s = sf_conv2d_shape_make(2, 64, 8, 8, 64, 3, 3, 1, 1);
    if (!sf_conv2d_bf16_ok(&s)) cr_skip_test("no AVX512_BF16 on this CPU or path (%s)", sf_isa_name(sf_isa_active()));
    size_t nx = (size_t)s.n * s.ci * s.ih * s.iw, ny = (size_t)s.n * s.co * s.oh * s.ow, nw = (size_t)s.co * s.ci * 9;
    float *x = malloc(nx * 4), *w = malloc(nw * 4), *y0 = malloc(ny * 4), *y1 = malloc(ny * 4);
    fill(x, nx, 1), fill(w, nw, 2);
    sf_conv2d_forward_ref(y0, x, w, NULL, &s);
    sf_conv2d_plan *p = sf_conv2d_plan_create_bf16(&s, false, true);
    size_t xb_n = sf_blocked_floats(s.n, s.ci, s.ih, s.iw, 16), yb_n = sf_blocked_floats(s.n, s.co, s.oh, s.ow, 16);
    float *xb = sf_aligned_alloc(xb_n * 4), *yb = sf_aligned_alloc(yb_n * 4);
    uint16_t *x16 = sf_aligned_alloc(xb_n * 2), *wp = sf_aligned_alloc(sf_conv2d_packed_weights_bf16(p) * 2);
    sf_reorder_to_blocked(xb, x, s.n, s.ci, s.ih, s.iw, 16);
    sf_bf16_from_f32(x16, xb, xb_n);
    sf_conv2d_pack_weights_bf16(p, wp, w);
    sf_conv2d_forward_bf16(p, yb, x16, wp, NULL);
    sf_reorder_to_plain(y1, yb, s.n, s.co, s.oh, s.ow, 16);
    double e = max_rel_err(y1, y0, ny);
    cr_log_info("bf16 forward against unrounded fp32: max rel err %.3e", e);
    cr_expect(e > 1e-5 && e < 2e-2, "max rel err %.3e", e);
    sf_conv2d_plan_destroy(p);
    sf_free_aligned(xb), sf_free_aligned(yb), sf_free_aligned(x16), sf_free_aligned(wp);
    free(x), free(w), free(y0), free(y1);
}

// A first layer (plain x, few channels): the forward on channel-pair planes and backward-weights on plain
// image pairs against the fp32 reference on the rounded inputs. Shapes: ResNet's 7x7 stride 2 (3 -> 64
// channels, 4 output blocks), the same at 1 and 2 output blocks (the plain tiles in 7-column rows), a
// 3x3 stride 1 and an even channel count, odd batches throughout (a zero image in the last pair).
Test(conv2d_bf16, first_layer_matches_reference_on_rounded_inputs) {
    sf_conv2d_shape probe = sf_conv2d_shape_make(1, 3, 8, 8, 16, 7, 7, 2, 3);
    if (!sf_conv2d_bf16_ok(&probe)) cr_skip_test("no AVX512_BF16 on this CPU or path (%s)", sf_isa_name(sf_isa_active()));
    const sf_conv2d_shape cases[] = {
        sf_conv2d_shape_make(3, 3, 30, 30, 64, 7, 7, 2, 3),
        sf_conv2d_shape_make(3, 3, 23, 19, 32, 7, 7, 2, 3),
        sf_conv2d_shape_make(1, 3, 17, 17, 16, 7, 7, 2, 3),
        sf_conv2d_shape_make(3, 3, 12, 14, 24, 3, 3, 1, 1),
        sf_conv2d_shape_make(5, 2, 9, 9, 16, 5, 5, 1, 2),
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const sf_conv2d_shape *s = &cases[c];
        size_t nx = (size_t)s->n * s->ci * s->ih * s->iw, ny = (size_t)s->n * s->co * s->oh * s->ow;
        size_t nw = (size_t)s->co * s->ci * s->kh * s->kw, plane = (size_t)s->ih * s->iw;
        float *x = malloc(nx * 4), *w = malloc(nw * 4), *b = malloc(s->co * 4), *dy = malloc(ny * 4);
        fill(x, nx, 200 + c), fill(w, nw, 300 + c), fill(b, s->co, 400 + c), fill(dy, ny, 500 + c);
        float *xr = malloc(nx * 4), *wr = malloc(nw * 4), *dyr = malloc(ny * 4);
        memcpy(xr, x, nx * 4), memcpy(wr, w, nw * 4), memcpy(dyr, dy, ny * 4);
        round_bf16(xr, nx), round_bf16(wr, nw), round_bf16(dyr, ny);
        float *y0 = malloc(ny * 4), *y1 = malloc(ny * 4), *dw0 = malloc(nw * 4), *db0 = malloc(s->co * 4);
        float *dw1 = malloc(nw * 4), *db1 = malloc(s->co * 4), *dbr = malloc(s->co * 4), *db_unused = malloc(s->co * 4);
        sf_conv2d_forward_ref(y0, xr, wr, b, s);
        sf_conv2d_backward_weights_ref(dw0, db_unused, dyr, xr, s);
        sf_conv2d_backward_weights_ref(dw1, dbr, dy, x, s);  // dbias: from the fp32 dy

        sf_conv2d_plan *p = sf_conv2d_plan_create_bf16(s, true, true);
        size_t yb_n = sf_blocked_floats(s->n, s->co, s->oh, s->ow, 16), pairs = (size_t)(s->n + 1) / 2;
        float *yb = sf_aligned_alloc(yb_n * 4), *dyb = sf_aligned_alloc(yb_n * 4);
        uint16_t *x16 = sf_aligned_alloc((size_t)s->n * ((s->ci + 1) / 2 * 2) * plane * 2);
        uint16_t *wp = sf_aligned_alloc(sf_conv2d_packed_weights_bf16(p) * 2);
        uint16_t *xp = sf_aligned_alloc(pairs * (nx / s->n) * 4), *dyp = sf_aligned_alloc(pairs * (yb_n / s->n) * 4);
        sf_bf16_pair_channels(x16, x, s->n, s->ci, plane);
        sf_conv2d_pack_weights_bf16(p, wp, w);
        for (size_t i = 0; i < yb_n; i++) yb[i] = NAN;  // every output element must be written
        sf_conv2d_forward_bf16(p, yb, x16, wp, b);
        sf_reorder_to_plain(y1, yb, s->n, s->co, s->oh, s->ow, 16);
        sf_reorder_to_blocked(dyb, dy, s->n, s->co, s->oh, s->ow, 16);
        sf_bf16_pair_images(xp, x, s->n, nx / s->n);
        sf_bf16_pair_images(dyp, dyb, s->n, yb_n / s->n);
        float *dw2 = malloc(nw * 4);
        for (size_t i = 0; i < nw; i++) dw2[i] = NAN;
        sf_conv2d_backward_weights_bf16(p, dw2, db1, dyp, xp, dyb);
        double ey = max_rel_err(y1, y0, ny), edw = max_rel_err(dw2, dw0, nw), edb = max_rel_err(db1, dbr, s->co);
        cr_log_info("bf16 first layer n%d ci%d %dx%d co%d k%dx%d s%d (%s / %s): y %.2e dw %.2e db %.2e", s->n, s->ci,
                    s->ih, s->iw, s->co, s->kh, s->kw, s->sh, sf_conv2d_plan_dir_algo(p, 0),
                    sf_conv2d_plan_dir_algo(p, 2), ey, edw, edb);
        cr_expect(ey < 1e-5 && edw < 1e-5 && edb < 1e-5, "case %zu: y %.3e dw %.3e db %.3e", c, ey, edw, edb);
        sf_conv2d_plan_destroy(p);
        sf_free_aligned(yb), sf_free_aligned(dyb), sf_free_aligned(x16), sf_free_aligned(wp);
        sf_free_aligned(xp), sf_free_aligned(dyp);
        free(x), free(w), free(b), free(dy), free(xr), free(wr), free(dyr), free(y0), free(y1), free(dw0), free(db0);
        free(dw1), free(db1), free(dbr), free(db_unused), free(dw2);
    }
}
