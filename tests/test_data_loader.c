// test_data_loader.c: the threaded loader on a small synthetic dataset with three broken files mixed in:
// output identical for 0..3 threads and with or without the cache, bad files reported once and replaced,
// evaluation rows equal to the plain transform, epoch restarts, and a pass over real images if present.
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "data/image.h"
#include "data/loader.h"
#include "data/synth.h"

static char root[256];
static sf_dataset ds;
static int *all_idx;

enum { S = 32, B = 5 };

static void setup(void) {
    snprintf(root, sizeof root, "/tmp/sf_test_loader_XXXXXX");
    cr_assert_not_null(mkdtemp(root));
    sf_synth_cfg cfg = sf_synth_defaults();
    cfg.n_classes = 6;
    cfg.largest = 12;
    cfg.smallest = 3;
    cfg.min_size = 40;
    cfg.max_size = 90;
    char err[512], path[600], name[64];
    cr_assert_gt(sf_synth_write(root, &cfg, err, sizeof err), 0, "%s", err);
    // Files that pass the scan (JPEG magic) but fail to decode: truncated, and a declared bomb.
    sf_synth_class_name(name, sizeof name, 1);
    snprintf(path, sizeof path, "%s/%s/pic_0000.jpg", root, name);
    FILE *f = fopen(path, "rb");
    uint8_t buf[200];
    cr_assert_eq(fread(buf, 1, sizeof buf, f), sizeof buf);
    fclose(f);
    snprintf(path, sizeof path, "%s/%s/zz_truncated.jpg", root, name);
    f = fopen(path, "wb");
    fwrite(buf, 1, sizeof buf, f);
    fclose(f);
    // The bomb: a real JPEG whose SOF0 header is patched to declare 60000 x 60000 pixels.
    sf_synth_class_name(name, sizeof name, 4);
    snprintf(path, sizeof path, "%s/%s/pic_0000.jpg", root, name);
    f = fopen(path, "rb");
    static uint8_t whole[1 << 16];
    size_t n = fread(whole, 1, sizeof whole, f);
    fclose(f);
    size_t sof = 0;
    for (size_t i = 2; i + 8 < n && !sof; i++)
        if (whole[i] == 0xFF && whole[i + 1] == 0xC0) sof = i;
    cr_assert_gt(sof, 0);
    whole[sof + 5] = whole[sof + 7] = 60000 >> 8;
    whole[sof + 6] = whole[sof + 8] = 60000 & 255;
    snprintf(path, sizeof path, "%s/%s/zz_bomb.jpg", root, name);
    f = fopen(path, "wb");
    fwrite(whole, 1, n, f);
    fclose(f);
    // A file that loses only its end-of-image marker: no draw's pixels depend on it, but its first decode
    // reads the whole stream, so it is bad (truncated, as for a full decode) in every run and thread count.
    sf_synth_class_name(name, sizeof name, 2);
    snprintf(path, sizeof path, "%s/%s/pic_0001.jpg", root, name);
    f = fopen(path, "rb");
    n = fread(whole, 1, sizeof whole, f);
    fclose(f);
    snprintf(path, sizeof path, "%s/%s/zz_tail.jpg", root, name);
    f = fopen(path, "wb");
    fwrite(whole, 1, n - 2, f);
    fclose(f);
    cr_assert_eq(sf_dataset_scan(&ds, root, 1, err, sizeof err), 0, "%s", err);
    all_idx = malloc(sizeof(int) * ds.n);
    for (int i = 0; i < ds.n; i++) all_idx[i] = i;
}

static void teardown(void) {
    sf_dataset_free(&ds);
    free(all_idx);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(data_loader, .init = setup, .fini = teardown);

// Criterion does not run .fini for a skipped test, so a skip removes the temporary folder itself.
#define skip_clean(...) \
    do { \
        teardown(); \
        cr_skip_test(__VA_ARGS__); \
    } while (0)

// All rows of epochs 0..n_epochs-1, concatenated: x, y and index.
typedef struct {
    float *x;
    int64_t *y;
    int *idx;
    int rows, batches, short_batches;
} run_out;

static run_out run(const sf_loader_cfg *cfg, int n_epochs) {
    sf_loader *l = sf_loader_create(&ds, all_idx, ds.n, cfg);
    int cap = sf_loader_epoch_len(l) * n_epochs;
    run_out r = {malloc(sizeof(float) * 3 * S * S * cap), malloc(sizeof(int64_t) * cap), malloc(sizeof(int) * cap),
                 0, 0, 0};
    for (int e = 0; e < n_epochs; e++) {
        sf_loader_start_epoch(l, e);
        sf_batch b;
        while (sf_loader_next(l, &b)) {
            cr_assert_leq(r.rows + b.n, cap);
            memcpy(r.x + (size_t)r.rows * 3 * S * S, b.x, sizeof(float) * 3 * S * S * b.n);
            memcpy(r.y + r.rows, b.y, sizeof(int64_t) * b.n);
            memcpy(r.idx + r.rows, b.index, sizeof(int) * b.n);
            r.rows += b.n;
            r.batches++;
            r.short_batches += b.n < B;
        }
    }
    sf_loader_destroy(l);
    return r;
}

static void run_free(run_out *r) {
    free(r->x);
    free(r->y);
    free(r->idx);
}

static int same(const run_out *a, const run_out *b) {
    return a->rows == b->rows && !memcmp(a->x, b->x, sizeof(float) * 3 * S * S * a->rows) &&
           !memcmp(a->y, b->y, sizeof(int64_t) * a->rows) && !memcmp(a->idx, b->idx, sizeof(int) * a->rows);
}

static sf_loader_cfg train_cfg(int threads) {
    sf_loader_cfg c = sf_loader_defaults(S, B);
    c.threads = threads;
    c.balance = SF_BALANCE_OVERSAMPLE;
    c.seed = 1234;
    c.quiet = 1;
    return c;
}

Test(data_loader, deterministic_across_thread_counts) {
    sf_loader_cfg c0 = train_cfg(0);
    run_out ref = run(&c0, 2);
    cr_log_info("reference: %d rows in %d batches over 2 epochs (threads 0)", ref.rows, ref.batches);
    for (int t = 1; t <= 3; t++) {
        sf_loader_cfg c = train_cfg(t);
        c.prefetch = t == 2 ? 2 : 4;
        run_out o = run(&c, 2);
        cr_assert(same(&ref, &o), "threads %d gives different batches", t);
        run_out o2 = run(&c, 2);
        cr_assert(same(&ref, &o2), "threads %d not reproducible", t);
        run_free(&o);
        run_free(&o2);
    }
    // Another seed changes the augmentation.
    sf_loader_cfg c = train_cfg(2);
    c.seed = 99;
    run_out other = run(&c, 1);
    cr_assert(memcmp(ref.x, other.x, sizeof(float) * 3 * S * S * B), "seed has no effect");
    run_free(&other);
    run_free(&ref);
}

Test(data_loader, cache_gives_identical_output) {
    sf_loader_cfg c = train_cfg(2);
    run_out plain = run(&c, 3);
    c.cache = 1;
    run_out cached = run(&c, 3);
    cr_assert(same(&plain, &cached), "cache changes the output");
    c.augment = 0;
    c.shuffle = 0;
    c.balance = SF_BALANCE_NONE;
    run_out ev_cached = run(&c, 2);
    c.cache = 0;
    run_out ev = run(&c, 2);
    cr_assert(same(&ev, &ev_cached), "cache changes evaluation output");
    run_free(&plain);
    run_free(&cached);
    run_free(&ev);
    run_free(&ev_cached);
}

Test(data_loader, bad_files_reported_once_and_replaced) {
    sf_loader_cfg c = train_cfg(2);
    c.quiet = 0;  // the three warnings appear once each in the test's stderr
    sf_loader *l = sf_loader_create(&ds, all_idx, ds.n, &c);
    int len = sf_loader_epoch_len(l), full = 1, rows = 0;
    for (int e = 0; e < 3; e++) {
        sf_loader_start_epoch(l, e);
        sf_batch b;
        while (sf_loader_next(l, &b)) {
            int want = b.number == sf_loader_batches(l) - 1 && len % B ? len % B : B;
            full &= b.n == want;
            rows += b.n;
            for (int i = 0; i < b.n; i++) {
                const char *base = strrchr(ds.paths[b.index[i]], '/') + 1;
                cr_assert(strncmp(base, "zz_", 3), "a bad file reached a batch");
                cr_assert_eq(b.y[i], ds.labels[b.index[i]]);
            }
        }
    }
    cr_assert(full, "training batches must stay full");
    cr_assert_eq(rows, 3 * len);
    cr_assert_eq(sf_loader_n_bad(l), 3);
    for (int i = 0; i < 3; i++) cr_log_info("bad: %s", sf_loader_bad(l, i));
    cr_assert(strstr(sf_loader_bad(l, 0), "zz_truncated.jpg") && strstr(sf_loader_bad(l, 0), "truncated"));
    cr_assert(strstr(sf_loader_bad(l, 1), "zz_tail.jpg") && strstr(sf_loader_bad(l, 1), "truncated"));
    cr_assert(strstr(sf_loader_bad(l, 2), "zz_bomb.jpg") && strstr(sf_loader_bad(l, 2), "over the limit"));
    char path[300];
    snprintf(path, sizeof path, "%s/bad_images.txt", root);
    cr_assert_eq(sf_loader_write_bad(l, path), 0);
    FILE *f = fopen(path, "r");
    char line[1024];
    int lines = 0;
    while (fgets(line, sizeof line, f)) lines++;
    fclose(f);
    cr_assert_eq(lines, 3);
    sf_loader_destroy(l);
}

// With small crops almost no draw reads the bottom rows of zz_tail.jpg, so a loader that decoded only
// what each draw needs would pass it on; the first decode of a file reads its whole stream, so it never
// reaches a batch, whatever the thread count.
Test(data_loader, damage_outside_the_draws_is_still_found) {
    for (int t = 0; t <= 2; t += 2) {
        sf_loader_cfg c = train_cfg(t);
        c.aug.scale_min = 0.08f, c.aug.scale_max = 0.1f, c.aug.rot_deg = 0.0f;
        sf_loader *l = sf_loader_create(&ds, all_idx, ds.n, &c);
        for (int e = 0; e < 3; e++) {
            sf_loader_start_epoch(l, e);
            sf_batch b;
            while (sf_loader_next(l, &b))
                for (int i = 0; i < b.n; i++)
                    cr_assert(!strstr(ds.paths[b.index[i]], "zz_"), "threads %d: %s reached a batch", t,
                              ds.paths[b.index[i]]);
        }
        cr_assert_eq(sf_loader_n_bad(l), 3);
        sf_loader_destroy(l);
    }
}

Test(data_loader, evaluation_rows_are_the_plain_transform) {
    sf_loader_cfg c = sf_loader_eval_defaults(S, B);
    c.threads = 2;
    c.quiet = 1;
    run_out r = run(&c, 1);
    cr_assert_eq(r.rows, ds.n - 3, "evaluation drops the 3 bad files, nothing else");
    float *want = malloc(sizeof(float) * 3 * S * S);
    double maxe = 0;
    for (int i = 0, prev = -1; i < r.rows; i++) {
        cr_assert_gt(r.idx[i], prev, "dataset order");
        prev = r.idx[i];
        cr_assert_eq(r.y[i], ds.labels[r.idx[i]]);
        sf_image img;
        sf_decode_opts o = {.min_side = 2 * S};
        char err[SF_IMAGE_ERR_LEN];
        cr_assert_eq(sf_image_load(&img, ds.paths[r.idx[i]], &o, err, sizeof err), 0, "%s", err);
        sf_eval_transform(want, S, img.px, img.w, img.h, 0, NULL);
        for (int k = 0; k < 3 * S * S; k++) maxe = fmax(maxe, fabs(want[k] - r.x[(size_t)i * 3 * S * S + k]));
        sf_image_free(&img);
    }
    cr_log_info("evaluation: %d rows, max |loader - transform| %.3g", r.rows, maxe);
    cr_assert_eq(maxe, 0.0);
    free(want);
    run_free(&r);
}

Test(data_loader, restart_mid_epoch) {
    sf_loader_cfg c = train_cfg(3);
    c.prefetch = 3;
    sf_loader *l = sf_loader_create(&ds, all_idx, ds.n, &c);
    sf_batch b;
    sf_loader_start_epoch(l, 0);
    cr_assert(sf_loader_next(l, &b));
    sf_loader_start_epoch(l, 1);  // abandons epoch 0 with batches in flight
    float *first = malloc(sizeof(float) * 3 * S * S * B);
    cr_assert(sf_loader_next(l, &b));
    cr_assert_eq(b.number, 0);
    memcpy(first, b.x, sizeof(float) * 3 * S * S * b.n);
    int n = 1;
    while (sf_loader_next(l, &b)) n++;
    cr_assert_eq(n, sf_loader_batches(l));
    sf_loader_destroy(l);
    // The same epoch 1 from a fresh loader.
    l = sf_loader_create(&ds, all_idx, ds.n, &c);
    sf_loader_start_epoch(l, 1);
    cr_assert(sf_loader_next(l, &b));
    cr_assert(!memcmp(first, b.x, sizeof(float) * 3 * S * S * b.n));
    sf_loader_destroy(l);
    free(first);
}

Test(data_loader, real_simpsons_batches) {
    const char *dir = "../shared/data/simpsons/train";
    if (access(dir, R_OK) != 0) skip_clean("%s absent", dir);
    sf_dataset real;
    char err[512];
    cr_assert_eq(sf_dataset_scan(&real, dir, 1, err, sizeof err), 0, "%s", err);
    int n = 256, *idx = malloc(sizeof(int) * n);
    for (int i = 0; i < n; i++) idx[i] = (int)((long)i * real.n / n);  // spread over all classes
    sf_loader_cfg c = sf_loader_defaults(64, 32);
    c.threads = 2;
    sf_loader *l = sf_loader_create(&real, idx, n, &c);
    sf_loader_start_epoch(l, 0);
    sf_batch b;
    int rows = 0;
    double lo = 1e9, hi = -1e9;
    while (sf_loader_next(l, &b)) {
        for (size_t k = 0; k < (size_t)b.n * 3 * 64 * 64; k++) {
            cr_assert(isfinite(b.x[k]));
            lo = fmin(lo, b.x[k]), hi = fmax(hi, b.x[k]);
        }
        rows += b.n;
    }
    cr_log_info("simpsons: %d rows of (3,64,64), values in [%.3f, %.3f], %d bad", rows, lo, hi, sf_loader_n_bad(l));
    cr_assert_eq(rows, n);
    // Normalised [0,1] pixels lie in [-0.485/0.229, (1-0.406)/0.225] = [-2.118, 2.640].
    cr_assert(lo >= -2.12 && hi <= 2.641);
    sf_loader_destroy(l);
    free(idx);
    sf_dataset_free(&real);
}

Test(data_loader, empty_list_gives_empty_epochs) {
    sf_loader_cfg c = sf_loader_eval_defaults(S, B);
    sf_loader *l = sf_loader_create(&ds, all_idx, 0, &c);
    cr_assert_eq(sf_loader_epoch_len(l), 0);
    cr_assert_eq(sf_loader_batches(l), 0);
    sf_loader_start_epoch(l, 0);
    sf_batch b;
    cr_assert_eq(sf_loader_next(l, &b), 0);
    sf_loader_destroy(l);
}

// Erasing draws from its own stream: with erase = 1 every training row is the row without erasing except
// for one box of zeros, so the crops, flips and rotations are those of the run without it.
Test(data_loader, erasing_only_adds_boxes) {
    sf_loader_cfg c = train_cfg(2);
    run_out plain = run(&c, 1);
    c.aug.erase_p = 1.0f;
    run_out erased = run(&c, 1);
    cr_assert_eq(plain.rows, erased.rows);
    cr_assert(!memcmp(plain.idx, erased.idx, sizeof(int) * plain.rows), "erasing changed the sample order");
    long changed = 0, rows_with_box = 0;
    for (int r = 0; r < plain.rows; r++) {
        long here = 0;
        for (size_t i = 0; i < (size_t)3 * S * S; i++) {
            float a = plain.x[(size_t)r * 3 * S * S + i], b = erased.x[(size_t)r * 3 * S * S + i];
            if (a != b) {
                cr_assert(b == 0.0f, "row %d: pixel %zu changed to %g, not erased", r, i, b);
                here++;
            }
        }
        changed += here;
        rows_with_box += here > 0;
    }
    cr_log_info("erase 1: %ld of %d rows have a box, %.1f%% of the pixels zeroed", rows_with_box, plain.rows,
                100.0 * changed / ((double)plain.rows * 3 * S * S));
    cr_assert_gt(rows_with_box, plain.rows * 9 / 10);
    run_free(&plain);
    run_free(&erased);
}
