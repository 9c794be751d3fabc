// test_nn_classify.c: sf_classify (evaluate/predict --tta none|flip) against softmaxes computed here
// from sf_model_forward, and sf_mirror_rows against its index formula.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/classify.h"
#include "nn/model.h"
#include "springfield.h"

enum { N = 3, S = 32, K = 5 };

static sf_model *make(void) {
    char err[256];
    sf_model_config c = {.arch = "resnet18", .n_classes = K, .in_h = S, .in_w = S, .max_batch = N, .seed = 3};
    sf_model *m = sf_model_create(&c, err, sizeof err);
    cr_assert(m, "%s", err);
    return m;
}

static float *random_batch(void) {
    size_t c = (size_t)N * 3 * S * S;
    float *x = sf_aligned_alloc(c * sizeof(float));  // x is (N,3,S,S)
    sf_rng r;
    sf_rng_seed(&r, 11, 0);
    for (size_t i = 0; i < c; i++) x[i] = sf_rng_uniform_range(&r, -1.0f, 1.0f);
    return x;
}

// out (N,K) = softmax of the eval-mode logits, in double.
static void softmax_of_forward(double *out, sf_model *m, const float *x) {
    const float *l = sf_model_forward(m, x, N, false);  // l is (N,K)
    for (int i = 0; i < N; i++) {
        double mx = l[i * K], z = 0;
        for (int c = 1; c < K; c++) mx = fmax(mx, l[i * K + c]);
        for (int c = 0; c < K; c++) z += exp(l[i * K + c] - mx);
        for (int c = 0; c < K; c++) out[i * K + c] = exp(l[i * K + c] - mx) / z;
    }
}

Test(nn_classify, mirror_rows_reverses_each_row) {
    enum { n = 2, c = 3, h = 4, w = 7 };
    float x[n * c * h * w], y[n * c * h * w];
    for (int i = 0; i < n * c * h * w; i++) x[i] = y[i] = (float)i;
    sf_mirror_rows(y, n, c, h, w);
    for (int r = 0; r < n * c * h; r++)
        for (int j = 0; j < w; j++) cr_assert_eq(y[r * w + j], x[r * w + (w - 1 - j)], "row %d column %d", r, j);
    sf_mirror_rows(y, n, c, h, w);
    cr_assert(!memcmp(x, y, sizeof x), "mirroring twice is not the identity");
}

Test(nn_classify, no_tta_is_the_softmax_of_the_logits) {
    sf_model *m = make();
    float *x = random_batch();
    float p[N * K];
    double want[N * K];
    sf_classify(p, m, x, N, 0);
    softmax_of_forward(want, m, x);
    double worst = 0;
    for (int i = 0; i < N * K; i++) worst = fmax(worst, fabs(p[i] - want[i]));
    cr_log_info("no tta: max |p - softmax| = %.3g", worst);
    cr_assert(worst < 1e-6, "max |p - softmax| = %g", worst);
    sf_free_aligned(x);
    sf_model_free(m);
}

Test(nn_classify, flip_averages_image_and_mirror_and_restores_x) {
    sf_model *m = make();
    float *x = random_batch(), *x0 = random_batch(), *xm = random_batch();
    sf_mirror_rows(xm, N, 3, S, S);
    float p[N * K], pm[N * K];
    double a[N * K], b[N * K];
    softmax_of_forward(a, m, x0);
    softmax_of_forward(b, m, xm);
    sf_classify(p, m, x, N, 1);
    cr_assert(!memcmp(x, x0, (size_t)N * 3 * S * S * sizeof(float)), "x was not restored");
    double worst = 0, gap = 0;
    for (int i = 0; i < N * K; i++) {
        worst = fmax(worst, fabs(p[i] - 0.5 * (a[i] + b[i])));
        gap = fmax(gap, fabs(a[i] - b[i]));
    }
    cr_log_info("flip: max |p - mean of the two softmaxes| = %.3g; the two differ by up to %.3g", worst, gap);
    cr_assert(worst < 1e-6, "max |p - mean| = %g", worst);
    cr_assert(gap > 1e-4, "the mirror image gave the same probabilities (gap %g): the test sees nothing", gap);
    // Flip TTA cannot tell an image from its mirror image.
    sf_classify(pm, m, xm, N, 1);
    for (int i = 0; i < N * K; i++) cr_assert(fabsf(p[i] - pm[i]) < 1e-6f, "entry %d: %g vs %g", i, p[i], pm[i]);
    sf_free_aligned(x);
    sf_free_aligned(x0);
    sf_free_aligned(xm);
    sf_model_free(m);
}

// An ensemble is the mean of its members' probabilities, each on the batch at its own input size (here
// 32 and 40 px, different weights), and one member is sf_classify itself.
Test(nn_classify, ensemble_is_the_mean_of_its_members) {
    enum { S2 = 40 };
    char err[256];
    sf_model_config c2 = {.arch = "resnet18", .n_classes = K, .in_h = S2, .in_w = S2, .max_batch = N, .seed = 9};
    sf_model *m[2] = {make(), sf_model_create(&c2, err, sizeof err)};
    cr_assert(m[1], "%s", err);
    float *x0 = random_batch(), *x1 = sf_aligned_alloc((size_t)N * 3 * S2 * S2 * sizeof(float));  // x1 is (N,3,S2,S2)
    for (size_t i = 0; i < (size_t)N * 3 * S2 * S2; i++) x1[i] = 0.5f * sinf(0.37f * (float)i);
    float *xs[2] = {x0, x1};
    float p[N * K], one[N * K], a[N * K], b[N * K];
    for (int flip = 0; flip <= 1; flip++) {
        sf_classify(a, m[0], x0, N, flip);
        sf_classify(b, m[1], x1, N, flip);
        sf_classify_mean(p, m, xs, 2, N, flip);
        sf_classify_mean(one, m, xs, 1, N, flip);
        double worst = 0, worst1 = 0, gap = 0;
        for (int i = 0; i < N * K; i++) {
            worst = fmax(worst, fabs(p[i] - 0.5 * ((double)a[i] + b[i])));
            worst1 = fmax(worst1, fabs(one[i] - a[i]));
            gap = fmax(gap, fabs(a[i] - b[i]));
        }
        cr_log_info("ensemble (flip %d): max |p - mean of members| = %.3g, one member %.3g; members differ by up to %.3g",
                    flip, worst, worst1, gap);
        cr_assert(worst < 1e-6 && worst1 < 1e-6, "ensemble off the mean by %g (one member: %g)", worst, worst1);
        cr_assert(gap > 1e-4, "the two members agree (gap %g): the test sees nothing", gap);
    }
    sf_free_aligned(x0);
    sf_free_aligned(x1);
    sf_model_free(m[0]);
    sf_model_free(m[1]);
}
