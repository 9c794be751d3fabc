// test_kern_conv2d.c: the blocked direct convolution (forward, backward-data, backward-weights) against
// the naive reference, the reference against PyTorch goldens, finite-difference gradients, and the
// bitwise reproducibility of deterministic backward-weights. Runs on the path SPRINGFIELD_ISA selects.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "springfield.h"
#include "util/npy.h"

static void fill(float *x, size_t n, uint64_t seed) {
    sf_rng r;
    sf_rng_seed(&r, seed, 7);
    for (size_t i = 0; i < n; i++) x[i] = sf_rng_uniform_range(&r, -1.0f, 1.0f);
}

static size_t n_x(const sf_conv2d_shape *s) { return (size_t)s->n * s->ci * s->ih * s->iw; }
static size_t n_y(const sf_conv2d_shape *s) { return (size_t)s->n * s->co * s->oh * s->ow; }
static size_t n_w(const sf_conv2d_shape *s) { return (size_t)s->co * s->ci * s->kh * s->kw; }

// The fast path on plain tensors: reorders in, runs the plan (path `algo`), reorders out. Any output may
// be NULL. x (N,Ci,H,W), w (Co,Ci,KH,KW), bias (Co) or NULL, dy (N,Co,OH,OW); y, dx, dw, db plain likewise.
// vb: the channel block of the blocked tensors (sf_vb(), or a first layer's sf_vb_first(co)); xvb: that
// of blocked x and dx (vb, or 8 for a narrow-input plan).
static void fast_conv_xvb(const sf_conv2d_shape *s, bool x_plain, sf_conv2d_algo algo, int vb, int xvb,
                          const float *x, const float *w, const float *bias, const float *dy, float *y, float *dx,
                          float *dw, float *db) {
    sf_conv2d_plan *p = xvb != vb ? sf_conv2d_plan_create_narrow_x(s, true, vb, xvb)
                                  : sf_conv2d_plan_create_vb(s, x_plain, true, algo, vb);
    size_t xb_n = x_plain ? n_x(s) : sf_blocked_floats(s->n, s->ci, s->ih, s->iw, xvb);
    size_t yb_n = sf_blocked_floats(s->n, s->co, s->oh, s->ow, vb);
    float *xb = sf_aligned_alloc(xb_n * sizeof(float)), *dxb = sf_aligned_alloc(xb_n * sizeof(float));
    float *yb = sf_aligned_alloc(yb_n * sizeof(float)), *dyb = sf_aligned_alloc(yb_n * sizeof(float));
    float *wp = sf_aligned_alloc(sf_conv2d_packed_weights_floats(p) * sizeof(float));
    if (x_plain) memcpy(xb, x, xb_n * sizeof(float));
    else sf_reorder_to_blocked(xb, x, s->n, s->ci, s->ih, s->iw, xvb);
    sf_conv2d_pack_weights(p, wp, w);
    if (y) {
        sf_conv2d_forward(p, yb, xb, wp, bias);
        sf_reorder_to_plain(y, yb, s->n, s->co, s->oh, s->ow, vb);
        // Padding channels of the blocked output must be zero (layout contract).
        for (size_t i = 0; i < yb_n; i++)
            if ((int)((i / vb / ((size_t)s->oh * s->ow)) % sf_cblocks(s->co, vb)) * vb + (int)(i % vb) >= s->co)
                cr_assert_eq(yb[i], 0.0f, "nonzero padding channel in y");
    }
    if (dy) sf_reorder_to_blocked(dyb, dy, s->n, s->co, s->oh, s->ow, vb);
    if (dx) {
        // Every element of dx must be written, also those that no tap reaches.
        for (size_t i = 0; i < xb_n; i++) dxb[i] = NAN;
        sf_conv2d_backward_data(p, dxb, dyb, wp);
        if (x_plain) memcpy(dx, dxb, xb_n * sizeof(float));
        else sf_reorder_to_plain(dx, dxb, s->n, s->ci, s->ih, s->iw, xvb);
        // Padding channels of blocked dx must be zero too.
        for (size_t i = 0; !x_plain && i < xb_n; i++)
            if ((int)(i % xvb) + (int)(i / xvb / ((size_t)s->ih * s->iw) % sf_cblocks(s->ci, xvb)) * xvb >= s->ci)
                cr_assert_eq(dxb[i], 0.0f, "nonzero padding channel in dx");
    }
    if (dw) sf_conv2d_backward_weights(p, dw, db, dyb, xb);
    sf_free_aligned(xb);
    sf_free_aligned(dxb);
    sf_free_aligned(yb);
    sf_free_aligned(dyb);
    sf_free_aligned(wp);
    sf_conv2d_plan_destroy(p);
}

static void fast_conv_vb(const sf_conv2d_shape *s, bool x_plain, sf_conv2d_algo algo, int vb, const float *x,
                         const float *w, const float *bias, const float *dy, float *y, float *dx, float *dw,
                         float *db) {
    fast_conv_xvb(s, x_plain, algo, vb, vb, x, w, bias, dy, y, dx, dw, db);
}

static void fast_conv_algo(const sf_conv2d_shape *s, bool x_plain, sf_conv2d_algo algo, const float *x,
                           const float *w, const float *bias, const float *dy, float *y, float *dx, float *dw,
                           float *db) {
    fast_conv_vb(s, x_plain, algo, sf_vb(), x, w, bias, dy, y, dx, dw, db);
}

static void fast_conv(const sf_conv2d_shape *s, bool x_plain, const float *x, const float *w, const float *bias,
                      const float *dy, float *y, float *dx, float *dw, float *db) {
    fast_conv_algo(s, x_plain, SF_CONV_AUTO, x, w, bias, dy, y, dx, dw, db);
}

static const char *algo_name(sf_conv2d_algo a) { return a == SF_CONV_GEMM ? "gemm" : a == SF_CONV_DIRECT ? "direct" : "auto"; }

// Compares all three directions of the fast path (forced to `algo`) with the reference on random data.
static double check_vs_ref_xvb(const sf_conv2d_shape *s, bool x_plain, sf_conv2d_algo algo, int vb, int xvb,
                               uint64_t seed) {
    float *x = malloc(n_x(s) * 4), *w = malloc(n_w(s) * 4), *b = malloc(s->co * 4), *dy = malloc(n_y(s) * 4);
    float *y0 = malloc(n_y(s) * 4), *y1 = malloc(n_y(s) * 4), *dx0 = malloc(n_x(s) * 4), *dx1 = malloc(n_x(s) * 4);
    float *dw0 = malloc(n_w(s) * 4), *dw1 = malloc(n_w(s) * 4), *db0 = malloc(s->co * 4), *db1 = malloc(s->co * 4);
    fill(x, n_x(s), seed);
    fill(w, n_w(s), seed + 1);
    fill(b, s->co, seed + 2);
    fill(dy, n_y(s), seed + 3);
    sf_conv2d_forward_ref(y0, x, w, b, s);
    sf_conv2d_backward_data_ref(dx0, dy, w, s);
    sf_conv2d_backward_weights_ref(dw0, db0, dy, x, s);
    fast_conv_xvb(s, x_plain, algo, vb, xvb, x, w, b, dy, y1, dx1, dw1, db1);
    double e[4] = {max_rel_err(y1, y0, n_y(s)), max_rel_err(dx1, dx0, n_x(s)), max_rel_err(dw1, dw0, n_w(s)),
                   max_rel_err(db1, db0, s->co)};
    double worst = 0;
    for (int i = 0; i < 4; i++) worst = fmax(worst, e[i]);
    cr_log_info("%s %s vb%d xvb%d n%d ci%d %dx%d co%d k%dx%d s%d p%d%s: y %.2e dx %.2e dw %.2e db %.2e",
                sf_isa_name(sf_isa_active()), algo_name(algo), vb, xvb, s->n, s->ci, s->ih, s->iw, s->co, s->kh, s->kw, s->sh,
                s->ph, x_plain ? " plain" : "", e[0], e[1], e[2], e[3]);
    free(x), free(w), free(b), free(dy), free(y0), free(y1), free(dx0), free(dx1);
    free(dw0), free(dw1), free(db0), free(db1);
    return worst;
}

static double check_vs_ref_vb(const sf_conv2d_shape *s, bool x_plain, sf_conv2d_algo algo, int vb, uint64_t seed) {
    return check_vs_ref_xvb(s, x_plain, algo, vb, vb, seed);
}

static double check_vs_ref_algo(const sf_conv2d_shape *s, bool x_plain, sf_conv2d_algo algo, uint64_t seed) {
    return check_vs_ref_vb(s, x_plain, algo, sf_vb(), seed);
}

static double check_vs_ref(const sf_conv2d_shape *s, bool x_plain, uint64_t seed) {
    return check_vs_ref_algo(s, x_plain, SF_CONV_AUTO, seed);
}

typedef struct {
    int n, ci, h, w, co, k, s, p;
    bool plain;
} conv_case;

// Strides 1..3, paddings 0..3, kernels 1..7, channel counts that are and are not multiples of vb,
// maps narrower than a strip and wider than two, the plain first-layer input, and batches large enough
// for strips across images (with a partial last chunk).
static const conv_case random_cases[] = {
    {1, 3, 9, 11, 8, 3, 1, 0, true},   {2, 3, 15, 13, 32, 7, 2, 3, true},  {1, 5, 10, 9, 20, 3, 1, 1, false},
    {2, 16, 7, 7, 16, 3, 1, 1, false}, {1, 17, 9, 8, 33, 3, 2, 1, false},  {1, 32, 13, 11, 64, 5, 2, 0, false},
    {3, 8, 6, 6, 24, 1, 1, 0, false},  {2, 24, 9, 9, 12, 1, 2, 0, false},  {1, 7, 12, 12, 9, 2, 1, 0, false},
    {1, 12, 11, 10, 40, 7, 2, 3, false}, {1, 6, 5, 5, 70, 3, 1, 2, false}, {1, 20, 33, 35, 8, 3, 1, 1, false},
    {1, 4, 14, 14, 6, 4, 3, 2, false},  {2, 1, 8, 8, 5, 5, 1, 2, true},    {1, 64, 4, 4, 130, 3, 1, 1, false},
    {1, 9, 3, 3, 11, 2, 1, 0, false},   {1, 3, 8, 9, 70, 6, 2, 3, true},   {1, 10, 17, 9, 3, 3, 2, 2, false},
    {7, 20, 5, 6, 36, 3, 1, 1, false},  {9, 3, 7, 9, 16, 3, 2, 1, true},   {30, 16, 3, 4, 16, 2, 1, 0, false},
    // Backward-data in passes over the output channels (weights beyond L1, maps of 64+ pixels), the last
    // pass partial (70 = 8 x 8 + 6) or whole (136 = 17 x 8).
    {2, 20, 9, 10, 70, 3, 1, 1, false}, {3, 8, 9, 9, 136, 5, 1, 2, false},
    // Plain 3x3 input at stride 1 with rows long enough for the row-sharing strips (AVX2: 11 pixels).
    {2, 3, 10, 30, 8, 3, 1, 0, true},   {1, 3, 7, 27, 5, 3, 1, 1, true},
    // Plain 7x7 input in whole kernel rows (interior columns; padded edges take the tap-list kernel), at
    // stride 1 and 2, one and two output blocks and a partial block.
    {2, 3, 13, 36, 16, 7, 1, 2, true},  {2, 3, 21, 41, 12, 7, 2, 3, true},  {1, 1, 9, 30, 8, 7, 2, 0, true},
    // Plain dx by dot products for every channel count it takes (1..4), and strides that leave dx pixels
    // without any tap (they must come out zero).
    {1, 2, 11, 13, 10, 3, 2, 1, true},  {2, 4, 9, 20, 16, 5, 1, 2, true},   {1, 3, 10, 10, 8, 1, 2, 0, true},
    {1, 2, 11, 11, 20, 2, 3, 0, true},
    // 1x1 backward-data in per-thread items of several images, the last one partial (9 images of 16
    // pixels), with a partial channel block of dx, and with padding (whole dx rows and columns untouched).
    {9, 40, 8, 8, 20, 1, 2, 0, false}, {3, 20, 7, 8, 24, 1, 2, 1, false}, {5, 17, 5, 7, 9, 1, 3, 1, false},
    // Weights larger than the input, several chunks of images: work items go out group by group.
    {7, 64, 3, 3, 128, 3, 1, 1, false}, {13, 32, 4, 5, 96, 3, 1, 1, false},
};

Test(conv2d, fast_matches_reference) {
    int n = (int)(sizeof random_cases / sizeof random_cases[0]);
    for (int i = 0; i < n; i++) {
        const conv_case *c = &random_cases[i];
        sf_conv2d_shape s = sf_conv2d_shape_make(c->n, c->ci, c->h, c->w, c->co, c->k, c->k, c->s, c->p);
        // Both paths on every case (1x1 would otherwise only see the GEMM that auto picks).
        for (int a = 0; a < 2; a++) {
            sf_conv2d_algo algo = a ? SF_CONV_GEMM : SF_CONV_DIRECT;
            double e = check_vs_ref_algo(&s, c->plain, algo, 100 + i);
            cr_expect(e < 1e-5, "case %d (%s): max rel err %.3e", i, algo_name(algo), e);
        }
    }
}

// Every register blocking a profile can ask for (ocb 1..max, leftovers along rows or across images) on
// the cases that reach every class: all must match the reference.
Test(conv2d, every_tuning_matches_reference) {
    sf_isa isa = sf_isa_active();
    int n = (int)(sizeof random_cases / sizeof random_cases[0]), max = sf_conv_max_ocb(isa);
    const int acrosses[] = {0, 4, 4096};
    for (int ocb = 1; ocb <= max; ocb++)
        for (int a = 0; a < 3; a++) {
            for (int c = 0; c < SF_CONV_N_CLASSES; c++)
                cr_assert_eq(sf_conv_set_tuning(isa, (sf_conv_class)c, ocb, acrosses[a]), 0);
            for (int i = 0; i < n; i++) {
                const conv_case *cc = &random_cases[i];
                sf_conv2d_shape s = sf_conv2d_shape_make(cc->n, cc->ci, cc->h, cc->w, cc->co, cc->k, cc->k, cc->s, cc->p);
                double e = check_vs_ref_algo(&s, cc->plain, SF_CONV_DIRECT, 300 + i);
                cr_expect(e < 1e-5, "ocb %d across %d case %d: max rel err %.3e", ocb, acrosses[a], i, e);
            }
        }
    for (int c = 0; c < SF_CONV_N_CLASSES; c++) sf_conv_set_tuning(isa, (sf_conv_class)c, -1, -1);
}

// Every layer of the two seed models with its real channel counts, at small spatial sizes.
static const conv_case model_cases[] = {
    {2, 3, 12, 11, 8, 3, 1, 0, true},  {1, 8, 9, 9, 16, 3, 1, 0, false},   {1, 16, 8, 7, 32, 3, 1, 0, false},
    {1, 32, 6, 6, 64, 3, 1, 0, false}, {1, 64, 5, 5, 96, 3, 1, 0, false},  {1, 3, 17, 19, 32, 7, 2, 0, true},
    {1, 32, 11, 11, 64, 5, 2, 0, false}, {1, 64, 5, 5, 128, 3, 1, 1, false}, {1, 128, 4, 4, 256, 3, 1, 1, false},
    {1, 256, 4, 3, 256, 3, 1, 1, false}, {2, 256, 4, 4, 256, 2, 1, 0, false},
};

Test(conv2d, model_layers_match_reference) {
    // Under qemu only the narrow layers: the 256-channel references alone take minutes there.
    int n = (int)(sizeof model_cases / sizeof model_cases[0]);
    if (getenv("SPRINGFIELD_EMULATED")) n = 7;
    for (int i = 0; i < n; i++) {
        const conv_case *c = &model_cases[i];
        sf_conv2d_shape s = sf_conv2d_shape_make(c->n, c->ci, c->h, c->w, c->co, c->k, c->k, c->s, c->p);
        double e = check_vs_ref(&s, c->plain, 200 + i);
        cr_expect(e < 1e-5, "model layer %d: max rel err %.3e", i, e);
        e = check_vs_ref_algo(&s, c->plain, SF_CONV_GEMM, 200 + i);
        cr_expect(e < 1e-5, "model layer %d (gemm): max rel err %.3e", i, e);
    }
}

// A first layer with at most 8 output channels writes them in blocks of sf_vb_first(co): 8 on AVX-512,
// where the plan runs the AVX2 kernels (the engine does this for `simple`'s conv1). Every direction
// and both paths against the reference, for 1..8 output channels and the strides of the seed's models.
Test(conv2d, narrow_first_layer_matches_reference) {
    const char *nv = getenv("SPRINGFIELD_NARROW");  // "0": 16-lane first layers (comparisons)
    bool narrow_off = nv && !strcmp(nv, "0");
    static const conv_case cases[] = {
        {2, 3, 12, 11, 8, 3, 1, 0, true}, {3, 3, 10, 13, 5, 3, 1, 1, true}, {1, 3, 17, 19, 8, 7, 2, 0, true},
        {2, 1, 9, 9, 1, 3, 1, 0, true},   {1, 3, 14, 14, 3, 5, 2, 2, true}, {26, 3, 8, 9, 8, 3, 1, 0, true},
        {2, 2, 10, 12, 6, 3, 1, 0, true}, {1, 3, 11, 14, 8, 5, 1, 2, true}, {2, 3, 9, 16, 7, 7, 1, 3, true},
    };
    for (int i = 0; i < (int)(sizeof cases / sizeof cases[0]); i++) {
        const conv_case *c = &cases[i];
        sf_conv2d_shape s = sf_conv2d_shape_make(c->n, c->ci, c->h, c->w, c->co, c->k, c->k, c->s, c->p);
        int vb = sf_vb_first(c->co);
        cr_expect(vb == (sf_vb() == 16 && !narrow_off ? 8 : sf_vb()), "sf_vb_first(%d) = %d on vb %d", c->co, vb,
                  sf_vb());
        double e = check_vs_ref_vb(&s, true, SF_CONV_AUTO, vb, 300 + i);
        cr_expect(e < 1e-5, "narrow first layer %d: max rel err %.3e", i, e);
        e = check_vs_ref_vb(&s, true, SF_CONV_GEMM, vb, 300 + i);
        cr_expect(e < 1e-5, "narrow first layer %d (gemm): max rel err %.3e", i, e);
    }
    sf_conv2d_shape s = sf_conv2d_shape_make(2, 3, 12, 11, 8, 3, 3, 1, 0);
    sf_conv2d_plan *p = sf_conv2d_plan_create_vb(&s, true, true, SF_CONV_AUTO, sf_vb_first(8));
    if (sf_isa_active() == SF_ISA_AVX512 && !narrow_off) {
        // Forward and backward-weights two pixels per zmm; backward-data (not needed by a first layer in
        // training) stays on the AVX2 kernels.
        cr_expect(strstr(sf_conv2d_plan_dir_algo(p, 0), "_pair8") != NULL, "avx512, 8 channels: fwd %s",
                  sf_conv2d_plan_dir_algo(p, 0));
        cr_expect(strstr(sf_conv2d_plan_dir_algo(p, 1), "avx2") != NULL, "avx512, 8 channels: bwd_d %s",
                  sf_conv2d_plan_dir_algo(p, 1));
        cr_expect(!strcmp(sf_conv2d_plan_dir_algo(p, 2), "direct_avx512_pair8_wgrad"), "avx512, 8 channels: bwd_w %s",
                  sf_conv2d_plan_dir_algo(p, 2));
    }
    sf_conv2d_plan_destroy(p);
}

// A layer reading an 8-lane map into 16-lane outputs (after simple's narrow first layer on AVX-512): every
// direction against the reference, at strides 1 and 2, with padding, rows longer and shorter than the
// row-sharing strip, and fewer than 8 channels. Elsewhere the plan is refused (sf_conv2d_narrow_x_ok).
Test(conv2d, narrow_input_matches_reference) {
    static const conv_case cases[] = {
        {2, 8, 30, 29, 16, 3, 1, 0, false}, {3, 8, 11, 12, 16, 3, 1, 1, false}, {2, 5, 13, 14, 20, 3, 2, 1, false},
        {1, 8, 9, 9, 40, 1, 1, 0, false},   {2, 6, 12, 10, 16, 5, 1, 2, false}, {26, 8, 6, 7, 16, 3, 1, 0, false},
    };
    sf_conv2d_shape s0 = sf_conv2d_shape_make(1, 8, 8, 8, 16, 3, 3, 1, 0);
    if (!sf_conv2d_narrow_x_ok(&s0, sf_vb(), 8)) {
        cr_expect(sf_isa_active() != SF_ISA_AVX512, "AVX-512 must take an 8-lane input");
        cr_log_info("%s: no narrow-input plans", sf_isa_name(sf_isa_active()));
        return;
    }
    sf_conv2d_shape s9 = sf_conv2d_shape_make(1, 9, 8, 8, 16, 3, 3, 1, 0);
    cr_expect(!sf_conv2d_narrow_x_ok(&s9, 16, 8), "9 channels do not fit one 8-lane block");
    for (int i = 0; i < (int)(sizeof cases / sizeof cases[0]); i++) {
        const conv_case *c = &cases[i];
        sf_conv2d_shape s = sf_conv2d_shape_make(c->n, c->ci, c->h, c->w, c->co, c->k, c->k, c->s, c->p);
        double e = check_vs_ref_xvb(&s, false, SF_CONV_AUTO, 16, 8, 400 + i);
        cr_expect(e < 1e-5, "narrow input %d: max rel err %.3e", i, e);
    }
}

// The auto choice per direction: backward-data of a strided 1x1 takes the GEMM; everything else, the
// backward-weights of a 3x3 map and every first layer included, stays direct.
static void expect_paths(const sf_conv2d_shape *s, bool plain, const char *want) {
    sf_conv2d_plan *p = sf_conv2d_plan_create(s, plain, true);
    char got[4];
    for (int d = 0; d < 3; d++) got[d] = strncmp(sf_conv2d_plan_dir_algo(p, d), "gemm", 4) ? 'd' : 'g';
    got[3] = 0;
    cr_log_info("n%d ci%d %dx%d co%d k%d s%d: %s (%s)", s->n, s->ci, s->ih, s->iw, s->co, s->kh, s->sh, got,
                sf_conv2d_plan_algo(p));
    cr_expect(!strcmp(got, want), "paths %s, expected %s (d: direct, g: gemm)", got, want);
    sf_conv2d_plan_destroy(p);
}

Test(conv2d, plan_chooses_path) {
    sf_conv2d_shape s1 = sf_conv2d_shape_make(8, 64, 14, 14, 128, 1, 1, 2, 0);
    sf_conv2d_shape s3 = sf_conv2d_shape_make(8, 64, 12, 12, 128, 3, 3, 1, 1);
    sf_conv2d_shape s6 = sf_conv2d_shape_make(8, 256, 4, 4, 256, 2, 2, 1, 0);
    sf_conv2d_shape s7 = sf_conv2d_shape_make(8, 3, 32, 32, 32, 7, 7, 2, 0);
    sf_conv2d_shape s7t = sf_conv2d_shape_make(8, 3, 7, 7, 32, 7, 7, 2, 3);
    expect_paths(&s1, false, "dgd");
    expect_paths(&s3, false, "ddd");
    expect_paths(&s6, false, "ddd");
    expect_paths(&s7, true, "ddd");
    expect_paths(&s7t, true, "ddd");
}

// A batch larger than the GEMM path's scratch holds runs in several chunks; backward-weights sums them.
Test(conv2d, gemm_path_in_chunks) {
    sf_conv2d_shape s = sf_conv2d_shape_make(5, 96, 24, 24, 40, 3, 3, 1, 1);
    sf_conv2d_plan *p = sf_conv2d_plan_create_algo(&s, false, true, SF_CONV_GEMM);
    cr_log_info("plan %s for 5 images", sf_conv2d_plan_dir_algo(p, 0));
    cr_expect(strcmp(sf_conv2d_plan_dir_algo(p, 0), "gemm_chunk5"), "the case no longer needs several chunks");
    sf_conv2d_plan_destroy(p);
    double e = check_vs_ref_algo(&s, false, SF_CONV_GEMM, 250);
    cr_expect(e < 1e-5, "chunked gemm: max rel err %.3e", e);
}

// The reference, the direct kernels and the SGEMM path against PyTorch (float64) for every case of
// make_conv2d.py.
Test(conv2d, goldens) {
    npy_array cases = npy_load("conv2d/cases.npy");
    cr_assert_eq(cases.ndim, 2);
    cr_assert_eq(cases.shape[1], 9);
    const char *names[8] = {"x", "w", "b", "dy", "y", "dx", "dw", "db"};
    for (int i = 0; i < (int)cases.shape[0]; i++) {
        const int64_t *c = cases.i + i * 9;
        sf_conv2d_shape s = sf_conv2d_shape_make((int)c[0], (int)c[1], (int)c[2], (int)c[3], (int)c[4], (int)c[5],
                                                 (int)c[5], (int)c[6], (int)c[7]);
        npy_array a[8];
        for (int k = 0; k < 8; k++) {
            char rel[64];
            snprintf(rel, sizeof rel, "conv2d/c%02d_%s.npy", i, names[k]);
            a[k] = npy_load(rel);
        }
        cr_assert_eq(a[0].count, n_x(&s));
        cr_assert_eq(a[4].count, n_y(&s), "case %d: y has %zu elements, shape says %zu", i, a[4].count, n_y(&s));
        float *y = malloc(n_y(&s) * 4), *dx = malloc(n_x(&s) * 4), *dw = malloc(n_w(&s) * 4), *db = malloc(s.co * 4);
        const float *x = a[0].f, *w = a[1].f, *b = a[2].f, *dy = a[3].f;
        // Paths: the reference, the direct kernels, the SGEMM path.
        static const char *path_names[3] = {"ref", "direct", "gemm"};
        double worst[3] = {0, 0, 0};
        for (int path = 0; path < 3; path++) {
            if (path == 0) {
                sf_conv2d_forward_ref(y, x, w, b, &s);
                sf_conv2d_backward_data_ref(dx, dy, w, &s);
                sf_conv2d_backward_weights_ref(dw, db, dy, x, &s);
            } else {
                fast_conv_algo(&s, c[8] != 0, path == 1 ? SF_CONV_DIRECT : SF_CONV_GEMM, x, w, b, dy, y, dx, dw, db);
            }
            double e[4] = {max_rel_err(y, a[4].f, n_y(&s)), max_rel_err(dx, a[5].f, n_x(&s)),
                           max_rel_err(dw, a[6].f, n_w(&s)), max_rel_err(db, a[7].f, s.co)};
            for (int k = 0; k < 4; k++) worst[path] = fmax(worst[path], e[k]);
            cr_log_info("golden c%02d %s (%s): y %.2e dx %.2e dw %.2e db %.2e", i, path_names[path],
                        sf_isa_name(sf_isa_active()), e[0], e[1], e[2], e[3]);
        }
        for (int path = 0; path < 3; path++)
            cr_expect(worst[path] < 1e-5, "case %d: %s path differs from torch by %.3e", i, path_names[path], worst[path]);
        free(y), free(dx), free(dw), free(db);
        for (int k = 0; k < 8; k++) npy_free(&a[k]);
    }
    npy_free(&cases);
}

// L = sum(y * r): dL/dx = backward_data(r), dL/dw = backward_weights(r, x), dL/db = sum r. Central
// differences of the fast forward at sampled coordinates (conv is linear, so only rounding separates them).
static double loss(const sf_conv2d_shape *s, bool plain, const float *x, const float *w, const float *b,
                   const float *r, float *y) {
    fast_conv(s, plain, x, w, b, NULL, y, NULL, NULL, NULL);
    double l = 0;
    for (size_t i = 0; i < n_y(s); i++) l += (double)y[i] * r[i];
    return l;
}

static double fd_err(const sf_conv2d_shape *s, bool plain, float *v, size_t nv, const float *grad, float *x,
                     float *w, float *b, const float *r, float *y, uint64_t seed) {
    const float eps = 1e-2f;
    double worst = 0, scale = 0;
    for (size_t i = 0; i < nv; i++) scale = fmax(scale, fabs(grad[i]));
    sf_rng rng;
    sf_rng_seed(&rng, seed, 3);
    for (int t = 0; t < 8; t++) {
        size_t i = sf_rng_below(&rng, (uint32_t)nv);
        float v0 = v[i];
        v[i] = v0 + eps;
        double lp = loss(s, plain, x, w, b, r, y);
        v[i] = v0 - eps;
        double lm = loss(s, plain, x, w, b, r, y);
        v[i] = v0;
        worst = fmax(worst, fabs((lp - lm) / (2 * eps) - grad[i]) / fmax(1.0, scale));
    }
    return worst;
}

Test(conv2d, finite_difference_gradients) {
    static const conv_case fd_cases[] = {
        {2, 5, 6, 7, 6, 3, 2, 1, false}, {1, 3, 9, 8, 4, 5, 2, 2, true}, {1, 4, 5, 5, 9, 2, 1, 0, false},
        {2, 3, 6, 6, 5, 3, 1, 1, false},
    };
    for (int ci = 0; ci < 4; ci++) {
        const conv_case *c = &fd_cases[ci];
        sf_conv2d_shape s = sf_conv2d_shape_make(c->n, c->ci, c->h, c->w, c->co, c->k, c->k, c->s, c->p);
        float *x = malloc(n_x(&s) * 4), *w = malloc(n_w(&s) * 4), *b = malloc(s.co * 4), *r = malloc(n_y(&s) * 4);
        float *y = malloc(n_y(&s) * 4), *dx = malloc(n_x(&s) * 4), *dw = malloc(n_w(&s) * 4), *db = malloc(s.co * 4);
        fill(x, n_x(&s), 300 + ci);
        fill(w, n_w(&s), 310 + ci);
        fill(b, s.co, 320 + ci);
        fill(r, n_y(&s), 330 + ci);
        fast_conv(&s, c->plain, x, w, b, r, NULL, dx, dw, db);
        double ex = fd_err(&s, c->plain, x, n_x(&s), dx, x, w, b, r, y, 1);
        double ew = fd_err(&s, c->plain, w, n_w(&s), dw, x, w, b, r, y, 2);
        double eb = fd_err(&s, c->plain, b, s.co, db, x, w, b, r, y, 3);
        cr_log_info("fd %s case %d: dx %.2e dw %.2e db %.2e", sf_isa_name(sf_isa_active()), ci, ex, ew, eb);
        cr_expect(ex < 2e-3 && ew < 2e-3 && eb < 2e-3, "case %d: finite differences disagree", ci);
        free(x), free(w), free(b), free(r), free(y), free(dx), free(dw), free(db);
    }
}

// Deterministic backward-weights gives the same bits on every call, with all threads taking part, on
// both paths. On 2 threads co = 24 and 48 cover both ways the direct path splits its work whatever the
// block (16: 2 and 3 output blocks, 8: 3 and 6): threads owning whole output blocks when they split
// evenly, else per-thread partial sums added in thread order.
static void check_deterministic(sf_conv2d_algo algo, int co) {
    sf_conv2d_shape s = sf_conv2d_shape_make(6, 20, 9, 9, co, 3, 3, 1, 1);
    int vb = sf_vb();
    sf_conv2d_plan *p = sf_conv2d_plan_create_algo(&s, false, true, algo);
    size_t xb_n = sf_blocked_floats(s.n, s.ci, s.ih, s.iw, vb), yb_n = sf_blocked_floats(s.n, s.co, s.oh, s.ow, vb);
    float *x = malloc(n_x(&s) * 4), *dy = malloc(n_y(&s) * 4), *xb = malloc(xb_n * 4), *dyb = malloc(yb_n * 4);
    float *dw[3], db[3][48];
    fill(x, n_x(&s), 400);
    fill(dy, n_y(&s), 401);
    sf_reorder_to_blocked(xb, x, s.n, s.ci, s.ih, s.iw, vb);
    sf_reorder_to_blocked(dyb, dy, s.n, s.co, s.oh, s.ow, vb);
    for (int k = 0; k < 3; k++) {
        dw[k] = malloc(n_w(&s) * 4);
        sf_conv2d_backward_weights(p, dw[k], db[k], dyb, xb);
    }
    cr_log_info("deterministic backward-weights (%s), co %d, on %d threads", sf_conv2d_plan_dir_algo(p, 2), co,
                sf_threads());
    for (int k = 1; k < 3; k++) {
        cr_expect(!memcmp(dw[0], dw[k], n_w(&s) * 4), "dW differs between run 0 and run %d", k);
        cr_expect(!memcmp(db[0], db[k], (size_t)co * sizeof(float)), "dbias differs between run 0 and run %d", k);
    }
    float *dw_ref = malloc(n_w(&s) * 4);
    sf_conv2d_backward_weights_ref(dw_ref, NULL, dy, x, &s);
    double e = max_rel_err(dw[0], dw_ref, n_w(&s));
    cr_expect(e < 1e-5, "deterministic dW differs from the reference by %.3e", e);
    for (int k = 0; k < 3; k++) free(dw[k]);
    free(x), free(dy), free(xb), free(dyb), free(dw_ref);
    sf_conv2d_plan_destroy(p);
}

Test(conv2d, backward_weights_deterministic) {
    for (int co = 24; co <= 48; co += 24) {
        check_deterministic(SF_CONV_DIRECT, co);
        check_deterministic(SF_CONV_GEMM, co);
    }
}
