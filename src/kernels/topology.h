// topology.h: the machine's packages, NUMA nodes, cores and caches (hwloc), and where compute threads and
// their buffers go.
//
// Plan, then apply (as oneDNN plans a convolution before running it): sf_topo_plan() is a pure function of
// (topology, options) that fills an sf_topo_plan struct: thread -> PU/core -> NUMA node, the batch split
// across nodes and the node each kind of buffer lives on. Tests check plans on synthetic topologies (a
// 2-socket server, a 4-node EPYC, a laptop, a cgroup-restricted container). sf_topo_apply() then binds the
// real OpenMP threads to the plan and reports where each one actually ran.
//
// Placement rules:
//   - one compute thread per physical core by default; SMT siblings stay idle unless opts.smt is set (or
//     more threads than cores are asked for, in which case siblings are used before any core doubles up);
//   - only PUs in the usable set: the topology's allowed cpuset (cgroups, containers) intersected with the
//     process binding (taskset, numactl --physcpubind);
//   - threads are bound to their PU, unless OMP_PLACES, OMP_PROC_BIND, GOMP_CPU_AFFINITY or KMP_AFFINITY is
//     set: then the OpenMP runtime places them, and the plan says so (bind == 0, why_unbound);
//   - NUMA mode auto: each node that has usable cores is a group; threads are split across groups in
//     proportion to their usable cores and numbered group by group (contiguously), and the batch is split
//     across groups in proportion to their threads, each group a contiguous range of samples. Modes off
//     and interleave: one group spanning every usable core, filled in core order.
//
// Buffer kinds and where they go (SF_NODE_ANY: the OS decides by first touch; SF_NODE_INTERLEAVE: pages
// round-robin over the plan's nodes):
//   thread scratch (packing buffers, per-thread partial sums)   auto: the thread's node
//   group replica (a node's weight/gradient replica and the       auto: the group's node
//     activations of its share of the batch)
//   shared (the master weights, the input batch before split)    auto: interleaved when more than one node
// With mode off everything is SF_NODE_ANY; with mode interleave everything is SF_NODE_INTERLEAVE.
//
// hwloc stays behind this header (no hwloc type in it), and this unit is left out of the NEON cross build:
// no other kernel depends on it.
#ifndef SF_TOPOLOGY_H
#define SF_TOPOLOGY_H

#include <stddef.h>

#define SF_TOPO_MAX_THREADS 1024
#define SF_TOPO_MAX_GROUPS 64
#define SF_NODE_ANY (-1)
#define SF_NODE_INTERLEAVE (-2)

typedef struct sf_topology sf_topology;

typedef enum { SF_NUMA_AUTO = 0, SF_NUMA_OFF = 1, SF_NUMA_INTERLEAVE = 2 } sf_numa_mode;

typedef enum { SF_BUF_THREAD = 0, SF_BUF_GROUP = 1, SF_BUF_SHARED = 2 } sf_buf_kind;

// The machine's topology, loaded once (HWLOC_XMLFILE / HWLOC_SYNTHETIC are honoured as in every hwloc
// tool). Owned by the library; never freed. Thread-safe.
const sf_topology *sf_topology_get(void);
// A topology from a synthetic description, e.g. "pack:2 numa:1 core:32 pu:2" (see hwloc's
// hwloc_topology_set_synthetic), or from an XML file. Returns NULL with a warning on a bad description.
sf_topology *sf_topology_synthetic(const char *desc);
sf_topology *sf_topology_xml(const char *path);
// Restrict the allowed cpuset to a PU list such as "0-15,64-79" (as a cgroup would); 0 on success.
int sf_topology_allow_cpus(sf_topology *t, const char *pu_list);
void sf_topology_free(sf_topology *t);
// Where the topology came from ("this system", "synthetic: ...", "xml: path").
const char *sf_topology_source(const sf_topology *t);

typedef struct {
    int packages, numa_nodes, cores, pus;      // whole machine
    int usable_cores, usable_pus;              // in the usable set
    int numa_nodes_with_cpus;                  // nodes that own at least one PU
    size_t l1d, l2, l3;                        // size in bytes of the first cache of each level (0: none)
    int n_l1d, n_l2, n_l3;                     // how many of each
    size_t numa_bytes[SF_TOPO_MAX_GROUPS];     // local memory per NUMA node, by logical index
} sf_topo_summary;

void sf_topo_summarize(sf_topo_summary *out, const sf_topology *t);

typedef struct {
    int threads;         // compute threads; 0 = one per usable core (every usable PU when smt)
    int smt;             // 1: SMT siblings count as compute slots
    sf_numa_mode numa;
    int batch;           // samples per step to split across groups (0: no split)
    int omp_binds;       // 1: the user set OMP_PLACES etc., so the plan does not bind
    char omp_env[96];    // those variables as "NAME=value ..." for the report
} sf_topo_opts;

// Defaults (one thread per core unless OMP_NUM_THREADS says otherwise, no SMT, NUMA auto) plus the
// OpenMP binding variables read from the environment.
void sf_topo_opts_default(sf_topo_opts *out);
// Parses "auto", "off", "interleave"; -1 when unknown.
int sf_numa_parse(const char *s);
const char *sf_numa_name(sf_numa_mode m);

typedef struct {
    int n_threads;
    int bind;                                   // 1: sf_topo_apply pins each thread to thread_pu
    const char *why_unbound;                    // when bind == 0
    sf_numa_mode numa;
    int thread_pu[SF_TOPO_MAX_THREADS];         // OS index of the thread's PU
    int thread_core[SF_TOPO_MAX_THREADS];       // logical index of its core
    int thread_node[SF_TOPO_MAX_THREADS];       // OS index of the NUMA node holding that core
    int thread_group[SF_TOPO_MAX_THREADS];
    int thread_buf_node[SF_TOPO_MAX_THREADS];   // where its scratch goes (node index or SF_NODE_*)
    int n_groups;
    int group_node[SF_TOPO_MAX_GROUPS];         // OS node index of the group (SF_NODE_ANY: all nodes)
    int group_cores[SF_TOPO_MAX_GROUPS];        // usable cores in the group
    int group_first_thread[SF_TOPO_MAX_GROUPS]; // the group's threads are [first, first + count)
    int group_threads[SF_TOPO_MAX_GROUPS];
    int group_buf_node[SF_TOPO_MAX_GROUPS];     // where its replica goes
    int batch_start[SF_TOPO_MAX_GROUPS];        // its samples are [start, start + count)
    int batch_count[SF_TOPO_MAX_GROUPS];
    int shared_buf_node;
} sf_topo_plan;

// The placement decision (pure: depends only on the arguments). Returns 0, or -1 when no PU is usable.
int sf_topo_plan_make(sf_topo_plan *out, const sf_topology *t, const sf_topo_opts *opts);
// Where a buffer of the given kind for thread or group `index` goes (ignored for SF_BUF_SHARED).
int sf_topo_buf_node(const sf_topo_plan *p, sf_buf_kind kind, int index);

// Applies a plan made from sf_topology_get() to the OpenMP threads: sets sf_threads() to p->n_threads,
// then inside one parallel region each thread binds itself (when p->bind) and records the PU it ran on
// (hwloc_get_last_cpu_location) in observed_pu[thread] (may be NULL). libgomp reuses its pooled threads in
// later regions of the same size, so the binding holds for the kernels. Returns the number of threads
// found outside their planned PU (0 = plan honoured), or -1 when binding failed or this is not the
// running machine's topology.
int sf_topo_apply(const sf_topology *t, const sf_topo_plan *p, int *observed_pu);

// The same for group g only, from the thread that drives the group (a replica's worker): the calling
// thread's sf_threads() becomes p->group_threads[g] (sf_set_threads_here) and its own OpenMP team takes
// the group's PUs. Same return values.
int sf_topo_apply_group(const sf_topology *t, const sf_topo_plan *p, int g, int *observed_pu);
// Lets a team of n_threads of the calling thread run anywhere in the usable set again (undoes a binding).
int sf_topo_unbind(const sf_topology *t, int n_threads);

// The plan's batch split for a batch of n samples (a short last batch): start/count per group
// (p->n_groups entries), in proportion to the groups' threads, contiguous, as sf_topo_plan_make does.
void sf_topo_batch_split(int *start, int *count, const sf_topo_plan *p, int n);
// Test hook for machines with fewer NUMA nodes than a run is meant for: regroups the plan's threads into
// n_groups contiguous groups (each keeps the node and buffer policy of its first thread), sharing PUs
// round-robin when there are fewer threads than groups, and re-splits the batch. 0, or -1 when n_groups
// is out of range.
int sf_topo_plan_split_groups(sf_topo_plan *p, int n_groups);

// The calling thread's memory policy for pages it touches from now on: bound to `node`, interleaved
// over every allowed node (SF_NODE_INTERLEAVE) or the default first touch (SF_NODE_ANY). 0 on success,
// -1 where the OS does not support it (placement then falls back to first touch).
int sf_topo_membind_here(const sf_topology *t, int node);

// Memory on a NUMA node (OS index), interleaved (SF_NODE_INTERLEAVE) or placed by first touch
// (SF_NODE_ANY). Page-aligned; release with sf_topo_free and the same size. Falls back to plain
// first-touch memory where binding is unsupported. Dies on out of memory.
void *sf_topo_alloc(const sf_topology *t, size_t bytes, int node);
void sf_topo_free(const sf_topology *t, void *p, size_t bytes);
// Rebinds an existing area (hwloc_set_area_membind, migrating its pages); 0 on success.
int sf_topo_bind_area(const sf_topology *t, void *p, size_t bytes, int node);
// Writes zeros over the buffer from the calling thread, so that first-touch pages land on its node.
void sf_topo_first_touch(void *p, size_t bytes);
// The NUMA node (OS index) holding the area's touched pages, SF_NODE_INTERLEAVE when spread over several,
// SF_NODE_ANY when unknown.
int sf_topo_area_node(const sf_topology *t, const void *p, size_t bytes);

#endif
