// replica.h: data parallelism across NUMA nodes: one model replica per group of the topology plan.
//
// Each group of an sf_topo_plan (a NUMA node under --numa auto) gets its own sf_model, created and driven
// by a thread bound to that group's cores, with the memory policy of the group (bound to its node, or
// interleaved), so that its weights, gradients, activations and work buffers are first-touched there.
// A step splits the batch by the plan (sf_topo_batch_split), runs every replica's share at once,
// and sums the gradients across replicas through an sf_reducer (nn/reduce.h) in the fixed replica order;
// the caller then steps the optimizer once, on replica 0 (the master), and sf_replicas_refresh copies
// the master's weights and buffers back into the other replicas.
//
// Loss scaling: replica g's logit gradient is (softmax - onehot) * n_g / n / n_g, so the sum over
// replicas is the gradient of the mean loss over the whole batch, as one model would compute it.
//
// BatchNorm: batch statistics are per replica (each over its share), as in PyTorch's
// DistributedDataParallel without SyncBatchNorm; the running statistics kept are the master's, which
// every refresh copies to the others (DDP's broadcast_buffers). A multi-replica run therefore differs
// from a one-replica run of a model with BatchNorm by more than float rounding unless every share has
// the statistics of the whole batch.
//
// One group (numa off, interleave, or a one-node machine): the master is the only replica, driven by the
// calling thread, and every call is exactly sf_model_forward / sf_model_loss_backward.
//
// Threads: group 0 runs on the calling thread (its OpenMP team is the one sf_topo_apply bound); each
// other group has a persistent worker pthread whose own OpenMP team sf_topo_apply_group binds. Calls
// are not thread-safe: one at a time, from the thread that created the replicas.
#ifndef SF_REPLICA_H
#define SF_REPLICA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/topology.h"
#include "nn/model.h"
#include "nn/reduce.h"

typedef struct sf_replicas sf_replicas;

// One replica per group of plan p (a plan made on topology t for cfg->max_batch samples; it is copied).
// Replica g is sized for its share of cfg->max_batch. red: the gradient reducer (borrowed; NULL: the
// in-process one, owned). Returns NULL with err when a model cannot be built.
sf_replicas *sf_replicas_create(const sf_model_config *cfg, const sf_topology *t, const sf_topo_plan *p,
                                sf_reducer *red, char *err, size_t errlen);
void sf_replicas_free(sf_replicas *r);

int sf_replicas_count(const sf_replicas *r);
// Replica 0: the weights the optimizer updates, checkpoints save and loads write.
sf_model *sf_replicas_master(sf_replicas *r);
sf_model *sf_replicas_get(sf_replicas *r, int g);

// logits (n,K) of x (n,3,H,W), each replica on its share, gathered in batch order; 1 <= n <= max_batch.
// The pointer is owned by r and valid until the next forward.
const float *sf_replicas_forward(sf_replicas *r, const float *x, int n, bool train);
// After a train forward: mean cross-entropy over the whole batch against labels (n), and every
// replica's gradients := the sum over replicas (reduced), i.e. d(mean loss)/d(param).
float sf_replicas_loss_backward(sf_replicas *r, const int64_t *labels);
// Copies the master's parameters and buffers into every other replica (after an optimizer step, a load,
// a restore of the running statistics).
void sf_replicas_refresh(sf_replicas *r);
// sf_model_freeze on every replica; returns the master's count.
int sf_replicas_freeze(sf_replicas *r, const char *pattern);

// Where replica g's big buffers are (NUMA node OS index, SF_NODE_INTERLEAVE or SF_NODE_ANY, as
// sf_topo_area_node reports from the pages), and their sizes in bytes.
typedef struct {
    int node_params, node_grads, node_acts;        // weights, gradients, activations + their gradients
    size_t bytes_params, bytes_grads, bytes_acts;
    int planned;                                   // the plan's node for the replica
    int max_batch;                                 // the replica's share of the batch, at most
} sf_replica_mem;
void sf_replicas_where(sf_replica_mem *out, sf_replicas *r, int g);

#endif
