// test_data_resize.c: the antialiased RGB resize against PIL's Image.resize (goldens from
// tests/golden/make_data.py). PIL works in 22-bit fixed point and so do we: tolerance 1 grey level.
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
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
