// test_nn_cosine.c: the warmup + cosine schedule of train --schedule cosine against torch's
// SequentialLR(LinearLR, CosineAnnealingLR) stepped once per step (tests/golden/make_models.py), and
// its ends: the floor after the last step, warmup longer than the run.
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <stdio.h>

#include "nn/cosine.h"
#include "util/npy.h"

// rows of (step, lr) as float32; base lr 1e-3
static void run(const char *name, int64_t warmup, int64_t total, double min_lr) {
    char rel[64];
    snprintf(rel, sizeof rel, "models/cosine_%s.npy", name);
    npy_array g = npy_load(rel);
    cr_assert_eq(g.ndim, 2);
    cr_assert_eq(g.shape[0], total, "%s: %lld rows for %lld steps", name, (long long)g.shape[0], (long long)total);
    double max_err = 0;
    for (int64_t s = 0; s < total; s++) {
        double want = g.f[s * 2 + 1], got = sf_cosine_lr(1e-3, min_lr, s, warmup, total);
        cr_assert_eq((int64_t)g.f[s * 2], s);
        double err = fabs(got - want) / want;  // torch's lr is float32 here: rel 6e-8 at best
        if (err > max_err) max_err = err;
        cr_assert_leq(err, 1e-6, "%s step %lld: lr %.9g, torch %.9g", name, (long long)s, got, want);
    }
    cr_log_info("cosine %-11s warmup %lld of %lld steps, min %g: max lr rel err vs torch %.2g", name, (long long)warmup,
                (long long)total, min_lr, max_err);
    npy_free(&g);
}

Test(nn_cosine, warmup5_of_40) { run("w5_t40", 5, 40, 0.0); }
Test(nn_cosine, no_warmup_floor) { run("w0_t17_min", 0, 17, 1e-5); }
Test(nn_cosine, warmup1_of_9) { run("w1_t9", 1, 9, 0.0); }

Test(nn_cosine, shape) {
    // peak at the end of warmup, half way down at the middle of the decay, the floor from the last step on
    cr_assert_float_eq(sf_cosine_lr(2e-3, 1e-4, 10, 10, 110), 2e-3, 1e-15);
    cr_assert_float_eq(sf_cosine_lr(2e-3, 1e-4, 60, 10, 110), (2e-3 + 1e-4) / 2, 1e-15);
    cr_assert_float_eq(sf_cosine_lr(2e-3, 1e-4, 110, 10, 110), 1e-4, 1e-15);
    cr_assert_float_eq(sf_cosine_lr(2e-3, 1e-4, 1000, 10, 110), 1e-4, 1e-15);
    for (int64_t s = 0; s < 109; s++) {
        double a = sf_cosine_lr(2e-3, 1e-4, s, 10, 110), b = sf_cosine_lr(2e-3, 1e-4, s + 1, 10, 110);
        cr_assert(s < 10 ? b > a : b < a, "step %lld: %g then %g", (long long)s, a, b);
    }
    // warmup longer than the run: all warmup, never above lr
    for (int64_t s = 0; s < 5; s++) cr_assert_leq(sf_cosine_lr(1e-3, 0, s, 8, 5), 1e-3);
}
