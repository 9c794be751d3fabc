// test_kern_batchnorm.c: batch norm 2-D and 1-D, training (batch statistics and the running-stats
// update) and eval mode, with and without the fused ReLU, against PyTorch (golden files from
// tests/golden/make_layers.py) in plain NCHW and the blocked layouts vb = 4, 8, 16; the naive reference
// against the same files; a far-from-zero mean; finite-difference gradients of x, gamma and beta.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "springfield.h"
#include "util/npy.h"
#include "util/blocked.h"

static const int k_vbs[] = {1, 4, 8, 16};
#define N_VBS (int)(sizeof k_vbs / sizeof k_vbs[0])

static float *copyf(const npy_array *a) {
    float *p = malloc(a->count * sizeof(float));
    memcpy(p, a->f, a->count * sizeof(float));
    return p;
}

static int hw_of(const npy_array *x) { return x->ndim == 4 ? (int)(x->shape[2] * x->shape[3]) : 1; }

typedef struct {
    const char *name;
    bool relu;
} bn_case;

static const bn_case k_train[] = {
    {"bn2d_n1", false}, {"bn2d_n3", false}, {"bn2d_relu_n1", true}, {"bn2d_relu_n3", true},
    {"bn2d_offset_n3", false}, {"bn1d_n2", false}, {"bn1d_n3", false},
};
#define N_TRAIN (int)(sizeof k_train / sizeof k_train[0])

Test(batchnorm, golden_train_all_layouts) {
    for (int ci = 0; ci < N_TRAIN; ci++)
        for (int v = 0; v < N_VBS; v++) {
            const bn_case *bc = &k_train[ci];
            int vb = k_vbs[v];
            npy_array x = npy_load(gname(bc->name, "x")), gamma = npy_load(gname(bc->name, "gamma"));
            npy_array beta = npy_load(gname(bc->name, "beta")), rm0 = npy_load(gname(bc->name, "rm0"));
            npy_array rv0 = npy_load(gname(bc->name, "rv0")), y = npy_load(gname(bc->name, "y"));
            npy_array dy = npy_load(gname(bc->name, "dy")), dx = npy_load(gname(bc->name, "dx"));
            npy_array dg = npy_load(gname(bc->name, "dgamma")), db = npy_load(gname(bc->name, "dbeta"));
            npy_array rm1 = npy_load(gname(bc->name, "rm1")), rv1 = npy_load(gname(bc->name, "rv1"));
            npy_array ye = npy_load(gname(bc->name, "y_eval"));
            int n = (int)x.shape[0], c = (int)x.shape[1], hw = hw_of(&x);
            size_t nb = sf_blocked_floats(n, c, hw, 1, vb);
            float *xb = to_blocked(x.f, n, c, hw, vb), *dyb = to_blocked(dy.f, n, c, hw, vb);
            float *yb = malloc(nb * sizeof(float)), *dxb = malloc(nb * sizeof(float));
            float *yeb = malloc(nb * sizeof(float)), *out = malloc(x.count * sizeof(float));
            for (size_t i = 0; i < nb; i++) yb[i] = dxb[i] = yeb[i] = NAN;
            float *rm = copyf(&rm0), *rv = copyf(&rv0), *sm = malloc(c * sizeof(float));
            float *si = malloc(c * sizeof(float)), *dgo = malloc(c * sizeof(float)), *dbo = malloc(c * sizeof(float));

            sf_batchnorm_forward_train(yb, sm, si, rm, rv, xb, gamma.f, beta.f, n, c, hw, vb, 0.1f, 1e-5f, bc->relu);
            cr_assert_eq(to_plain(out, yb, n, c, hw, vb), 0.0f, "%s vb %d: padding lane in y", bc->name, vb);
            double ey = max_rel_err(out, y.f, y.count);
            double erm = max_rel_err(rm, rm1.f, c), erv = max_rel_err(rv, rv1.f, c);
            sf_batchnorm_backward(dxb, dgo, dbo, dyb, xb, yb, gamma.f, sm, si, n, c, hw, vb, bc->relu);
            cr_assert_eq(to_plain(out, dxb, n, c, hw, vb), 0.0f, "%s vb %d: padding lane in dx", bc->name, vb);
            double edx = max_rel_err(out, dx.f, dx.count);
            double edg = max_rel_err(dgo, dg.f, c), edb = max_rel_err(dbo, db.f, c);
            sf_batchnorm_forward_eval(yeb, xb, gamma.f, beta.f, rm0.f, rv0.f, n, c, hw, vb, 1e-5f, bc->relu);
            cr_assert_eq(to_plain(out, yeb, n, c, hw, vb), 0.0f, "%s vb %d: padding lane in eval y", bc->name, vb);
            double eye = max_rel_err(out, ye.f, ye.count);
            cr_log_info("%-15s vb %2d: y %.1e rm %.1e rv %.1e | dx %.1e dgamma %.1e dbeta %.1e | eval y %.1e",
                        bc->name, vb, ey, erm, erv, edx, edg, edb, eye);
            cr_expect_leq(ey, 2e-6, "%s vb %d: y %.3e", bc->name, vb, ey);
            cr_expect_leq(erm, 1e-6, "%s vb %d: running mean %.3e", bc->name, vb, erm);
            cr_expect_leq(erv, 1e-6, "%s vb %d: running var %.3e", bc->name, vb, erv);
            // Batch 2 of BatchNorm1d: dx is a near-cancellation of two terms scaled by invstd.
            cr_expect_leq(edx, 2e-5, "%s vb %d: dx %.3e", bc->name, vb, edx);
            cr_expect_leq(edg, 1e-5, "%s vb %d: dgamma %.3e", bc->name, vb, edg);
            cr_expect_leq(edb, 1e-5, "%s vb %d: dbeta %.3e", bc->name, vb, edb);
            cr_expect_leq(eye, 2e-6, "%s vb %d: eval y %.3e", bc->name, vb, eye);

            free(xb), free(dyb), free(yb), free(dxb), free(yeb), free(out), free(rm), free(rv), free(sm);
            free(si), free(dgo), free(dbo);
            npy_array *all[] = {&x, &gamma, &beta, &rm0, &rv0, &y, &dy, &dx, &dg, &db, &rm1, &rv1, &ye};
            for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) npy_free(all[k]);
        }
}

Test(batchnorm, golden_eval_batch1) {
    const bn_case cases[] = {{"bn1d_eval_n1", false}, {"bn2d_eval_relu_n1", true}};
    for (int ci = 0; ci < 2; ci++)
        for (int v = 0; v < N_VBS; v++) {
            const bn_case *bc = &cases[ci];
            int vb = k_vbs[v];
            npy_array x = npy_load(gname(bc->name, "x")), gamma = npy_load(gname(bc->name, "gamma"));
            npy_array beta = npy_load(gname(bc->name, "beta")), rm0 = npy_load(gname(bc->name, "rm0"));
            npy_array rv0 = npy_load(gname(bc->name, "rv0")), ye = npy_load(gname(bc->name, "y_eval"));
            int n = (int)x.shape[0], c = (int)x.shape[1], hw = hw_of(&x);
            size_t nb = sf_blocked_floats(n, c, hw, 1, vb);
            float *xb = to_blocked(x.f, n, c, hw, vb), *yb = malloc(nb * sizeof(float));
            float *out = malloc(x.count * sizeof(float));
            for (size_t i = 0; i < nb; i++) yb[i] = NAN;
            sf_batchnorm_forward_eval(yb, xb, gamma.f, beta.f, rm0.f, rv0.f, n, c, hw, vb, 1e-5f, bc->relu);
            cr_assert_eq(to_plain(out, yb, n, c, hw, vb), 0.0f);
            double e = max_rel_err(out, ye.f, ye.count);
            cr_log_info("%-17s vb %2d: eval y %.2e", bc->name, vb, e);
            cr_expect_leq(e, 2e-6, "%s vb %d: %.3e", bc->name, vb, e);
            free(xb), free(yb), free(out);
            npy_free(&x), npy_free(&gamma), npy_free(&beta), npy_free(&rm0), npy_free(&rv0), npy_free(&ye);
        }
}

Test(batchnorm, reference_matches_golden) {
    const char *names[] = {"bn2d_n3", "bn2d_offset_n3", "bn1d_n3"};
    for (int ci = 0; ci < 3; ci++) {
        const char *nm = names[ci];
        npy_array x = npy_load(gname(nm, "x")), gamma = npy_load(gname(nm, "gamma"));
        npy_array beta = npy_load(gname(nm, "beta")), rm0 = npy_load(gname(nm, "rm0"));
        npy_array rv0 = npy_load(gname(nm, "rv0")), y = npy_load(gname(nm, "y"));
        npy_array dy = npy_load(gname(nm, "dy")), dx = npy_load(gname(nm, "dx"));
        npy_array rv1 = npy_load(gname(nm, "rv1")), dg = npy_load(gname(nm, "dgamma"));
        int n = (int)x.shape[0], c = (int)x.shape[1], hw = hw_of(&x);
        float *yr = malloc(x.count * sizeof(float)), *dxr = malloc(x.count * sizeof(float));
        float *rm = copyf(&rm0), *rv = copyf(&rv0), *sm = malloc(c * sizeof(float)), *si = malloc(c * sizeof(float));
        float *dgo = malloc(c * sizeof(float)), *dbo = malloc(c * sizeof(float));
        sf_batchnorm_forward_train_ref(yr, sm, si, rm, rv, x.f, gamma.f, beta.f, n, c, hw, 0.1f, 1e-5f);
        sf_batchnorm_backward_ref(dxr, dgo, dbo, dy.f, x.f, gamma.f, sm, si, n, c, hw);
        double ey = max_rel_err(yr, y.f, y.count), edx = max_rel_err(dxr, dx.f, dx.count);
        double erv = max_rel_err(rv, rv1.f, c), edg = max_rel_err(dgo, dg.f, c);
        cr_log_info("%-15s ref: y %.1e rv %.1e dx %.1e dgamma %.1e", nm, ey, erv, edx, edg);
        cr_expect_leq(ey, 2e-6);
        cr_expect_leq(erv, 1e-6);
        cr_expect_leq(edx, 1e-5);
        cr_expect_leq(edg, 1e-5);
        free(yr), free(dxr), free(rm), free(rv), free(sm), free(si), free(dgo), free(dbo);
        npy_array *all[] = {&x, &gamma, &beta, &rm0, &rv0, &y, &dy, &dx, &rv1, &dg};
        for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) npy_free(all[k]);
    }
}

// A large map (the threaded path and long sums) with |mean| >> std, against the double reference.
Test(batchnorm, large_offset_matches_reference) {
    int n = 6, c = 37, hw = 45 * 43;
    size_t cnt = (size_t)n * c * hw;
    float *x = malloc(cnt * sizeof(float)), *dy = malloc(cnt * sizeof(float));
    float *gamma = malloc(c * sizeof(float)), *beta = malloc(c * sizeof(float));
    sf_rng g;
    sf_rng_seed(&g, 3, 1);
    for (int ch = 0; ch < c; ch++) {
        gamma[ch] = sf_rng_uniform_range(&g, 0.5f, 1.5f);
        beta[ch] = sf_rng_uniform_range(&g, -0.5f, 0.5f);
    }
    for (size_t i = 0; i < cnt; i++) {
        int ch = (int)(i / hw % c);
        x[i] = 1000.0f * (float)(ch % 3 - 1) + sf_rng_uniform_range(&g, -1.0f, 1.0f);
        dy[i] = sf_rng_uniform_range(&g, -1.0f, 1.0f);
    }
    float *yr = malloc(cnt * sizeof(float)), *dxr = malloc(cnt * sizeof(float)), *out = malloc(cnt * sizeof(float));
    float st[8][64];
    for (int k = 0; k < 8; k++)
        for (int ch = 0; ch < c; ch++) st[k][ch] = k == 3 || k == 7 ? 1.0f : 0.0f;
    // st: 0 mean, 1 invstd, 2 rm, 3 rv (ref) | 4 mean, 5 invstd, 6 rm, 7 rv (blocked)
    sf_batchnorm_forward_train_ref(yr, st[0], st[1], st[2], st[3], x, gamma, beta, n, c, hw, 0.1f, 1e-5f);
    float dgr[64], dbr[64], dg[64], db[64];
    sf_batchnorm_backward_ref(dxr, dgr, dbr, dy, x, gamma, st[0], st[1], n, c, hw);
    for (int v = 0; v < N_VBS; v++) {
        int vb = k_vbs[v];
        size_t nb = sf_blocked_floats(n, c, hw, 1, vb);
        float *xb = to_blocked(x, n, c, hw, vb), *dyb = to_blocked(dy, n, c, hw, vb);
        float *yb = malloc(nb * sizeof(float)), *dxb = malloc(nb * sizeof(float));
        for (int ch = 0; ch < c; ch++) st[6][ch] = 0.0f, st[7][ch] = 1.0f;
        sf_batchnorm_forward_train(yb, st[4], st[5], st[6], st[7], xb, gamma, beta, n, c, hw, vb, 0.1f, 1e-5f, false);
        sf_batchnorm_backward(dxb, dg, db, dyb, xb, NULL, gamma, st[4], st[5], n, c, hw, vb, false);
        to_plain(out, yb, n, c, hw, vb);
        double ey = max_rel_err(out, yr, cnt);
        to_plain(out, dxb, n, c, hw, vb);
        double edx = max_rel_err(out, dxr, cnt);
        double em = max_rel_err(st[4], st[0], c), ei = max_rel_err(st[5], st[1], c);
        double erv = max_rel_err(st[7], st[3], c), edg = max_rel_err(dg, dgr, c), edb = max_rel_err(db, dbr, c);
        cr_log_info("offset 1000, %d values/channel, vb %2d, %d threads: mean %.1e invstd %.1e rv %.1e y %.1e | "
                    "dx %.1e dgamma %.1e dbeta %.1e", n * hw, vb, sf_threads(), em, ei, erv, ey, edx, edg, edb);
        cr_expect_leq(ei, 1e-5, "vb %d invstd %.3e", vb, ei);
        cr_expect_leq(erv, 1e-5, "vb %d running var %.3e", vb, erv);
        cr_expect_leq(ey, 1e-6, "vb %d y %.3e", vb, ey);
        cr_expect_leq(edx, 1e-4, "vb %d dx %.3e", vb, edx);
        cr_expect_leq(edg, 1e-4, "vb %d dgamma %.3e", vb, edg);
        cr_expect_leq(edb, 1e-5, "vb %d dbeta %.3e", vb, edb);
        free(xb), free(dyb), free(yb), free(dxb);
    }
    free(x), free(dy), free(gamma), free(beta), free(yr), free(dxr), free(out);
}

// Finite differences of L = sum r * y(x, gamma, beta) in double, with and without the fused ReLU.
typedef struct {
    int n, c, hw, vb;
    bool relu;
    float *y, *sm, *si, *rm, *rv;
    const float *r;
} fd_ctx;

static double loss(fd_ctx *f, const float *x, const float *gamma, const float *beta) {
    sf_batchnorm_forward_train(f->y, f->sm, f->si, f->rm, f->rv, x, gamma, beta, f->n, f->c, f->hw, f->vb, 0.1f,
                               1e-5f, f->relu);
    size_t nb = sf_blocked_floats(f->n, f->c, f->hw, 1, f->vb);
    double l = 0;
    for (size_t i = 0; i < nb; i++) l += (double)f->r[i] * f->y[i];
    return l;
}

static double fd_err(fd_ctx *f, float *p, const float *grad, size_t cnt, float *x, float *gamma, float *beta) {
    const float h = 1e-2f;
    double err = 0, gmax = 0;
    for (size_t i = 0; i < cnt; i++) {
        float p0 = p[i];
        p[i] = p0 + h;
        double lp = loss(f, x, gamma, beta);
        p[i] = p0 - h;
        double lm = loss(f, x, gamma, beta);
        p[i] = p0;
        err = fmax(err, fabs((lp - lm) / (2.0 * h) - grad[i]));
        gmax = fmax(gmax, fabs(grad[i]));
    }
    return err / fmax(gmax, 1.0);
}

// Batch 2 with one pixel is degenerate (the outputs are +-gamma + beta), so 1-D runs with batch 6.
static void fd_check(int vb, bool relu, int hw) {
    int n = hw == 1 ? 6 : 2, c = 5;
    size_t plain = (size_t)n * c * hw, nb = sf_blocked_floats(n, c, hw, 1, vb);
    float *xp = malloc(plain * sizeof(float)), gamma[5], beta[5], rm[5] = {0}, rv[5] = {1, 1, 1, 1, 1};
    float sm[5], si[5], dg[5], db[5];
    float *y = malloc(nb * sizeof(float)), *dx = malloc(nb * sizeof(float)), *rp = malloc(plain * sizeof(float));
    sf_rng g;
    sf_rng_seed(&g, 5, (uint64_t)(vb * 2 + relu));
    for (int ch = 0; ch < c; ch++) {
        gamma[ch] = sf_rng_uniform_range(&g, 0.5f, 1.5f);
        beta[ch] = sf_rng_uniform_range(&g, -0.3f, 0.3f);
    }
    for (size_t i = 0; i < plain; i++) rp[i] = sf_rng_uniform_range(&g, -1.0f, 1.0f);
    float *r = to_blocked(rp, n, c, hw, vb), *x = NULL;
    fd_ctx f = {n, c, hw, vb, relu, y, sm, si, rm, rv, r};
    // Redraw x until no output sits within the finite-difference reach of the ReLU kink.
    for (int attempt = 0;; attempt++) {
        cr_assert_lt(attempt, 200, "no kink-free draw");
        for (size_t i = 0; i < plain; i++) xp[i] = sf_rng_uniform_range(&g, -2.0f, 2.0f);
        free(x);
        x = to_blocked(xp, n, c, hw, vb);
        loss(&f, x, gamma, beta);
        float near = INFINITY;
        float *yp = malloc(plain * sizeof(float));
        to_plain(yp, y, n, c, hw, vb);
        for (size_t i = 0; i < plain; i++) {
            float d = fabsf(yp[i]);
            // With the ReLU, zero outputs are the clipped ones; their pre-activation is unknown here,
            // so recompute without it.
            near = d < near ? d : near;
        }
        free(yp);
        if (!relu) break;
        f.relu = false;
        loss(&f, x, gamma, beta);
        f.relu = true;
        yp = malloc(plain * sizeof(float));
        to_plain(yp, y, n, c, hw, vb);
        near = INFINITY;
        for (size_t i = 0; i < plain; i++) near = fabsf(yp[i]) < near ? fabsf(yp[i]) : near;
        free(yp);
        if (near > 0.1f) break;
    }
    loss(&f, x, gamma, beta);
    sf_batchnorm_backward(dx, dg, db, r, x, y, gamma, sm, si, n, c, hw, vb, relu);
    // Perturb only the real lanes of x.
    double ex = 0, gmax = 0;
    {
        const float h = 1e-2f;
        int cb = sf_cblocks(c, vb);
        for (size_t i = 0; i < nb; i++) {
            int ch = (int)(i / ((size_t)hw * vb) % cb) * vb + (int)(i % vb);
            if (ch >= c) continue;
            float p0 = x[i];
            x[i] = p0 + h;
            double lp = loss(&f, x, gamma, beta);
            x[i] = p0 - h;
            double lm = loss(&f, x, gamma, beta);
            x[i] = p0;
            ex = fmax(ex, fabs((lp - lm) / (2.0 * h) - dx[i]));
            gmax = fmax(gmax, fabs(dx[i]));
        }
        ex /= fmax(gmax, 1.0);
    }
    double eg = fd_err(&f, gamma, dg, c, x, gamma, beta), eb = fd_err(&f, beta, db, c, x, gamma, beta);
    cr_log_info("finite differences vb %2d relu %d hw %d: dx %.1e dgamma %.1e dbeta %.1e", vb, relu, hw, ex, eg, eb);
    cr_expect_leq(ex, 2e-3, "vb %d relu %d: dx %.3e", vb, relu, ex);
    cr_expect_leq(eg, 2e-3, "vb %d relu %d: dgamma %.3e", vb, relu, eg);
    cr_expect_leq(eb, 2e-3, "vb %d relu %d: dbeta %.3e", vb, relu, eb);
    free(xp), free(y), free(dx), free(rp), free(r), free(x);
}

Test(batchnorm, finite_differences) {
    for (int v = 0; v < N_VBS; v++) {
        fd_check(k_vbs[v], false, 7);
        fd_check(k_vbs[v], true, 7);
        fd_check(k_vbs[v], false, 1);
    }
}
