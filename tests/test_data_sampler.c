// test_data_sampler.c: per-epoch class counts of each balancing mode, determinism from (seed, epoch).
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "data/sampler.h"

enum { NC = 5 };
static const int counts[NC] = {100, 37, 8, 3, 1};

// labels of the dataset indices 0..n-1 (class blocks), idx = every other image plus the rest.
static int *make_labels(int *n) {
    int total = 0;
    for (int c = 0; c < NC; c++) total += counts[c];
    int *l = malloc(sizeof(int) * total);
    for (int c = 0, k = 0; c < NC; c++)
        for (int i = 0; i < counts[c]; i++) l[k++] = c;
    *n = total;
    return l;
}

static int *iota(int n) {
    int *v = malloc(sizeof(int) * n);
    for (int i = 0; i < n; i++) v[i] = i;
    return v;
}

Test(data_sampler, none_is_a_permutation) {
    int n;
    int *labels = make_labels(&n), *idx = iota(n);
    sf_sampler s;
    sf_sampler_init(&s, idx, n, labels, NC, SF_BALANCE_NONE, 1, 9);
    cr_assert_eq(sf_sampler_len(&s), n);
    int *order = malloc(sizeof(int) * n), *seen = calloc(n, sizeof(int));
    sf_sampler_epoch(&s, 0, order);
    int moved = 0;
    for (int i = 0; i < n; i++) seen[order[i]]++, moved += order[i] != i;
    for (int i = 0; i < n; i++) cr_assert_eq(seen[i], 1);
    cr_assert_gt(moved, n / 2, "shuffled");
    sf_sampler_free(&s);
    sf_sampler_init(&s, idx, n, labels, NC, SF_BALANCE_NONE, 0, 9);
    sf_sampler_epoch(&s, 3, order);
    for (int i = 0; i < n; i++) cr_assert_eq(order[i], i, "unshuffled keeps index order");
    sf_sampler_free(&s);
    free(order), free(seen), free(idx), free(labels);
}

Test(data_sampler, oversample_counts) {
    int n;
    int *labels = make_labels(&n), *idx = iota(n);
    sf_sampler s;
    sf_sampler_init(&s, idx, n, labels, NC, SF_BALANCE_OVERSAMPLE, 1, 5);
    int len = sf_sampler_len(&s);
    cr_assert_eq(len, 100 * NC);
    int *order = malloc(sizeof(int) * len), *times = malloc(sizeof(int) * n);
    for (int epoch = 0; epoch < 3; epoch++) {
        sf_sampler_epoch(&s, epoch, order);
        int per[NC] = {0};
        memset(times, 0, sizeof(int) * n);
        for (int i = 0; i < len; i++) per[labels[order[i]]]++, times[order[i]]++;
        for (int c = 0; c < NC; c++) cr_assert_eq(per[c], 100, "epoch %d class %d: %d", epoch, c, per[c]);
        // Each image of a class of c images appears floor(100/c) or ceil(100/c) times.
        for (int i = 0; i < n; i++) {
            int c = counts[labels[i]], lo = 100 / c, hi = (100 + c - 1) / c;
            cr_assert(times[i] >= lo && times[i] <= hi, "image %d: %d times (class of %d)", i, times[i], c);
        }
    }
    cr_log_info("oversample: %d per epoch, every class exactly 100", len);
    sf_sampler_free(&s);
    free(order), free(times), free(idx), free(labels);
}

Test(data_sampler, weighted_is_balanced_on_average) {
    int n;
    int *labels = make_labels(&n), *idx = iota(n);
    sf_sampler s;
    sf_sampler_init(&s, idx, n, labels, NC, SF_BALANCE_WEIGHTED, 1, 11);
    int len = sf_sampler_len(&s);
    cr_assert_eq(len, n);
    int *order = malloc(sizeof(int) * len);
    double per[NC] = {0};
    int epochs = 200;
    for (int e = 0; e < epochs; e++) {
        sf_sampler_epoch(&s, e, order);
        for (int i = 0; i < len; i++) per[labels[order[i]]]++;
    }
    double expect = (double)epochs * len / NC, worst = 0;
    for (int c = 0; c < NC; c++) worst = fmax(worst, fabs(per[c] - expect) / expect);
    cr_log_info("weighted: %d draws, worst class deviation from uniform %.3f", epochs * len, worst);
    cr_assert_lt(worst, 0.05);  // about 5 standard deviations at these counts
    sf_sampler_free(&s);
    free(order), free(idx), free(labels);
}

Test(data_sampler, deterministic_per_epoch) {
    int n;
    int *labels = make_labels(&n), *idx = iota(n);
    for (int mode = 0; mode < 3; mode++) {
        sf_sampler a, b;
        sf_sampler_init(&a, idx, n, labels, NC, mode, 1, 77);
        sf_sampler_init(&b, idx, n, labels, NC, mode, 1, 77);
        int len = sf_sampler_len(&a);
        int *o1 = malloc(sizeof(int) * len), *o2 = malloc(sizeof(int) * len), *o3 = malloc(sizeof(int) * len);
        sf_sampler_epoch(&a, 4, o1);
        sf_sampler_epoch(&b, 5, o3);
        sf_sampler_epoch(&b, 4, o2);
        cr_assert(!memcmp(o1, o2, sizeof(int) * len), "%s: same (seed, epoch), same order", sf_balance_name(mode));
        cr_assert(memcmp(o1, o3, sizeof(int) * len), "%s: next epoch differs", sf_balance_name(mode));
        free(o1), free(o2), free(o3);
        sf_sampler_free(&a);
        sf_sampler_free(&b);
    }
    cr_assert_eq(sf_balance_parse("oversample"), SF_BALANCE_OVERSAMPLE);
    cr_assert_eq(sf_balance_parse("bogus"), -1);
    free(idx), free(labels);
}

// A subset (as a training split) is balanced on its own counts.
Test(data_sampler, subset) {
    int n;
    int *labels = make_labels(&n);
    int sub[] = {0, 1, 2, 100, 137, 138};  // class 0: 3, class 1: 1, class 2: 2
    sf_sampler s;
    sf_sampler_init(&s, sub, 6, labels, NC, SF_BALANCE_OVERSAMPLE, 1, 1);
    cr_assert_eq(sf_sampler_len(&s), 9);
    int order[9], per[NC] = {0};
    sf_sampler_epoch(&s, 0, order);
    for (int i = 0; i < 9; i++) per[labels[order[i]]]++;
    cr_assert(per[0] == 3 && per[1] == 3 && per[2] == 3);
    sf_sampler_free(&s);
    free(labels);
}
