// loader.h: batches of network input from a dataset, decoded and transformed by background threads.
//
// Use:
//   sf_loader_cfg cfg = sf_loader_defaults(96, 64);          // S = 96, B = 64; edit fields as needed
//   sf_loader *ld = sf_loader_create(&ds, split.train, split.n_train, &cfg);
//   for (int epoch = 0; epoch < E; epoch++) {
//       sf_loader_start_epoch(ld, epoch);
//       sf_batch b;
//       while (sf_loader_next(ld, &b)) { ... b.x is (b.n,3,S,S), b.y is (b.n) ... }
//   }
//   sf_loader_write_bad(ld, "bad_images.txt");
//   sf_loader_destroy(ld);
//
// One thread consumes (start_epoch / next); the loader's own threads produce.
// Threads are POSIX threads, not OpenMP, so they do not compete with the compute threads' pool. They fill
// a ring of `prefetch` batch buffers ahead of the consumer. Each batch is a pure function of (seed, epoch,
// batch number): image k of an epoch draws its augmentation from sf_hash64(seed, epoch, k), so the output
// is the same whatever the thread count, and a repeated image (oversampling) gets fresh augmentation.
//
// Without the cache, a training image's augmentation is drawn as soon as its decoded size is known, and
// the JPEG decoder then produces only the box of pixels that draw's warp reads (image.h, region): the
// rows and columns outside it skip the IDCT and colour conversion, and the output is bit-identical to a
// full decode. A file's first decode reads its whole stream, so a bad file fails as in a full decode;
// later decodes of a file known to be whole also stop reading after the box's last row.
//
// A file that fails to decode is reported once (sf_warn, with its path and the decoder's reason) and
// recorded; in training mode its place in the batch is taken by the next good image of the epoch order,
// so batches stay full; in evaluation mode the batch simply has one row fewer (b.index says which images
// the rows are).
#ifndef SF_DATA_LOADER_H
#define SF_DATA_LOADER_H

#include <stddef.h>
#include <stdint.h>
#include "data/augment.h"
#include "data/dataset.h"
#include "data/sampler.h"

typedef struct {
    int size;            // S: rows are (3,S,S)
    int batch;           // B: rows per batch
    int threads;         // background threads; 0 fills batches in the calling thread
    int prefetch;        // batch buffers in the ring (raised to threads + 1 when smaller)
    int augment;         // 1: training transforms (augment.h); 0: evaluation resize
    int eval_flip;       // evaluation only: mirror every image (flip test-time augmentation)
    sf_augment_cfg aug;  // training transform ranges
    sf_balance balance;  // class balancing (sampler.h)
    int shuffle;         // shuffle the epoch order
    int drop_last;       // leave out a final partial batch
    int cache;           // keep decoded, pre-sized pixels in memory (the --cache option); measured: 1.44 GB
                         // for the 20,670 Simpsons training images at S = 96
    int decode_side;     // decode near this shorter side: JPEG DCT scaling, then an antialiased resize of
                         // anything still 2x larger. 0 means 2*S, so an image up to 2*S decodes at full
                         // size as PIL does. Cached and uncached runs give equal output.
    uint64_t seed;
    int quiet;           // no warnings for bad files (they are still recorded)
} sf_loader_cfg;

// Training defaults: augment on, shuffle on, balance none, 2 threads, prefetch 4, no cache, seed 0.
sf_loader_cfg sf_loader_defaults(int size, int batch);
// Evaluation defaults: augment, shuffle and balance off, every image in dataset order.
sf_loader_cfg sf_loader_eval_defaults(int size, int batch);

typedef struct sf_loader sf_loader;

// The loader reads ds (which must outlive it) at the n dataset indices idx (copied). n may be 0 (an
// empty validation split): every epoch is then empty.
sf_loader *sf_loader_create(const sf_dataset *ds, const int *idx, int n, const sf_loader_cfg *cfg);
void sf_loader_destroy(sf_loader *l);

int sf_loader_epoch_len(const sf_loader *l);  // images per epoch (after balancing)
int sf_loader_batches(const sf_loader *l);    // batches per epoch

// Starts (or restarts) an epoch; abandons any batches of the previous one still in flight.
void sf_loader_start_epoch(sf_loader *l, int epoch);

typedef struct {
    const float *x;        // (n,3,S,S) normalised, plain NCHW
    const int64_t *y;      // (n) labels, -1 for an unlabelled dataset
    const int *index;      // (n) dataset index of each row
    int n;                 // rows (B, except a last partial batch or evaluation rows dropped as bad)
    int number;            // batch number within the epoch
} sf_batch;

// Fills b with the next batch of the epoch and returns 1, or returns 0 at the end of the epoch. The
// buffers stay valid until the next call to sf_loader_next or sf_loader_start_epoch.
int sf_loader_next(sf_loader *l, sf_batch *b);

// Bytes of pixels held by the cache (0 without cfg.cache).
size_t sf_loader_cache_bytes(const sf_loader *l);

// Files that failed so far: "path: reason" lines, sorted by path.
int sf_loader_n_bad(const sf_loader *l);
const char *sf_loader_bad(const sf_loader *l, int i);
// Writes them one per line; returns 0, or -1 when path cannot be written.
int sf_loader_write_bad(const sf_loader *l, const char *path);

#endif
