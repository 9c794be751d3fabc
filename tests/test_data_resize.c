// test_data_resize.c: the antialiased RGB resize against PIL's Image.resize (goldens from
// tests/golden/make_data.py). PIL works in 22-bit fixed point and so do we: tolerance 1 grey level.
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "data/resize.h"
#include "util/npy.h"

#define N_CASES 8

static uint8_t *to_u8(const npy_array *a) {
    uint8_t *p = malloc(a->count);
    for (size_t i = 0; i < a->count; i++) p[i] = (uint8_t)a->f[i];
    return p;
}

static void check_case(int i, const char *fname, sf_resize_filter f) {
    char name[64];
    snprintf(name, sizeof name, "data/resize_%d_in.npy", i);
    npy_array in = npy_load(name);
    snprintf(name, sizeof name, "data/resize_%d_%s.npy", i, fname);
    npy_array ref = npy_load(name);
    int h = (int)in.shape[0], w = (int)in.shape[1], oh = (int)ref.shape[0], ow = (int)ref.shape[1];
    uint8_t *src = to_u8(&in), *dst = malloc(ref.count);
    void *scratch = malloc(sf_resize_scratch_bytes(ow, oh, w, h, f));
    sf_resize_rgb8(dst, ow, oh, src, w, h, f, scratch);
    int maxd = 0;
    size_t ndiff = 0;
    for (size_t k = 0; k < ref.count; k++) {
        int d = abs((int)dst[k] - (int)ref.f[k]);
        if (d > maxd) maxd = d;
        ndiff += d != 0;
    }
    cr_log_info("resize %s %dx%d -> %dx%d: max |diff| %d, %zu of %zu values differ", fname, w, h, ow, oh, maxd,
                ndiff, ref.count);
    cr_expect_leq(maxd, 1, "resize %s case %d: max diff %d grey levels", fname, i, maxd);
    free(scratch);
    free(src);
    free(dst);
    npy_free(&in);
    npy_free(&ref);
}

Test(data_resize, bilinear_matches_pil) {
    for (int i = 0; i < N_CASES; i++) check_case(i, "bilinear", SF_FILTER_BILINEAR);
}

Test(data_resize, bicubic_matches_pil) {
    for (int i = 0; i < N_CASES; i++) check_case(i, "bicubic", SF_FILTER_BICUBIC);
}

// A constant image stays constant at any size: the normalised weights sum to one.
Test(data_resize, constant_preserved) {
    uint8_t src[50 * 30 * 3], dst[7 * 11 * 3];
    for (size_t i = 0; i < sizeof src; i++) src[i] = (uint8_t)(i % 3 == 0 ? 200 : i % 3 == 1 ? 17 : 255);
    sf_resize_rgb8(dst, 7, 11, src, 50, 30, SF_FILTER_BICUBIC, NULL);
    for (size_t i = 0; i < sizeof dst; i++) cr_assert_eq(dst[i], src[i % 3]);
}

// sf_image_shrink: the shorter side becomes `side`, the longer one scales with it (rounded half up), the
// pixels are the bicubic resize's; images already small enough, and side 0, are left untouched.
Test(data_resize, image_shrink_sizes_and_pixels) {
    const int cases[][4] = {  // w, h, side, expected longer side
        {480, 320, 128, 192}, {320, 480, 128, 192}, {543, 433, 128, 161}, {300, 300, 128, 128},
        {683, 480, 128, 182}, {129, 1000, 128, 992}, {10, 7, 3, 4}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int w = cases[c][0], h = cases[c][1], side = cases[c][2];
        uint8_t *src = malloc((size_t)w * h * 3);
        for (size_t i = 0; i < (size_t)w * h * 3; i++) src[i] = (uint8_t)((i * 2654435761u) >> 24);
        sf_image img = {.px = malloc((size_t)w * h * 3), .w = w, .h = h};
        memcpy(img.px, src, (size_t)w * h * 3);
        sf_image_shrink(&img, side);
        int ow = w < h ? side : cases[c][3], oh = w < h ? cases[c][3] : side;
        cr_assert_eq(img.w, ow, "%dx%d to %d: width %d, expected %d", w, h, side, img.w, ow);
        cr_assert_eq(img.h, oh, "%dx%d to %d: height %d, expected %d", w, h, side, img.h, oh);
        uint8_t *ref = malloc((size_t)ow * oh * 3);
        sf_resize_rgb8(ref, ow, oh, src, w, h, SF_FILTER_BICUBIC, NULL);
        cr_assert_eq(memcmp(img.px, ref, (size_t)ow * oh * 3), 0, "%dx%d: pixels differ from the resize", w, h);
        free(ref);
        free(img.px);
        free(src);
    }
    const int keep[][3] = {{128, 500, 128}, {100, 90, 128}, {640, 480, 0}};
    for (size_t c = 0; c < sizeof keep / sizeof keep[0]; c++) {
        int w = keep[c][0], h = keep[c][1];
        uint8_t *px = calloc((size_t)w * h * 3, 1);
        sf_image img = {.px = px, .w = w, .h = h};
        sf_image_shrink(&img, keep[c][2]);
        cr_assert(img.px == px && img.w == w && img.h == h, "%dx%d to %d: changed", w, h, keep[c][2]);
        free(px);
    }
}
