// test_data_split.c: the stratified split keeps every class's proportion, is a partition, is seeded,
// and keeps one-image classes in train.
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "data/split.h"

// An in-memory dataset (no files) with the given class counts, classes interleaved in index order.
static sf_dataset fake(const int *counts, int nc) {
    sf_dataset ds;
    memset(&ds, 0, sizeof ds);
    int n = 0;
    for (int c = 0; c < nc; c++) n += counts[c];
    ds.n = n;
    ds.n_classes = nc;
    ds.labels = malloc(sizeof(int) * n);
    ds.class_counts = malloc(sizeof(int) * nc);
    ds.classes = malloc(sizeof(char *) * nc);
    int left[16];
    memcpy(left, counts, sizeof(int) * nc);
    for (int i = 0, c = 0; i < n; c = (c + 1) % nc) {
        if (!left[c]) continue;
        left[c]--;
        ds.labels[i++] = c;
    }
    for (int c = 0; c < nc; c++) {
        ds.class_counts[c] = counts[c];
        ds.classes[c] = malloc(32);
        snprintf(ds.classes[c], 32, "class%d", c);
    }
    return ds;
}

static void fake_free(sf_dataset *ds) {
    for (int c = 0; c < ds->n_classes; c++) free(ds->classes[c]);
    free(ds->classes);
    free(ds->labels);
    free(ds->class_counts);
}

Test(data_split, stratified_partition) {
    const int counts[] = {100, 40, 7, 2, 1, 13};
    sf_dataset ds = fake(counts, 6);
    sf_split s;
    sf_split_stratified(&s, &ds, 0.25f, 42, 0);
    cr_assert_eq(s.n_train + s.n_val, ds.n);
    char *seen = calloc(ds.n, 1);
    int val_per[6] = {0};
    for (int i = 0; i < s.n_train; i++) seen[s.train[i]]++;
    for (int i = 0; i < s.n_val; i++) {
        seen[s.val[i]]++;
        val_per[ds.labels[s.val[i]]]++;
        if (i) cr_assert_lt(s.val[i - 1], s.val[i], "val indices ascending");
    }
    for (int i = 0; i < ds.n; i++) cr_assert_eq(seen[i], 1, "image %d in %d parts", i, seen[i]);
    const int want[] = {25, 10, 2, 1, 0, 3};  // round(count / 4), >= 1 and <= count - 1 for count >= 2
    for (int c = 0; c < 6; c++) {
        cr_log_info("class %d: %d images, %d in validation", c, counts[c], val_per[c]);
        cr_assert_eq(val_per[c], want[c]);
    }
    free(seen);
    sf_split_free(&s);
    fake_free(&ds);
}

Test(data_split, seeded) {
    const int counts[] = {50, 50};
    sf_dataset ds = fake(counts, 2);
    sf_split a, b, c;
    sf_split_stratified(&a, &ds, 0.25f, 1, 1);
    sf_split_stratified(&b, &ds, 0.25f, 1, 1);
    sf_split_stratified(&c, &ds, 0.25f, 2, 1);
    cr_assert_eq(a.n_val, b.n_val);
    cr_assert(!memcmp(a.val, b.val, sizeof(int) * a.n_val), "same seed, same split");
    cr_assert(c.n_val == a.n_val && memcmp(a.val, c.val, sizeof(int) * a.n_val), "another seed, another split");
    sf_split_free(&a);
    sf_split_free(&b);
    sf_split_free(&c);
    fake_free(&ds);
}

Test(data_split, zero_fraction_is_all_train) {
    const int counts[] = {5, 3};
    sf_dataset ds = fake(counts, 2);
    sf_split s;
    sf_split_stratified(&s, &ds, 0.0f, 1, 1);
    cr_assert_eq(s.n_val, 0);
    cr_assert_eq(s.n_train, 8);
    sf_split_free(&s);
    fake_free(&ds);
}

Test(data_split, real_simpsons_train) {
    const char *dir = "../shared/data/simpsons/train";
    if (access(dir, R_OK) != 0) cr_skip_test("%s absent", dir);
    sf_dataset ds;
    char err[512];
    cr_assert_eq(sf_dataset_scan(&ds, dir, 1, err, sizeof err), 0, "%s", err);
    sf_split s;
    sf_split_stratified(&s, &ds, 0.25f, 0, 0);
    int *vc = calloc(ds.n_classes, sizeof(int));
    for (int i = 0; i < s.n_val; i++) vc[ds.labels[s.val[i]]]++;
    double worst = 0;
    for (int c = 0; c < ds.n_classes; c++) {
        double dev = fabs(vc[c] - 0.25 * ds.class_counts[c]);
        worst = fmax(worst, dev);
        cr_assert_leq(dev, 1.0, "class %s: %d of %d in validation", ds.classes[c], vc[c], ds.class_counts[c]);
    }
    cr_log_info("simpsons: %d train / %d val, worst class deviation from 25%%: %.2f images", s.n_train, s.n_val,
                worst);
    free(vc);
    sf_split_free(&s);
    sf_dataset_free(&ds);
}
