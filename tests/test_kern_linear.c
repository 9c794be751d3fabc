// test_kern_linear.c: the fully connected layer against nn.Linear (golden files from
// tests/golden/make_layers.py), the optional outputs, a batch-64 shape against a naive double loop,
// and finite-difference gradients of x, w and b.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "springfield.h"
#include "util/npy.h"

static char *gname(const char *c, const char *t) {
    static char buf[256];
    snprintf(buf, sizeof buf, "layers/%s_%s.npy", c, t);
    return buf;
}

Test(linear, golden) {
    const char *names[] = {"linear_n1", "linear_n3"};
    for (int ci = 0; ci < 2; ci++) {
        const char *nm = names[ci];
        npy_array x = npy_load(gname(nm, "x")), w = npy_load(gname(nm, "w")), b = npy_load(gname(nm, "b"));
        npy_array y = npy_load(gname(nm, "y")), dy = npy_load(gname(nm, "dy")), dx = npy_load(gname(nm, "dx"));
        npy_array dw = npy_load(gname(nm, "dw")), db = npy_load(gname(nm, "db"));
        int n = (int)x.shape[0], in = (int)x.shape[1], out = (int)w.shape[0];
        float *yo = malloc(y.count * sizeof(float)), *dxo = malloc(x.count * sizeof(float));
        float *dwo = malloc(w.count * sizeof(float)), *dbo = malloc(b.count * sizeof(float));
        for (size_t i = 0; i < y.count; i++) yo[i] = NAN;
        for (size_t i = 0; i < w.count; i++) dwo[i] = NAN;
        for (size_t i = 0; i < b.count; i++) dbo[i] = NAN;
        sf_linear_forward(yo, x.f, w.f, b.f, n, in, out);
        sf_linear_backward(dxo, dwo, dbo, dy.f, x.f, w.f, n, in, out);
        double ey = max_rel_err(yo, y.f, y.count), edx = max_rel_err(dxo, dx.f, dx.count);
        double edw = max_rel_err(dwo, dw.f, dw.count), edb = max_rel_err(dbo, db.f, db.count);
        cr_log_info("%s (%dx%d -> %d): y %.2e dx %.2e dw %.2e db %.2e", nm, n, in, out, ey, edx, edw, edb);
        cr_expect_leq(ey, 2e-6, "%s y %.3e", nm, ey);
        cr_expect_leq(edx, 2e-6, "%s dx %.3e", nm, edx);
        cr_expect_leq(edw, 2e-6, "%s dw %.3e", nm, edw);
        cr_expect_leq(edb, 2e-6, "%s db %.3e", nm, edb);
        // Without bias the output is x W^T alone; without dx and db only dw is written.
        float *y2 = malloc(y.count * sizeof(float));
        sf_linear_forward(y2, x.f, w.f, NULL, n, in, out);
        for (int i = 0; i < n; i++)
            for (int o = 0; o < out; o++) y2[i * out + o] += b.f[o];
        cr_expect_leq(max_rel_err(y2, y.f, y.count), 2e-6);
        memset(dwo, 0, w.count * sizeof(float));
        sf_linear_backward(NULL, dwo, NULL, dy.f, x.f, w.f, n, in, out);
        cr_expect_leq(max_rel_err(dwo, dw.f, dw.count), 2e-6);
        free(yo), free(dxo), free(dwo), free(dbo), free(y2);
        npy_array *all[] = {&x, &w, &b, &y, &dy, &dx, &dw, &db};
        for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) npy_free(all[k]);
    }
}

// The classifier head at batch 64 (512 features, 42 classes) against a naive double loop.
Test(linear, batch64_matches_naive) {
    int n = 64, in = 512, out = 42;
    float *x = malloc(sizeof(float) * n * in), *w = malloc(sizeof(float) * out * in), b[42];
    float *dy = malloc(sizeof(float) * n * out), *y = malloc(sizeof(float) * n * out);
    float *dx = malloc(sizeof(float) * n * in), *dw = malloc(sizeof(float) * out * in), db[42];
    float *ry = malloc(sizeof(float) * n * out), *rdx = malloc(sizeof(float) * n * in);
    float *rdw = malloc(sizeof(float) * out * in), rdb[42];
    sf_rng g;
    sf_rng_seed(&g, 1, 2);
    for (int i = 0; i < n * in; i++) x[i] = sf_rng_uniform_range(&g, -1.0f, 1.0f);
    for (int i = 0; i < out * in; i++) w[i] = sf_rng_uniform_range(&g, -0.05f, 0.05f);
    for (int i = 0; i < n * out; i++) dy[i] = sf_rng_uniform_range(&g, -1.0f, 1.0f);
    for (int o = 0; o < out; o++) b[o] = sf_rng_uniform_range(&g, -1.0f, 1.0f);
    for (int i = 0; i < n; i++)
        for (int o = 0; o < out; o++) {
            double s = b[o];
            for (int k = 0; k < in; k++) s += (double)x[i * in + k] * w[o * in + k];
            ry[i * out + o] = (float)s;
        }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < in; k++) {
            double s = 0;
            for (int o = 0; o < out; o++) s += (double)dy[i * out + o] * w[o * in + k];
            rdx[i * in + k] = (float)s;
        }
    for (int o = 0; o < out; o++) {
        double sb = 0;
        for (int i = 0; i < n; i++) sb += dy[i * out + o];
        rdb[o] = (float)sb;
        for (int k = 0; k < in; k++) {
            double s = 0;
            for (int i = 0; i < n; i++) s += (double)dy[i * out + o] * x[i * in + k];
            rdw[o * in + k] = (float)s;
        }
    }
    sf_linear_forward(y, x, w, b, n, in, out);
    sf_linear_backward(dx, dw, db, dy, x, w, n, in, out);
    double ey = max_rel_err(y, ry, n * out), edx = max_rel_err(dx, rdx, n * in);
    double edw = max_rel_err(dw, rdw, out * in), edb = max_rel_err(db, rdb, out);
    cr_log_info("batch 64, 512 -> 42: y %.2e dx %.2e dw %.2e db %.2e", ey, edx, edw, edb);
    cr_expect_leq(ey, 1e-5);
    cr_expect_leq(edx, 1e-5);
    cr_expect_leq(edw, 1e-5);
    cr_expect_leq(edb, 1e-5);
    free(x), free(w), free(dy), free(y), free(dx), free(dw), free(ry), free(rdx), free(rdw);
}

// Finite differences of L = sum r * y in double for every element of x, w and b.
static double loss(const float *x, const float *w, const float *b, const float *r, float *y, int n, int in, int out) {
    sf_linear_forward(y, x, w, b, n, in, out);
    double l = 0;
    for (int i = 0; i < n * out; i++) l += (double)r[i] * y[i];
    return l;
}

static double fd_err(float *p, const float *grad, int cnt, const float *x, const float *w, const float *b,
                     const float *r, float *y, int n, int in, int out) {
    const float h = 1e-2f;
    double err = 0, gmax = 0;
    for (int i = 0; i < cnt; i++) {
        float p0 = p[i];
        p[i] = p0 + h;
        double lp = loss(x, w, b, r, y, n, in, out);
        p[i] = p0 - h;
        double lm = loss(x, w, b, r, y, n, in, out);
        p[i] = p0;
        err = fmax(err, fabs((lp - lm) / (2.0 * h) - grad[i]));
        gmax = fmax(gmax, fabs(grad[i]));
    }
    return err / fmax(gmax, 1.0);
}

Test(linear, finite_differences) {
    enum { N = 3, IN = 7, OUT = 5 };
    float x[N * IN], w[OUT * IN], b[OUT], r[N * OUT], y[N * OUT], dx[N * IN], dw[OUT * IN], db[OUT];
    sf_rng g;
    sf_rng_seed(&g, 4, 4);
    for (int i = 0; i < N * IN; i++) x[i] = sf_rng_uniform_range(&g, -1.0f, 1.0f);
    for (int i = 0; i < OUT * IN; i++) w[i] = sf_rng_uniform_range(&g, -1.0f, 1.0f);
    for (int i = 0; i < OUT; i++) b[i] = sf_rng_uniform_range(&g, -1.0f, 1.0f);
    for (int i = 0; i < N * OUT; i++) r[i] = sf_rng_uniform_range(&g, -1.0f, 1.0f);
    sf_linear_backward(dx, dw, db, r, x, w, N, IN, OUT);
    double ex = fd_err(x, dx, N * IN, x, w, b, r, y, N, IN, OUT);
    double ew = fd_err(w, dw, OUT * IN, x, w, b, r, y, N, IN, OUT);
    double eb = fd_err(b, db, OUT, x, w, b, r, y, N, IN, OUT);
    cr_log_info("finite differences: dx %.2e dw %.2e db %.2e", ex, ew, eb);
    cr_expect_leq(ex, 1e-4);
    cr_expect_leq(ew, 1e-4);
    cr_expect_leq(eb, 1e-4);
}
