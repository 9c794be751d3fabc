// tsan_loader.c: the prefetching loader's threads under ThreadSanitizer (make test-tsan).
//
// A plain program, not a Criterion test: Criterion's forking sandbox cannot start under TSan (its
// inheritable arena fails to map: Criterion issue #274). It drives what the loader shares between
// threads: the ring of batch slots and the epoch state, the image cache, the record of bad files;
// epochs abandoned while workers are filling slots; a training loader and an evaluation loader running
// side by side, as in `springfield train`; the bad-file list read while workers append to it.
// Exit status 0 when every batch arrived whole; TSan fails the run on a race (halt_on_error).
//
//   build/tsan/tests/tsan_loader DIR     (DIR: scratch folder for the images)
#include "data/dataset.h"
#include "data/loader.h"
#include "data/synth.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fails = 0;

#define EXPECT(cond, ...)                                  \
    do {                                                   \
        if (!(cond)) {                                     \
            fprintf(stderr, "tsan_loader: FAIL: " __VA_ARGS__); \
            fputc('\n', stderr);                           \
            fails++;                                       \
        }                                                  \
    } while (0)

// Reads batches until the end of the epoch or `stop_after`; checks each batch is full where it must be.
static int drain(sf_loader *l, int epoch, int stop_after, int full_batch) {
    sf_loader_start_epoch(l, epoch);
    sf_batch b;
    int got = 0;
    while (got != stop_after && sf_loader_next(l, &b)) {
        EXPECT(b.number == got, "batch %d arrived as number %d", got, b.number);
        if (full_batch) EXPECT(b.n == full_batch, "training batch %d has %d rows, want %d", got, b.n, full_batch);
        for (int i = 0; i < b.n; i++) EXPECT(b.y[i] >= 0, "row %d of batch %d has label %lld", i, got, (long long)b.y[i]);
        (void)sf_loader_n_bad(l);  // the consumer reads the bad-file count while workers may append
        got++;
    }
    return got;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: tsan_loader SCRATCH_DIR\n");
        return 2;
    }
    char dir[4096], err[1024];
    snprintf(dir, sizeof dir, "%s/data", argv[1]);
    sf_synth_cfg sc = sf_synth_defaults();
    sc.largest = 6;
    sc.smallest = 2;
    sc.n_classes = 8;
    if (sf_synth_write(dir, &sc, err, sizeof err) < 0) {
        fprintf(stderr, "tsan_loader: %s\n", err);
        return 2;
    }
    // Two undecodable files (by content a JPEG, then nothing): recorded as bad by whichever worker meets
    // them first, replaced in training batches.
    for (int i = 0; i < 2; i++) {
        char p[4200];
        char name[64];
        sf_synth_class_name(name, sizeof name, i);
        snprintf(p, sizeof p, "%s/%s/broken_%d.jpg", dir, name, i);
        FILE *f = fopen(p, "wb");
        if (!f || fwrite("\xff\xd8\xff\xe0", 1, 4, f) != 4 || fclose(f) != 0) {
            fprintf(stderr, "tsan_loader: cannot write %s\n", p);
            return 2;
        }
    }
    sf_dataset ds;
    if (sf_dataset_scan(&ds, dir, 1, err, sizeof err)) {
        fprintf(stderr, "tsan_loader: %s\n", err);
        return 2;
    }
    int *all = sf_malloc(sizeof(int) * (size_t)ds.n);
    for (int i = 0; i < ds.n; i++) all[i] = i;

    for (int cache = 0; cache <= 1; cache++) {
        sf_loader_cfg tc = sf_loader_defaults(32, 4);
        tc.threads = 3;
        tc.prefetch = 2;  // fewer slots than workers: workers wait on slots
        tc.cache = cache;
        tc.balance = SF_BALANCE_OVERSAMPLE;  // repeats: the same image in flight on two threads
        tc.drop_last = 1;
        tc.quiet = 1;
        sf_loader *train = sf_loader_create(&ds, all, ds.n, &tc);
        sf_loader_cfg vc = sf_loader_eval_defaults(32, 5);
        vc.threads = 2;
        vc.cache = cache;
        vc.quiet = 1;
        sf_loader *val = sf_loader_create(&ds, all, ds.n, &vc);
        int nb = sf_loader_batches(train);
        for (int epoch = 0; epoch < 3; epoch++) {
            // Abandon the epoch after two batches while workers are still filling, then run it whole.
            drain(train, epoch, 2, 4);
            int got = drain(train, epoch, -1, 4);
            EXPECT(got == nb, "epoch %d (cache %d): %d of %d batches", epoch, cache, got, nb);
            drain(val, 0, -1, 0);
        }
        EXPECT(sf_loader_n_bad(train) == 2, "train loader recorded %d bad files, want 2", sf_loader_n_bad(train));
        for (int i = 0; i < sf_loader_n_bad(val); i++) EXPECT(sf_loader_bad(val, i) != NULL, "bad entry %d", i);
        if (cache) EXPECT(sf_loader_cache_bytes(train) > 0, "cache empty after 3 epochs");
        // Destroyed in the middle of an epoch, with workers busy.
        sf_loader_start_epoch(train, 9);
        sf_loader_destroy(train);
        sf_loader_destroy(val);
        printf("tsan_loader: cache %s: 3 epochs of %d batches, each also abandoned after 2; %d bad files\n",
               cache ? "on" : "off", nb, 2);
    }
    free(all);
    sf_dataset_free(&ds);
    if (fails) printf("tsan_loader: %d FAILED checks\n", fails);
    return fails ? 1 : 0;
}
