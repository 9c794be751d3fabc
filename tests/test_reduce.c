// test_reduce.c: the in-process gradient all-reduce: correct sums, a pinned summation order, and results
// bit-identical across thread counts and runs.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/reduce.h"
#include "util/rng.h"
#include "util/util.h"

#define MAX_R 5

// replicas[r] is (count) floats of N(0,1)-ish values scaled per replica so that the order matters.
static void fill(float *replicas[], int n, size_t count, uint64_t seed) {
    for (int r = 0; r < n; r++) {
        uint64_t s = seed * 7919u + (uint64_t)r;
        for (size_t i = 0; i < count; i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            float u = (float)((s >> 40) & 0xffffff) / (float)0x1000000 - 0.5f;
            replicas[r][i] = u * (r % 2 ? 1e4f : 1e-2f);
        }
    }
}

static void alloc(float *bufs[], int n, size_t count) {
    for (int r = 0; r < n; r++) bufs[r] = sf_malloc(count * sizeof(float) + 1);
}
static void release(float *bufs[], int n) {
    for (int r = 0; r < n; r++) free(bufs[r]);
}

Test(reduce, sums_and_replicas_agree) {
    size_t counts[] = {0, 1, 7, 4096, 4097, 100003};
    sf_reducer *red = sf_reducer_inproc();
    cr_assert_str_eq(red->name, "inproc");
    for (int n = 1; n <= MAX_R; n++)
        for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
            size_t count = counts[k];
            float *bufs[MAX_R];
            alloc(bufs, n, count);
            fill(bufs, n, count, 1 + count);
            // Reference in double, and the exact left-to-right float sum.
            double max_err = 0;
            float *want = sf_malloc(count * sizeof(float) + 1);
            double *ref = sf_malloc(count * sizeof(double) + 1), *mag = sf_malloc(count * sizeof(double) + 1);
            for (size_t i = 0; i < count; i++) {
                float s = bufs[0][i];
                double d = bufs[0][i], m = fabs(bufs[0][i]);
                for (int r = 1; r < n; r++) s += bufs[r][i], d += bufs[r][i], m += fabs(bufs[r][i]);
                want[i] = s, ref[i] = d, mag[i] = m;
            }
            sf_allreduce_sum(red, bufs, n, count);
            for (size_t i = 0; i < count; i++) {
                double err = fabs(bufs[0][i] - ref[i]) / (1e-30 + mag[i]);
                if (err > max_err) max_err = err;
                cr_assert(memcmp(&bufs[0][i], &want[i], sizeof(float)) == 0,
                          "n=%d count=%zu element %zu: %g, left-to-right order gives %g", n, count, i, bufs[0][i],
                          want[i]);
                for (int r = 1; r < n; r++)
                    cr_assert(memcmp(&bufs[r][i], &bufs[0][i], sizeof(float)) == 0, "replica %d differs at %zu", r, i);
            }
            if (count == 100003) cr_log_info("n=%d replicas, %zu floats: max error vs double %.2e of sum |x|", n, count, max_err);
            // Recursive summation: |error| <= (n - 1) * eps * sum |x|.
            cr_assert(max_err <= (n - 1) * 6e-8 + 1e-12, "max error %.3e of sum |x|", max_err);
            free(want);
            free(ref);
            free(mag);
            release(bufs, n);
        }
    sf_reducer_free(red);
}

// (1e8 + 1) - 1e8 is 0 in float when summed left to right, 1 in another order: the order is pinned.
Test(reduce, order_is_fixed) {
    float a[3] = {1e8f, 1e8f, 1e8f}, b[3] = {1.0f, 1.0f, 1.0f}, c[3] = {-1e8f, -1e8f, -1e8f};
    float *bufs[3] = {a, b, c};
    sf_reducer *red = sf_reducer_inproc();
    sf_allreduce_sum(red, bufs, 3, 3);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(a[i], 0.0f, "got %g", a[i]);
        cr_assert_eq(c[i], 0.0f);
    }
    sf_reducer_free(red);
}

Test(reduce, deterministic_across_threads_and_runs) {
    const int n = 4;
    const size_t count = 300001;
    float *x[4], *y[4];
    alloc(x, n, count);
    alloc(y, n, count);
    sf_reducer *red = sf_reducer_inproc();
    int saved = sf_threads();
    fill(x, n, count, 42);
    sf_set_threads(1);
    sf_allreduce_sum(red, x, n, count);
    int threads[] = {2, 3, 7};
    for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
        fill(y, n, count, 42);
        sf_set_threads(threads[t]);
        sf_allreduce_sum(red, y, n, count);
        cr_assert(memcmp(x[0], y[0], count * sizeof(float)) == 0, "%d threads changed the result", threads[t]);
        cr_assert(memcmp(x[3], y[3], count * sizeof(float)) == 0);
    }
    sf_set_threads(saved);
    sf_reducer_free(red);
    release(x, n);
    release(y, n);
}
