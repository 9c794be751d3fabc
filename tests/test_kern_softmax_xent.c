// test_kern_softmax_xent.c: softmax cross-entropy against F.cross_entropy (golden files from
// tests/golden/make_layers.py), plain and with label smoothing, including logits large enough to overflow
// a naive exp(), the softmax output, a finite-difference gradient, and the label range check.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "springfield.h"
#include "util/npy.h"

static char *gname(const char *c, const char *t) {
    static char buf[256];
    snprintf(buf, sizeof buf, "layers/%s_%s.npy", c, t);
    return buf;
}

Test(softmax_xent, golden) {
    const char *names[] = {"xent_n1", "xent_n3", "xent_large_n3", "xent_n64", "xent_ls10_n64", "xent_ls30_large_n3"};
    const float eps_of[] = {0, 0, 0, 0, 0.1f, 0.3f};
    for (int ci = 0; ci < 6; ci++) {
        const char *nm = names[ci];
        const float eps = eps_of[ci];
        npy_array z = npy_load(gname(nm, "logits")), t = npy_load(gname(nm, "labels"));
        npy_array loss = npy_load(gname(nm, "loss")), dz = npy_load(gname(nm, "dlogits"));
        int n = (int)z.shape[0], k = (int)z.shape[1];
        float *dzo = malloc(z.count * sizeof(float)), *p = malloc(z.count * sizeof(float));
        float l = sf_softmax_xent(dzo, p, z.f, t.i, n, k, eps);
        double el = fabs((double)l - loss.f[0]) / fmax(1.0, fabs(loss.f[0]));
        double edz = max_rel_err(dzo, dz.f, dz.count);
        // The softmax rows sum to 1 and are consistent with the gradient: p - target = n * dlogits.
        double esum = 0, econs = 0;
        for (int i = 0; i < n; i++) {
            double s = 0;
            for (int j = 0; j < k; j++) {
                s += p[i * k + j];
                double target = (j == t.i[i] ? 1.0 - eps : 0.0) + (double)eps / k;
                double want = (double)p[i * k + j] - target;
                econs = fmax(econs, fabs(want - (double)n * dzo[i * k + j]));
            }
            esum = fmax(esum, fabs(s - 1.0));
        }
        cr_log_info("%-18s eps %.1f loss %.6f (torch %.6f): rel err %.2e, dlogits %.2e, row sums %.1e", nm, eps, l,
                    loss.f[0], el, edz, esum);
        cr_expect(isfinite(l));
        cr_expect_leq(el, 1e-6, "%s loss %.3e", nm, el);
        cr_expect_leq(edz, 1e-6, "%s dlogits %.3e", nm, edz);
        cr_expect_leq(esum, 1e-5);
        cr_expect_leq(econs, 1e-5);
        // The optional outputs may be omitted.
        cr_expect_eq(sf_softmax_xent(NULL, NULL, z.f, t.i, n, k, eps), l);
        free(dzo), free(p);
        npy_free(&z), npy_free(&t), npy_free(&loss), npy_free(&dz);
    }
}

Test(softmax_xent, finite_differences) {
    enum { N = 4, K = 9 };
    float z[N * K], dz[N * K];
    int64_t t[N] = {0, 8, 3, 3};
    sf_rng g;
    sf_rng_seed(&g, 6, 6);
    for (int i = 0; i < N * K; i++) z[i] = sf_rng_uniform_range(&g, -3.0f, 3.0f);
    const float eps_list[] = {0.0f, 0.1f, 1.0f};
    for (int e = 0; e < 3; e++) {
        const float eps = eps_list[e];
        sf_softmax_xent(dz, NULL, z, t, N, K, eps);
        const float h = 1e-2f;
        double err = 0;
        for (int i = 0; i < N * K; i++) {
            float z0 = z[i];
            z[i] = z0 + h;
            double lp = sf_softmax_xent(NULL, NULL, z, t, N, K, eps);
            z[i] = z0 - h;
            double lm = sf_softmax_xent(NULL, NULL, z, t, N, K, eps);
            z[i] = z0;
            err = fmax(err, fabs((lp - lm) / (2.0 * h) - dz[i]));
        }
        cr_log_info("finite differences, eps %.1f: max abs err %.2e", eps, err);
        cr_expect_leq(err, 1e-4, "eps %g", eps);
    }
}

// eps = 1: the target is uniform, so the loss is the mean over classes of -log p, whatever the label.
Test(softmax_xent, uniform_target) {
    float z[4] = {0.5f, -1.0f, 2.0f, 0.0f};
    int64_t t0[1] = {0}, t2[1] = {2};
    double lse = log(exp(0.5) + exp(-1.0) + exp(2.0) + exp(0.0)), want = lse - (0.5 - 1.0 + 2.0 + 0.0) / 4;
    float l0 = sf_softmax_xent(NULL, NULL, z, t0, 1, 4, 1.0f), l2 = sf_softmax_xent(NULL, NULL, z, t2, 1, 4, 1.0f);
    cr_log_info("uniform target: loss %.7f / %.7f, want %.7f", l0, l2, want);
    cr_expect_leq(fabs(l0 - want), 1e-6);
    cr_expect_eq(l0, l2);
}

// exp(1000) overflows float and double; the max shift makes it harmless.
Test(softmax_xent, extreme_logits) {
    float z[3] = {1000.0f, -1000.0f, 999.0f}, dz[3];
    int64_t t[1] = {2};
    float l = sf_softmax_xent(dz, NULL, z, t, 1, 3, 0.0f);
    // lse = 1000 + log(1 + e^-1 + e^-2000), so loss = lse - 999 = 1 + log1p(e^-1).
    double want = 1.0 + log1p(exp(-1.0));
    cr_log_info("loss %.7f, want %.7f", l, want);
    cr_expect_leq(fabs(l - want), 1e-6);
    cr_expect(isfinite(dz[0]) && isfinite(dz[1]) && isfinite(dz[2]));
}

Test(softmax_xent, label_out_of_range_dies, .exit_code = 1) {
    float z[2] = {0.0f, 1.0f};
    int64_t t[1] = {2};
    sf_softmax_xent(NULL, NULL, z, t, 1, 2, 0.0f);
}

Test(softmax_xent, smoothing_out_of_range_dies, .exit_code = 1) {
    float z[2] = {0.0f, 1.0f};
    int64_t t[1] = {1};
    sf_softmax_xent(NULL, NULL, z, t, 1, 2, 1.5f);
}
