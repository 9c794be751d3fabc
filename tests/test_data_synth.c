// test_data_synth.c: the synthetic demo dataset: layout, imbalance, speed, determinism, and that it is
// learnable but not trivial (a nearest-class-mean classifier on 8x8 thumbnails beats chance by far but
// is far from perfect).
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "data/dataset.h"
#include "data/image.h"
#include "data/resize.h"
#include "data/split.h"
#include "data/synth.h"
#include "util/util.h"

static char root[256];

static void setup(void) {
    snprintf(root, sizeof root, "/tmp/sf_test_synth_XXXXXX");
    cr_assert_not_null(mkdtemp(root));
}

static void teardown(void) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(data_synth, .init = setup, .fini = teardown);

Test(data_synth, default_dataset) {
    sf_synth_cfg cfg = sf_synth_defaults();
    char err[512];
    double t = sf_now();
    int n = sf_synth_write(root, &cfg, err, sizeof err);
    t = sf_now() - t;
    cr_assert_gt(n, 0, "%s", err);
    cr_log_info("wrote %d images in %.2f s", n, t);
    cr_assert(n > 2500 && n < 3500);
    cr_assert_lt(t, 20.0);
    sf_dataset ds;
    cr_assert_eq(sf_dataset_scan(&ds, root, 0, err, sizeof err), 0, "%s", err);
    cr_assert_eq(ds.n, n);
    cr_assert_eq(ds.n_classes, 42);
    cr_assert_eq(ds.n_skipped, 0);
    int lo = 1 << 30, hi = 0;
    for (int c = 0; c < 42; c++) {
        char name[64];
        sf_synth_class_name(name, sizeof name, c);
        cr_assert_str_eq(ds.classes[c], name);  // names sort in class order
        cr_assert_eq(ds.class_counts[c], sf_synth_class_count(&cfg, c));
        lo = ds.class_counts[c] < lo ? ds.class_counts[c] : lo;
        hi = ds.class_counts[c] > hi ? ds.class_counts[c] : hi;
    }
    cr_log_info("class sizes from %d to %d", lo, hi);
    cr_assert(lo == 5 && hi == 300);

    // Nearest class mean on 8x8 thumbnails, 25% held out.
    enum { T = 8, F = T * T * 3 };
    sf_split sp;
    sf_split_stratified(&sp, &ds, 0.25f, 3, 1);
    double *mean = calloc((size_t)42 * F, sizeof(double));
    float *feat = malloc(sizeof(float) * (size_t)ds.n * F);
    uint8_t thumb[F];
    for (int i = 0; i < ds.n; i++) {
        sf_image img;
        cr_assert_eq(sf_image_load(&img, ds.paths[i], NULL, err, sizeof err), 0, "%s", err);
        cr_assert(img.w >= 64 && img.w <= 96 && img.h >= 64 && img.h <= 96);
        sf_resize_rgb8(thumb, T, T, img.px, img.w, img.h, SF_FILTER_BILINEAR, NULL);
        for (int k = 0; k < F; k++) feat[(size_t)i * F + k] = thumb[k];
        sf_image_free(&img);
    }
    int ntr[42] = {0};
    for (int j = 0; j < sp.n_train; j++) ntr[ds.labels[sp.train[j]]]++;
    for (int j = 0; j < sp.n_train; j++) {
        int i = sp.train[j], c = ds.labels[i];
        for (int k = 0; k < F; k++) mean[c * F + k] += feat[(size_t)i * F + k] / ntr[c];
    }
    int correct = 0;
    for (int j = 0; j < sp.n_val; j++) {
        int i = sp.val[j], best = -1;
        double bd = INFINITY;
        for (int c = 0; c < 42; c++) {
            double d = 0;
            for (int k = 0; k < F; k++) d += pow(feat[(size_t)i * F + k] - mean[c * F + k], 2);
            if (d < bd) bd = d, best = c;
        }
        correct += best == ds.labels[i];
    }
    double acc = (double)correct / sp.n_val;
    cr_log_info("nearest class mean on 8x8 thumbnails: %.1f%% of %d held-out images (chance %.1f%%)", 100 * acc,
                sp.n_val, 100.0 / 42);
    cr_assert(acc > 3.0 / 42 && acc < 0.9, "accuracy %.3f", acc);
    free(mean);
    free(feat);
    sf_split_free(&sp);
    sf_dataset_free(&ds);
}

Test(data_synth, deterministic_drawing) {
    uint8_t a[70 * 80 * 3], b[70 * 80 * 3];
    sf_synth_draw(a, 70, 80, 13, 5, 7);
    sf_synth_draw(b, 70, 80, 13, 5, 7);
    cr_assert(!memcmp(a, b, sizeof a));
    sf_synth_draw(b, 70, 80, 13, 6, 7);
    cr_assert(memcmp(a, b, sizeof a), "another image index, another picture");
}
