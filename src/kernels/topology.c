// topology.c: hwloc topology, the placement plan, thread binding and NUMA memory (see topology.h).
#include "kernels/topology.h"
#include "util/util.h"

#include <hwloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

struct sf_topology {
    hwloc_topology_t h;
    hwloc_bitmap_t usable; // allowed cpuset, intersected with the process binding on the real machine
    int thissystem;
    char source[192];
};

// usable = topology cpuset & allowed cpuset (& the process binding when this is the running machine).
static void compute_usable(sf_topology *t) {
    if (!t->usable) t->usable = hwloc_bitmap_alloc();
    hwloc_bitmap_and(t->usable, hwloc_topology_get_topology_cpuset(t->h),
                     hwloc_topology_get_allowed_cpuset(t->h));
    if (!t->thissystem) return;
    hwloc_bitmap_t bound = hwloc_bitmap_alloc();
    if (hwloc_get_cpubind(t->h, bound, HWLOC_CPUBIND_PROCESS) == 0 && hwloc_bitmap_intersects(bound, t->usable))
        hwloc_bitmap_and(t->usable, t->usable, bound);
    hwloc_bitmap_free(bound);
}

static sf_topology *topo_load(const char *synthetic, const char *xml, unsigned long flags) {
    sf_topology *t = sf_calloc(1, sizeof *t);
    if (hwloc_topology_init(&t->h) != 0) sf_die("hwloc_topology_init failed");
    hwloc_topology_set_flags(t->h, flags);
    int rc = 0;
    if (synthetic) rc = hwloc_topology_set_synthetic(t->h, synthetic);
    else if (xml) rc = hwloc_topology_set_xml(t->h, xml);
    if (rc != 0 || hwloc_topology_load(t->h) != 0) {
        sf_warn("hwloc cannot load the topology %s '%s'", synthetic ? "description" : "file",
                synthetic ? synthetic : xml ? xml : "of this system");
        hwloc_topology_destroy(t->h);
        free(t);
        return NULL;
    }
    t->thissystem = hwloc_topology_is_thissystem(t->h);
    const char *env_xml = getenv("HWLOC_XMLFILE"), *env_syn = getenv("HWLOC_SYNTHETIC");
    if (synthetic) snprintf(t->source, sizeof t->source, "synthetic: %s", synthetic);
    else if (xml) snprintf(t->source, sizeof t->source, "xml: %s", xml);
    else if (!t->thissystem && env_xml && *env_xml) snprintf(t->source, sizeof t->source, "xml: %s (HWLOC_XMLFILE)", env_xml);
    else if (!t->thissystem && env_syn && *env_syn)
        snprintf(t->source, sizeof t->source, "synthetic: %s (HWLOC_SYNTHETIC)", env_syn);
    else snprintf(t->source, sizeof t->source, "%s", t->thissystem ? "this system" : "not this system");
    compute_usable(t);
    return t;
}

static sf_topology *g_topo;
static pthread_once_t g_topo_once = PTHREAD_ONCE_INIT;
static void topo_init(void) {
    g_topo = topo_load(NULL, NULL, 0);
    if (!g_topo) sf_die("hwloc cannot discover this machine's topology");
}

const sf_topology *sf_topology_get(void) {
    pthread_once(&g_topo_once, topo_init);
    return g_topo;
}

// Disallowed PUs stay in the tree so that sf_topology_allow_cpus can model a cgroup.
sf_topology *sf_topology_synthetic(const char *desc) {
    return topo_load(desc, NULL, HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED);
}

sf_topology *sf_topology_xml(const char *path) { return topo_load(NULL, path, HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED); }

int sf_topology_allow_cpus(sf_topology *t, const char *pu_list) {
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    int rc = hwloc_bitmap_list_sscanf(set, pu_list);
    if (rc == 0) rc = hwloc_topology_allow(t->h, set, NULL, HWLOC_ALLOW_FLAG_CUSTOM);
    hwloc_bitmap_free(set);
    if (rc != 0) return -1;
    compute_usable(t);
    return 0;
}

void sf_topology_free(sf_topology *t) {
    if (!t) return;
    hwloc_bitmap_free(t->usable);
    hwloc_topology_destroy(t->h);
    free(t);
}

const char *sf_topology_source(const sf_topology *t) { return t->source; }

static int count_type(const sf_topology *t, hwloc_obj_type_t type) {
    int n = hwloc_get_nbobjs_by_type(t->h, type);
    return n > 0 ? n : 0;
}

void sf_topo_summarize(sf_topo_summary *out, const sf_topology *t) {
    memset(out, 0, sizeof *out);
    out->packages = count_type(t, HWLOC_OBJ_PACKAGE);
    out->numa_nodes = count_type(t, HWLOC_OBJ_NUMANODE);
    out->cores = count_type(t, HWLOC_OBJ_CORE);
    out->pus = count_type(t, HWLOC_OBJ_PU);
    out->usable_pus = hwloc_bitmap_weight(t->usable);
    for (int i = 0; i < out->cores; i++) {
        hwloc_obj_t c = hwloc_get_obj_by_type(t->h, HWLOC_OBJ_CORE, (unsigned)i);
        if (hwloc_bitmap_intersects(c->cpuset, t->usable)) out->usable_cores++;
    }
    if (out->cores == 0) out->usable_cores = out->usable_pus;
    for (int i = 0; i < out->numa_nodes; i++) {
        hwloc_obj_t n = hwloc_get_obj_by_type(t->h, HWLOC_OBJ_NUMANODE, (unsigned)i);
        if (!hwloc_bitmap_iszero(n->cpuset)) out->numa_nodes_with_cpus++;
        if (i < SF_TOPO_MAX_GROUPS) out->numa_bytes[i] = (size_t)n->attr->numanode.local_memory;
    }
    const hwloc_obj_type_t levels[3] = {HWLOC_OBJ_L1CACHE, HWLOC_OBJ_L2CACHE, HWLOC_OBJ_L3CACHE};
    size_t *sizes[3] = {&out->l1d, &out->l2, &out->l3};
    int *counts[3] = {&out->n_l1d, &out->n_l2, &out->n_l3};
    for (int l = 0; l < 3; l++) {
        *counts[l] = count_type(t, levels[l]);
        hwloc_obj_t c = hwloc_get_obj_by_type(t->h, levels[l], 0);
        if (c) *sizes[l] = (size_t)c->attr->cache.size;
    }
}

int sf_numa_parse(const char *s) {
    if (!strcmp(s, "auto")) return SF_NUMA_AUTO;
    if (!strcmp(s, "off")) return SF_NUMA_OFF;
    if (!strcmp(s, "interleave")) return SF_NUMA_INTERLEAVE;
    return -1;
}

const char *sf_numa_name(sf_numa_mode m) {
    return m == SF_NUMA_OFF ? "off" : m == SF_NUMA_INTERLEAVE ? "interleave" : "auto";
}

void sf_topo_opts_default(sf_topo_opts *out) {
    memset(out, 0, sizeof *out);
    out->numa = SF_NUMA_AUTO;
    const char *nt = getenv("OMP_NUM_THREADS");
    if (nt && atoi(nt) > 0) out->threads = atoi(nt);
    static const char *vars[] = {"OMP_PLACES", "OMP_PROC_BIND", "GOMP_CPU_AFFINITY", "KMP_AFFINITY"};
    size_t used = 0;
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (!v || !*v) continue;
        out->omp_binds = 1;
        int n = snprintf(out->omp_env + used, sizeof out->omp_env - used, "%s%s=%s", used ? " " : "", vars[i], v);
        if (n > 0) used += (size_t)n;
        if (used >= sizeof out->omp_env) used = sizeof out->omp_env - 1;
    }
}

// A core that has at least one usable PU: its usable PUs (OS indexes) and its NUMA node.
#define MAX_SMT 8
typedef struct {
    int core;          // logical index (PU index when the topology has no cores)
    int node_os, node_logical;
    int n_pu;
    int pu[MAX_SMT];
} core_slot;

// The first NUMA node whose CPUs cover the object (the DRAM node before any HBM/CXL node of the same CPUs).
static hwloc_obj_t node_of(const sf_topology *t, hwloc_obj_t obj) {
    hwloc_obj_t n = NULL;
    while ((n = hwloc_get_next_obj_by_type(t->h, HWLOC_OBJ_NUMANODE, n)))
        if (hwloc_bitmap_isincluded(obj->cpuset, n->cpuset)) return n;
    return NULL;
}

static int list_cores(core_slot *out, int cap, const sf_topology *t) {
    hwloc_obj_type_t type = count_type(t, HWLOC_OBJ_CORE) > 0 ? HWLOC_OBJ_CORE : HWLOC_OBJ_PU;
    int n = 0, total = count_type(t, type);
    for (int i = 0; i < total && n < cap; i++) {
        hwloc_obj_t c = hwloc_get_obj_by_type(t->h, type, (unsigned)i);
        core_slot s = {.core = (int)c->logical_index};
        int pu;
        hwloc_bitmap_foreach_begin(pu, c->cpuset) {
            if (hwloc_bitmap_isset(t->usable, (unsigned)pu) && s.n_pu < MAX_SMT) s.pu[s.n_pu++] = pu;
        }
        hwloc_bitmap_foreach_end();
        if (s.n_pu == 0) continue;
        hwloc_obj_t node = node_of(t, c);
        s.node_os = node ? (int)node->os_index : 0;
        s.node_logical = node ? (int)node->logical_index : 0;
        out[n++] = s;
    }
    return n;
}

// out[i] = total * w[i] / sum(w), rounded by largest remainder (ties to the lower index) so that the
// parts add up to total exactly.
static void split_proportional(int *out, const int *w, int n, int total) {
    int64_t sum = 0;
    for (int i = 0; i < n; i++) sum += w[i];
    int given = 0;
    for (int i = 0; i < n; i++) {
        out[i] = sum ? (int)((int64_t)total * w[i] / sum) : 0;
        given += out[i];
    }
    while (given < total && sum) {
        int best = -1;
        int64_t best_rem = -1;
        for (int i = 0; i < n; i++) {
            int64_t rem = (int64_t)total * w[i] - (int64_t)out[i] * sum;
            if (w[i] && rem > best_rem) best = i, best_rem = rem;
        }
        out[best]++;
        given++;
    }
}

int sf_topo_plan_make(sf_topo_plan *out, const sf_topology *t, const sf_topo_opts *opts) {
    memset(out, 0, sizeof *out);
    int cap = count_type(t, HWLOC_OBJ_PU);
    core_slot *cores = sf_malloc(sizeof *cores * (size_t)(cap > 0 ? cap : 1));
    int n_cores = list_cores(cores, cap, t);
    if (n_cores == 0) {
        free(cores);
        return -1;
    }
    int n_pus = 0;
    for (int i = 0; i < n_cores; i++) n_pus += cores[i].n_pu;
    int threads = opts->threads > 0 ? opts->threads : opts->smt ? n_pus : n_cores;
    if (threads > SF_TOPO_MAX_THREADS) threads = SF_TOPO_MAX_THREADS;

    // Groups: the usable NUMA nodes in logical order (auto), or one group of every core.
    int n_groups = 0;
    int g_node_logical[SF_TOPO_MAX_GROUPS] = {0}, g_weight[SF_TOPO_MAX_GROUPS] = {0}, g_threads[SF_TOPO_MAX_GROUPS] = {0};
    int *core_group = sf_malloc(sizeof(int) * (size_t)n_cores);
    for (int i = 0; i < n_cores; i++) {
        int g = 0;
        if (opts->numa == SF_NUMA_AUTO) {
            while (g < n_groups && g_node_logical[g] != cores[i].node_logical) g++;
            if (g == SF_TOPO_MAX_GROUPS) g--; // more nodes than groups: the last group takes the rest
        }
        if (g == n_groups) {
            g_node_logical[g] = cores[i].node_logical;
            out->group_node[g] = opts->numa == SF_NUMA_AUTO ? cores[i].node_os : SF_NODE_ANY;
            g_weight[g] = 0;
            n_groups++;
        }
        core_group[i] = g;
        out->group_cores[g]++;
        g_weight[g] += opts->smt ? cores[i].n_pu : 1;
    }
    split_proportional(g_threads, g_weight, n_groups, threads);

    // Threads group by group; within a group the first PU of every core, then the second PUs, and so on,
    // wrapping around only when more threads than PUs are asked for.
    int tid = 0, kept = 0;
    for (int g = 0; g < n_groups; g++) {
        if (g_threads[g] == 0) continue; // fewer threads than nodes: this node stays idle
        out->group_node[kept] = out->group_node[g];
        out->group_cores[kept] = out->group_cores[g];
        out->group_first_thread[kept] = tid;
        out->group_threads[kept] = g_threads[g];
        int placed = 0;
        while (placed < g_threads[g]) {
            for (int s = 0; s < MAX_SMT && placed < g_threads[g]; s++)
                for (int i = 0; i < n_cores && placed < g_threads[g]; i++) {
                    if (core_group[i] != g || cores[i].n_pu <= s) continue;
                    out->thread_pu[tid] = cores[i].pu[s];
                    out->thread_core[tid] = cores[i].core;
                    out->thread_node[tid] = cores[i].node_os;
                    out->thread_group[tid] = kept;
                    tid++, placed++;
                }
        }
        kept++;
    }
    out->n_threads = tid;
    out->n_groups = kept;
    out->numa = opts->numa;
    out->bind = !opts->omp_binds;
    out->why_unbound = opts->omp_binds ? "the OpenMP affinity variables are set; the runtime places threads" : NULL;

    int batch_w[SF_TOPO_MAX_GROUPS] = {0};
    for (int g = 0; g < kept; g++) batch_w[g] = out->group_threads[g];
    split_proportional(out->batch_count, batch_w, kept, opts->batch > 0 ? opts->batch : 0);
    for (int g = 1; g < kept; g++) out->batch_start[g] = out->batch_start[g - 1] + out->batch_count[g - 1];

    for (int g = 0; g < kept; g++)
        out->group_buf_node[g] = opts->numa == SF_NUMA_INTERLEAVE ? SF_NODE_INTERLEAVE : out->group_node[g];
    for (int i = 0; i < out->n_threads; i++) out->thread_buf_node[i] = out->group_buf_node[out->thread_group[i]];
    out->shared_buf_node = opts->numa == SF_NUMA_OFF          ? SF_NODE_ANY
                           : opts->numa == SF_NUMA_INTERLEAVE ? SF_NODE_INTERLEAVE
                           : kept > 1                         ? SF_NODE_INTERLEAVE
                                                              : out->group_node[0];
    free(core_group);
    free(cores);
    return 0;
}

int sf_topo_buf_node(const sf_topo_plan *p, sf_buf_kind kind, int index) {
    switch (kind) {
    case SF_BUF_THREAD: return index >= 0 && index < p->n_threads ? p->thread_buf_node[index] : SF_NODE_ANY;
    case SF_BUF_GROUP: return index >= 0 && index < p->n_groups ? p->group_buf_node[index] : SF_NODE_ANY;
    default: return p->shared_buf_node;
    }
}

// Threads [first, first + count) of the plan, as the calling thread's OpenMP team of `count`: each binds
// itself (when p->bind) and records where it ran. Returns the misplaced count, or -1 on a failure.
static int bind_team(const sf_topology *t, const sf_topo_plan *p, int first, int count, int *observed_pu) {
    int misplaced = 0, failed = 0, ran = 0;
#pragma omp parallel num_threads(count) reduction(+ : misplaced, failed, ran)
    {
#ifdef _OPENMP
        int i = first + omp_get_thread_num();
#else
        int i = first;
#endif
        hwloc_bitmap_t set = hwloc_bitmap_alloc();
        if (p->bind) {
            hwloc_bitmap_only(set, (unsigned)p->thread_pu[i]);
            if (hwloc_set_cpubind(t->h, set, HWLOC_CPUBIND_THREAD) != 0) failed++;
        }
        int pu = -1;
        if (hwloc_get_last_cpu_location(t->h, set, HWLOC_CPUBIND_THREAD) == 0) pu = hwloc_bitmap_first(set);
        if (observed_pu) observed_pu[i] = pu;
        if (p->bind && pu != p->thread_pu[i]) misplaced++;
        ran++;
        hwloc_bitmap_free(set);
    }
    if (failed || ran != count) return -1;
    return misplaced;
}

int sf_topo_apply(const sf_topology *t, const sf_topo_plan *p, int *observed_pu) {
    if (!t->thissystem || p->n_threads < 1) return -1;
    sf_set_threads(p->n_threads);
    return bind_team(t, p, 0, p->n_threads, observed_pu);
}

int sf_topo_apply_group(const sf_topology *t, const sf_topo_plan *p, int g, int *observed_pu) {
    if (!t->thissystem || g < 0 || g >= p->n_groups || p->group_threads[g] < 1) return -1;
    sf_set_threads_here(p->group_threads[g]);
    return bind_team(t, p, p->group_first_thread[g], p->group_threads[g], observed_pu);
}

int sf_topo_unbind(const sf_topology *t, int n_threads) {
    if (!t->thissystem || n_threads < 1) return -1;
    int failed = 0;
#pragma omp parallel num_threads(n_threads) reduction(+ : failed)
    failed += hwloc_set_cpubind(t->h, t->usable, HWLOC_CPUBIND_THREAD) != 0;
    return failed ? -1 : 0;
}

void sf_topo_batch_split(int *start, int *count, const sf_topo_plan *p, int n) {
    int w[SF_TOPO_MAX_GROUPS] = {0};
    for (int g = 0; g < p->n_groups; g++) w[g] = p->group_threads[g];
    split_proportional(count, w, p->n_groups, n > 0 ? n : 0);
    for (int g = 0; g < p->n_groups; g++) start[g] = g ? start[g - 1] + count[g - 1] : 0;
}

int sf_topo_plan_split_groups(sf_topo_plan *p, int n_groups) {
    if (n_groups < 1 || n_groups > SF_TOPO_MAX_GROUPS || p->n_threads < 1) return -1;
    int batch = 0;
    for (int g = 0; g < p->n_groups; g++) batch += p->batch_count[g];
    // More groups than threads: each group still needs a driver, so PUs are shared round-robin.
    int n = p->n_threads >= n_groups ? p->n_threads : n_groups;
    if (n > SF_TOPO_MAX_THREADS) return -1;
    for (int i = p->n_threads; i < n; i++) {
        int src = i % p->n_threads;
        p->thread_pu[i] = p->thread_pu[src];
        p->thread_core[i] = p->thread_core[src];
        p->thread_node[i] = p->thread_node[src];
        p->thread_group[i] = p->thread_group[src];
    }
    int old_buf[SF_TOPO_MAX_THREADS];
    for (int i = 0; i < n; i++) old_buf[i] = p->group_buf_node[p->thread_group[i]];
    int ones[SF_TOPO_MAX_GROUPS], share[SF_TOPO_MAX_GROUPS];
    for (int g = 0; g < n_groups; g++) ones[g] = 1;
    split_proportional(share, ones, n_groups, n);
    int first = 0;
    for (int g = 0; g < n_groups; g++) {
        p->group_first_thread[g] = first;
        p->group_threads[g] = share[g];
        p->group_cores[g] = share[g];
        p->group_node[g] = p->thread_node[first];
        p->group_buf_node[g] = old_buf[first];
        for (int i = first; i < first + share[g]; i++) p->thread_group[i] = g, p->thread_buf_node[i] = old_buf[first];
        first += share[g];
    }
    p->n_threads = n;
    p->n_groups = n_groups;
    sf_topo_batch_split(p->batch_start, p->batch_count, p, batch);
    return 0;
}

int sf_topo_membind_here(const sf_topology *t, int node) {
    if (!t->thissystem) return -1;
    hwloc_bitmap_t ns = hwloc_bitmap_alloc();
    hwloc_membind_policy_t policy = HWLOC_MEMBIND_BIND;
    if (node == SF_NODE_ANY) {
        hwloc_bitmap_copy(ns, hwloc_topology_get_allowed_nodeset(t->h));
        policy = HWLOC_MEMBIND_DEFAULT;
    } else if (node == SF_NODE_INTERLEAVE) {
        hwloc_bitmap_copy(ns, hwloc_topology_get_allowed_nodeset(t->h));
        policy = HWLOC_MEMBIND_INTERLEAVE;
    } else {
        hwloc_bitmap_only(ns, (unsigned)node);
    }
    int rc = hwloc_set_membind(t->h, ns, policy, HWLOC_MEMBIND_THREAD | HWLOC_MEMBIND_BYNODESET);
    hwloc_bitmap_free(ns);
    return rc;
}

void *sf_topo_alloc(const sf_topology *t, size_t bytes, int node) {
    size_t len = bytes ? bytes : 1;
    void *p = NULL;
    if (node != SF_NODE_ANY && t->thissystem) {
        hwloc_bitmap_t ns = hwloc_bitmap_alloc();
        hwloc_membind_policy_t policy = HWLOC_MEMBIND_BIND;
        if (node == SF_NODE_INTERLEAVE) {
            hwloc_bitmap_copy(ns, hwloc_topology_get_allowed_nodeset(t->h));
            policy = HWLOC_MEMBIND_INTERLEAVE;
        } else {
            hwloc_bitmap_only(ns, (unsigned)node);
        }
        p = hwloc_alloc_membind(t->h, len, ns, policy, HWLOC_MEMBIND_BYNODESET);
        hwloc_bitmap_free(ns);
    }
    if (!p) p = hwloc_alloc(t->h, len);
    if (!p) sf_die("out of memory allocating %zu bytes for NUMA node %d", bytes, node);
    return p;
}

void sf_topo_free(const sf_topology *t, void *p, size_t bytes) {
    if (p) hwloc_free(t->h, p, bytes ? bytes : 1);
}

int sf_topo_bind_area(const sf_topology *t, void *p, size_t bytes, int node) {
    if (node == SF_NODE_ANY) return 0;
    hwloc_bitmap_t ns = hwloc_bitmap_alloc();
    hwloc_membind_policy_t policy = HWLOC_MEMBIND_BIND;
    if (node == SF_NODE_INTERLEAVE) {
        hwloc_bitmap_copy(ns, hwloc_topology_get_allowed_nodeset(t->h));
        policy = HWLOC_MEMBIND_INTERLEAVE;
    } else {
        hwloc_bitmap_only(ns, (unsigned)node);
    }
    int rc = hwloc_set_area_membind(t->h, p, bytes, ns, policy, HWLOC_MEMBIND_BYNODESET | HWLOC_MEMBIND_MIGRATE);
    hwloc_bitmap_free(ns);
    return rc;
}

void sf_topo_first_touch(void *p, size_t bytes) { memset(p, 0, bytes); }

int sf_topo_area_node(const sf_topology *t, const void *p, size_t bytes) {
    hwloc_bitmap_t ns = hwloc_bitmap_alloc();
    int node = SF_NODE_ANY;
    if (hwloc_get_area_memlocation(t->h, p, bytes, ns, HWLOC_MEMBIND_BYNODESET) == 0) {
        int w = hwloc_bitmap_weight(ns);
        node = w == 1 ? hwloc_bitmap_first(ns) : w > 1 ? SF_NODE_INTERLEAVE : SF_NODE_ANY;
    }
    hwloc_bitmap_free(ns);
    return node;
}
