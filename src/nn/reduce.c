// reduce.c: the in-process gradient reducer (see reduce.h).
#include "nn/reduce.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

// Elements per OpenMP chunk: large enough that each thread streams whole pages of every replica.
#define CHUNK 4096

static void inproc_allreduce(sf_reducer *self, float *const bufs[], int n_replicas, size_t count) {
    (void)self;
    if (n_replicas <= 1 || count == 0) return;
    long n_chunks = (long)((count + CHUNK - 1) / CHUNK);
#pragma omp parallel for schedule(static) num_threads(sf_threads())
    for (long c = 0; c < n_chunks; c++) {
        size_t lo = (size_t)c * CHUNK, hi = lo + CHUNK < count ? lo + CHUNK : count;
        float *dst = bufs[0];
        // Left to right over replicas, per element: (((b0 + b1) + b2) + ...).
        for (int r = 1; r < n_replicas; r++) {
            const float *src = bufs[r];
            for (size_t i = lo; i < hi; i++) dst[i] += src[i];
        }
        for (int r = 1; r < n_replicas; r++) memcpy(bufs[r] + lo, dst + lo, (hi - lo) * sizeof(float));
    }
}

static void inproc_destroy(sf_reducer *self) { free(self); }

sf_reducer *sf_reducer_inproc(void) {
    sf_reducer *r = sf_malloc(sizeof *r);
    r->name = "inproc";
    r->allreduce_sum = inproc_allreduce;
    r->destroy = inproc_destroy;
    return r;
}
