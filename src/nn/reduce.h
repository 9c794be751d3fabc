// reduce.h: gradient all-reduce across model replicas; NUMA nodes in one process now, MPI ranks later.
//
// Data-parallel training keeps one replica of the gradients per NUMA node (each node runs its share of
// the batch, see kernels/topology.h). After backward, allreduce_sum leaves in every replica the sum over
// all replicas, in a fixed order (replica 0 + replica 1 + ... left to right, per element), so the result
// is bit-identical whatever the thread count and run to run. The gradients live in one arena per replica
// (llm.c style), so one call with count = the arena's floats reduces the whole model.
//
// How an MPI implementation plugs in (sf_reducer is a small vtable; a backend embeds it first):
//   - the global replica order is (rank, local replica), rank-major; each rank passes its local replicas;
//   - step 1: reduce the local replicas in order into bufs[0] (as the in-process reducer does);
//   - step 2: split the arena into `ranks` equal chunks; MPI_Alltoall(v) sends chunk c of bufs[0] to rank
//     c; rank c adds the received chunks in rank order (never MPI_SUM, whose order MPI leaves open);
//   - step 3: MPI_Allgather(v) the reduced chunks back into bufs[0], then copy to the other local replicas.
//   This is a reduce-scatter + all-gather with the order pinned: bandwidth-optimal and deterministic.
//   Constructor: sf_reducer *sf_reducer_mpi(MPI_Comm comm), in src/nn/reduce_mpi.c, built only with MPI.
#ifndef SF_REDUCE_H
#define SF_REDUCE_H

#include <stddef.h>

typedef struct sf_reducer sf_reducer;
struct sf_reducer {
    const char *name; // "inproc", "mpi", ...
    // bufs[r] is replica r's buffer of `count` floats (r < n_replicas); every one holds the sum on return.
    void (*allreduce_sum)(sf_reducer *self, float *const bufs[], int n_replicas, size_t count);
    void (*destroy)(sf_reducer *self);
};

// Replicas in this process (NUMA nodes): the reduction runs on sf_threads() threads, each on a
// contiguous range of elements, so the per-element order never depends on the thread count.
sf_reducer *sf_reducer_inproc(void);

static inline void sf_allreduce_sum(sf_reducer *r, float *const bufs[], int n_replicas, size_t count) {
    r->allreduce_sum(r, bufs, n_replicas, count);
}
static inline void sf_reducer_free(sf_reducer *r) {
    if (r) r->destroy(r);
}

#endif
