// placement.h: start-up placement shared by train, evaluate, predict and bench train: the topology plan
// for --threads / --numa / the batch, thread binding (sf_topo_apply), the CPU profile, and one report.
//
//   --numa auto        one group per NUMA node that has usable cores; threads bound to their cores; a
//                      model replica per group (train), memory bound to the group's node
//   --numa interleave  one group, threads bound, the model's memory interleaved over the nodes
//   --numa off         one group, no binding of threads or memory (the OS places both)
// OMP_PLACES, OMP_PROC_BIND, GOMP_CPU_AFFINITY or KMP_AFFINITY in the environment: springfield binds no
// thread and says so; the OpenMP runtime places them.
//
// Test hook: SPRINGFIELD_FAKE_NUMA_NODES=N (1..64) regroups the plan into N groups under --numa auto
// (sf_topo_plan_split_groups), so that the replica and gradient-reduce path runs on a one-node machine.
#ifndef SF_CLI_PLACEMENT_H
#define SF_CLI_PLACEMENT_H

#include <stddef.h>

#include "kernels/topology.h"

typedef struct {
    sf_topo_plan plan;
    int misplaced;       // sf_topo_apply: threads found off their PU; -1: binding failed or not attempted
    int fake_groups;     // SPRINGFIELD_FAKE_NUMA_NODES applied (0: not)
    char report[768];    // "placement: ..." for the log
    char profile[384];   // the CPU profile in use, "name (path)" or "builtin"
} sf_placement;

// threads: --threads (0: one per core, or OMP_NUM_THREADS); numa: "auto" | "off" | "interleave"; batch:
// the samples per step split across groups. Applies the plan to the OpenMP threads and the active CPU
// profile. Returns 0, or -1 with err (no usable core, a bad SPRINGFIELD_FAKE_NUMA_NODES).
int sf_placement_setup(sf_placement *out, int threads, const char *numa, int batch, char *err, size_t errlen);

// Applies SPRINGFIELD_FAKE_NUMA_NODES to a plan: the number of groups it made (0: unset, or not --numa
// auto), or -1 with err for a bad value.
int sf_placement_fake_groups(sf_topo_plan *p, char *err, size_t errlen);

// One model's memory (inference, or the whole of a one-group run): the node policy for it, which
// sf_topo_membind_here applies on the creating thread (SF_NODE_ANY under --numa off).
int sf_placement_model_node(const sf_placement *p);

// out = "0-3,8": the ints v[0..count) in hwloc's list syntax, runs of consecutive values joined (unsorted
// input is written as it comes); cut short, never overrun, when n is too small.
void sf_list_str(char *out, size_t n, const int *v, int count);

#endif
