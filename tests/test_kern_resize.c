// test_kern_resize.c: bilinear resize (align_corners=False) up and down against F.interpolate (golden
// files from tests/golden/make_layers.py) in plain NCHW and the blocked layouts vb = 4, 8, 16, and a
// finite-difference check of the backward.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "springfield.h"
#include "util/npy.h"
#include "util/blocked.h"

static const int k_vbs[] = {1, 4, 8, 16};
#define N_VBS (int)(sizeof k_vbs / sizeof k_vbs[0])

static const char *k_cases[] = {
    "resize_1x1_4x4_n1",   "resize_1x1_4x4_n3",   "resize_3x3_4x4_n1",   "resize_3x3_4x4_n3",
    "resize_7x5_4x4_n1",   "resize_7x5_4x4_n3",   "resize_13x11_5x3_n1", "resize_13x11_5x3_n3",
    "resize_5x7_9x11_n1",  "resize_5x7_9x11_n3",
};
#define N_CASES (int)(sizeof k_cases / sizeof k_cases[0])

Test(resize, golden_all_layouts) {
    for (int ci = 0; ci < N_CASES; ci++)
        for (int v = 0; v < N_VBS; v++) {
            int vb = k_vbs[v];
            npy_array x = npy_load(gname(k_cases[ci], "x")), y = npy_load(gname(k_cases[ci], "y"));
            npy_array dy = npy_load(gname(k_cases[ci], "dy")), dx = npy_load(gname(k_cases[ci], "dx"));
            int n = (int)x.shape[0], c = (int)x.shape[1], ih = (int)x.shape[2], iw = (int)x.shape[3];
            int oh = (int)y.shape[2], ow = (int)y.shape[3];
            float *xb = to_blocked(x.f, n, c, ih * iw, vb), *dyb = to_blocked(dy.f, n, c, oh * ow, vb);
            size_t nyb = sf_blocked_floats(n, c, oh, ow, vb), nxb = sf_blocked_floats(n, c, ih, iw, vb);
            float *yb = malloc(nyb * sizeof(float)), *dxb = malloc(nxb * sizeof(float));
            for (size_t i = 0; i < nyb; i++) yb[i] = NAN;
            for (size_t i = 0; i < nxb; i++) dxb[i] = NAN;
            sf_resize_bilinear_forward(yb, xb, n, c, ih, iw, oh, ow, vb);
            sf_resize_bilinear_backward(dxb, dyb, n, c, ih, iw, oh, ow, vb);
            float *yp = malloc(y.count * sizeof(float)), *dxp = malloc(x.count * sizeof(float));
            cr_assert_eq(to_plain(yp, yb, n, c, oh * ow, vb), 0.0f, "%s vb %d: padding lane in y", k_cases[ci], vb);
            cr_assert_eq(to_plain(dxp, dxb, n, c, ih * iw, vb), 0.0f, "%s vb %d: padding lane in dx", k_cases[ci], vb);
            double ey = max_rel_err(yp, y.f, y.count), edx = max_rel_err(dxp, dx.f, dx.count);
            cr_log_info("%-20s vb %2d: y max rel err %.2e, dx %.2e", k_cases[ci], vb, ey, edx);
            cr_expect_leq(ey, 1e-6, "%s vb %d: y %.3e", k_cases[ci], vb, ey);
            cr_expect_leq(edx, 1e-6, "%s vb %d: dx %.3e", k_cases[ci], vb, edx);
            free(xb), free(dyb), free(yb), free(dxb), free(yp), free(dxp);
            npy_free(&x), npy_free(&y), npy_free(&dy), npy_free(&dx);
        }
}

// Finite differences of L = sum r * resize(x) in double, for every element of x (the map is linear, so
// the difference quotient is exact up to rounding).
static void fd_check(int ih, int iw, int oh, int ow, int vb) {
    int n = 2, c = 3;
    size_t nx = sf_blocked_floats(n, c, ih, iw, vb), ny = sf_blocked_floats(n, c, oh, ow, vb);
    size_t px = (size_t)n * c * ih * iw, py = (size_t)n * c * oh * ow;
    float *xp = malloc(px * sizeof(float)), *rp = malloc(py * sizeof(float)), *y = malloc(ny * sizeof(float));
    float *dx = malloc(nx * sizeof(float));
    sf_rng g;
    sf_rng_seed(&g, 9, (uint64_t)(ih * 1000 + oh * 10 + vb));
    for (size_t i = 0; i < px; i++) xp[i] = sf_rng_uniform_range(&g, -1.0f, 1.0f);
    for (size_t i = 0; i < py; i++) rp[i] = sf_rng_uniform_range(&g, -1.0f, 1.0f);
    float *x = to_blocked(xp, n, c, ih * iw, vb), *r = to_blocked(rp, n, c, oh * ow, vb);
    sf_resize_bilinear_backward(dx, r, n, c, ih, iw, oh, ow, vb);
    const float h = 1e-2f;
    double err = 0, gmax = 0;
    for (size_t i = 0; i < nx; i++) {
        double l[2];
        float x0 = x[i];
        for (int s = 0; s < 2; s++) {
            x[i] = x0 + (s ? -h : h);
            sf_resize_bilinear_forward(y, x, n, c, ih, iw, oh, ow, vb);
            l[s] = 0;
            for (size_t j = 0; j < ny; j++) l[s] += (double)r[j] * y[j];
        }
        x[i] = x0;
        err = fmax(err, fabs((l[0] - l[1]) / (2.0 * h) - dx[i]));
        gmax = fmax(gmax, fabs(dx[i]));
    }
    double rel = err / fmax(gmax, 1.0);
    cr_log_info("finite differences %dx%d -> %dx%d vb %2d: max rel err %.2e", ih, iw, oh, ow, vb, rel);
    cr_expect_leq(rel, 1e-4, "%dx%d -> %dx%d vb %d: %.3e", ih, iw, oh, ow, vb, rel);
    free(xp), free(rp), free(y), free(dx), free(x), free(r);
}

Test(resize, finite_differences) {
    for (int v = 0; v < N_VBS; v++) {
        fd_check(1, 1, 4, 4, k_vbs[v]);
        fd_check(3, 3, 4, 4, k_vbs[v]);
        fd_check(7, 5, 4, 4, k_vbs[v]);
        fd_check(9, 7, 4, 3, k_vbs[v]);
        fd_check(3, 5, 7, 9, k_vbs[v]);
    }
}

// Same size is the identity; the 1x1 source broadcasts.
Test(resize, identity_and_broadcast) {
    int n = 2, c = 19, h = 5, w = 7;
    size_t cnt = (size_t)n * c * h * w;
    float *x = malloc(cnt * sizeof(float)), *y = malloc(cnt * sizeof(float));
    for (size_t i = 0; i < cnt; i++) x[i] = (float)i * 0.25f - 3.0f;
    sf_resize_bilinear_forward(y, x, n, c, h, w, h, w, 1);
    cr_expect_eq(max_abs_err(y, x, cnt), 0.0);
    float one[2] = {1.5f, -2.0f}, big[2 * 9 * 11];
    sf_resize_bilinear_forward(big, one, 1, 2, 1, 1, 9, 11, 1);
    for (int i = 0; i < 2 * 99; i++) cr_expect_eq(big[i], one[i / 99]);
    free(x), free(y);
}
