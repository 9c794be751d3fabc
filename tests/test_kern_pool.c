// test_kern_pool.c: max, average and global average pooling against PyTorch (golden files from
// tests/golden/make_layers.py) in plain NCHW and in the blocked layouts vb = 4, 8, 16; the naive
// references against the same files; padding lanes stay zero; the fused ReLU against ReLU-then-pool;
// finite-difference gradient checks.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "springfield.h"
#include "util/npy.h"
#include "util/blocked.h"

static const int k_vbs[] = {1, 4, 8, 16};
#define N_VBS (int)(sizeof k_vbs / sizeof k_vbs[0])

typedef struct {
    const char *name;
    int max, k, s, p;
} pool_case;

static const pool_case k_cases[] = {
    {"maxpool_k2s2_n1", 1, 2, 2, 0},   {"maxpool_k2s2_n3", 1, 2, 2, 0},   {"maxpool_k3s2_n1", 1, 3, 2, 0},
    {"maxpool_k3s2_n3", 1, 3, 2, 0},   {"maxpool_k3s2p1_n1", 1, 3, 2, 1}, {"maxpool_k3s2p1_n3", 1, 3, 2, 1},
    {"avgpool_k3s2_n1", 0, 3, 2, 0},   {"avgpool_k3s2_n3", 0, 3, 2, 0},   {"avgpool_k3s2p1_n1", 0, 3, 2, 1},
    {"avgpool_k3s2p1_n3", 0, 3, 2, 1},
};
#define N_CASES (int)(sizeof k_cases / sizeof k_cases[0])

// Runs one golden case through the blocked kernels at one vb; returns the max relative errors.
static void run_case(const pool_case *pc, int vb, double *ey, double *edx) {
    npy_array x = npy_load(gname(pc->name, "x")), y = npy_load(gname(pc->name, "y"));
    npy_array dy = npy_load(gname(pc->name, "dy")), dx = npy_load(gname(pc->name, "dx"));
    sf_pool_shape s = sf_pool_shape_make((int)x.shape[0], (int)x.shape[1], (int)x.shape[2], (int)x.shape[3],
                                         pc->k, pc->s, pc->p);
    cr_assert_eq(s.oh, y.shape[2], "%s: oh %d vs %lld", pc->name, s.oh, (long long)y.shape[2]);
    cr_assert_eq(s.ow, y.shape[3], "%s: ow %d vs %lld", pc->name, s.ow, (long long)y.shape[3]);
    int ihw = s.ih * s.iw, ohw = s.oh * s.ow;
    float *xb = to_blocked(x.f, s.n, s.c, ihw, vb), *dyb = to_blocked(dy.f, s.n, s.c, ohw, vb);
    size_t nyb = sf_blocked_floats(s.n, s.c, s.oh, s.ow, vb), nxb = sf_blocked_floats(s.n, s.c, s.ih, s.iw, vb);
    float *yb = malloc(nyb * sizeof(float)), *dxb = malloc(nxb * sizeof(float));
    int32_t *am = malloc(nyb * sizeof(int32_t));
    // Garbage in the outputs proves the kernels overwrite them, padding lanes included.
    for (size_t i = 0; i < nyb; i++) yb[i] = NAN;
    for (size_t i = 0; i < nxb; i++) dxb[i] = NAN;
    if (pc->max) {
        sf_maxpool2d_forward(yb, am, xb, &s, vb);
        sf_maxpool2d_backward(dxb, dyb, am, &s, vb);
    } else {
        sf_avgpool2d_forward(yb, xb, &s, vb);
        sf_avgpool2d_backward(dxb, dyb, &s, vb);
    }
    float *yp = malloc(y.count * sizeof(float)), *dxp = malloc(x.count * sizeof(float));
    cr_assert_eq(to_plain(yp, yb, s.n, s.c, ohw, vb), 0.0f, "%s vb %d: nonzero padding lane in y", pc->name, vb);
    cr_assert_eq(to_plain(dxp, dxb, s.n, s.c, ihw, vb), 0.0f, "%s vb %d: nonzero padding lane in dx", pc->name, vb);
    *ey = max_rel_err(yp, y.f, y.count);
    *edx = max_rel_err(dxp, dx.f, dx.count);
    free(xb), free(dyb), free(yb), free(dxb), free(am), free(yp), free(dxp);
    npy_free(&x), npy_free(&y), npy_free(&dy), npy_free(&dx);
}

Test(pool, golden_all_layouts) {
    for (int i = 0; i < N_CASES; i++)
        for (int v = 0; v < N_VBS; v++) {
            double ey, edx;
            run_case(&k_cases[i], k_vbs[v], &ey, &edx);
            cr_log_info("%-20s vb %2d: y max rel err %.2e, dx %.2e", k_cases[i].name, k_vbs[v], ey, edx);
            // Max pooling copies values; average pooling rounds a 9-term float sum.
            double tol = k_cases[i].max ? 0.0 : 1e-6;
            cr_expect_leq(ey, tol, "%s vb %d: y error %.3e", k_cases[i].name, k_vbs[v], ey);
            cr_expect_leq(edx, 1e-6, "%s vb %d: dx error %.3e", k_cases[i].name, k_vbs[v], edx);
        }
}

Test(pool, reference_matches_golden) {
    for (int i = 0; i < N_CASES; i++) {
        const pool_case *pc = &k_cases[i];
        npy_array x = npy_load(gname(pc->name, "x")), y = npy_load(gname(pc->name, "y"));
        npy_array dy = npy_load(gname(pc->name, "dy")), dx = npy_load(gname(pc->name, "dx"));
        sf_pool_shape s = sf_pool_shape_make((int)x.shape[0], (int)x.shape[1], (int)x.shape[2],
                                             (int)x.shape[3], pc->k, pc->s, pc->p);
        float *yr = malloc(y.count * sizeof(float)), *dxr = malloc(x.count * sizeof(float));
        int32_t *am = malloc(y.count * sizeof(int32_t));
        if (pc->max) {
            sf_maxpool2d_forward_ref(yr, am, x.f, &s);
            sf_maxpool2d_backward_ref(dxr, dy.f, am, &s);
        } else {
            sf_avgpool2d_forward_ref(yr, x.f, &s);
            sf_avgpool2d_backward_ref(dxr, dy.f, &s);
        }
        double ey = max_rel_err(yr, y.f, y.count), edx = max_rel_err(dxr, dx.f, dx.count);
        cr_log_info("%-20s ref: y %.2e, dx %.2e", pc->name, ey, edx);
        cr_expect_leq(ey, 1e-6, "%s ref y error %.3e", pc->name, ey);
        cr_expect_leq(edx, 1e-6, "%s ref dx error %.3e", pc->name, edx);
        free(yr), free(dxr), free(am);
        npy_free(&x), npy_free(&y), npy_free(&dy), npy_free(&dx);
    }
}

Test(pool, global_avgpool_golden) {
    const char *names[] = {"gap_n1", "gap_n3"};
    for (int i = 0; i < 2; i++)
        for (int v = 0; v < N_VBS; v++) {
            int vb = k_vbs[v];
            npy_array x = npy_load(gname(names[i], "x")), y = npy_load(gname(names[i], "y"));
            npy_array dy = npy_load(gname(names[i], "dy")), dx = npy_load(gname(names[i], "dx"));
            int n = (int)x.shape[0], c = (int)x.shape[1], h = (int)x.shape[2], w = (int)x.shape[3];
            float *xb = to_blocked(x.f, n, c, h * w, vb), *yr = malloc(y.count * sizeof(float));
            size_t nxb = sf_blocked_floats(n, c, h, w, vb);
            float *dxb = malloc(nxb * sizeof(float)), *dxp = malloc(x.count * sizeof(float));
            for (size_t j = 0; j < nxb; j++) dxb[j] = NAN;
            sf_global_avgpool_forward(yr, xb, n, c, h, w, vb);
            sf_global_avgpool_backward(dxb, dy.f, n, c, h, w, vb);
            cr_assert_eq(to_plain(dxp, dxb, n, c, h * w, vb), 0.0f, "%s vb %d: padding lane", names[i], vb);
            double ey = max_rel_err(yr, y.f, y.count), edx = max_rel_err(dxp, dx.f, dx.count);
            cr_log_info("%-20s vb %2d: y max rel err %.2e, dx %.2e", names[i], vb, ey, edx);
            cr_expect_leq(ey, 1e-6);
            cr_expect_leq(edx, 1e-6);
            free(xb), free(yr), free(dxb), free(dxp);
            npy_free(&x), npy_free(&y), npy_free(&dy), npy_free(&dx);
        }
}

// L(x) = sum_i r_i y(x)_i in double; gradient by central differences for every element of x.
typedef struct {
    const sf_pool_shape *s;
    int kind;  // 0 max, 1 avg, 2 global avg, 3 max+ReLU 2x2 stride 2 (tiled), 4 max+ReLU as kind 0
    int vb;
} fd_ctx;

static double loss(const fd_ctx *f, const float *x, const float *r, float *y, int32_t *am, size_t ny) {
    const sf_pool_shape *s = f->s;
    if (f->kind == 0 || f->kind >= 3) sf_maxpool2d_forward(y, am, x, s, f->vb);
    else if (f->kind == 1) sf_avgpool2d_forward(y, x, s, f->vb);
    else sf_global_avgpool_forward(y, x, s->n, s->c, s->ih, s->iw, f->vb);
    double l = 0;
    for (size_t i = 0; i < ny; i++) l += (double)r[i] * y[i];
    return l;
}

static void fd_check(int kind, int vb) {
    // Distinct values 0.01 apart in random order: no max is within the step of another.
    sf_pool_shape s = kind == 3 ? sf_pool_shape_make(2, 5, 7, 6, 2, 2, 0) : sf_pool_shape_make(2, 5, 7, 6, 3, 2, 1);
    s.relu = kind >= 3;
    fd_ctx f = {&s, kind, vb};
    size_t nx = sf_blocked_floats(s.n, s.c, s.ih, s.iw, vb);
    size_t ny = kind == 2 ? (size_t)s.n * s.c : sf_blocked_floats(s.n, s.c, s.oh, s.ow, vb);
    float *x = calloc(nx, sizeof(float)), *y = calloc(ny, sizeof(float)), *r = calloc(ny, sizeof(float));
    float *dx = calloc(nx, sizeof(float));
    int32_t *am = calloc(ny, sizeof(int32_t));
    sf_rng g;
    sf_rng_seed(&g, 7, (uint64_t)(kind * 100 + vb));
    size_t plain = (size_t)s.n * s.c * s.ih * s.iw;
    float *xp = malloc(plain * sizeof(float));
    // Offset by half a step so that no value sits at the ReLU's kink.
    for (size_t i = 0; i < plain; i++) xp[i] = 0.01f * (float)i - 1.005f;
    for (size_t i = plain - 1; i > 0; i--) {
        size_t j = sf_rng_below(&g, (uint32_t)(i + 1));
        float t = xp[i];
        xp[i] = xp[j], xp[j] = t;
    }
    float *xb = to_blocked(xp, s.n, s.c, s.ih * s.iw, vb);
    memcpy(x, xb, nx * sizeof(float));
    for (size_t i = 0; i < ny; i++) r[i] = sf_rng_uniform_range(&g, -1.0f, 1.0f);
    if (kind == 2) {
        sf_global_avgpool_backward(dx, r, s.n, s.c, s.ih, s.iw, vb);
    } else {
        // Padding lanes of r must be zero, as in any blocked gradient.
        float *rp = malloc((size_t)s.n * s.c * s.oh * s.ow * sizeof(float));
        to_plain(rp, r, s.n, s.c, s.oh * s.ow, vb);
        float *rb = to_blocked(rp, s.n, s.c, s.oh * s.ow, vb);
        memcpy(r, rb, ny * sizeof(float));
        loss(&f, x, r, y, am, ny);
        if (kind != 1) sf_maxpool2d_backward(dx, r, am, &s, vb);
        else sf_avgpool2d_backward(dx, r, &s, vb);
        free(rp), free(rb);
    }
    const float h = 2e-3f;
    double err = 0, gmax = 0;
    for (size_t i = 0; i < nx; i++) {
        float x0 = x[i];
        x[i] = x0 + h;
        double lp = loss(&f, x, r, y, am, ny);
        x[i] = x0 - h;
        double lm = loss(&f, x, r, y, am, ny);
        x[i] = x0;
        double fd = (lp - lm) / (2.0 * h);
        err = fmax(err, fabs(fd - dx[i]));
        gmax = fmax(gmax, fabs(dx[i]));
    }
    double rel = err / fmax(gmax, 1.0);
    cr_log_info("finite differences kind %d vb %2d: max rel err %.2e", kind, vb, rel);
    cr_expect_leq(rel, 2e-3, "kind %d vb %d: finite-difference error %.3e", kind, vb, rel);
    free(x), free(y), free(r), free(dx), free(am), free(xp), free(xb);
}

Test(pool, finite_differences) {
    for (int kind = 0; kind < 5; kind++)
        for (int v = 0; v < N_VBS; v++) fd_check(kind, k_vbs[v]);
}

// A shape big enough for the threaded path, against the naive reference.
Test(pool, large_matches_reference) {
    sf_pool_shape s = sf_pool_shape_make(4, 37, 33, 31, 3, 2, 1);
    size_t nx = (size_t)s.n * s.c * s.ih * s.iw, ny = (size_t)s.n * s.c * s.oh * s.ow;
    float *x = malloc(nx * sizeof(float)), *dy = malloc(ny * sizeof(float));
    sf_rng g;
    sf_rng_seed(&g, 11, 0);
    for (size_t i = 0; i < nx; i++) x[i] = sf_rng_uniform_range(&g, -2.0f, 2.0f);
    for (size_t i = 0; i < ny; i++) dy[i] = sf_rng_uniform_range(&g, -1.0f, 1.0f);
    float *yr = malloc(ny * sizeof(float)), *dxr = malloc(nx * sizeof(float));
    float *ya = malloc(ny * sizeof(float)), *dxa = malloc(nx * sizeof(float));
    int32_t *amr = malloc(ny * sizeof(int32_t));
    for (int v = 0; v < N_VBS; v++) {
        int vb = k_vbs[v];
        float *xb = to_blocked(x, s.n, s.c, s.ih * s.iw, vb), *dyb = to_blocked(dy, s.n, s.c, s.oh * s.ow, vb);
        size_t nyb = sf_blocked_floats(s.n, s.c, s.oh, s.ow, vb), nxb = sf_blocked_floats(s.n, s.c, s.ih, s.iw, vb);
        float *yb = malloc(nyb * sizeof(float)), *dxb = malloc(nxb * sizeof(float));
        int32_t *am = malloc(nyb * sizeof(int32_t));
        for (int max = 0; max < 2; max++) {
            if (max) {
                sf_maxpool2d_forward_ref(yr, amr, x, &s);
                sf_maxpool2d_backward_ref(dxr, dy, amr, &s);
                sf_maxpool2d_forward(yb, am, xb, &s, vb);
                sf_maxpool2d_backward(dxb, dyb, am, &s, vb);
            } else {
                sf_avgpool2d_forward_ref(yr, x, &s);
                sf_avgpool2d_backward_ref(dxr, dy, &s);
                sf_avgpool2d_forward(yb, xb, &s, vb);
                sf_avgpool2d_backward(dxb, dyb, &s, vb);
            }
            cr_assert_eq(to_plain(ya, yb, s.n, s.c, s.oh * s.ow, vb), 0.0f);
            cr_assert_eq(to_plain(dxa, dxb, s.n, s.c, s.ih * s.iw, vb), 0.0f);
            double ey = max_rel_err(ya, yr, ny), edx = max_rel_err(dxa, dxr, nx);
            cr_log_info("large %s vb %2d threads %d: y %.2e dx %.2e", max ? "max" : "avg", vb, sf_threads(), ey, edx);
            cr_expect_leq(ey, 1e-6);
            cr_expect_leq(edx, 1e-6);
        }
        free(xb), free(dyb), free(yb), free(dxb), free(am);
    }
    free(x), free(dy), free(yr), free(dxr), free(ya), free(dxa), free(amr);
}

// Ties keep the first maximum in scan order and a NaN wins and stays, as PyTorch (and the reference);
// on the AVX-512 path vb = 16 runs the zmm micro-kernel, elsewhere the generic body.
Test(pool, ties_and_nan) {
    sf_pool_shape s = sf_pool_shape_make(1, 19, 6, 7, 3, 2, 1);
    size_t nx = (size_t)s.c * s.ih * s.iw, ny = (size_t)s.c * s.oh * s.ow;
    float *x = malloc(nx * sizeof(float)), *yr = malloc(ny * sizeof(float)), *ya = malloc(ny * sizeof(float));
    int32_t *amr = malloc(ny * sizeof(int32_t));
    for (size_t i = 0; i < nx; i++) x[i] = (float)(i * 7 % 5);  // many ties
    x[3] = NAN, x[nx / 2] = NAN, x[nx - 1] = -INFINITY;
    sf_maxpool2d_forward_ref(yr, amr, x, &s);
    for (int v = 0; v < N_VBS; v++) {
        int vb = k_vbs[v];
        float *xb = to_blocked(x, s.n, s.c, s.ih * s.iw, vb);
        size_t nyb = sf_blocked_floats(s.n, s.c, s.oh, s.ow, vb);
        float *yb = malloc(nyb * sizeof(float));
        int32_t *amb = malloc(nyb * sizeof(int32_t));
        sf_maxpool2d_forward(yb, amb, xb, &s, vb);
        to_plain(ya, yb, s.n, s.c, s.oh * s.ow, vb);
        int bad = 0, nans = 0;
        for (int ch = 0; ch < s.c; ch++)
            for (int o = 0; o < s.oh * s.ow; o++) {
                size_t pi = (size_t)ch * s.oh * s.ow + o;
                int32_t a = amb[((size_t)(ch / vb) * s.oh * s.ow + o) * vb + ch % vb];
                nans += isnan(yr[pi]);
                bad += a != amr[pi] || (isnan(yr[pi]) ? !isnan(ya[pi]) : ya[pi] != yr[pi]);
            }
        cr_log_info("ties and NaN, vb %2d (%s): %d mismatches, %d NaN outputs", vb, sf_isa_name(sf_isa_active()),
                    bad, nans);
        cr_expect_eq(bad, 0, "vb %d: %d mismatches", vb, bad);
        cr_expect_gt(nans, 0);
        free(xb), free(yb), free(amb);
    }
    free(x), free(yr), free(ya), free(amr);
}

// The fused ReLU (pool.h) against its definition, PyTorch's MaxPool2d(ReLU(x)) built from the plain
// references: ReLU, then pool, then the pool's backward masked by ReLU(x) > 0. Values come from a small
// set with zeros of both signs and NaNs, so that ties, all-negative windows and NaN windows are common.
// The shapes cover windows that tile the input (with leftover rows and columns, the backward's tiled
// path) and overlapping, padded ones; without the ReLU the same comparison checks the tiled path alone.
Test(pool, fused_relu_matches_relu_then_pool) {
    static const int shapes[][7] = {{2, 19, 11, 13, 2, 2, 0}, {3, 20, 12, 12, 2, 2, 0}, {2, 9, 10, 11, 3, 3, 0},
                                    {2, 19, 9, 10, 3, 2, 1}, {1, 17, 8, 9, 3, 1, 1}};
    static const float vals[] = {-2.0f, -1.0f, -0.0f, 0.0f, 1.0f, 2.0f, 3.0f};
    sf_rng g;
    sf_rng_seed(&g, 5, 0);
    for (int si = 0; si < (int)(sizeof shapes / sizeof shapes[0]); si++)
        for (int relu = 0; relu < 2; relu++) {
            const int *d = shapes[si];
            sf_pool_shape s = sf_pool_shape_make(d[0], d[1], d[2], d[3], d[4], d[5], d[6]);
            size_t nx = (size_t)s.n * s.c * s.ih * s.iw, ny = (size_t)s.n * s.c * s.oh * s.ow;
            float *x = malloc(nx * sizeof(float)), *xr = malloc(nx * sizeof(float)), *dy = malloc(ny * sizeof(float));
            for (size_t i = 0; i < nx; i++) {
                float u = sf_rng_uniform(&g);
                x[i] = u < 0.03f ? NAN : vals[(int)(u * 7.0f) % 7];
                xr[i] = relu && x[i] < 0.0f ? 0.0f : x[i];  // torch.relu: NaN stays
            }
            for (size_t i = 0; i < ny; i++) dy[i] = sf_rng_uniform_range(&g, 0.5f, 1.5f);
            float *yo = malloc(ny * sizeof(float)), *dxo = malloc(nx * sizeof(float));
            int32_t *amo = malloc(ny * sizeof(int32_t));
            sf_maxpool2d_forward_ref(yo, amo, xr, &s);
            sf_maxpool2d_backward_ref(dxo, dy, amo, &s);
            for (size_t i = 0; i < nx && relu; i++) dxo[i] = xr[i] > 0.0f ? dxo[i] : 0.0f;
            s.relu = relu;
            float *ya = malloc(ny * sizeof(float)), *dxa = malloc(nx * sizeof(float));
            int32_t *amr = malloc(ny * sizeof(int32_t));
            int zeroed = 0;
            for (int v = -1; v < N_VBS; v++) {
                int vb = v < 0 ? 0 : k_vbs[v];  // vb 0: the fused reference itself
                if (vb == 0) {
                    sf_maxpool2d_forward_ref(ya, amr, x, &s);
                    sf_maxpool2d_backward_ref(dxa, dy, amr, &s);
                } else {
                    float *xb = to_blocked(x, s.n, s.c, s.ih * s.iw, vb), *dyb = to_blocked(dy, s.n, s.c, s.oh * s.ow, vb);
                    size_t nyb = sf_blocked_floats(s.n, s.c, s.oh, s.ow, vb);
                    size_t nxb = sf_blocked_floats(s.n, s.c, s.ih, s.iw, vb);
                    float *yb = malloc(nyb * sizeof(float)), *dxb = malloc(nxb * sizeof(float));
                    int32_t *am = malloc(nyb * sizeof(int32_t));
                    memset(dxb, 0x7f, nxb * sizeof(float));  // backward must overwrite every element
                    sf_maxpool2d_forward(yb, am, xb, &s, vb);
                    sf_maxpool2d_backward(dxb, dyb, am, &s, vb);
                    cr_assert_eq(to_plain(ya, yb, s.n, s.c, s.oh * s.ow, vb), 0.0f);
                    cr_assert_eq(to_plain(dxa, dxb, s.n, s.c, s.ih * s.iw, vb), 0.0f);
                    free(xb), free(dyb), free(yb), free(dxb), free(am);
                }
                int bad_y = 0, bad_dx = 0;
                for (size_t i = 0; i < ny; i++) {
                    bad_y += isnan(yo[i]) ? !isnan(ya[i]) : ya[i] != yo[i];
                    zeroed += relu && yo[i] == 0.0f && !isnan(yo[i]);
                }
                for (size_t i = 0; i < nx; i++) bad_dx += dxa[i] != dxo[i];
                cr_log_info("fused relu %d, %dx%dx%dx%d k%d s%d p%d, vb %2d (%s): %d y and %d dx mismatches", relu,
                            s.n, s.c, s.ih, s.iw, d[4], d[5], d[6], vb, sf_isa_name(sf_isa_active()), bad_y, bad_dx);
                cr_expect_eq(bad_y, 0);
                cr_expect_eq(bad_dx, 0);
            }
            if (relu) cr_expect_gt(zeroed, 0, "no window was all non-positive: the test lost its point");
            free(x), free(xr), free(dy), free(yo), free(dxo), free(amo), free(ya), free(dxa), free(amr);
        }
}

Test(pool, shape_floor_mode) {
    sf_pool_shape s = sf_pool_shape_make(64, 64, 55, 55, 3, 2, 0);
    cr_assert_eq(s.oh, 27);
    s = sf_pool_shape_make(1, 64, 112, 112, 3, 2, 1);
    cr_assert_eq(s.oh, 56);
    s = sf_pool_shape_make(1, 3, 11, 13, 2, 2, 0);
    cr_assert_eq(s.oh, 5);
    cr_assert_eq(s.ow, 6);
}
