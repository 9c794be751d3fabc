// test_kern_activation.c: ReLU forward and backward against the definition (a small hand-made case, a
// large threaded one, in-place use, NaN propagation) and a finite-difference check of the backward.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "springfield.h"

Test(activation, small_exact) {
    float x[7] = {-2.0f, -0.0f, 0.0f, 1e-30f, 3.5f, -1e-30f, NAN}, y[7], dy[7] = {1, 2, 3, 4, 5, 6, 7}, dx[7];
    sf_relu_forward(y, x, 7);
    float want[6] = {0.0f, 0.0f, 0.0f, 1e-30f, 3.5f, 0.0f};
    for (int i = 0; i < 6; i++) cr_expect_eq(y[i], want[i], "y[%d] = %g", i, y[i]);
    cr_expect(isnan(y[6]), "NaN must propagate, as torch.relu");
    sf_relu_backward(dx, dy, y, 7);
    float wantd[7] = {0, 0, 0, 4, 5, 0, 0};
    for (int i = 0; i < 7; i++) cr_expect_eq(dx[i], wantd[i], "dx[%d] = %g", i, dx[i]);
}

// Above the threading threshold, and in place (y == x, dx == dy).
Test(activation, large_in_place) {
    size_t n = 1000003;
    float *x = malloc(n * sizeof(float)), *keep = malloc(n * sizeof(float)), *dy = malloc(n * sizeof(float));
    sf_rng g;
    sf_rng_seed(&g, 8, 8);
    for (size_t i = 0; i < n; i++) keep[i] = x[i] = sf_rng_uniform_range(&g, -1.0f, 1.0f);
    for (size_t i = 0; i < n; i++) dy[i] = sf_rng_uniform_range(&g, -1.0f, 1.0f);
    float *dyk = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) dyk[i] = dy[i];
    sf_relu_forward(x, x, n);
    sf_relu_backward(dy, dy, x, n);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        float wy = keep[i] > 0.0f ? keep[i] : 0.0f, wd = keep[i] > 0.0f ? dyk[i] : 0.0f;
        bad += x[i] != wy || dy[i] != wd;
    }
    cr_log_info("relu on %zu floats with %d threads: %zu mismatches", n, sf_threads(), bad);
    cr_expect_eq(bad, 0);
    free(x), free(keep), free(dy), free(dyk);
}

Test(activation, finite_differences) {
    enum { N = 64 };
    float x[N], y[N], r[N], dx[N];
    sf_rng g;
    sf_rng_seed(&g, 10, 10);
    // Away from the kink at 0, where the derivative is undefined.
    for (int i = 0; i < N; i++) {
        float v = sf_rng_uniform_range(&g, 0.1f, 1.0f);
        x[i] = i % 2 ? v : -v;
        r[i] = sf_rng_uniform_range(&g, -1.0f, 1.0f);
    }
    sf_relu_forward(y, x, N);
    sf_relu_backward(dx, r, y, N);
    const float h = 1e-2f;
    double err = 0;
    for (int i = 0; i < N; i++) {
        double l[2];
        float x0 = x[i];
        for (int s = 0; s < 2; s++) {
            x[i] = x0 + (s ? -h : h);
            sf_relu_forward(y, x, N);
            l[s] = 0;
            for (int j = 0; j < N; j++) l[s] += (double)r[j] * y[j];
        }
        x[i] = x0;
        err = fmax(err, fabs((l[0] - l[1]) / (2.0 * h) - dx[i]));
    }
    cr_log_info("finite differences: max abs err %.2e", err);
    cr_expect_leq(err, 1e-5);
}

// The bitmask pair against the plain pair, bit for bit: odd lengths (partial last byte), both sides of
// the threading threshold, specials (zeros of both signs, tiny values, NaN), and in place.
Test(activation, mask_matches_plain) {
    const size_t sizes[] = {1, 7, 8, 9, 63, 1000003};
    sf_rng g;
    sf_rng_seed(&g, 12, 12);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        float *x = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float)), *yi = malloc(n * sizeof(float));
        float *dy = malloc(n * sizeof(float)), *dx = malloc(n * sizeof(float)), *dxi = malloc(n * sizeof(float));
        uint8_t *mask = malloc(sf_relu_mask_bytes(n));
        const float special[] = {0.0f, -0.0f, 1e-30f, -1e-30f, NAN, -NAN};
        for (size_t i = 0; i < n; i++) {
            x[i] = i % 11 == 3 ? special[(i / 11) % 6] : sf_rng_uniform_range(&g, -1.0f, 1.0f);
            dy[i] = dxi[i] = sf_rng_uniform_range(&g, -1.0f, 1.0f);
            yi[i] = x[i];
        }
        sf_relu_forward(y, x, n);
        sf_relu_backward(dx, dy, y, n);
        sf_relu_forward_mask(yi, mask, yi, n);  // in place
        sf_relu_backward_mask(dxi, dxi, mask, n);
        size_t bad_y = 0, bad_dx = 0, bad_bit = 0;
        for (size_t i = 0; i < n; i++) {
            bad_y += memcmp(&y[i], &yi[i], sizeof(float)) != 0;
            bad_dx += memcmp(&dx[i], &dxi[i], sizeof(float)) != 0;
            bad_bit += ((mask[i / 8] >> (i % 8)) & 1) != (y[i] > 0.0f);
        }
        cr_log_info("relu mask, %zu floats: %zu y, %zu dx, %zu mask-bit mismatches", n, bad_y, bad_dx, bad_bit);
        cr_expect_eq(bad_y + bad_dx + bad_bit, 0, "n=%zu", n);
        free(x), free(y), free(yi), free(dy), free(dx), free(dxi), free(mask);
    }
}
